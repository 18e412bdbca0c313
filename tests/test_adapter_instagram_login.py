"""Instagram with Instagram Login (``login: instagram``): the same publishing
flow as with Facebook Login, sent to graph.instagram.com, with the account
read from ``GET /me``. Real facebook-sdk and requests; responses intercepts
every request (any request to another host fails the test). Parameters are
checked against the IGUser excerpt in tests/data/platform/meta/."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
import responses

from _support import load
from spi_campaign.adapters.meta.instagram import InstagramAdapter
from spi_campaign.errors import AuthError, PermanentError, QuotaDeferred
from spi_campaign.models import Account, Content, Media

TOKEN = "IGAAtok-SECRET-1234567890"
ENV = {"SPI_KPK_IG_ACCESS_TOKEN": TOKEN}
IG = "17841405822304914"
API = "https://graph.instagram.com/v27.0"
SPEC = load("meta/spec-excerpt.json")


def spec_params(method: str, endpoint: str) -> set[str]:
    for api in SPEC["IGUser"]["apis"]:
        if api["method"] == method and (api.get("endpoint") or api.get("name")) == endpoint:
            return {p["name"] for p in api["params"]}
    raise KeyError((method, endpoint))


def adapter(env=ENV, **opts) -> InstagramAdapter:
    options = {"ig_user_id": IG, "login": "instagram", "poll_interval": 0.0, **opts}
    return InstagramAdapter(Account(name="kpk-ig", platform="instagram", options=options), env=env)


def post(n=1):
    media = tuple(Media(path=None, url=f"https://cdn.example.org/p{i}.jpg", alt=f"Poster {i}") for i in range(n))
    return InstagramAdapter.compose("tolak-gratifikasi", "kpk-ig", Content(text="Tolak gratifikasi!", media=media))


def form(call) -> dict[str, str]:
    body = call.request.body
    fields = {k: v[0] for k, v in parse_qs(body if isinstance(body, str) else body.decode()).items()}
    assert fields.pop("access_token") == TOKEN
    return fields


def query(call) -> dict[str, str]:
    q = {k: v[0] for k, v in parse_qs(urlparse(call.request.url).query).items()}
    assert q.pop("access_token") == TOKEN
    return q


def test_api_url_follows_the_login_option():
    acc = Account(name="a", platform="instagram", options={"ig_user_id": IG, "login": "instagram"})
    assert InstagramAdapter.api_url(acc) == "https://graph.instagram.com"
    assert InstagramAdapter.api_url(Account(name="b", platform="instagram", options={"ig_user_id": IG})) == \
        "https://graph.facebook.com"
    assert InstagramAdapter.options["login"].default == "facebook"


@responses.activate
def test_publish_goes_to_graph_instagram_com():
    responses.add(responses.GET, f"{API}/{IG}/content_publishing_limit", json=load("meta/ig_publishing_limit.json"))
    responses.add(responses.POST, f"{API}/{IG}/media", json=load("meta/ig_container.json"))
    responses.add(responses.GET, f"{API}/17889455560051444", json=load("meta/ig_status_finished.json"))
    responses.add(responses.POST, f"{API}/{IG}/media_publish", json=load("meta/ig_media_publish.json"))
    responses.add(responses.GET, f"{API}/17920238422030506", json=load("meta/ig_permalink.json"))
    result = adapter().publish(post())
    assert result.remote_id == "17920238422030506"
    calls = responses.calls
    assert all(c.request.url.startswith(API + "/") for c in calls)
    assert query(calls[0]) == {"fields": "quota_usage,config"}
    media = form(calls[1])
    assert media == {"image_url": "https://cdn.example.org/p0.jpg", "caption": "Tolak gratifikasi!",
                     "alt_text": "Poster 0"} and set(media) <= spec_params("POST", "media")
    pub = form(calls[3])
    assert pub == {"creation_id": "17889455560051444"} and set(pub) <= spec_params("POST", "media_publish")


@responses.activate
def test_quota_used_up_defers():
    responses.add(responses.GET, f"{API}/{IG}/content_publishing_limit",
                  json={"data": [{"quota_usage": 100, "config": {"quota_total": 100, "quota_duration": 86400}}]})
    with pytest.raises(QuotaDeferred):
        adapter().publish(post())
    assert len(responses.calls) == 1


@responses.activate
def test_check_reads_me_and_reads_no_debug_token():
    responses.add(responses.GET, f"{API}/me", json={"user_id": IG, "username": "kpk_ri", "id": "2620382818"})
    responses.add(responses.GET, f"{API}/{IG}/content_publishing_limit", json=load("meta/ig_publishing_limit.json"))
    ident = adapter().check()
    assert (ident.id, ident.name, ident.url) == (IG, "@kpk_ri", "https://www.instagram.com/kpk_ri/")
    assert query(responses.calls[0]) == {"fields": "user_id,username"}
    assert ident.expires_at is None and "refresh_access_token" in ident.notes[-1]
    assert all(c.request.url.startswith(API + "/") for c in responses.calls)    # no debug_token call


@responses.activate
def test_check_notes_a_token_of_another_account():
    responses.add(responses.GET, f"{API}/me", json={"user_id": "17841400000000000", "username": "lain"})
    responses.add(responses.GET, f"{API}/{IG}/content_publishing_limit", json=load("meta/ig_publishing_limit.json"))
    ident = adapter().check()
    assert "belongs to Instagram account 17841400000000000" in ident.notes[0]
    assert "SPI_KPK_IG_ACCESS_TOKEN" in ident.notes[0] and TOKEN not in " ".join(ident.notes)


@responses.activate
def test_expired_token_is_an_auth_error_naming_the_variable():
    responses.add(responses.GET, f"{API}/{IG}/content_publishing_limit", status=400, json={"error": {
        "message": "Error validating access token", "type": "OAuthException", "code": 190, "error_subcode": 463}})
    with pytest.raises(AuthError) as info:
        adapter().publish(post())
    assert "SPI_KPK_IG_ACCESS_TOKEN" in str(info.value) and TOKEN not in str(info.value)


def test_unknown_login_is_refused_before_any_request():
    with responses.RequestsMock() as rs:
        with pytest.raises(PermanentError, match="login must be 'facebook' or 'instagram'"):
            adapter(login="tiktok").publish(post())
        assert len(rs.calls) == 0
