"""The X adapter at the HTTP wire: real tweepy.Client and requests, responses
intercepting every request. Request bodies are checked against the excerpt of
X's OpenAPI document in tests/data/platform/x/openapi-excerpt.json."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from http.client import RemoteDisconnected
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from _support import CLAIMED, PNG, load, multipart, png_images, reconcile_ref
from spi_campaign.adapters.base import PublicationRef
from spi_campaign.adapters.x import XAdapter
from spi_campaign.errors import (AdapterError, AuthError, BillingError, PermanentError, TransientError,
                                 UnknownOutcomeError)
from spi_campaign.models import Account, Media, Rendered

TWEETS = "https://api.x.com/2/tweets"
ME = "https://api.x.com/2/users/me"
UPLOAD = "https://api.x.com/2/media/upload"
METADATA = "https://api.x.com/2/media/metadata"
USAGE = "https://api.x.com/2/usage/tweets"

SECRETS = {
    "API_KEY": "xkey-SECRET-1111111111",
    "API_SECRET": "xsec-SECRET-2222222222",
    "ACCESS_TOKEN": "2244994945-xtok-SECRET-3333333333",
    "ACCESS_TOKEN_SECRET": "xtoksec-SECRET-4444444444",
}
ENV = {f"SPI_DISKOMINFO_X_{k}": v for k, v in SECRETS.items()}
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"


# ----- helpers (those shared with other test modules are in tests/_support.py) -----

SPEC = load("x/openapi-excerpt.json")


def check_schema(value, schema, path="$"):
    """A small JSON-Schema subset validator (type, properties, required,
    additionalProperties, items, min/maxItems, pattern, enum, maxLength, $ref)."""
    if "$ref" in schema:
        return check_schema(value, SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]], path)
    t = schema.get("type")
    if t == "object" or "properties" in schema:
        assert isinstance(value, dict), f"{path}: expected object"
        for key in schema.get("required", ()):
            assert key in value, f"{path}: missing required {key}"
        props = schema.get("properties", {})
        for key, v in value.items():
            if key in props:
                check_schema(v, props[key], f"{path}.{key}")
            else:
                assert schema.get("additionalProperties", True) is not False, f"{path}: unexpected key {key}"
    elif t == "array":
        assert isinstance(value, list), f"{path}: expected array"
        assert len(value) >= schema.get("minItems", 0), f"{path}: too few items"
        assert len(value) <= schema.get("maxItems", 10 ** 9), f"{path}: too many items"
        for i, item in enumerate(value):
            check_schema(item, schema.get("items", {}), f"{path}[{i}]")
    elif t == "string":
        assert isinstance(value, str), f"{path}: expected string, got {value!r}"
        if "pattern" in schema:
            assert re.search(schema["pattern"], value), f"{path}: {value!r} !~ {schema['pattern']}"
        if "maxLength" in schema:
            assert len(value) <= schema["maxLength"]
    elif t == "integer":
        assert isinstance(value, int) and not isinstance(value, bool)
    elif t == "boolean":
        assert isinstance(value, bool)
    if "enum" in schema:
        assert value in schema["enum"], f"{path}: {value!r} not in enum"


def request_schema(path: str, method: str = "post", media: str = "application/json") -> dict:
    return SPEC["paths"][path][method]["requestBody"]["content"][media]["schema"]


def account(**options) -> Account:
    return Account(name="diskominfo-x", platform="x", options={"timeout": 30.0, **options})


def adapter(env=ENV, **options) -> XAdapter:
    return XAdapter(account(**options), env=env)


def rendered(text="Tolak gratifikasi! #TolakGratifikasi", thread=(), media=()) -> Rendered:
    return Rendered(post_id="apa-itu-gratifikasi", account="diskominfo-x", platform="x", text=text, link=None,
                    hashtags=("TolakGratifikasi",), media=tuple(media), thread=tuple(thread))


def created(tweet_id: str, status=201, **headers):
    body = load("x/create_post.json")
    body["data"]["id"] = tweet_id
    return {"method": responses.POST, "url": TWEETS, "json": body, "status": status, "headers": headers}


def assert_oauth(request):
    auth = request.headers.get("Authorization", "")
    assert auth.startswith("OAuth "), "OAuth 1.0a Authorization header missing"
    for key in ("oauth_consumer_key", "oauth_token", "oauth_signature", "oauth_nonce"):
        assert key + "=" in auth


def json_body(call) -> dict:
    return json.loads(call.request.body)


def assert_no_secret(text: str):
    for value in SECRETS.values():
        assert value not in text


# ----- class side -------------------------------------------------------------

def test_class_side_limits_and_length():
    assert XAdapter.platform == "x" and XAdapter.label == "X"
    assert XAdapter.limits.text == 280 and XAdapter.limits.max_media == 4 and XAdapter.limits.thread
    assert XAdapter.limits.max_media_bytes == 5 * 1024 * 1024
    assert XAdapter.limits.media_types == {"image/jpeg", "image/png", "image/gif", "image/webp"}
    assert XAdapter.measure("lihat https://www.kpk.go.id/id/layanan-publik/gratifikasi") == 6 + 23
    assert XAdapter.fits("a" * 280) and not XAdapter.fits("a" * 281)
    from spi_campaign.models import Content

    r = XAdapter.compose("p", "diskominfo-x", Content(text="Halo", link="https://kpk.go.id", hashtags=("A",)))
    assert r.platform == "x" and r.text == "Halo\n\nhttps://kpk.go.id\n\n#A" and r.link is None


def test_importing_the_module_imports_no_sdk():
    import subprocess
    import sys

    code = ("import sys, spi_campaign.adapters.x as m; m.XAdapter.measure('a'); "
            "print(sorted(k for k in ('tweepy', 'requests', 'facebook') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ----- publish ----------------------------------------------------------------

@responses.activate
def test_publish_simple_post_exact_request():
    responses.add(**created("1445880548472328192", **{"x-user-limit-24hour-remaining": "16"}))
    a = adapter(username="diskominfobali", timeout=12.5)
    result = a.publish(rendered())
    assert result.remote_id == "1445880548472328192"
    assert result.url == "https://x.com/diskominfobali/status/1445880548472328192"
    assert len(responses.calls) == 1                # username from config: no GET /2/users/me
    call = responses.calls[0]
    assert call.request.method == "POST" and call.request.url == TWEETS
    body = json_body(call)
    assert body == {"text": "Tolak gratifikasi! #TolakGratifikasi"}
    check_schema(body, request_schema("/2/tweets"))
    assert_oauth(call.request)
    assert call.request.req_kwargs["timeout"] == 12.5


@responses.activate
def test_publish_without_username_looks_it_up_once():
    responses.add(responses.GET, ME, json=load("x/users_me.json"))
    responses.add(**created("1"))
    responses.add(**created("2"))
    a = adapter()
    assert a.publish(rendered()).url == "https://x.com/TwitterDev/status/1"
    assert a.publish(rendered("lagi")).url == "https://x.com/TwitterDev/status/2"
    gets = [c for c in responses.calls if c.request.method == "GET"]
    assert len(gets) == 1 and gets[0].request.url == ME
    assert_oauth(gets[0].request)


@responses.activate
def test_thread_failure_at_part_2_then_retry_continues_from_part_2():
    parts = ("Bagian 1: apa itu gratifikasi?", "Bagian 2: wajib lapor 30 hari kerja.", "Bagian 3: lapor ke KPK.")
    post = rendered(parts[0], thread=parts)
    responses.add(**created("1001"))
    responses.add(responses.POST, TWEETS, json=load("x/error_503.json"), status=503)
    saved = []
    a = adapter(username="diskominfobali")
    with pytest.raises(TransientError) as info:
        a.publish(post, checkpoint=saved.append)
    assert "parts 1-1 of the thread are live" in str(info.value)
    assert saved == [{"parts": ["1001"]}]
    first = [json_body(c) for c in responses.calls]
    assert first[0] == {"text": parts[0]}
    assert first[1] == {"text": parts[1], "reply": {"in_reply_to_tweet_id": "1001"}}

    responses.reset()
    responses.add(**created("1002"))
    responses.add(**created("1003"))
    saved2 = []
    result = adapter(username="diskominfobali").publish(post, progress=saved[-1], checkpoint=saved2.append)
    bodies = [json_body(c) for c in responses.calls]
    assert len(bodies) == 2 and all(b["text"] != parts[0] for b in bodies)   # part 1 not re-sent
    assert bodies[0] == {"text": parts[1], "reply": {"in_reply_to_tweet_id": "1001"}}
    assert bodies[1] == {"text": parts[2], "reply": {"in_reply_to_tweet_id": "1002"}}
    for b in bodies:
        check_schema(b, request_schema("/2/tweets"))
    assert saved2 == [{"parts": ["1001", "1002"]}, {"parts": ["1001", "1002", "1003"]}]
    assert result.remote_id == "1001" and result.extra["parts"] == ["1001", "1002", "1003"]
    assert result.url == "https://x.com/diskominfobali/status/1001"


@responses.activate
def test_thread_read_timeout_at_part_2_is_unknown_outcome():
    post = rendered("satu", thread=("satu", "dua"))
    responses.add(**created("1001"))
    responses.add(responses.POST, TWEETS, body=requests.exceptions.ReadTimeout("read timed out"))
    saved = []
    with pytest.raises(UnknownOutcomeError) as info:
        adapter(username="u").publish(post, checkpoint=saved.append)
    assert "may be live" in str(info.value) and "1001" in str(info.value)
    assert saved == [{"parts": ["1001"]}]


@responses.activate
def test_complete_progress_publishes_nothing():
    post = rendered("satu", thread=("satu", "dua"))
    result = adapter(username="u").publish(post, progress={"parts": ["7", "8"]})
    assert len(responses.calls) == 0 and result.remote_id == "7" and result.extra["parts"] == ["7", "8"]


def _images(tmp_path, n=2):
    return png_images(tmp_path, n, alt="Poster tolak gratifikasi")


@responses.activate
def test_media_upload_v2_alt_text_then_post_with_media_ids(tmp_path):
    images = _images(tmp_path, 2)
    for mid in ("1146654567674912769", "1146654567674912770"):
        body = load("x/media_upload.json")
        body["data"]["id"] = mid
        responses.add(responses.POST, UPLOAD, json=body)
        meta = load("x/media_metadata.json")
        meta["data"]["id"] = mid
        responses.add(responses.POST, METADATA, json=meta)
    responses.add(**created("1445880548472328192"))
    saved = []
    result = adapter(username="u").publish(rendered(media=images), checkpoint=saved.append)

    calls = responses.calls
    assert [c.request.url for c in calls] == [UPLOAD, METADATA, UPLOAD, METADATA, TWEETS]
    for n, c in enumerate(calls[:4]):
        assert_oauth(c.request)
        assert c.request.req_kwargs["timeout"] == 30.0
    for n, idx in enumerate((0, 2)):
        parts = multipart(calls[idx].request)
        assert set(parts) == {"media", "media_category"}
        assert parts["media_category"][2] == b"tweet_image"
        assert parts["media"][0] == f"poster-{n}.png" and parts["media"][1] == "image/png"
        assert parts["media"][2] == PNG
        # multipart form: media is binary, media_category an enum value
        schema = SPEC["components"]["schemas"]["MediaUploadRequest"]
        assert set(schema["required"]) <= set(parts)
        assert parts["media_category"][2].decode() in schema["properties"]["media_category"]["enum"]
    for n, idx in enumerate((1, 3)):
        body = json_body(calls[idx])
        check_schema(body, request_schema("/2/media/metadata"))
        assert body == {"id": ["1146654567674912769", "1146654567674912770"][n],
                        "metadata": {"alt_text": {"text": f"Poster tolak gratifikasi {n}"}}}
    post_body = json_body(calls[4])
    check_schema(post_body, request_schema("/2/tweets"))
    assert post_body["media"] == {"media_ids": ["1146654567674912769", "1146654567674912770"]}
    assert saved[1]["media_ids"] == ["1146654567674912769", "1146654567674912770"]
    assert saved[-1]["parts"] == ["1445880548472328192"]
    assert result.extra["media_ids"] == ["1146654567674912769", "1146654567674912770"]


@responses.activate
def test_retry_after_a_failed_post_reuses_uploaded_media(tmp_path):
    images = _images(tmp_path, 1)
    responses.add(responses.POST, TWEETS, json=load("x/error_503.json"), status=503)
    progress = {"media_ids": ["1146654567674912769"],
                "media_expires_at": datetime.now(timezone.utc).timestamp() + 86000}
    with pytest.raises(TransientError):
        adapter(username="u").publish(rendered(media=images), progress=progress)
    assert [c.request.url for c in responses.calls] == [TWEETS]       # no upload again
    assert json_body(responses.calls[0])["media"] == {"media_ids": ["1146654567674912769"]}


@responses.activate
def test_expired_media_ids_are_uploaded_again(tmp_path):
    images = _images(tmp_path, 1)
    responses.add(responses.POST, UPLOAD, json=load("x/media_upload.json"))
    responses.add(responses.POST, METADATA, json=load("x/media_metadata.json"))
    responses.add(**created("9"))
    progress = {"media_ids": ["111"], "media_expires_at": datetime.now(timezone.utc).timestamp() - 10}
    adapter(username="u").publish(rendered(media=images), progress=progress)
    assert json_body(responses.calls[-1])["media"] == {"media_ids": ["1146654567674912769"]}


@responses.activate
@pytest.mark.parametrize("case", ["too_big", "wrong_type", "no_path", "too_many"])
def test_media_checked_before_any_upload(tmp_path, case):
    if case == "too_big":
        p = tmp_path / "big.png"
        p.write_bytes(PNG + b"\x00" * (5 * 1024 * 1024))
        media = [Media(path=p, url=None, alt=None)]
    elif case == "wrong_type":
        p = tmp_path / "poster.png"                       # a BMP named .png: sniffed from the bytes
        p.write_bytes(b"BM" + b"\x00" * 64)
        media = [Media(path=p, url=None, alt=None)]
    elif case == "no_path":
        media = [Media(path=None, url="https://example.org/a.png", alt=None)]
    else:
        media = _images(tmp_path, 5)
    with pytest.raises(PermanentError) as info:
        adapter(username="u").publish(rendered(media=media))
    assert len(responses.calls) == 0
    assert {"too_big": "5 MB", "wrong_type": "JPEG", "no_path": "path:", "too_many": "at most 4"}[case] in str(info.value)


# ----- errors -----------------------------------------------------------------

@responses.activate
def test_401_is_auth_error_naming_all_four_variables():
    responses.add(responses.POST, TWEETS, json=load("x/error_401.json"), status=401)
    with pytest.raises(AuthError) as info:
        adapter(username="u").publish(rendered())
    msg = str(info.value)
    for name in ENV:
        assert name in msg
    assert_no_secret(msg)


@responses.activate
def test_403_duplicate_is_permanent():
    responses.add(responses.POST, TWEETS, json=load("x/error_403_duplicate.json"), status=403)
    with pytest.raises(PermanentError) as info:
        adapter(username="u").publish(rendered())
    assert type(info.value) is PermanentError
    assert "You are not allowed to create a Tweet with duplicate content." in str(info.value)


@responses.activate
def test_other_4xx_is_permanent_with_the_api_detail():
    responses.add(responses.POST, TWEETS, json=load("x/error_400_invalid.json"), status=400)
    with pytest.raises(PermanentError) as info:
        adapter(username="u").publish(rendered())
    assert "One or more parameters to your request was invalid." in str(info.value)
    assert "Your media IDs are invalid." in str(info.value)


@responses.activate
def test_429_retry_after_from_rate_limit_reset():
    reset = int(datetime(2026, 12, 7, 2, 15, tzinfo=timezone.utc).timestamp())
    responses.add(responses.POST, TWEETS, json=load("x/error_429.json"), status=429,
                  headers={"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0",
                           "x-rate-limit-reset": str(reset)})
    with pytest.raises(TransientError) as info:
        adapter(username="u").publish(rendered())
    assert info.value.retry_after == datetime.fromtimestamp(reset, timezone.utc)


@responses.activate
def test_429_with_daily_user_limit_uses_the_24_hour_reset():
    reset = int(datetime(2026, 12, 7, 2, 15, tzinfo=timezone.utc).timestamp())
    daily = int(datetime(2026, 12, 7, 23, 0, tzinfo=timezone.utc).timestamp())
    responses.add(responses.POST, TWEETS, json=load("x/error_429.json"), status=429,
                  headers={"x-rate-limit-reset": str(reset), "x-user-limit-24hour-limit": "17",
                           "x-user-limit-24hour-remaining": "0", "x-user-limit-24hour-reset": str(daily)})
    with pytest.raises(TransientError) as info:
        adapter(username="u").publish(rendered())
    assert info.value.retry_after == datetime.fromtimestamp(daily, timezone.utc)
    assert "24-hour" in str(info.value)


@responses.activate
def test_5xx_is_transient():
    responses.add(responses.POST, TWEETS, json=load("x/error_503.json"), status=503)
    with pytest.raises(TransientError):
        adapter(username="u").publish(rendered())


def _connect_refused():
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/2/tweets", NewConnectionError(
        None, "Failed to establish a new connection: [Errno 111] Connection refused")))


def _aborted():
    return requests.exceptions.ConnectionError(ProtocolError(
        "Connection aborted.", RemoteDisconnected("Remote end closed connection without response")))


@responses.activate
@pytest.mark.parametrize("exc,expected", [
    (lambda: requests.exceptions.ConnectTimeout("connect timed out"), TransientError),
    (_connect_refused, TransientError),
    (lambda: requests.exceptions.ReadTimeout("read timed out"), UnknownOutcomeError),
    (_aborted, UnknownOutcomeError),
])
def test_transport_errors(exc, expected):
    responses.add(responses.POST, TWEETS, body=exc())
    with pytest.raises(AdapterError) as info:
        adapter(username="u").publish(rendered())
    assert type(info.value) is expected
    assert_no_secret(str(info.value))
    assert info.value.__cause__ is None and info.value.__suppress_context__


@responses.activate
def test_unreadable_success_body_is_unknown_outcome():
    responses.add(responses.POST, TWEETS, body="<html>ok</html>", status=201, content_type="text/html")
    with pytest.raises(UnknownOutcomeError):
        adapter(username="u").publish(rendered())


@responses.activate
def test_missing_credentials_is_auth_error_before_any_request():
    env = dict(ENV)
    del env["SPI_DISKOMINFO_X_ACCESS_TOKEN_SECRET"]
    env["SPI_DISKOMINFO_X_API_SECRET"] = "  "
    for call in (lambda a: a.publish(rendered()), lambda a: a.check()):
        with pytest.raises(AuthError) as info:
            call(adapter(env=env))
        msg = str(info.value)
        assert "SPI_DISKOMINFO_X_ACCESS_TOKEN_SECRET" in msg and "SPI_DISKOMINFO_X_API_SECRET" in msg
        assert_no_secret(msg)
    assert len(responses.calls) == 0


# ----- check ------------------------------------------------------------------

@responses.activate
def test_check_returns_who_the_account_posts_as():
    responses.add(responses.GET, ME, json=load("x/users_me.json"))
    ident = adapter().check()
    assert (ident.id, ident.name, ident.url, ident.detail) == ("2244994945", "@TwitterDev",
                                                               "https://x.com/TwitterDev", "X Dev")
    assert_oauth(responses.calls[0].request)


@responses.activate
def test_check_with_rejected_tokens():
    responses.add(responses.GET, ME, json=load("x/error_401.json"), status=401)
    with pytest.raises(AuthError) as info:
        adapter().check()
    assert "SPI_DISKOMINFO_X_API_KEY" in str(info.value)


# ----- reconcile --------------------------------------------------------------

TIMELINE = "https://api.x.com/2/users/2244994945/tweets"


def _ref(post, progress=None):
    return reconcile_ref("diskominfo-x", post, progress)


def _timeline(*tweets):
    body = load("x/users_tweets.json")
    body["data"] = list(tweets) + body["data"]
    body["meta"]["result_count"] = len(body["data"])
    return body


@responses.activate
def test_reconcile_finds_the_post_with_urls_rewritten():
    post = rendered("Lapor gratifikasi & suap: https://gol.kpk.go.id atau kpk.go.id\n\n#TolakGratifikasi")
    responses.add(responses.GET, ME, json=load("x/users_me.json"))
    responses.add(responses.GET, TIMELINE, json=_timeline(
        {"id": "1601", "text": "Lapor gratifikasi &amp; suap: https://t.co/AbCdEf atau https://t.co/XyZ \n\n#TolakGratifikasi"}))
    res = adapter(username="diskominfobali").reconcile(_ref(post))
    assert (res.state, res.remote_id, res.url) == ("published", "1601", "https://x.com/diskominfobali/status/1601")
    req = responses.calls[1].request
    assert req.url.startswith(TIMELINE)
    q = requests.utils.urlparse(req.url).query
    from urllib.parse import parse_qs

    params = parse_qs(q)
    assert params["start_time"] == ["2026-12-07T00:55:02Z"]     # claimed_at minus 5 minutes
    assert params["max_results"] == ["100"]
    assert_oauth(req)


@responses.activate
def test_reconcile_not_found_and_cannot_tell():
    post = rendered("Teks yang tidak pernah terbit")
    responses.add(responses.GET, ME, json=load("x/users_me.json"))
    responses.add(responses.GET, TIMELINE, json=load("x/users_tweets.json"))
    assert adapter().reconcile(_ref(post)).state == "not_found"

    responses.reset()
    responses.add(responses.GET, ME, json=load("x/users_me.json"))
    responses.add(responses.GET, TIMELINE, json=load("x/error_503.json"), status=503)
    res = adapter().reconcile(_ref(post))
    assert res.state == "cannot_tell" and "503" in res.detail


@responses.activate
def test_reconcile_thread_partly_recorded():
    post = rendered("satu", thread=("satu", "dua"))
    responses.add(responses.GET, ME, json=load("x/users_me.json"))
    responses.add(responses.GET, TIMELINE, json=_timeline(
        {"id": "1002", "text": "dua", "referenced_tweets": [{"type": "replied_to", "id": "1001"}]}))
    res = adapter(username="u").reconcile(_ref(post, {"parts": ["1001"]}))
    assert (res.state, res.remote_id) == ("published", "1001")

    responses.reset()
    responses.add(responses.GET, ME, json=load("x/users_me.json"))
    responses.add(responses.GET, TIMELINE, json=load("x/users_tweets.json"))
    res = adapter(username="u").reconcile(_ref(post, {"parts": ["1001"]}))
    assert res.state == "not_found" and "part 2" in res.detail


def test_reconcile_without_rendered_post_cannot_tell():
    ref = PublicationRef(post_id="p", account="diskominfo-x", occurrence=CLAIMED, claimed_at=CLAIMED, rendered=None)
    assert adapter().reconcile(ref).state == "cannot_tell"


def test_response_fixtures_match_the_spec():
    schemas = SPEC["components"]["schemas"]
    check_schema(load("x/create_post.json")["data"], schemas["CreatePostsResponseData"])
    check_schema(load("x/media_upload.json")["data"], schemas["MediaUploadResponseData"])
    check_schema(load("x/media_metadata.json")["data"], schemas["CreateMediaMetadataResponseData"])


# ----- host ---------------------------------------------------------------------

@responses.activate
def test_tweepy_calls_go_to_the_documented_host():
    """tweepy 4.17 hard-codes api.twitter.com; every request must reach api.x.com
    (the OpenAPI document's server), signed for that host."""
    responses.add(responses.GET, ME, json=load("x/users_me.json"))
    responses.add(**created("1"))
    adapter().publish(rendered())
    assert [c.request.url for c in responses.calls] == [TWEETS, ME]
    assert SPEC["servers"][0]["url"] == "https://api.x.com"
    assert all(c.request.url.startswith("https://api.x.com/2/") for c in responses.calls)


# ----- billing ------------------------------------------------------------------

@responses.activate
def test_402_out_of_credits_is_a_billing_error():
    responses.add(responses.POST, TWEETS, json=load("x/error_402.json"), status=402)
    with pytest.raises(BillingError) as info:
        adapter(username="u").publish(rendered())
    msg = str(info.value)
    assert info.value.kind == "billing" and isinstance(info.value, AuthError)
    assert "402" in msg and "credits" in msg and "refused the request" not in msg
    assert info.value.retry_after is None
    assert_no_secret(msg)


@responses.activate
def test_429_usage_capped_is_a_billing_error_until_the_reset():
    reset = int(datetime(2026, 12, 31, 16, 0, tzinfo=timezone.utc).timestamp())
    responses.add(responses.POST, TWEETS, json=load("x/error_429_usage_capped.json"), status=429,
                  headers={"x-rate-limit-reset": str(reset)})
    with pytest.raises(BillingError) as info:
        adapter(username="u").publish(rendered())
    assert info.value.retry_after == datetime.fromtimestamp(reset, timezone.utc)
    msg = str(info.value)
    assert "usage cap" in msg and "monthly product" in msg and "2026-12-31 16:00 UTC" in msg


@responses.activate
def test_usage_capped_inside_errors_array_without_reset_header():
    body = {"errors": [{"type": "https://api.x.com/2/problems/usage-capped", "title": "UsageCapExceeded",
                        "detail": "Usage cap exceeded", "period": "Daily", "scope": "Account"}]}
    responses.add(responses.POST, TWEETS, json=body, status=429)
    with pytest.raises(BillingError) as info:
        adapter(username="u").publish(rendered())
    assert info.value.retry_after is None and "daily account" in str(info.value)


# ----- GIFs: chunked upload with tweet_gif ------------------------------------

GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x00\x00\x00\x00\x00,"


def _gif(tmp_path, size):
    p = tmp_path / "animasi.gif"
    p.write_bytes(GIF + b"\x00" * (size - len(GIF)))
    return [Media(path=p, url=None, alt="Animasi tolak gratifikasi")]


def _gif_wire(status_body):
    mid = "1880028106020515840"
    responses.add(responses.POST, UPLOAD + "/initialize", json=load("x/media_initialize.json"))
    responses.add(responses.POST, f"{UPLOAD}/{mid}/append", json=load("x/media_append.json"))
    responses.add(responses.POST, f"{UPLOAD}/{mid}/append", json=load("x/media_append.json"))
    responses.add(responses.POST, f"{UPLOAD}/{mid}/finalize", json=load("x/media_finalize_pending.json"))
    responses.add(responses.GET, UPLOAD, json=load(status_body))
    return mid


@responses.activate
def test_gif_is_uploaded_in_chunks_as_tweet_gif_with_status_polling(tmp_path):
    media = _gif(tmp_path, 1536 * 1024)                 # two 1 MiB segments
    mid = _gif_wire("x/media_status_succeeded.json")
    responses.add(responses.POST, METADATA, json=load("x/media_metadata.json"))
    responses.add(**created("1445880548472328192"))
    saved = []
    adapter(username="u").publish(rendered(media=media), checkpoint=saved.append)

    urls = [(c.request.method, c.request.url.split("?")[0]) for c in responses.calls]
    assert urls == [("POST", UPLOAD + "/initialize"), ("POST", f"{UPLOAD}/{mid}/append"),
                    ("POST", f"{UPLOAD}/{mid}/append"), ("POST", f"{UPLOAD}/{mid}/finalize"),
                    ("GET", UPLOAD), ("POST", METADATA), ("POST", TWEETS)]
    for c in responses.calls:
        assert_oauth(c.request)
    init = json_body(responses.calls[0])
    check_schema(init, SPEC["paths"]["/2/media/upload/initialize"]["post"]["requestBody"]["content"]
                 ["application/json"]["schema"])
    assert init == {"media_type": "image/gif", "total_bytes": 1536 * 1024, "media_category": "tweet_gif"}
    data = media[0].path.read_bytes()
    append_schema = SPEC["components"]["schemas"]["AppendMediaUploadRequest"]
    for n, call in enumerate(responses.calls[1:3]):
        parts = multipart(call.request)
        assert set(parts) == set(append_schema["required"]) == {"media", "segment_index"}
        assert int(parts["segment_index"][2]) == n
        assert parts["media"][2] == data[n * 1024 * 1024:(n + 1) * 1024 * 1024]
    assert responses.calls[3].request.body in (None, b"", "")          # finalize has no body in the spec
    assert "requestBody" not in SPEC["paths"]["/2/media/upload/{id}/finalize"]["post"]
    status = parse_qs(urlparse(responses.calls[4].request.url).query)
    assert status == {"command": ["STATUS"], "media_id": [mid]}
    params = {p["name"]: p for p in SPEC["paths"]["/2/media/upload"]["get"]["parameters"]}
    assert status["command"][0] in params["command"]["schema"]["enum"]
    assert re.fullmatch(SPEC["components"]["schemas"]["MediaId"]["pattern"], mid)
    assert json_body(responses.calls[-1])["media"] == {"media_ids": [mid]}
    assert saved[0]["media_ids"] == [mid]
    # never the single-request image upload
    assert not any(c.request.url == UPLOAD and c.request.method == "POST" for c in responses.calls)


@responses.activate
def test_gif_processing_failure_is_permanent_and_posts_nothing(tmp_path):
    _gif_wire("x/media_status_failed.json")
    with pytest.raises(PermanentError) as info:
        adapter(username="u").publish(rendered(media=_gif(tmp_path, 2000)), checkpoint=lambda p: None)
    assert "could not process" in str(info.value)
    assert not any(c.request.url == TWEETS for c in responses.calls)


@responses.activate
def test_png_still_uses_the_single_upload(tmp_path):
    responses.add(responses.POST, UPLOAD, json=load("x/media_upload.json"))
    responses.add(responses.POST, METADATA, json=load("x/media_metadata.json"))
    responses.add(**created("9"))
    adapter(username="u").publish(rendered(media=_images(tmp_path, 1)))
    assert multipart(responses.calls[0].request)["media_category"][2] == b"tweet_image"


# ----- usage in check -----------------------------------------------------------

@responses.activate
def test_check_shows_usage_with_the_bearer_token():
    bearer = "AAAA-bearer-SECRET-5555555555"
    responses.add(responses.GET, ME, json=load("x/users_me.json"))
    responses.add(responses.GET, USAGE, json=load("x/usage.json"))
    ident = adapter(env={**ENV, "SPI_DISKOMINFO_X_BEARER_TOKEN": bearer}).check()
    assert ident.usage == {"used": 1234, "cap": 10000, "remaining": 8766, "unit": "posts read",
                           "cap_reset_day": 5}
    assert "8,766 left" in ident.detail and not ident.notes
    req = responses.calls[1].request
    assert req.headers["Authorization"] == f"Bearer {bearer}"          # app-only: the spec's only scheme
    assert SPEC["paths"]["/2/usage/tweets"]["get"]["security"] == [{"BearerToken": []}]
    fields = parse_qs(urlparse(req.url).query)["usage.fields"][0].split(",")
    enum = {p["name"]: p for p in SPEC["paths"]["/2/usage/tweets"]["get"]["parameters"]}["usage.fields"]
    assert set(fields) <= set(enum["schema"]["items"]["enum"])
    check_schema(load("x/usage.json")["data"], SPEC["components"]["schemas"]["Usage"])
    assert bearer not in ident.detail


@responses.activate
def test_check_without_bearer_token_says_which_variable_shows_usage():
    responses.add(responses.GET, ME, json=load("x/users_me.json"))
    ident = adapter().check()
    assert ident.usage is None and len(responses.calls) == 1
    assert any("SPI_DISKOMINFO_X_BEARER_TOKEN" in n for n in ident.notes)


@responses.activate
def test_check_with_a_refused_bearer_token_still_succeeds():
    responses.add(responses.GET, ME, json=load("x/users_me.json"))
    responses.add(responses.GET, USAGE, json=load("x/error_401.json"), status=401)
    ident = adapter(env={**ENV, "SPI_DISKOMINFO_X_BEARER_TOKEN": "AAAA-bearer-SECRET-5555555555"}).check()
    assert ident.name == "@TwitterDev" and ident.usage is None
    assert "refused the bearer token in SPI_DISKOMINFO_X_BEARER_TOKEN" in ident.notes[0]


def test_new_response_fixtures_match_the_spec():
    schemas = SPEC["components"]["schemas"]
    check_schema(load("x/media_initialize.json")["data"], schemas["InitializeMediaUploadResponseData"])
    check_schema(load("x/media_append.json")["data"], schemas["AppendMediaUploadResponseData"])
    check_schema(load("x/media_finalize_pending.json")["data"], schemas["FinalizeMediaUploadResponseData"])
    for name in ("succeeded", "failed"):
        check_schema(load(f"x/media_status_{name}.json")["data"], schemas["GetMediaUploadStatusResponseData"])
