"""The Telegram adapter at the HTTP wire: real requests, responses intercepting
every request. Method and field names are checked against the excerpt of the
Bot API spec in tests/data/platform/telegram/ (SOURCE.md)."""

from __future__ import annotations

import json
import logging
import textwrap
from datetime import datetime, timedelta, timezone

import pytest
import requests
import responses

from _support import CLAIMED, PNG, load, multipart, reconcile_ref
from _support import png_images as images
from spi_campaign.adapters.telegram import TelegramAdapter
from spi_campaign.errors import AuthError, PermanentError, TransientError, UnknownOutcomeError
from spi_campaign.models import Account, Content, Media, Rendered

TOKEN = "7000000001:AAE-SECRET-tokenvalue_1234567890"
ENV = {"SPI_KANAL_TG_BOT_TOKEN": TOKEN}
API = f"https://api.telegram.org/bot{TOKEN}"
SPEC = load("telegram/spec-excerpt.json")


def fields_of(method: str) -> tuple[set[str], set[str]]:
    """(all field names, required field names) of a Bot API method."""
    fs = SPEC["methods"][method]["fields"]
    return {f["name"] for f in fs}, {f["name"] for f in fs if f["required"]}


def type_fields(name: str) -> set[str]:
    return {f["name"] for f in SPEC["types"][name]["fields"]}


def assert_spec(method: str, body: dict):
    allowed, required = fields_of(method)
    assert set(body) <= allowed, set(body) - allowed
    assert required <= set(body), required - set(body)


def adapter(env=ENV, **options) -> TelegramAdapter:
    opts = {"chat_id": "@diskominfocontoh", "timeout": 30.0, **options}
    return TelegramAdapter(Account(name="kanal-tg", platform="telegram", options=opts), env=env)


def compose(text="Tolak gratifikasi, laporkan ke KPK.", link=None, media=(), thread=()) -> Rendered:
    return TelegramAdapter.compose("apa-itu-gratifikasi", "kanal-tg",
                                   Content(text=text, link=link, hashtags=("TolakGratifikasi",),
                                           media=tuple(media), thread=tuple(thread)))


def jbody(call) -> dict:
    assert call.request.headers["Content-Type"] == "application/json"
    return json.loads(call.request.body)


# ----- class side -------------------------------------------------------------

def test_measure_is_utf16_and_caption_limit_applies_with_images():
    assert TelegramAdapter.measure("Tolak 🙅 suap") == 13           # the emoji counts 2
    text = compose("a" * 1100)
    assert TelegramAdapter.part_limits(text) == (4096,)
    photo = compose("a" * 1100, media=[Media(path=None, url="https://e.org/a.jpg", alt="Poster")])
    assert TelegramAdapter.part_limits(photo) == (1024,)
    thread = compose("satu", thread=("satu", "dua"), media=[Media(path=None, url="https://e.org/a.jpg", alt=None)])
    assert TelegramAdapter.part_limits(thread) == (1024, 4096)


def test_validate_reports_the_caption_limit_but_not_for_text(tmp_path, camp, run_cli):
    camp.write_config(textwrap.dedent("""\
        timezone: Asia/Makassar
        accounts:
          kanal-tg: {platform: telegram, chat_id: "@diskominfocontoh"}
        """))
    (camp.posts / "poster.png").write_bytes(PNG)
    long = "Gratifikasi adalah pemberian dalam arti luas. " * 30          # ~1,400 characters
    camp.post("teks.yaml", f"""\
        id: teks
        status: approved
        publish_at: 2027-01-04 09:00
        accounts: [kanal-tg]
        text: "{long}"
        """)
    assert run_cli("post", "validate").exit_code == 0
    camp.post("foto.yaml", f"""\
        id: foto
        status: approved
        publish_at: 2027-01-04 10:00
        accounts: [kanal-tg]
        text: "{long}"
        media:
          - path: poster.png
            alt: Poster anti gratifikasi
        """)
    res = run_cli("post", "validate")
    assert res.exit_code == 1
    assert "caption" in res.output and "over its limit of 1024" in res.output and "foto" in res.output


# ----- publish ----------------------------------------------------------------

@responses.activate
def test_text_is_sendmessage_with_link_preview_on():
    responses.add(responses.POST, f"{API}/sendMessage", json=load("telegram/send_message.json"))
    post = compose(link="https://www.kpk.go.id")
    result = adapter().publish(post)
    assert result.remote_id == "101" and result.url == "https://t.me/diskominfocontoh/101"
    call = responses.calls[0]
    assert call.request.url == f"{API}/sendMessage"
    body = jbody(call)
    assert_spec("sendMessage", body)
    assert body["chat_id"] == "@diskominfocontoh"
    assert body["text"] == "Tolak gratifikasi, laporkan ke KPK.\n\nhttps://www.kpk.go.id\n\n#TolakGratifikasi"
    assert body["link_preview_options"] == {"is_disabled": False, "url": "https://www.kpk.go.id"}
    assert set(body["link_preview_options"]) <= type_fields("LinkPreviewOptions")
    assert "parse_mode" not in body                  # plain text: * and _ are not markup
    assert call.request.req_kwargs["timeout"] == 30.0


@responses.activate
def test_numeric_chat_id_and_private_channel_link():
    body = load("telegram/send_message.json")
    del body["result"]["chat"]["username"]
    responses.add(responses.POST, f"{API}/sendMessage", json=body)
    result = adapter(chat_id="-1001234567890").publish(compose())
    assert jbody(responses.calls[0])["chat_id"] == "-1001234567890"
    assert result.url == "https://t.me/c/1234567890/101"


@responses.activate
def test_one_photo_is_uploaded_with_its_caption(tmp_path):
    responses.add(responses.POST, f"{API}/sendPhoto", json=load("telegram/send_photo.json"))
    result = adapter().publish(compose("Poster", media=images(tmp_path, 1)))
    assert result.remote_id == "103"
    parts = multipart(responses.calls[0].request)
    assert_spec("sendPhoto", parts)
    assert parts["photo"] == ("poster-0.png", "image/png", PNG)
    assert parts["caption"][2].decode() == "Poster\n\n#TolakGratifikasi"
    assert parts["chat_id"][2] == b"@diskominfocontoh"


@responses.activate
def test_photo_by_url_is_json():
    responses.add(responses.POST, f"{API}/sendPhoto", json=load("telegram/send_photo.json"))
    adapter().publish(compose("Poster", media=[Media(path=None, url="https://cdn.example.org/p.jpg", alt="P")]))
    body = jbody(responses.calls[0])
    assert_spec("sendPhoto", body)
    assert body["photo"] == "https://cdn.example.org/p.jpg"


@responses.activate
def test_several_photos_are_one_media_group_with_the_caption_first(tmp_path):
    responses.add(responses.POST, f"{API}/sendMediaGroup", json=load("telegram/send_media_group.json"))
    seen = []
    result = adapter().publish(compose("Album", media=images(tmp_path, 2)), checkpoint=seen.append)
    assert result.remote_id == "104"
    parts = multipart(responses.calls[0].request)
    media = json.loads(parts["media"][2])
    assert_spec("sendMediaGroup", {k: v for k, v in parts.items() if f"attach://{k}" not in parts["media"][2].decode()})
    assert [m["media"] for m in media] == ["attach://photo0", "attach://photo1"]
    assert media[0]["caption"] == "Album\n\n#TolakGratifikasi" and "caption" not in media[1]
    for m in media:
        assert set(m) <= type_fields("InputMediaPhoto") and m["type"] == "photo"
    assert parts["photo1"] == ("poster-1.png", "image/png", PNG)
    assert seen == [{"message_ids": [104], "chat_username": "diskominfocontoh", "chat_numeric": -1001234567890}]


@responses.activate
def test_thread_parts_reply_to_the_previous_one_and_resume_from_progress():
    responses.add(responses.POST, f"{API}/sendMessage", json=load("telegram/send_message_reply.json"))
    post = compose("Bagian pertama.", thread=("Bagian pertama.", "Bagian kedua.", "Bagian ketiga."))
    seen = []
    # part 1 went out before a crash: only parts 2 and 3 are sent
    result = adapter().publish(post, progress={"message_ids": [101]}, checkpoint=seen.append)
    assert len(responses.calls) == 2
    first, second = (jbody(c) for c in responses.calls)
    assert_spec("sendMessage", first)
    assert first["text"] == "Bagian kedua." and first["reply_parameters"] == {"message_id": 101}
    assert set(first["reply_parameters"]) <= type_fields("ReplyParameters")
    assert second["reply_parameters"] == {"message_id": 102}
    assert [s["message_ids"] for s in seen] == [[101, 102], [101, 102, 102]]
    assert result.remote_id == "101"


@responses.activate
def test_finished_progress_sends_nothing():
    result = adapter().publish(compose(), progress={"message_ids": [101], "chat_username": "diskominfocontoh"})
    assert len(responses.calls) == 0 and result.url == "https://t.me/diskominfocontoh/101"


# ----- errors -----------------------------------------------------------------

@responses.activate
def test_429_is_transient_with_telegrams_retry_after():
    responses.add(responses.POST, f"{API}/sendMessage", json=load("telegram/error_429.json"), status=429)
    before = datetime.now(timezone.utc)
    with pytest.raises(TransientError) as info:
        adapter().publish(compose())
    assert before + timedelta(seconds=16) <= info.value.retry_after <= before + timedelta(seconds=19)


@pytest.mark.parametrize("fixture,status,cls,words", [
    ("error_401.json", 401, AuthError, "SPI_KANAL_TG_BOT_TOKEN"),
    ("error_403.json", 403, AuthError, "administrator"),
    ("error_400_long.json", 400, PermanentError, "message is too long"),
    ("error_400_migrate.json", 400, PermanentError, "-1009876543210"),
])
@responses.activate
def test_error_answers(fixture, status, cls, words):
    responses.add(responses.POST, f"{API}/sendMessage", json=load(f"telegram/{fixture}"), status=status)
    with pytest.raises(cls) as info:
        adapter().publish(compose())
    assert words in str(info.value) and TOKEN not in str(info.value)


@responses.activate
def test_read_timeout_is_unknown_outcome_and_hides_the_token_bearing_url():
    responses.add(responses.POST, f"{API}/sendMessage", body=requests.exceptions.ReadTimeout(f"{API}/sendMessage"))
    with pytest.raises(UnknownOutcomeError) as info:
        adapter().publish(compose())
    assert TOKEN not in str(info.value)


@responses.activate
def test_thread_failure_midway_keeps_the_parts_already_out(tmp_path):
    responses.add(responses.POST, f"{API}/sendMessage", json=load("telegram/send_message.json"))
    responses.add(responses.POST, f"{API}/sendMessage", json=load("telegram/error_429.json"), status=429)
    seen = []
    with pytest.raises(TransientError):
        adapter().publish(compose("a", thread=("a", "b")), checkpoint=seen.append)
    assert seen[-1]["message_ids"] == [101]


def test_bad_chat_id_and_over_long_caption_are_refused_before_any_request(tmp_path):
    with responses.RequestsMock():
        with pytest.raises(PermanentError, match="chat_id"):
            adapter(chat_id="kanal saya").publish(compose())
        with pytest.raises(PermanentError, match="1024"):
            adapter().publish(compose("a" * 1100, media=images(tmp_path, 1)))


def test_token_in_the_path_is_redacted_from_vv_lines(caplog):
    from spi_campaign import redact

    with responses.RequestsMock() as rs, caplog.at_level(logging.DEBUG, logger="spi_campaign.adapters.net"):
        rs.add(responses.POST, f"{API}/sendMessage", json=load("telegram/send_message.json"))
        adapter().publish(compose())
    lines = [redact.scrub(r.getMessage()) for r in caplog.records]
    assert lines and all(TOKEN not in line for line in lines)


# ----- check and reconcile ----------------------------------------------------

@responses.activate
def test_check_reads_bot_channel_and_rights():
    responses.add(responses.POST, f"{API}/getMe", json=load("telegram/get_me.json"))
    responses.add(responses.POST, f"{API}/getChat", json=load("telegram/get_chat.json"))
    responses.add(responses.POST, f"{API}/getChatMember", json=load("telegram/get_chat_member_admin.json"))
    ident = adapter().check()
    assert ident.name == "Diskominfo Kota Contoh" and ident.url == "https://t.me/diskominfocontoh"
    assert "@spi_diskominfo_bot" in ident.detail
    for call, method in zip(responses.calls, ("getMe", "getChat", "getChatMember")):
        body = json.loads(call.request.body)
        assert_spec(method, body)
    assert json.loads(responses.calls[2].request.body) == {"chat_id": "@diskominfocontoh", "user_id": 7000000001}


@responses.activate
def test_check_fails_when_the_bot_is_not_an_admin():
    responses.add(responses.POST, f"{API}/getMe", json=load("telegram/get_me.json"))
    responses.add(responses.POST, f"{API}/getChat", json=load("telegram/get_chat.json"))
    responses.add(responses.POST, f"{API}/getChatMember", json=load("telegram/get_chat_member_left.json"))
    with pytest.raises(AuthError, match="administrator"):
        adapter().check()


def test_reconcile_trusts_complete_progress_only():
    post = compose("a", thread=("a", "b"))
    a = adapter()
    done = a.reconcile(reconcile_ref("kanal-tg", post, {"message_ids": [101, 102], "chat_username": "diskominfocontoh"}))
    assert done.state == "published" and done.url == "https://t.me/diskominfocontoh/101"
    assert a.reconcile(reconcile_ref("kanal-tg", post, {"message_ids": [101]})).state == "cannot_tell"
    assert CLAIMED   # reconcile_ref uses it
