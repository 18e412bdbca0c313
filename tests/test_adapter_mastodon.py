"""The Mastodon adapter at the HTTP wire: the real Mastodon.py client and
requests, responses intercepting every request. Operation, header and field
names are checked against the excerpt of the Mastodon OpenAPI description in
tests/data/platform/mastodon/ (SOURCE.md)."""

from __future__ import annotations

import json
import textwrap
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
import requests
import responses

from _support import PNG, load, multipart, reconcile_ref
from _support import png_images as images
from spi_campaign.adapters.mastodon import MastodonAdapter
from spi_campaign.adapters.mastodon import instance as inst
from spi_campaign.errors import AuthError, PermanentError, TransientError, UnknownOutcomeError
from spi_campaign.models import Account, Content, Media, Rendered

TOKEN = "mstdn-SECRET-token-1234567890abcdef"
ENV = {"SPI_DISKOMINFO_MSTDN_ACCESS_TOKEN": TOKEN}
BASE = "https://mastodon.example"
SPEC = load("mastodon/spec-excerpt.json")["operations"]
WHEN = datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SPI_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def adapter(env=ENV, **options) -> MastodonAdapter:
    opts = {"instance": BASE + "/", "visibility": "public", "language": "id", "timeout": 30.0,
            "poll_interval": 0.01, "max_polls": 3, **options}
    return MastodonAdapter(Account(name="diskominfo-mstdn", platform="mastodon", options=opts), env=env)


def compose(text="Tolak gratifikasi, laporkan ke KPK.", link="https://www.kpk.go.id", media=(), thread=()) -> Rendered:
    r = MastodonAdapter.compose("apa-itu-gratifikasi", "diskominfo-mstdn",
                                Content(text=text, link=link, hashtags=("TolakGratifikasi",), media=tuple(media),
                                        thread=tuple(thread)))
    return replace(r, occurrence=WHEN)


def status_body(call) -> dict:
    """The JSON or form body of POST /api/v1/statuses, checked against the spec."""
    ctype = call.request.headers.get("Content-Type", "")
    if ctype.startswith("application/json"):
        body = json.loads(call.request.body)
    else:
        from urllib.parse import parse_qs

        raw = call.request.body if isinstance(call.request.body, str) else call.request.body.decode()
        body = {k.removesuffix("[]"): (v if k.endswith("[]") else v[0]) for k, v in parse_qs(raw).items()}
    shape = SPEC["POST /api/v1/statuses"]["body"]["MediaStatus" if body.get("media_ids") else "TextStatus"]
    assert set(body) <= set(shape["properties"]), set(body) - set(shape["properties"])
    assert set(shape["required"]) <= set(body)
    return body


def auth_ok(call):
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"


def instance_answer(rs=responses):
    rs.add(responses.GET, BASE + "/api/v2/instance", json=load("mastodon/instance_v2.json"))


# ----- class side -------------------------------------------------------------

def test_measure_counts_urls_as_23_and_remote_mentions_by_user():
    assert MastodonAdapter.measure("Lihat https://www.kpk.go.id/id/berita/siaran-pers/very/long/path.") == 6 + 23 + 1
    assert MastodonAdapter.measure("Halo @kpk@mastodon.example!") == len("Halo @kpk!")
    assert MastodonAdapter.measure("Tolak 🙅") == 7


def test_limit_is_the_cached_instance_limit_or_500_or_the_override(cache_dir):
    opts = {"instance": BASE}
    assert inst.max_characters(opts) == 500
    inst.store(BASE + "/", load("mastodon/instance_v2.json")["configuration"])
    assert json.loads((cache_dir / "mastodon-instances.json").read_text())[BASE]["max_characters"] == 1000
    assert inst.max_characters(opts) == 1000
    assert inst.max_characters({**opts, "max_characters": 300}) == 300
    acc = Account(name="m", platform="mastodon", options=opts)
    assert MastodonAdapter.part_limits(compose(thread=("a", "b")), acc) == (1000, 1000)


def test_validate_uses_the_cached_instance_limit(camp, run_cli, cache_dir):
    camp.write_config(textwrap.dedent(f"""\
        timezone: Asia/Makassar
        accounts:
          diskominfo-mstdn: {{platform: mastodon, instance: "{BASE}"}}
        """))
    text = "Gratifikasi adalah pemberian dalam arti luas. " * 15          # ~700 characters
    camp.post("p.yaml", f"""\
        id: p
        status: approved
        publish_at: 2027-01-04 09:00
        accounts: [diskominfo-mstdn]
        text: "{text}"
        """)
    res = run_cli("post", "validate")
    assert res.exit_code == 1 and "over its limit of 500" in res.output
    inst.store(BASE, load("mastodon/instance_v2.json")["configuration"])     # what `spi accounts check` writes
    assert run_cli("post", "validate").exit_code == 0


# ----- publish ----------------------------------------------------------------

@responses.activate
def test_text_status_with_visibility_language_and_idempotency_key(cache_dir):
    instance_answer()
    responses.add(responses.POST, BASE + "/api/v1/statuses", json=load("mastodon/status.json"))
    a = adapter(visibility="unlisted")
    result = a.publish(compose())
    assert result.remote_id == "113000000000000001"
    assert result.url == "https://mastodon.example/@diskominfo/113000000000000001"
    get, post = responses.calls
    assert get.request.url == BASE + "/api/v2/instance"
    auth_ok(post)
    body = status_body(post)
    assert body["status"] == "Tolak gratifikasi, laporkan ke KPK.\n\nhttps://www.kpk.go.id\n\n#TolakGratifikasi"
    assert body["visibility"] == "unlisted" and body["language"] == "id"
    assert "in_reply_to_id" not in body and "media_ids" not in body
    key = post.request.headers["Idempotency-Key"]
    assert "Idempotency-Key" in SPEC["POST /api/v1/statuses"]["header_parameters"]
    assert key == a.idempotency_key(compose(), 0) and key.startswith("spi-")
    assert post.request.req_kwargs["timeout"] == 30.0
    assert inst.cached(BASE)["max_characters"] == 1000


@responses.activate
def test_a_retried_publication_sends_the_same_idempotency_key():
    instance_answer()
    responses.add(responses.POST, BASE + "/api/v1/statuses", body=requests.exceptions.ConnectionError("reset"))
    responses.add(responses.POST, BASE + "/api/v1/statuses", json=load("mastodon/status.json"))
    post = compose()
    with pytest.raises((TransientError, UnknownOutcomeError)):
        adapter().publish(post)
    adapter().publish(post)                           # the engine's retry: a new adapter, same publication
    keys = [c.request.headers["Idempotency-Key"] for c in responses.calls if c.request.method == "POST"]
    assert len(keys) == 2 and keys[0] == keys[1]
    other = replace(post, occurrence=WHEN + timedelta(days=7))      # the next occurrence of a repeating post
    assert adapter().idempotency_key(other, 0) != keys[0]


@responses.activate
def test_images_are_uploaded_with_alt_text_then_attached(tmp_path):
    instance_answer()
    responses.add(responses.POST, BASE + "/api/v2/media", json=load("mastodon/media.json"))
    responses.add(responses.POST, BASE + "/api/v2/media", json=load("mastodon/media_processing.json"), status=202)
    responses.add(responses.GET, BASE + "/api/v1/media/113000000000000100", json=load("mastodon/media_processing.json"),
                  status=206)
    responses.add(responses.GET, BASE + "/api/v1/media/113000000000000100", json=load("mastodon/media.json"))
    responses.add(responses.POST, BASE + "/api/v1/statuses", json=load("mastodon/status.json"))
    seen = []
    adapter().publish(compose(media=images(tmp_path, 2)), checkpoint=seen.append)
    uploads = [c for c in responses.calls if c.request.url == BASE + "/api/v2/media"]
    assert len(uploads) == 2
    for i, call in enumerate(uploads):
        auth_ok(call)
        parts = multipart(call.request)
        assert set(parts) <= set(SPEC["POST /api/v2/media"]["body"]["properties"])
        assert parts["file"] == (f"poster-{i}.png", "image/png", PNG)
        assert parts["description"][2].decode() == f"Poster {i}"
    body = status_body(responses.calls[-1])
    assert body["media_ids"] == ["113000000000000100", "113000000000000100"]
    assert seen[0] == {"media_ids": ["113000000000000100"]}
    assert seen[-1]["status_ids"] == ["113000000000000001"]


def test_images_need_a_file_and_text_over_the_limit_is_refused_before_sending(tmp_path):
    with responses.RequestsMock() as rs:
        with pytest.raises(PermanentError, match="path:"):
            adapter().publish(compose(media=[Media(path=None, url="https://e.org/a.png", alt="A")]))
        with pytest.raises(PermanentError, match="accepts 300"):
            adapter(max_characters=300).publish(compose("a" * 400))
        with pytest.raises(PermanentError, match="visibility"):
            adapter(visibility="semua").publish(compose())
        assert len(rs.calls) == 0


@responses.activate
def test_thread_replies_and_resumes_from_progress():
    instance_answer()
    responses.add(responses.POST, BASE + "/api/v1/statuses", json=load("mastodon/status_reply.json"))
    post = compose("Bagian pertama.", thread=("Bagian pertama.", "Bagian kedua."))
    seen = []
    result = adapter().publish(post, progress={"status_ids": ["113000000000000001"],
                                               "urls": ["https://mastodon.example/@diskominfo/113000000000000001"]},
                               checkpoint=seen.append)
    posts = [c for c in responses.calls if c.request.method == "POST"]
    assert len(posts) == 1
    body = status_body(posts[0])
    assert body["status"] == "Bagian kedua." and body["in_reply_to_id"] == "113000000000000001"
    assert posts[0].request.headers["Idempotency-Key"] == adapter().idempotency_key(post, 1)
    assert seen[-1]["status_ids"] == ["113000000000000001", "113000000000000002"]
    assert result.url == "https://mastodon.example/@diskominfo/113000000000000001"


# ----- errors -----------------------------------------------------------------

@pytest.mark.parametrize("status,fixture,cls,words", [
    (401, "error_401.json", AuthError, "SPI_DISKOMINFO_MSTDN_ACCESS_TOKEN"),
    (422, "error_422.json", PermanentError, "character limit of 500"),
    (503, "error_429.json", TransientError, "503"),
])
@responses.activate
def test_error_answers(status, fixture, cls, words):
    instance_answer()
    responses.add(responses.POST, BASE + "/api/v1/statuses", json=load(f"mastodon/{fixture}"), status=status)
    with pytest.raises(cls) as info:
        adapter().publish(compose())
    assert words in str(info.value) and TOKEN not in str(info.value)


@responses.activate
def test_429_waits_for_the_rate_limit_reset():
    instance_answer()
    reset = "2026-12-07T01:05:00.000Z"
    responses.add(responses.POST, BASE + "/api/v1/statuses", json=load("mastodon/error_429.json"), status=429,
                  headers={"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})
    with pytest.raises(TransientError) as info:
        adapter().publish(compose())
    assert info.value.retry_after == datetime(2026, 12, 7, 1, 5, tzinfo=timezone.utc)


@responses.activate
def test_read_timeout_on_the_status_is_unknown_outcome_but_on_the_instance_read_is_ignored():
    responses.add(responses.GET, BASE + "/api/v2/instance", body=requests.exceptions.ReadTimeout("read"))
    responses.add(responses.POST, BASE + "/api/v1/statuses", body=requests.exceptions.ReadTimeout("read"))
    with pytest.raises(UnknownOutcomeError):
        adapter().publish(compose())


# ----- check and reconcile ----------------------------------------------------

@responses.activate
def test_check_reads_the_account_and_caches_the_instance_limit():
    responses.add(responses.GET, BASE + "/api/v1/accounts/verify_credentials", json=load("mastodon/verify_credentials.json"))
    instance_answer()
    ident = adapter().check()
    assert ident.name == "@diskominfo@mastodon.example" and ident.url == "https://mastodon.example/@diskominfo"
    assert ident.usage == {"max_characters": 1000} and "1000 characters" in ident.detail
    auth_ok(responses.calls[0])
    assert inst.cached(BASE)["max_characters"] == 1000


@responses.activate
def test_reconcile_finds_the_status_by_its_text():
    responses.add(responses.GET, BASE + "/api/v1/accounts/verify_credentials", json=load("mastodon/verify_credentials.json"))
    responses.add(responses.GET, BASE + "/api/v1/accounts/109876543210987654/statuses",
                  json=load("mastodon/account_statuses.json"))
    found = adapter().reconcile(reconcile_ref("diskominfo-mstdn", compose()))
    assert found.state == "published" and found.remote_id == "113000000000000001"
    q = responses.calls[1].request.url.split("?", 1)[1]
    assert {kv.split("=")[0] for kv in q.split("&")} <= set(SPEC["GET /api/v1/accounts/{id}/statuses"]["query"])
    missing = adapter().reconcile(reconcile_ref("diskominfo-mstdn", compose("Teks lain sama sekali.")))
    assert missing.state == "not_found"
