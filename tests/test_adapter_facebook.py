"""The Facebook Page adapter at the HTTP wire: real facebook-sdk GraphAPI and
requests, responses intercepting every request. Parameter names are checked
against the excerpt of Meta's Page.json in tests/data/platform/meta/."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError

from _support import CLAIMED, PNG, load, multipart, reconcile_ref
from _support import png_images as images
from spi_campaign.adapters.meta.facebook import DEFAULT_GRAPH_VERSION, FacebookAdapter
from spi_campaign.errors import AdapterError, AuthError, PermanentError, TransientError, UnknownOutcomeError
from spi_campaign.models import Account, Content, Media, Rendered

TOKEN = "fbtok-SECRET-1234567890"
ENV = {"SPI_DISKOMINFO_FB_PAGE_TOKEN": TOKEN}
PAGE = "1234567890"
POST_ID = "1234567890_9876543210"
GRAPH = "https://graph.facebook.com"


SPEC = load("meta/spec-excerpt.json")


def spec_params(node: str, method: str, endpoint: str) -> set[str]:
    for api in SPEC[node]["apis"]:
        if api["method"] == method and (api.get("endpoint") or api.get("name")) == endpoint:
            return {p["name"] for p in api["params"]}
    raise KeyError((node, method, endpoint))


def url(path: str, version: str = DEFAULT_GRAPH_VERSION) -> str:
    return f"{GRAPH}/{version}/{path}"


def adapter(env=ENV, **options) -> FacebookAdapter:
    opts = {"page_id": PAGE, "graph_version": DEFAULT_GRAPH_VERSION, "timeout": 30.0, **options}
    return FacebookAdapter(Account(name="diskominfo-fb", platform="facebook", options=opts), env=env)


def compose(text="Tolak gratifikasi.", link=None, media=()) -> Rendered:
    return FacebookAdapter.compose("apa-itu-gratifikasi", "diskominfo-fb",
                                   Content(text=text, link=link, hashtags=("TolakGratifikasi",), media=tuple(media)))


def form(request) -> dict[str, list[str]]:
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    body = request.body if isinstance(request.body, str) else request.body.decode()
    return parse_qs(body, keep_blank_values=True)


def query(request) -> dict[str, list[str]]:
    return parse_qs(urlparse(request.url).query)


def assert_token_in(fields: dict):
    assert fields.pop("access_token") == [TOKEN], "access_token parameter missing"


# ----- class side -------------------------------------------------------------

def test_class_side():
    assert FacebookAdapter.platform == "facebook" and FacebookAdapter.link_card is True
    assert FacebookAdapter.credentials == ("PAGE_TOKEN",)
    assert FacebookAdapter.options["page_id"].required
    assert FacebookAdapter.options["graph_version"].default == "v27.0"
    # no media: the link goes in its own field (a preview card)
    r = compose("Halo", link="https://www.kpk.go.id")
    assert r.text == "Halo\n\n#TolakGratifikasi" and r.link == "https://www.kpk.go.id"
    # with media: the link is appended to the caption
    r = compose("Halo", link="https://www.kpk.go.id", media=[Media(path=None, url="https://e.org/a.jpg", alt=None)])
    assert r.link is None and "https://www.kpk.go.id" in r.text


# ----- publish ----------------------------------------------------------------

@responses.activate
def test_text_with_link_goes_to_feed():
    responses.add(responses.POST, url(f"{PAGE}/feed"), json=load("meta/feed_post.json"))
    result = adapter().publish(compose("Tolak gratifikasi.", link="https://www.kpk.go.id"))
    assert result.remote_id == "1234567890_9876543210"
    assert result.url == "https://www.facebook.com/1234567890_9876543210"
    call = responses.calls[0]
    assert call.request.method == "POST" and call.request.url == url(f"{PAGE}/feed")
    fields = form(call.request)
    assert_token_in(fields)
    assert fields == {"message": ["Tolak gratifikasi.\n\n#TolakGratifikasi"], "link": ["https://www.kpk.go.id"]}
    assert set(fields) <= spec_params("Page", "POST", "feed")
    assert call.request.req_kwargs["timeout"] == 30.0


@responses.activate
def test_text_only_has_no_link_field_and_configured_version_is_used():
    responses.add(responses.POST, url(f"{PAGE}/feed", "v25.0"), json=load("meta/feed_post.json"))
    adapter(graph_version="v25.0", timeout=9.0).publish(compose("Hanya teks"))
    call = responses.calls[0]
    assert "/v25.0/" in call.request.url
    fields = form(call.request)
    assert_token_in(fields)
    assert fields == {"message": ["Hanya teks\n\n#TolakGratifikasi"]}
    assert call.request.req_kwargs["timeout"] == 9.0


@responses.activate
def test_default_version_is_in_the_requested_url():
    responses.add(responses.POST, url(f"{PAGE}/feed"), json=load("meta/feed_post.json"))
    a = FacebookAdapter(Account(name="diskominfo-fb", platform="facebook", options={"page_id": PAGE}), env=ENV)
    a.publish(compose())
    assert responses.calls[0].request.url.startswith(f"{GRAPH}/v27.0/{PAGE}/feed")


@responses.activate
def test_one_photo_is_a_multipart_photos_post(tmp_path):
    responses.add(responses.POST, url(f"{PAGE}/photos"), json=load("meta/photo_published.json"))
    post = compose("Poster hari ini", link="https://www.kpk.go.id", media=images(tmp_path, 1))
    saved = []
    result = adapter().publish(post, checkpoint=saved.append)
    assert result.remote_id == "1234567890_5566778899"
    assert result.url == "https://www.facebook.com/1234567890_5566778899"
    call = responses.calls[0]
    assert call.request.url == url(f"{PAGE}/photos")
    parts = multipart(call.request)
    assert parts.pop("access_token")[2].decode() == TOKEN
    assert parts["source"][:2] == ("poster-0.png", "image/png") and parts["source"][2] == PNG
    assert parts["caption"][2].decode() == "Poster hari ini\n\nhttps://www.kpk.go.id\n\n#TolakGratifikasi"
    assert parts["alt_text_custom"][2].decode() == "Poster 0"
    assert set(parts) - {"source"} <= spec_params("Page", "POST", "photos")
    assert saved[-1]["post_id"] == "1234567890_5566778899"


@responses.activate
def test_one_photo_by_url():
    responses.add(responses.POST, url(f"{PAGE}/photos"), json=load("meta/photo_published.json"))
    adapter().publish(compose("Poster", media=[Media(path=None, url="https://cdn.example.org/p.jpg", alt=None)]))
    fields = form(responses.calls[0].request)
    assert_token_in(fields)
    assert fields == {"caption": ["Poster\n\n#TolakGratifikasi"], "url": ["https://cdn.example.org/p.jpg"]}


@responses.activate
def test_several_photos_unpublished_uploads_then_attached_media(tmp_path):
    responses.add(responses.GET, url(POST_ID), json=load("meta/fb_permalink.json"))
    for pid in ("1002088839996", "1002088839997"):
        responses.add(responses.POST, url(f"{PAGE}/photos"), json={"id": pid})
    responses.add(responses.POST, url(f"{PAGE}/feed"), json=load("meta/feed_post.json"))
    saved = []
    result = adapter().publish(compose("Dua poster", media=images(tmp_path, 2)), checkpoint=saved.append)
    calls = responses.calls
    assert [c.request.url.split("?")[0] for c in calls] == [url(f"{PAGE}/photos")] * 2 + [url(f"{PAGE}/feed"),
                                                                                      url(POST_ID)]
    for n in range(2):
        parts = multipart(calls[n].request)
        assert parts.pop("access_token")[2].decode() == TOKEN
        assert parts["published"][2] == b"false"                  # not Python's "False"
        assert parts["alt_text_custom"][2].decode() == f"Poster {n}"
        assert parts["source"][2] == PNG and "caption" not in parts
    fields = form(calls[2].request)
    assert_token_in(fields)
    assert fields == {"message": ["Dua poster\n\n#TolakGratifikasi"],
                      "attached_media[0]": ['{"media_fbid":"1002088839996"}'],
                      "attached_media[1]": ['{"media_fbid":"1002088839997"}']}
    assert [json.loads(v[0]) for k, v in sorted(fields.items()) if k.startswith("attached_media")] == [
        {"media_fbid": "1002088839996"}, {"media_fbid": "1002088839997"}]
    assert {k.split("[")[0] for k in fields} <= spec_params("Page", "POST", "feed")
    assert saved[0] == {"photo_ids": ["1002088839996"]}
    assert saved[-1] == {"photo_ids": ["1002088839996", "1002088839997"], "post_id": "1234567890_9876543210"}
    assert result.remote_id == "1234567890_9876543210"


@responses.activate
def test_retry_reuses_uploaded_photos(tmp_path):
    responses.add(responses.POST, url(f"{PAGE}/feed"), json=load("meta/feed_post.json"))
    result = adapter().publish(compose("Dua poster", media=images(tmp_path, 2)),
                               progress={"photo_ids": ["11", "12"]})
    assert [c.request.url for c in responses.calls if c.request.method == "POST"] == [url(f"{PAGE}/feed")]
    assert result.remote_id == "1234567890_9876543210"


@responses.activate
def test_progress_with_post_id_publishes_nothing():
    result = adapter().publish(compose(), progress={"post_id": "1_2"})
    assert all(c.request.method == "GET" for c in responses.calls)        # only the permalink is read
    assert result.url == "https://www.facebook.com/1_2"                  # that read failed: the fallback


# ----- errors -----------------------------------------------------------------

@responses.activate
def test_expired_token_190_463_names_the_variable():
    responses.add(responses.POST, url(f"{PAGE}/feed"), json=load("meta/error_190_463.json"), status=400)
    with pytest.raises(AuthError) as info:
        adapter().publish(compose())
    msg = str(info.value)
    assert "SPI_DISKOMINFO_FB_PAGE_TOKEN" in msg and "subcode 463" in msg and "expired" in msg
    assert TOKEN not in msg


@pytest.mark.parametrize("fixture,status,expected,words", [
    ("meta/error_2_transient.json", 500, TransientError, "retry"),
    ("meta/error_4_rate.json", 403, TransientError, "limit"),
    ("meta/error_32_page_rate.json", 403, TransientError, "Page request limit"),
    ("meta/error_506_duplicate.json", 400, PermanentError, "duplicate"),
    ("meta/error_368_blocked.json", 400, PermanentError, "policy"),
    ("meta/error_200_permission.json", 403, PermanentError, "pages_manage_posts, pages_read_engagement"),
    ("meta/error_10_permission.json", 403, PermanentError, "permission"),
    ("meta/error_100_invalid.json", 400, PermanentError, "Invalid parameter"),
])
@responses.activate
def test_graph_error_codes(fixture, status, expected, words):
    responses.add(responses.POST, url(f"{PAGE}/feed"), json=load(fixture), status=status)
    with pytest.raises(AdapterError) as info:
        adapter().publish(compose())
    assert type(info.value) is expected
    assert words in str(info.value)
    assert TOKEN not in str(info.value)


@responses.activate
def test_throttling_header_gives_retry_after():
    usage = {PAGE: [{"type": "pages", "call_count": 100, "total_cputime": 25, "total_time": 25,
                     "estimated_time_to_regain_access": 15}]}
    responses.add(responses.POST, url(f"{PAGE}/feed"), json=load("meta/error_32_page_rate.json"), status=403,
                  headers={"x-business-use-case-usage": json.dumps(usage)})
    before = datetime.now(timezone.utc)
    with pytest.raises(TransientError) as info:
        adapter().publish(compose())
    assert before + timedelta(minutes=14) < info.value.retry_after < before + timedelta(minutes=16)


@responses.activate
@pytest.mark.parametrize("status,expected", [(502, TransientError), (400, PermanentError)])
def test_non_json_error_pages(status, expected):
    responses.add(responses.POST, url(f"{PAGE}/feed"), body="<html>Bad Gateway</html>", status=status,
                  content_type="text/html")
    with pytest.raises(AdapterError) as info:
        adapter().publish(compose())
    assert type(info.value) is expected


@responses.activate
def test_answer_without_content_type_after_posting_is_unknown():
    responses.add(responses.POST, url(f"{PAGE}/feed"), body=b"{}", status=200, content_type=None)
    with pytest.raises(AdapterError) as info:
        adapter().publish(compose())
    assert type(info.value) in (UnknownOutcomeError, TransientError)


@responses.activate
def test_unreadable_json_success_is_unknown():
    responses.add(responses.POST, url(f"{PAGE}/feed"), body="{not json", status=200, content_type="application/json")
    with pytest.raises(UnknownOutcomeError):
        adapter().publish(compose())


@responses.activate
def test_success_without_id_is_unknown():
    responses.add(responses.POST, url(f"{PAGE}/feed"), json={"success": True})
    with pytest.raises(UnknownOutcomeError):
        adapter().publish(compose())


def _refused():
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/", NewConnectionError(None, "refused")))


@responses.activate
@pytest.mark.parametrize("exc,expected", [
    (lambda: requests.exceptions.ConnectTimeout("connect timeout"), TransientError),
    (_refused, TransientError),
    (lambda: requests.exceptions.ReadTimeout("read timeout"), UnknownOutcomeError),
])
def test_transport_errors_on_the_live_request(exc, expected):
    responses.add(responses.POST, url(f"{PAGE}/feed"), body=exc())
    with pytest.raises(AdapterError) as info:
        adapter().publish(compose())
    assert type(info.value) is expected
    assert TOKEN not in str(info.value)


@responses.activate
def test_read_timeout_on_an_unpublished_upload_is_transient(tmp_path):
    responses.add(responses.POST, url(f"{PAGE}/photos"), body=requests.exceptions.ReadTimeout("read timeout"))
    with pytest.raises(TransientError):
        adapter().publish(compose(media=images(tmp_path, 2)))


@responses.activate
def test_missing_token():
    for call in (lambda a: a.publish(compose()), lambda a: a.check()):
        with pytest.raises(AuthError) as info:
            call(adapter(env={}))
        assert "SPI_DISKOMINFO_FB_PAGE_TOKEN" in str(info.value)
    assert len(responses.calls) == 0


def test_bad_graph_version_is_permanent():
    with pytest.raises(PermanentError):
        adapter(graph_version="latest").publish(compose())


# ----- check ------------------------------------------------------------------

@responses.activate
def test_check_reads_the_page():
    responses.add(responses.GET, url(PAGE), json=load("meta/page.json"))
    ident = adapter().check()
    assert (ident.id, ident.name, ident.url) == (PAGE, "Diskominfos Provinsi Bali", f"https://www.facebook.com/{PAGE}")
    req = responses.calls[0].request
    assert req.url.startswith(url(PAGE) + "?")
    q = query(req)
    assert_token_in(q)
    assert q == {"fields": ["id,name"]}
    assert "account_linking_token" in spec_params("Page", "GET", "#get")    # the documented read of a Page


@responses.activate
def test_check_with_expired_token():
    responses.add(responses.GET, url(PAGE), json=load("meta/error_190_463.json"), status=400)
    with pytest.raises(AuthError) as info:
        adapter().check()
    assert "SPI_DISKOMINFO_FB_PAGE_TOKEN" in str(info.value) and "463" in str(info.value)


# ----- reconcile --------------------------------------------------------------

def _ref(post, progress=None):
    return reconcile_ref("diskominfo-fb", post, progress)


@responses.activate
def test_reconcile_published_not_found_cannot_tell():
    post = compose("Tolak gratifikasi.")
    body = load("meta/page_posts.json")
    body["data"][0]["message"] = "Tolak gratifikasi.\n\n#TolakGratifikasi"
    responses.add(responses.GET, url(f"{PAGE}/posts"), json=body)
    res = adapter().reconcile(_ref(post))
    assert (res.state, res.remote_id, res.url) == ("published", "1234567890_9876543210",
                                                   "https://www.facebook.com/1234567890/posts/9876543210")
    q = query(responses.calls[0].request)
    assert_token_in(q)
    assert q["fields"] == ["id,message,created_time,permalink_url"]
    assert q["since"] == [str(int((CLAIMED - timedelta(minutes=5)).timestamp()))]

    responses.reset()
    responses.add(responses.GET, url(f"{PAGE}/posts"), json=load("meta/page_posts.json"))
    assert adapter().reconcile(_ref(post)).state == "not_found"

    responses.reset()
    responses.add(responses.GET, url(f"{PAGE}/posts"), json=load("meta/error_2_transient.json"), status=500)
    assert adapter().reconcile(_ref(post)).state == "cannot_tell"


def test_reconcile_with_recorded_post_id():
    res = adapter().reconcile(_ref(compose(), {"post_id": "1_2"}))
    assert (res.state, res.url) == ("published", "https://www.facebook.com/1_2")


# ----- permalink_url ------------------------------------------------------------

@responses.activate
def test_publication_url_is_the_posts_permalink_url():
    responses.add(responses.POST, url(f"{PAGE}/feed"), json=load("meta/feed_post.json"))
    responses.add(responses.GET, url(POST_ID), json=load("meta/fb_permalink.json"))
    result = adapter().publish(compose("Tolak gratifikasi.", link="https://www.kpk.go.id"))
    assert result.url == load("meta/fb_permalink.json")["permalink_url"]
    req = responses.calls[1].request
    fields = query(req)
    assert_token_in(fields)
    assert fields == {"fields": ["permalink_url"]}
    assert {f["name"] for f in SPEC["PagePost"]["fields"]} >= set(fields["fields"][0].split(","))


# ----- appsecret_proof ----------------------------------------------------------

APP_SECRET = "appsecret-SECRET-9876543210"


@responses.activate
def test_app_secret_adds_appsecret_proof_to_every_request(tmp_path):
    import hashlib
    import hmac

    responses.add(responses.POST, url(f"{PAGE}/photos"), json={"id": "1002088839996"})
    responses.add(responses.POST, url(f"{PAGE}/photos"), json={"id": "1002088839997"})
    responses.add(responses.POST, url(f"{PAGE}/feed"), json=load("meta/feed_post.json"))
    responses.add(responses.GET, url(POST_ID), json=load("meta/fb_permalink.json"))
    responses.add(responses.GET, url(PAGE), json=load("meta/page.json"))
    responses.add(responses.GET, url("debug_token"), json=load("meta/debug_token.json"))
    a = adapter(env={**ENV, "SPI_DISKOMINFO_FB_APP_SECRET": APP_SECRET})
    a.publish(compose("Dua poster", media=images(tmp_path, 2)))
    a.check()
    proof = hmac.new(APP_SECRET.encode(), TOKEN.encode(), hashlib.sha256).hexdigest()
    assert len(responses.calls) == 6                 # multipart, form and GET requests alike
    for call in responses.calls:
        assert query(call.request)["appsecret_proof"] == [proof]
        body = call.request.body or b""
        assert APP_SECRET.encode() not in (body if isinstance(body, bytes) else body.encode())


@responses.activate
def test_without_app_secret_no_proof_is_sent():
    responses.add(responses.POST, url(f"{PAGE}/feed"), json=load("meta/feed_post.json"))
    responses.add(responses.GET, url(POST_ID), json=load("meta/fb_permalink.json"))
    adapter().publish(compose())
    assert all("appsecret_proof" not in query(c.request) for c in responses.calls)


@responses.activate
@pytest.mark.parametrize("fixture,words", [
    ("meta/error_100_appsecret_required.json", "requires an appsecret_proof"),
    ("meta/error_100_appsecret_invalid.json", "is not the secret of the app"),
])
def test_appsecret_proof_errors_say_what_to_set(fixture, words):
    responses.add(responses.POST, url(f"{PAGE}/feed"), json=load(fixture), status=400)
    with pytest.raises(AuthError) as info:
        adapter(env={**ENV, "SPI_DISKOMINFO_FB_APP_SECRET": APP_SECRET}).publish(compose())
    msg = str(info.value)
    assert words in msg and "SPI_DISKOMINFO_FB_APP_SECRET" in msg
    assert TOKEN not in msg and APP_SECRET not in msg


# ----- token expiry (debug_token) -------------------------------------------------

@responses.activate
def test_check_reads_the_token_expiry():
    responses.add(responses.GET, url(PAGE), json=load("meta/page.json"))
    responses.add(responses.GET, url("debug_token"), json=load("meta/debug_token.json"))
    ident = adapter().check()
    assert ident.expires_at == datetime(2026, 12, 2, tzinfo=timezone.utc)
    assert ident.data_access_expires_at == datetime(2026, 12, 17, tzinfo=timezone.utc)
    fields = query(responses.calls[1].request)
    assert_token_in(fields)
    assert fields == {"input_token": [TOKEN]}
    assert set(fields) <= {p["name"] for p in SPEC["DebugToken"]["apis"][0]["params"]}
    assert {"expires_at", "data_access_expires_at", "is_valid"} <= {f["name"] for f in SPEC["DebugToken"]["fields"]}


@responses.activate
def test_token_that_never_expires_and_unreadable_expiry():
    responses.add(responses.GET, url(PAGE), json=load("meta/page.json"))
    body = load("meta/debug_token.json")
    body["data"].update(expires_at=0, data_access_expires_at=0)
    responses.add(responses.GET, url("debug_token"), json=body)
    ident = adapter().check()
    assert ident.expires_at is None and ident.data_access_expires_at is None and not ident.notes

    responses.reset()
    responses.add(responses.GET, url(PAGE), json=load("meta/page.json"))
    responses.add(responses.GET, url("debug_token"), json=load("meta/error_2_transient.json"), status=500)
    ident = adapter().check()                      # the check itself still succeeds
    assert ident.expires_at is None and "expiry not readable" in ident.notes[0]
