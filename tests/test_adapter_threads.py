"""The Threads adapter at the HTTP wire: real facebook-sdk GraphAPI and
requests (sent to graph.threads.net), responses intercepting every request.
Parameters are checked against the tables of the Threads API summary in
tests/data/platform/threads/ENDPOINTS.md."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from spi_campaign.adapters.meta.threads import ThreadsAdapter
from spi_campaign.errors import AuthError, PermanentError, QuotaDeferred, TransientError
from spi_campaign.models import Account, Content, Media

TOKEN = "thtok-SECRET-1234567890"
ENV = {"SPI_KPK_THREADS_ACCESS_TOKEN": TOKEN}
UID = "25934470972839184"
API = "https://graph.threads.net/v1.0"
LIMIT, CREATE, PUBLISH = f"{API}/{UID}/threads_publishing_limit", f"{API}/{UID}/threads", f"{API}/{UID}/threads_publish"
SPEC = (Path(__file__).parent / "data" / "platform" / "threads" / "ENDPOINTS.md").read_text(encoding="utf-8")


def spec_params(section: str) -> set[str]:
    """Backquoted names in the first column of the tables of a section of ENDPOINTS.md."""
    body = SPEC.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in body.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
    return names


CREATE_PARAMS = spec_params("1. `POST /{threads-user-id}/threads`")
PUBLISH_PARAMS = spec_params("2. `POST /{threads-user-id}/threads_publish`")


def adapter(env=ENV, **opts) -> ThreadsAdapter:
    options = {"threads_user_id": UID, "poll_interval": 0.0, "max_polls": 5, **opts}
    return ThreadsAdapter(Account(name="kpk-threads", platform="threads", options=options), env=env)


def compose(**kw):
    return ThreadsAdapter.compose("tolak-gratifikasi", "kpk-threads", Content(**kw))


def form(call) -> dict[str, str]:
    req = call.request
    assert req.url.startswith("https://graph.threads.net/v1.0/")
    fields = {k: v[0] for k, v in parse_qs(req.body if isinstance(req.body, str) else req.body.decode()).items()}
    assert fields.pop("access_token") == TOKEN
    return fields


def query(call) -> dict[str, str]:
    q = {k: v[0] for k, v in parse_qs(urlparse(call.request.url).query).items()}
    assert q.pop("access_token") == TOKEN
    return q


def posts_to(url):
    return [c for c in responses.calls if c.request.method == "POST" and c.request.url.split("?")[0] == url]


def quota(used=3, replies=10):
    responses.add(responses.GET, LIMIT, json={"data": [{
        "quota_usage": used, "config": {"quota_total": 250, "quota_duration": 86400},
        "reply_quota_usage": replies, "reply_config": {"quota_total": 1000, "quota_duration": 86400}}]})


def status(cid, value="FINISHED", **extra):
    responses.add(responses.GET, f"{API}/{cid}", json={"id": cid, "status": value, **extra})


def published(mid):
    responses.add(responses.POST, PUBLISH, json={"id": mid})
    responses.add(responses.GET, f"{API}/{mid}", json={"permalink": f"https://www.threads.net/@kpk_ri/post/{mid}"})


def test_class_side_counts_emoji_as_utf8_bytes_and_refuses_six_links():
    assert ThreadsAdapter.limits.text == 500 and ThreadsAdapter.limits.thread
    assert ThreadsAdapter.measure("Jujur hebat") == 11
    assert ThreadsAdapter.measure("Jujur 🇮🇩") == 6 + 8 and ThreadsAdapter.measure("Ayo 🙏🏽") == 4 + 8
    links = " ".join(f"https://kpk.go.id/{n}" for n in range(5))
    assert ThreadsAdapter.problems(compose(text=links)) == []
    bad = compose(text=links, link="https://www.kpk.go.id/lapor")
    assert "6 different links" in ThreadsAdapter.problems(bad)[0]


def test_validate_reports_more_than_five_links(camp, run_cli):
    camp.write_config("""\
        timezone: Asia/Makassar
        accounts:
          kpk-threads: {platform: threads, threads_user_id: "25934470972839184"}
        """)
    links = " ".join(f"https://kpk.go.id/{n}" for n in range(6))
    camp.post("banyak-tautan.yaml", textwrap.dedent(f"""\
        id: banyak-tautan
        status: approved
        publish_at: 2027-01-04 09:00
        accounts: [kpk-threads]
        text: Baca semua {links}
        """))
    result = run_cli("post", "validate")
    assert result.exit_code == 1
    assert "6 different links" in result.output and "kpk-threads" in result.output


@responses.activate
def test_text_post_quota_container_status_publish():
    quota()
    responses.add(responses.POST, CREATE, json={"id": "c1"})
    status("c1", "IN_PROGRESS")
    status("c1")
    published("m1")
    saved = []
    result = adapter().publish(compose(text="Tolak gratifikasi 🙅", link="https://www.kpk.go.id",
                                       hashtags=("SahabatKPK",)), checkpoint=saved.append)
    calls = responses.calls
    assert [(c.request.method, c.request.url.split("?")[0]) for c in calls] == [
        ("GET", LIMIT), ("POST", CREATE), ("GET", f"{API}/c1"), ("GET", f"{API}/c1"), ("POST", PUBLISH),
        ("GET", f"{API}/m1")]
    assert query(calls[0]) == {"fields": "quota_usage,config,reply_quota_usage,reply_config"}
    body = form(calls[1])
    assert body == {"media_type": "TEXT", "text": "Tolak gratifikasi 🙅\n\nhttps://www.kpk.go.id\n\n#SahabatKPK"}
    assert set(body) <= CREATE_PARAMS
    assert query(calls[2]) == {"fields": "status,error_message"}
    assert form(calls[4]) == {"creation_id": "c1"} and {"creation_id"} <= PUBLISH_PARAMS
    assert result.remote_id == "m1" and result.url == "https://www.threads.net/@kpk_ri/post/m1"
    assert saved[0] == {"container": {"index": 0, "id": "c1"}} and saved[-1]["parts"] == ["m1"]


@responses.activate
def test_single_image_and_carousel_with_alt_text():
    quota()
    responses.add(responses.POST, CREATE, json={"id": "img"})
    status("img")
    published("m1")
    media = (Media(path=None, url="https://cdn.example.org/poster-0.jpg", alt="Poster ajakan"),)
    adapter().publish(compose(text="Poster", media=media))
    assert form(responses.calls[1]) == {"media_type": "IMAGE", "text": "Poster", "alt_text": "Poster ajakan",
                                        "image_url": "https://cdn.example.org/poster-0.jpg"}

    responses.reset()
    quota()
    for cid in ("i1", "i2", "car"):
        responses.add(responses.POST, CREATE, json={"id": cid})
        status(cid)
    published("m2")
    media = tuple(Media(path=None, url=f"https://cdn.example.org/p{n}.jpg", alt=f"Poster {n}") for n in range(2))
    adapter().publish(compose(text="Carousel", media=media))
    creates = [form(c) for c in posts_to(CREATE)]
    assert creates[0] == {"media_type": "IMAGE", "image_url": "https://cdn.example.org/p0.jpg",
                          "is_carousel_item": "true", "alt_text": "Poster 0"}
    assert creates[2] == {"media_type": "CAROUSEL", "children": "i1,i2", "text": "Carousel"}
    assert all(set(c) <= CREATE_PARAMS for c in creates)


@responses.activate
def test_thread_replies_and_resume_after_a_failed_publish():
    parts = ("1/3 Apa itu gratifikasi?", "2/3 Hadiah kepada pejabat.", "3/3 Laporkan 🙏")
    quota()
    responses.add(responses.POST, CREATE, json={"id": "c1"})
    responses.add(responses.POST, CREATE, json={"id": "c2"})
    status("c1")
    status("c2")
    responses.add(responses.POST, PUBLISH, json={"id": "m1"})
    responses.add(responses.POST, PUBLISH, status=500, json={"error": {"message": "Service temporarily unavailable",
                                                                       "code": 2, "is_transient": True}})
    progress: dict = {}
    post = compose(text=parts[0], thread=parts)
    with pytest.raises(TransientError):
        adapter().publish(post, checkpoint=progress.update)
    assert progress["parts"] == ["m1"] and progress["container"] == {"index": 1, "id": "c2"}

    responses.reset()
    quota()
    status("c2")                                  # the recorded container is reused
    responses.add(responses.POST, CREATE, json={"id": "c3"})
    status("c3")
    responses.add(responses.POST, PUBLISH, json={"id": "m2"})
    responses.add(responses.POST, PUBLISH, json={"id": "m3"})
    responses.add(responses.GET, f"{API}/m1", json={"permalink": "https://www.threads.net/@kpk_ri/post/m1"})
    result = adapter().publish(post, progress=dict(progress), checkpoint=progress.update)
    creates = [form(c) for c in posts_to(CREATE)]
    assert creates == [{"media_type": "TEXT", "text": parts[2], "reply_to_id": "m2"}]     # part 2 not remade
    pubs = [form(c) for c in posts_to(PUBLISH)]
    assert pubs == [{"creation_id": "c2"}, {"creation_id": "c3"}]
    assert result.extra["parts"] == ["m1", "m2", "m3"] and result.remote_id == "m1"


@responses.activate
def test_first_reply_goes_to_the_first_part():
    quota()
    responses.add(responses.POST, CREATE, json={"id": "c1"})
    responses.add(responses.POST, CREATE, json={"id": "c2"})
    status("c1")
    status("c2")
    responses.add(responses.POST, PUBLISH, json={"id": "m1"})
    published("m2")
    responses.add(responses.GET, f"{API}/m1", json={"permalink": "https://www.threads.net/@kpk_ri/post/m1"})
    adapter().publish(compose(text="satu", thread=("satu", "dua")))
    second = form([c for c in responses.calls if c.request.method == "POST"][2])
    assert second == {"media_type": "TEXT", "text": "dua", "reply_to_id": "m1"} and set(second) <= CREATE_PARAMS


@responses.activate
@pytest.mark.parametrize("used,replies,parts", [(250, 0, 1), (10, 999, 3)])
def test_quota_used_up_defers_before_anything_is_made(used, replies, parts):
    quota(used, replies)
    texts = tuple(f"bagian {n}" for n in range(parts))
    post = compose(text=texts[0], thread=texts if parts > 1 else ())
    with pytest.raises(QuotaDeferred) as info:
        adapter().publish(post)
    assert info.value.retry_after is not None
    assert [c.request.method for c in responses.calls] == ["GET"]


@responses.activate
def test_container_error_is_permanent_with_the_reason():
    quota()
    responses.add(responses.POST, CREATE, json={"id": "c1"})
    status("c1", "ERROR", error_message="UNKNOWN")
    with pytest.raises(PermanentError, match="UNKNOWN"):
        adapter().publish(compose(text="Halo", media=(Media(path=None, url="https://cdn.example.org/x.jpg", alt="x"),)))


@responses.activate
def test_expired_token_is_an_auth_error_naming_the_variable():
    responses.add(responses.GET, LIMIT, status=400, json={"error": {
        "message": "Error validating access token: Session has expired", "type": "OAuthException", "code": 190}})
    with pytest.raises(AuthError) as info:
        adapter().publish(compose(text="Halo"))
    assert "SPI_KPK_THREADS_ACCESS_TOKEN" in str(info.value) and TOKEN not in str(info.value)


def test_six_links_are_refused_before_any_request():
    with responses.RequestsMock() as rs:
        with pytest.raises(PermanentError, match="more than 5"):
            adapter().publish(compose(text=" ".join(f"https://kpk.go.id/{n}" for n in range(6))))
        assert len(rs.calls) == 0


@responses.activate
def test_check_reads_the_user_and_both_quotas():
    responses.add(responses.GET, f"{API}/{UID}", json={"id": UID, "username": "kpk_ri"})
    quota(12, 40)
    ident = adapter().check()
    assert (ident.id, ident.name, ident.url) == (UID, "@kpk_ri", "https://www.threads.net/@kpk_ri")
    assert ident.usage == {"used": 12, "cap": 250, "replies_used": 40, "replies_cap": 1000}
    assert query(responses.calls[0]) == {"fields": "id,username"}


@responses.activate
def test_lost_publish_answer_is_unknown_outcome_and_keeps_the_container():
    import requests

    from spi_campaign.errors import UnknownOutcomeError

    quota()
    responses.add(responses.POST, CREATE, json={"id": "c1"})
    status("c1")
    responses.add(responses.POST, PUBLISH, body=requests.exceptions.ReadTimeout("read"))
    progress: dict = {}
    with pytest.raises(UnknownOutcomeError) as info:
        adapter().publish(compose(text="Halo"), checkpoint=progress.update)
    assert TOKEN not in str(info.value)
    assert progress == {"container": {"index": 0, "id": "c1"}}


def _ref(post, progress):
    from datetime import datetime, timezone

    from spi_campaign.adapters.base import PublicationRef

    return PublicationRef(post_id="tolak-gratifikasi", account="kpk-threads",
                          occurrence=datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc),
                          claimed_at=datetime(2026, 12, 7, 1, 0, 2, tzinfo=timezone.utc),
                          rendered=post, progress=progress)


@responses.activate
def test_reconcile_by_progress_and_by_recent_posts():
    post = compose(text="Tolak gratifikasi 🙅", hashtags=("SahabatKPK",))
    responses.add(responses.GET, f"{API}/m1", json={"permalink": "https://www.threads.net/@kpk_ri/post/m1"})
    done = adapter().reconcile(_ref(post, {"parts": ["m1"]}))
    assert (done.state, done.remote_id, done.url) == ("published", "m1", "https://www.threads.net/@kpk_ri/post/m1")

    responses.add(responses.GET, f"{API}/{UID}/threads", json={"data": [
        {"id": "m9", "text": "Lain", "permalink": "https://www.threads.net/@kpk_ri/post/m9"},
        {"id": "m2", "text": post.text, "permalink": "https://www.threads.net/@kpk_ri/post/m2"}]})
    found = adapter().reconcile(_ref(post, {"container": {"index": 0, "id": "c1"}}))
    assert (found.state, found.remote_id) == ("published", "m2")
    q = query(responses.calls[-1])
    assert q["fields"] == "id,text,permalink,timestamp" and int(q["since"]) == 1796605202 - 300

    partial = adapter().reconcile(_ref(compose(text="a", thread=("a", "b", "c")), {"parts": ["m1"]}))
    assert partial.state == "cannot_tell" and "1 of 3" in partial.detail
