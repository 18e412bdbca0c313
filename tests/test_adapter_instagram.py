"""The Instagram adapter at the HTTP wire: real facebook-sdk GraphAPI and
requests, responses intercepting every request. Parameter names are checked
against the excerpt of Meta's IGUser.json in tests/data/platform/meta/."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses

from _support import CLAIMED, load, reconcile_ref
from spi_campaign.adapters.meta.instagram import InstagramAdapter
from spi_campaign.errors import (AdapterError, AuthError, PermanentError, QuotaDeferred, TransientError,
                                 UnknownOutcomeError)
from spi_campaign.models import Account, Content, Media, Rendered

TOKEN = "igtok-SECRET-1234567890"
ENV = {"SPI_DISKOMINFO_IG_ACCESS_TOKEN": TOKEN}
IG = "17841405822304914"
V = "v27.0"
GRAPH = f"https://graph.facebook.com/{V}"
LIMIT = f"{GRAPH}/{IG}/content_publishing_limit"
MEDIA = f"{GRAPH}/{IG}/media"
PUBLISH = f"{GRAPH}/{IG}/media_publish"


SPEC = load("meta/spec-excerpt.json")


def spec_params(method: str, endpoint: str) -> set[str]:
    for api in SPEC["IGUser"]["apis"]:
        if api["method"] == method and (api.get("endpoint") or api.get("name")) == endpoint:
            return {p["name"] for p in api["params"]}
    raise KeyError((method, endpoint))


def adapter(env=ENV, **options) -> InstagramAdapter:
    opts = {"ig_user_id": IG, "graph_version": V, "timeout": 30.0, "poll_interval": 0.0, "max_polls": 10, **options}
    return InstagramAdapter(Account(name="diskominfo-ig", platform="instagram", options=opts), env=env)


def compose(n_images=1, text="Tolak gratifikasi!") -> Rendered:
    media = tuple(Media(path=None, url=f"https://cdn.example.org/poster-{i}.jpg", alt=f"Poster {i}")
                  for i in range(n_images))
    return InstagramAdapter.compose("apa-itu-gratifikasi", "diskominfo-ig",
                                    Content(text=text, link="https://www.kpk.go.id", hashtags=("TolakGratifikasi",),
                                            media=media))


def form(request) -> dict[str, list[str]]:
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    fields = parse_qs(request.body if isinstance(request.body, str) else request.body.decode(), keep_blank_values=True)
    assert fields.pop("access_token") == [TOKEN]
    return fields


def query(request) -> dict[str, list[str]]:
    q = parse_qs(urlparse(request.url).query)
    assert q.pop("access_token") == [TOKEN]
    return q


def status(cid: str, code: str) -> dict:
    return {"method": responses.GET, "url": f"{GRAPH}/{cid}", "json": {"status_code": code, "id": cid}}


def add_quota(fixture="meta/ig_publishing_limit.json"):
    responses.add(responses.GET, LIMIT, json=load(fixture))


def add_publish_and_permalink():
    responses.add(responses.POST, PUBLISH, json=load("meta/ig_media_publish.json"))
    responses.add(responses.GET, f"{GRAPH}/17920238422030506", json=load("meta/ig_permalink.json"))


def test_class_side():
    lim = InstagramAdapter.limits
    assert (lim.text, lim.max_hashtags, lim.max_mentions, lim.min_media, lim.max_media) == (2200, 30, 20, 1, 10)
    assert lim.media_needs_url and lim.media_types == {"image/jpeg"} and lim.max_media_bytes == 8 * 1024 * 1024
    assert InstagramAdapter.credentials == ("ACCESS_TOKEN",)
    r = compose()
    assert r.platform == "instagram" and "https://www.kpk.go.id" in r.text and r.link is None


@responses.activate
def test_single_image_with_container_polling():
    add_quota()
    responses.add(responses.POST, MEDIA, json=load("meta/ig_container.json"))
    responses.add(**status("17889455560051444", "IN_PROGRESS"))
    responses.add(**status("17889455560051444", "FINISHED"))
    add_publish_and_permalink()
    saved = []
    result = adapter().publish(compose(), checkpoint=saved.append)
    assert result.remote_id == "17920238422030506"
    assert result.url == "https://www.instagram.com/p/DAbCdEfGhIj/"
    calls = responses.calls
    assert [(c.request.method, c.request.url.split("?")[0]) for c in calls] == [
        ("GET", LIMIT), ("POST", MEDIA), ("GET", f"{GRAPH}/17889455560051444"),
        ("GET", f"{GRAPH}/17889455560051444"), ("POST", PUBLISH), ("GET", f"{GRAPH}/17920238422030506")]
    assert query(calls[0].request) == {"fields": ["quota_usage,config"]}
    fields = form(calls[1].request)
    assert fields == {"image_url": ["https://cdn.example.org/poster-0.jpg"],
                      "caption": ["Tolak gratifikasi!\n\nhttps://www.kpk.go.id\n\n#TolakGratifikasi"],
                      "alt_text": ["Poster 0"]}
    assert set(fields) <= spec_params("POST", "media")
    assert query(calls[2].request) == {"fields": ["status_code"]}
    pub = form(calls[4].request)
    assert pub == {"creation_id": ["17889455560051444"]} and set(pub) <= spec_params("POST", "media_publish")
    assert query(calls[5].request) == {"fields": ["permalink"]}
    assert all(c.request.req_kwargs["timeout"] == 30.0 for c in calls)
    assert saved == [{"container": "17889455560051444"},
                     {"container": "17889455560051444", "media_id": "17920238422030506"}]


@responses.activate
def test_carousel():
    add_quota()
    for cid in ("c1", "c2"):
        responses.add(responses.POST, MEDIA, json={"id": cid})
    responses.add(responses.POST, MEDIA, json={"id": "car"})
    responses.add(**status("c1", "FINISHED"))
    responses.add(**status("c2", "IN_PROGRESS"))
    responses.add(**status("c2", "FINISHED"))
    responses.add(**status("car", "IN_PROGRESS"))
    responses.add(**status("car", "FINISHED"))
    add_publish_and_permalink()
    saved = []
    result = adapter().publish(compose(2), checkpoint=saved.append)
    assert result.remote_id == "17920238422030506"
    posts = [c for c in responses.calls if c.request.method == "POST"]
    items = [form(c.request) for c in posts[:2]]
    for n, item in enumerate(items):
        assert item == {"image_url": [f"https://cdn.example.org/poster-{n}.jpg"], "is_carousel_item": ["true"],
                        "alt_text": [f"Poster {n}"]}
        assert set(item) <= spec_params("POST", "media")
    carousel = form(posts[2].request)
    assert carousel == {"media_type": ["CAROUSEL"], "children": ["c1,c2"],
                        "caption": ["Tolak gratifikasi!\n\nhttps://www.kpk.go.id\n\n#TolakGratifikasi"]}
    assert set(carousel) <= spec_params("POST", "media")
    assert form(posts[3].request) == {"creation_id": ["car"]}
    polls = [c.request.url.split("?")[0].rsplit("/", 1)[1] for c in responses.calls
             if c.request.method == "GET" and "fields=status_code" in c.request.url]
    assert polls == ["c1", "c2", "c2", "car", "car"]
    assert saved[0] == {"children": ["c1"]} and saved[1] == {"children": ["c1", "c2"]}
    assert saved[2] == {"children": ["c1", "c2"], "container": "car"}
    assert saved[3]["media_id"] == "17920238422030506"


@responses.activate
def test_quota_used_up_defers_before_any_container():
    add_quota("meta/ig_publishing_limit_full.json")
    before = datetime.now(timezone.utc)
    with pytest.raises(QuotaDeferred) as info:
        adapter().publish(compose())
    assert len(responses.calls) == 1
    assert before + timedelta(seconds=86390) < info.value.retry_after < before + timedelta(seconds=86410)
    assert "50 of 50" in str(info.value)


@responses.activate
def test_quota_is_read_not_hard_coded():
    responses.add(responses.GET, LIMIT, json={"data": [{"quota_usage": 60,
                                                        "config": {"quota_total": 100, "quota_duration": 86400}}]})
    responses.add(responses.POST, MEDIA, json=load("meta/ig_container.json"))
    responses.add(**status("17889455560051444", "FINISHED"))
    add_publish_and_permalink()
    assert adapter().publish(compose()).remote_id == "17920238422030506"

    responses.reset()
    responses.add(responses.GET, LIMIT, json={"data": [{"quota_usage": 10,
                                                        "config": {"quota_total": 10, "quota_duration": 3600}}]})
    with pytest.raises(QuotaDeferred) as info:
        adapter().publish(compose())
    assert info.value.retry_after < datetime.now(timezone.utc) + timedelta(seconds=3610)


@responses.activate
def test_polling_is_bounded_and_keeps_the_container():
    add_quota()
    responses.add(responses.POST, MEDIA, json=load("meta/ig_container.json"))
    responses.add(**status("17889455560051444", "IN_PROGRESS"))
    saved = []
    with pytest.raises(TransientError):
        adapter(max_polls=3).publish(compose(), checkpoint=saved.append)
    polls = [c for c in responses.calls if "status_code" in c.request.url]
    assert len(polls) == 3
    assert saved == [{"container": "17889455560051444"}]
    assert not any(c.request.url == PUBLISH for c in responses.calls)


@responses.activate
@pytest.mark.parametrize("code", ["ERROR", "EXPIRED"])
def test_container_error_is_permanent(code):
    add_quota()
    responses.add(responses.POST, MEDIA, json=load("meta/ig_container.json"))
    responses.add(**status("17889455560051444", code))
    with pytest.raises(PermanentError):
        adapter().publish(compose())


@responses.activate
def test_retry_reuses_the_recorded_container():
    add_quota()
    responses.add(**status("17889455560051444", "FINISHED"))
    add_publish_and_permalink()
    adapter().publish(compose(), progress={"container": "17889455560051444"})
    assert not any(c.request.method == "POST" and c.request.url == MEDIA for c in responses.calls)


@responses.activate
def test_expired_recorded_container_is_made_again():
    add_quota()
    responses.add(**status("old", "EXPIRED"))
    responses.add(responses.POST, MEDIA, json={"id": "new"})
    responses.add(**status("new", "FINISHED"))
    add_publish_and_permalink()
    saved = []
    adapter().publish(compose(), progress={"container": "old"}, checkpoint=saved.append)
    assert form([c for c in responses.calls if c.request.url == PUBLISH][0].request) == {"creation_id": ["new"]}
    assert saved[-1]["container"] == "new"


@responses.activate
def test_progress_with_media_id_publishes_nothing():
    responses.add(responses.GET, f"{GRAPH}/17920238422030506", json=load("meta/ig_permalink.json"))
    result = adapter().publish(compose(), progress={"container": "x", "media_id": "17920238422030506"})
    assert [c.request.method for c in responses.calls] == ["GET"]
    assert result.url == "https://www.instagram.com/p/DAbCdEfGhIj/"


@responses.activate
def test_publish_read_timeout_is_unknown_container_timeout_transient():
    add_quota()
    responses.add(responses.POST, MEDIA, json=load("meta/ig_container.json"))
    responses.add(**status("17889455560051444", "FINISHED"))
    responses.add(responses.POST, PUBLISH, body=requests.exceptions.ReadTimeout("read timeout"))
    with pytest.raises(UnknownOutcomeError):
        adapter().publish(compose())

    responses.reset()
    add_quota()
    responses.add(responses.POST, MEDIA, body=requests.exceptions.ReadTimeout("read timeout"))
    with pytest.raises(TransientError):
        adapter().publish(compose())


@responses.activate
def test_publish_limit_error_is_quota_deferred():
    add_quota()
    responses.add(responses.POST, MEDIA, json=load("meta/ig_container.json"))
    responses.add(**status("17889455560051444", "FINISHED"))
    responses.add(responses.POST, PUBLISH, json=load("meta/ig_error_2207042_quota.json"), status=400)
    with pytest.raises(QuotaDeferred):
        adapter().publish(compose())


@pytest.mark.parametrize("fixture,status_code,expected", [
    ("meta/error_190_463.json", 400, AuthError),
    ("meta/error_4_rate.json", 403, TransientError),
    ("meta/error_2_transient.json", 500, TransientError),
    ("meta/error_10_permission.json", 403, PermanentError),
    ("meta/error_100_invalid.json", 400, PermanentError),
])
@responses.activate
def test_error_codes_same_mapping_as_facebook(fixture, status_code, expected):
    add_quota()
    responses.add(responses.POST, MEDIA, json=load(fixture), status=status_code)
    with pytest.raises(AdapterError) as info:
        adapter().publish(compose())
    assert type(info.value) is expected
    assert TOKEN not in str(info.value)
    if expected is AuthError:
        assert "SPI_DISKOMINFO_IG_ACCESS_TOKEN" in str(info.value)


@responses.activate
def test_permalink_failure_does_not_fail_the_publication():
    add_quota()
    responses.add(responses.POST, MEDIA, json=load("meta/ig_container.json"))
    responses.add(**status("17889455560051444", "FINISHED"))
    responses.add(responses.POST, PUBLISH, json=load("meta/ig_media_publish.json"))
    responses.add(responses.GET, f"{GRAPH}/17920238422030506", json=load("meta/error_2_transient.json"), status=500)
    result = adapter().publish(compose())
    assert result.remote_id == "17920238422030506" and result.url is None


@responses.activate
def test_missing_url_and_missing_token():
    post = InstagramAdapter.compose("p", "diskominfo-ig", Content(text="x", media=(Media(Path("/a.jpg"), None, None),)))
    with pytest.raises(PermanentError) as info:
        adapter().publish(post)
    assert "url" in str(info.value)
    for call in (lambda a: a.publish(compose()), lambda a: a.check()):
        with pytest.raises(AuthError) as info:
            call(adapter(env={}))
        assert "SPI_DISKOMINFO_IG_ACCESS_TOKEN" in str(info.value)
    assert len(responses.calls) == 0


# ----- check ------------------------------------------------------------------

@responses.activate
def test_check_with_quota_detail():
    responses.add(responses.GET, f"{GRAPH}/{IG}", json=load("meta/ig_user.json"))
    add_quota()
    ident = adapter().check()
    assert (ident.id, ident.name, ident.url) == (IG, "@diskominfobali", "https://www.instagram.com/diskominfobali/")
    assert ident.detail == "publishing quota 2/50 in 24 h"
    assert query(responses.calls[0].request) == {"fields": ["id,username"]}


@responses.activate
def test_check_expired_token():
    responses.add(responses.GET, f"{GRAPH}/{IG}", json=load("meta/error_190_463.json"), status=400)
    with pytest.raises(AuthError) as info:
        adapter().check()
    assert "SPI_DISKOMINFO_IG_ACCESS_TOKEN" in str(info.value)


# ----- reconcile --------------------------------------------------------------

def _ref(post, progress=None):
    return reconcile_ref("diskominfo-ig", post, progress)


@responses.activate
def test_reconcile_by_caption():
    post = compose()
    body = load("meta/ig_media_list.json")
    body["data"][0]["caption"] = post.text
    responses.add(responses.GET, MEDIA, json=body)
    res = adapter().reconcile(_ref(post))
    assert (res.state, res.remote_id, res.url) == ("published", "17895695668004550",
                                                   "https://www.instagram.com/p/DAbCdEfGhIj/")
    q = query(responses.calls[0].request)
    assert q["fields"] == ["id,caption,permalink,timestamp"]
    assert q["since"] == [str(int((CLAIMED - timedelta(minutes=5)).timestamp()))]

    responses.reset()
    responses.add(responses.GET, MEDIA, json=load("meta/ig_media_list.json"))
    assert adapter().reconcile(_ref(post)).state == "not_found"

    responses.reset()
    responses.add(responses.GET, MEDIA, json=load("meta/error_2_transient.json"), status=500)
    assert adapter().reconcile(_ref(post)).state == "cannot_tell"


@responses.activate
def test_reconcile_uses_the_recorded_container_status():
    responses.add(**status("17889455560051444", "FINISHED"))
    res = adapter().reconcile(_ref(compose(), {"container": "17889455560051444"}))
    assert res.state == "not_found" and "FINISHED" in res.detail

    responses.reset()
    responses.add(responses.GET, f"{GRAPH}/17920238422030506", json=load("meta/ig_permalink.json"))
    res = adapter().reconcile(_ref(compose(), {"media_id": "17920238422030506"}))
    assert (res.state, res.url) == ("published", "https://www.instagram.com/p/DAbCdEfGhIj/")


@pytest.mark.parametrize("fixture,expected,words", [
    ("meta/ig_error_2207051_restricted.json", PermanentError, "spam restriction"),
    ("meta/ig_error_2207001_server.json", TransientError, "server error"),
    ("meta/ig_error_2207003_timeout.json", TransientError, "too long to download"),
    ("meta/ig_error_2207032_create.json", TransientError, "could not create"),
])
@responses.activate
def test_instagram_error_classes(fixture, expected, words):
    """Code 4 / 2207051 is a restriction of the account, not throttling; codes
    -1 / -2 ("try again") are transient even with is_transient false."""
    add_quota()
    responses.add(responses.POST, MEDIA, json=load(fixture), status=400)
    with pytest.raises(AdapterError) as info:
        adapter().publish(compose())
    assert type(info.value) is expected
    assert words in str(info.value) and TOKEN not in str(info.value)


@responses.activate
def test_check_reads_the_token_expiry_and_sends_appsecret_proof():
    import hashlib
    import hmac

    responses.add(responses.GET, f"{GRAPH}/{IG}", json=load("meta/ig_user.json"))
    add_quota()
    responses.add(responses.GET, f"{GRAPH}/debug_token", json=load("meta/debug_token.json"))
    ident = adapter(env={**ENV, "SPI_DISKOMINFO_IG_APP_SECRET": "appsecret-SECRET-1111111111"}).check()
    assert ident.expires_at is not None and ident.data_access_expires_at is not None
    proof = hmac.new(b"appsecret-SECRET-1111111111", TOKEN.encode(), hashlib.sha256).hexdigest()
    assert len(responses.calls) == 3
    assert all(query(c.request)["appsecret_proof"] == [proof] for c in responses.calls)
