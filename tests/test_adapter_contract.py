"""One contract, every adapter: the built-ins (file, x, facebook, instagram, telegram, mastodon)
and the example plugin in examples/spi-example-adapter.

Each case says how to build an account, which credentials it needs, and how
to answer a simple post at the wire (responses; a tmp file for ``file``).
Adding a built-in platform without a case here fails
``test_every_builtin_has_a_contract_case``.
"""

from __future__ import annotations

import json
import sys
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError

from spi_campaign import errors
from spi_campaign.adapters import registry
from spi_campaign.adapters.base import (Adapter, Identity, Limits, Option, PublicationRef, PublishResult,
                                        ReconcileResult)
from spi_campaign.models import Account, Content, Media, Rendered

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data" / "platform"
EXAMPLE = ROOT / "examples" / "spi-example-adapter"
SECRET = "tok-SECRET-1234567890"


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def example_class():
    if str(EXAMPLE) not in sys.path:
        sys.path.insert(0, str(EXAMPLE))
    from spi_webhook import WebhookAdapter

    return WebhookAdapter


@dataclass
class Case:
    platform: str
    load: Callable[[], type[Adapter]]
    options: Callable[[Path], dict[str, Any]]
    content: Content = Content(text="Tolak gratifikasi, laporkan ke KPK.", link="https://www.kpk.go.id",
                               hashtags=("TolakGratifikasi",))
    wire: Callable[[responses.RequestsMock], None] = lambda rs: None
    failing_url: tuple[str, str] | None = None     # (method, url) of the request that publishes
    check_wire: Callable[[responses.RequestsMock], None] = lambda rs: None
    extra: dict = field(default_factory=dict)


def _x_wire(rs):
    rs.add(responses.POST, "https://api.x.com/2/tweets", json=load("x/create_post.json"), status=201)


def _x_check(rs):
    rs.add(responses.GET, "https://api.x.com/2/users/me", json=load("x/users_me.json"))


def _fb_wire(rs):
    rs.add(responses.POST, "https://graph.facebook.com/v27.0/1234567890/feed", json=load("meta/feed_post.json"))


def _fb_check(rs):
    rs.add(responses.GET, "https://graph.facebook.com/v27.0/1234567890", json=load("meta/page.json"))
    rs.add(responses.GET, "https://graph.facebook.com/v27.0/debug_token", json=load("meta/debug_token.json"))


IG = "https://graph.facebook.com/v27.0/17841405822304914"


def _ig_wire(rs):
    rs.add(responses.GET, IG + "/content_publishing_limit", json=load("meta/ig_publishing_limit.json"))
    rs.add(responses.POST, IG + "/media", json=load("meta/ig_container.json"))
    rs.add(responses.GET, "https://graph.facebook.com/v27.0/17889455560051444", json=load("meta/ig_status_finished.json"))
    rs.add(responses.POST, IG + "/media_publish", json=load("meta/ig_media_publish.json"))
    rs.add(responses.GET, "https://graph.facebook.com/v27.0/17920238422030506", json=load("meta/ig_permalink.json"))


def _ig_check(rs):
    rs.add(responses.GET, IG, json=load("meta/ig_user.json"))
    rs.add(responses.GET, "https://graph.facebook.com/v27.0/debug_token", json=load("meta/debug_token.json"))
    rs.add(responses.GET, IG + "/content_publishing_limit", json=load("meta/ig_publishing_limit.json"))


TG = f"https://api.telegram.org/bot{SECRET}"


def _tg_wire(rs):
    rs.add(responses.POST, TG + "/sendMessage", json=load("telegram/send_message.json"))


def _tg_check(rs):
    rs.add(responses.POST, TG + "/getMe", json=load("telegram/get_me.json"))
    rs.add(responses.POST, TG + "/getChat", json=load("telegram/get_chat.json"))
    rs.add(responses.POST, TG + "/getChatMember", json=load("telegram/get_chat_member_admin.json"))


MSTDN = "https://mastodon.example"


def _mstdn_wire(rs):
    rs.add(responses.GET, MSTDN + "/api/v2/instance", json=load("mastodon/instance_v2.json"))
    rs.add(responses.POST, MSTDN + "/api/v1/statuses", json=load("mastodon/status.json"))


def _mstdn_check(rs):
    rs.add(responses.GET, MSTDN + "/api/v1/accounts/verify_credentials", json=load("mastodon/verify_credentials.json"))
    rs.add(responses.GET, MSTDN + "/api/v2/instance", json=load("mastodon/instance_v2.json"))
def _bsky_options(tmp):
    # atproto speaks httpx, which responses cannot intercept: a local fake PDS
    # answers instead (reset here, so each test starts with no routes).
    from _fake_xrpc import shared

    return {"handle": "kpk-contoh.bsky.social", "service": shared().reset().url, "timeout": 5.0}


def _bsky_wire(rs):
    from _fake_xrpc import created, session, shared

    shared().add("com.atproto.server.createSession", json=session())
    shared().add("com.atproto.repo.createRecord", fn=lambda req: {"json": created(req.json()["rkey"])})


def _bsky_check(rs):
    from _fake_xrpc import session, shared

    shared().add("com.atproto.server.createSession", json=session())


TH = "https://graph.threads.net/v1.0/25934470972839184"
TH_QUOTA = {"data": [{"quota_usage": 1, "config": {"quota_total": 250, "quota_duration": 86400},
                      "reply_quota_usage": 0, "reply_config": {"quota_total": 1000, "quota_duration": 86400}}]}


def _threads_wire(rs):
    rs.add(responses.GET, TH + "/threads_publishing_limit", json=TH_QUOTA)
    rs.add(responses.POST, TH + "/threads", json={"id": "c1"})
    rs.add(responses.GET, "https://graph.threads.net/v1.0/c1", json={"id": "c1", "status": "FINISHED"})
    rs.add(responses.POST, TH + "/threads_publish", json={"id": "m1"})
    rs.add(responses.GET, "https://graph.threads.net/v1.0/m1", json={"permalink": "https://www.threads.net/@kpk/post/m1"})


def _threads_check(rs):
    rs.add(responses.GET, TH, json={"id": "25934470972839184", "username": "kpk_ri"})
    rs.add(responses.GET, TH + "/threads_publishing_limit", json=TH_QUOTA)


IGL = "https://graph.instagram.com/v27.0"


def _igl_wire(rs):
    rs.add(responses.GET, IGL + "/17841405822304914/content_publishing_limit", json=load("meta/ig_publishing_limit.json"))
    rs.add(responses.POST, IGL + "/17841405822304914/media", json=load("meta/ig_container.json"))
    rs.add(responses.GET, IGL + "/17889455560051444", json=load("meta/ig_status_finished.json"))
    rs.add(responses.POST, IGL + "/17841405822304914/media_publish", json=load("meta/ig_media_publish.json"))
    rs.add(responses.GET, IGL + "/17920238422030506", json=load("meta/ig_permalink.json"))


def _igl_check(rs):
    rs.add(responses.GET, IGL + "/me", json={"user_id": "17841405822304914", "username": "kpk_ri"})
    rs.add(responses.GET, IGL + "/17841405822304914/content_publishing_limit", json=load("meta/ig_publishing_limit.json"))


def _hook_wire(rs):
    rs.add(responses.POST, "https://hooks.example.org/spi", json={"id": "42", "url": "https://hooks.example.org/p/42"})


def _hook_check(rs):
    rs.add(responses.GET, "https://hooks.example.org/spi", json={"ok": True})


CASES = [
    Case("file", lambda: registry.get("file"), lambda tmp: {"path": str(tmp / "out" / "arsip.jsonl")}),
    Case("x", lambda: registry.get("x"), lambda tmp: {"username": "diskominfobali", "timeout": 30.0},
         wire=_x_wire, failing_url=("POST", "https://api.x.com/2/tweets"), check_wire=_x_check),
    Case("facebook", lambda: registry.get("facebook"),
         lambda tmp: {"page_id": "1234567890", "graph_version": "v27.0", "timeout": 30.0},
         wire=_fb_wire, failing_url=("POST", "https://graph.facebook.com/v27.0/1234567890/feed"),
         check_wire=_fb_check),
    Case("instagram", lambda: registry.get("instagram"),
         lambda tmp: {"ig_user_id": "17841405822304914", "graph_version": "v27.0", "poll_interval": 0.0},
         content=Content(text="Tolak gratifikasi.", hashtags=("TolakGratifikasi",),
                         media=(Media(path=None, url="https://cdn.example.org/poster.jpg", alt="Poster"),)),
         wire=_ig_wire, failing_url=("GET", IG + "/content_publishing_limit"), check_wire=_ig_check),
    Case("telegram", lambda: registry.get("telegram"), lambda tmp: {"chat_id": "@diskominfocontoh", "timeout": 30.0},
         wire=_tg_wire, failing_url=("POST", TG + "/sendMessage"), check_wire=_tg_check),
    Case("mastodon", lambda: registry.get("mastodon"), lambda tmp: {"instance": MSTDN, "visibility": "public",
                                                                     "timeout": 30.0},
         wire=_mstdn_wire, failing_url=("POST", MSTDN + "/api/v1/statuses"), check_wire=_mstdn_check),
    Case("instagram", lambda: registry.get("instagram"),
         lambda tmp: {"ig_user_id": "17841405822304914", "login": "instagram", "poll_interval": 0.0},
         content=Content(text="Tolak gratifikasi.", hashtags=("TolakGratifikasi",),
                         media=(Media(path=None, url="https://cdn.example.org/poster.jpg", alt="Poster"),)),
         wire=_igl_wire, failing_url=("GET", IGL + "/17841405822304914/content_publishing_limit"),
         check_wire=_igl_check, extra={"login": "instagram"}),
    Case("bluesky", lambda: registry.get("bluesky"), _bsky_options, wire=_bsky_wire, check_wire=_bsky_check),
    Case("threads", lambda: registry.get("threads"),
         lambda tmp: {"threads_user_id": "25934470972839184", "poll_interval": 0.0},
         wire=_threads_wire, failing_url=("GET", TH + "/threads_publishing_limit"), check_wire=_threads_check),
    Case("webhook", example_class, lambda tmp: {"url": "https://hooks.example.org/spi", "timeout": 10.0},
         wire=_hook_wire, failing_url=("POST", "https://hooks.example.org/spi"), check_wire=_hook_check,
         extra={"body_optional": True}),     # a webhook may answer 200 with any body
]
IDS = [c.platform + ("-" + c.extra["login"] + "-login" if "login" in c.extra else "") for c in CASES]


def make(case: Case, tmp_path: Path, env: dict | None = None) -> Adapter:
    cls = case.load()
    account = Account(name="kominfo-contoh", platform=case.platform, options=case.options(tmp_path))
    if env is None:
        env = {name: SECRET for name in cls.env_names(account)}
    return cls(account, env=env, tz=timezone.utc)


def simple_post(case: Case) -> Rendered:
    from dataclasses import replace

    r = case.load().compose("apa-itu-gratifikasi", "kominfo-contoh", case.content)
    return replace(r, occurrence=datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc))


def test_every_builtin_has_a_contract_case():
    assert set(registry.BUILTINS) <= set(IDS)
    for name in registry.BUILTINS:
        assert registry.get(name) is not None


# ----- class side -------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_class_attributes_present_and_typed(case):
    cls = case.load()
    assert issubclass(cls, Adapter)
    assert isinstance(cls.platform, str) and cls.platform == case.platform
    assert isinstance(cls.label, str) and cls.label
    assert isinstance(cls.style, str) and cls.style
    assert isinstance(cls.limits, Limits)
    assert isinstance(cls.options, dict)
    for key, opt in cls.options.items():
        assert isinstance(key, str) and isinstance(opt, Option)
        assert opt.kind in (str, int, float, bool)
        assert opt.default is None or isinstance(opt.default, opt.kind)
        assert not (opt.required and opt.default is not None)
        assert opt.help
    assert isinstance(cls.credentials, tuple) and all(isinstance(c, str) and c.isupper() for c in cls.credentials)
    assert isinstance(cls.optional_credentials, tuple)
    assert all(isinstance(c, str) and c.isupper() for c in cls.optional_credentials)
    assert not set(cls.credentials) & set(cls.optional_credentials)
    assert isinstance(cls.link_card, bool)
    assert cls.publish is not Adapter.publish and cls.check is not Adapter.check


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_limits_are_sane(case):
    lim = case.load().limits
    assert lim.text is None or (isinstance(lim.text, int) and lim.text > 0)
    assert 0 <= lim.min_media <= lim.max_media
    assert isinstance(lim.media_types, frozenset) and all(t.startswith("image/") for t in lim.media_types)
    assert lim.max_media == 0 or lim.media_types
    assert lim.max_media_bytes is None or lim.max_media_bytes > 0
    for n in (lim.max_hashtags, lim.max_mentions):
        assert n is None or n > 0
    assert isinstance(lim.media_needs_url, bool) and isinstance(lim.thread, bool)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_compose_measure_fits(case):
    cls = case.load()
    r = cls.compose("apa-itu-gratifikasi", "kominfo-contoh", case.content)
    assert isinstance(r, Rendered)
    assert (r.platform, r.post_id, r.account) == (case.platform, "apa-itu-gratifikasi", "kominfo-contoh")
    assert "#TolakGratifikasi" in r.text
    n = cls.measure(r.text)
    assert isinstance(n, int) and n > 0
    assert cls.fits(r.text) is (cls.limits.text is None or n <= cls.limits.text)
    thread = Content(text="satu", thread=("satu", "dua"))
    t = cls.compose("p", "a", thread)
    assert isinstance(t.thread, tuple)


# ----- instance side ----------------------------------------------------------

@pytest.mark.parametrize("case", [c for c in CASES if c.platform != "file"], ids=[i for i in IDS if i != "file"])
def test_missing_credentials_raise_auth_error_naming_the_variable(case, tmp_path):
    decoy = {"SPI_OTHER_ACCOUNT_TOKEN": SECRET}
    adapter = make(case, tmp_path, env=decoy)
    names = adapter.env_names(adapter.account)
    assert names
    with responses.RequestsMock() as rs:          # no request may leave
        for call in (lambda: adapter.publish(simple_post(case)), adapter.check):
            with pytest.raises(errors.AuthError) as info:
                call()
            assert any(name in str(info.value) for name in names)
            assert SECRET not in str(info.value)
        assert len(rs.calls) == 0


def test_file_check_works_without_credentials(tmp_path):
    case = CASES[0]
    ident = make(case, tmp_path, env={}).check()
    assert isinstance(ident, Identity)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_publish_simple_post_succeeds_at_the_wire(case, tmp_path):
    adapter = make(case, tmp_path)
    seen = []
    with responses.RequestsMock() as rs:
        case.wire(rs)
        result = adapter.publish(simple_post(case), progress=None, checkpoint=seen.append)
    assert isinstance(result, PublishResult)
    assert isinstance(result.remote_id, str) and result.remote_id
    assert result.url is None or result.url.startswith(("https://", "file://"))
    assert isinstance(result.extra, dict)
    assert all(isinstance(p, dict) for p in seen)
    json.dumps(seen)                      # progress must be storable as JSON
    if case.platform == "file":
        line = json.loads(Path(case.options(tmp_path)["path"]).read_text(encoding="utf-8"))
        assert line["post"] == "apa-itu-gratifikasi"
    adapter.close()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_check_answers_an_identity(case, tmp_path):
    adapter = make(case, tmp_path)
    with responses.RequestsMock() as rs:
        case.check_wire(rs)
        ident = adapter.check()
    assert isinstance(ident, Identity) and ident.id and ident.name
    for when in (ident.expires_at, ident.data_access_expires_at):     # expiry is data, for alerts
        assert when is None or (isinstance(when, datetime) and when.tzinfo is not None)
    assert ident.usage is None or isinstance(ident.usage, dict)
    assert isinstance(ident.notes, tuple)
    if case.platform in ("facebook", "instagram") and "login" not in case.extra:
        assert ident.expires_at is not None     # graph.instagram.com has no debug_token


def _failures():
    return {
        "http-500": dict(json={"error": {"message": "oops", "code": 1}, "detail": "oops"}, status=500),
        "http-400": dict(json={"error": {"message": "bad", "code": 100}, "detail": "bad"}, status=400),
        "http-401": dict(json={"error": {"message": "no", "code": 190}, "detail": "Unauthorized"}, status=401),
        "html-502": dict(body="<html>502</html>", status=502, content_type="text/html"),
        "refused": dict(body=requests.exceptions.ConnectionError(
            MaxRetryError(None, "/", NewConnectionError(None, "refused")))),
        "connect-timeout": dict(body=requests.exceptions.ConnectTimeout("connect")),
        "read-timeout": dict(body=requests.exceptions.ReadTimeout("read")),
        "garbage-200": dict(body="{not json", status=200, content_type="application/json"),
    }


@pytest.mark.parametrize("failure", list(_failures()))
@pytest.mark.parametrize("case", [c for c in CASES if c.failing_url], ids=[i for c, i in zip(CASES, IDS) if c.failing_url])
def test_errors_are_only_the_errors_classes(case, failure, tmp_path):
    adapter = make(case, tmp_path)
    method, url = case.failing_url
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rs:
        rs.add(method, url, **_failures()[failure])
        try:
            adapter.publish(simple_post(case))
        except errors.AdapterError as exc:
            assert exc.kind in ("transient", "permanent", "auth", "unknown", "deferred")
            assert SECRET not in str(exc)
            if failure in ("refused", "connect-timeout"):
                assert isinstance(exc, errors.TransientError)
            if failure == "read-timeout" and method == "POST":
                assert isinstance(exc, errors.UnknownOutcomeError)
            if failure == "http-401":
                assert isinstance(exc, errors.AuthError)
        except Exception as exc:  # pragma: no cover - the point of the test
            pytest.fail(f"{case.platform} raised {type(exc).__name__}, not an errors class")
        else:
            if not (failure == "garbage-200" and case.extra.get("body_optional")):
                pytest.fail(f"{case.platform} did not fail on {failure}")


def test_file_write_failure_is_permanent(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    adapter = Account(name="arsip", platform="file", options={"path": str(blocker / "arsip.jsonl")})
    with pytest.raises(errors.PermanentError):
        registry.get("file")(adapter).publish(simple_post(CASES[0]))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_reconcile_answers_a_reconcile_result(case, tmp_path):
    adapter = make(case, tmp_path)
    ref = PublicationRef(post_id="apa-itu-gratifikasi", account="kominfo-contoh",
                         occurrence=datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc),
                         claimed_at=datetime(2026, 12, 7, 1, 0, 1, tzinfo=timezone.utc),
                         rendered=simple_post(case))
    with responses.RequestsMock():                          # every request is refused: API failure
        result = adapter.reconcile(ref)
    assert isinstance(result, ReconcileResult)
    assert result.state in ("published", "not_found", "cannot_tell")


# ----- registry ---------------------------------------------------------------

@pytest.fixture
def fresh_registry(monkeypatch):
    monkeypatch.setattr(registry, "_plugins", None)
    monkeypatch.setattr(registry, "_warnings", [])
    monkeypatch.setattr(registry, "_loaded", dict(registry._loaded))
    return registry


def _dist(tmp_path: Path, name: str, entry: str, module_name: str | None = None, module_text: str | None = None):
    dist = tmp_path / f"{name.replace('-', '_')}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(f"[spi_campaign.adapters]\n{entry}\n", encoding="utf-8")
    if module_name:
        (tmp_path / f"{module_name}.py").write_text(module_text or "", encoding="utf-8")


def test_plugin_that_fails_to_import_is_a_warning_not_a_crash(tmp_path, monkeypatch, fresh_registry):
    _dist(tmp_path, "spi-broken-plugin", "myspace = spi_broken_plugin:MyspaceAdapter",
          "spi_broken_plugin", "raise ImportError('No module named myspace_sdk')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "myspace" in registry.available()
    assert registry.get("myspace") is None
    warnings = registry.plugin_warnings()
    assert any("myspace" in w and "failed to import" in w and "myspace_sdk" in w for w in warnings)
    assert registry.get("x") is not None and "myspace" not in registry.available()

    # the config loader reports the account as a validation error listing what exists
    from spi_campaign.config import read_config

    cfg = tmp_path / "config.yaml"
    cfg.write_text("accounts:\n  toot:\n    platform: myspace\n", encoding="utf-8")
    _, problems = read_config(cfg)
    msgs = [p.message for p in problems if p.severity == "error"]
    hits = [m for m in msgs if "unknown platform 'myspace'" in m and "available platforms:" in m]
    assert hits, msgs
    listed = hits[0].split("available platforms:")[1]
    assert all(name in listed for name in ("facebook", "file", "instagram", "x"))


def test_example_adapter_is_registered_through_its_entry_point(tmp_path, monkeypatch, fresh_registry):
    meta = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))
    eps = meta["project"]["entry-points"]["spi_campaign.adapters"]
    assert eps == {"webhook": "spi_webhook:WebhookAdapter"}
    _dist(tmp_path, "spi-example-adapter", f"webhook = {eps['webhook']}")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(EXAMPLE))
    assert "webhook" in registry.available()
    assert registry.get("webhook") is example_class()
    assert not registry.plugin_warnings()


def test_plugin_cannot_replace_a_builtin(tmp_path, monkeypatch, fresh_registry):
    _dist(tmp_path, "spi-evil-plugin", "x = spi_webhook:WebhookAdapter")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.available()
    assert registry.get("x").__module__.startswith("spi_campaign.adapters.x")
    assert any("replace built-in" in w for w in registry.plugin_warnings())


# ----- cost of the class side -------------------------------------------------

def test_help_and_validate_import_no_network_library(tmp_path):
    """`spi --help` and `spi post validate` use only the class side of every
    adapter: tweepy, requests, facebook and urllib3 must stay unimported."""
    import subprocess
    import textwrap

    (tmp_path / "posts").mkdir()
    (tmp_path / "config.yaml").write_text(textwrap.dedent("""\
        accounts:
          kominfo-x: {platform: x}
          kominfo-fb: {platform: facebook, page_id: "1234567890"}
          kominfo-ig: {platform: instagram, ig_user_id: "17841405822304914"}
          kpk-bsky: {platform: bluesky, handle: kpk.bsky.social}
          arsip: {platform: file, path: arsip.jsonl}
          kanal-tg: {platform: telegram, chat_id: "@diskominfocontoh"}
          kominfo-mstdn: {platform: mastodon, instance: "https://mastodon.example"}
        """), encoding="utf-8")
    (tmp_path / "posts" / "p.yaml").write_text(textwrap.dedent("""\
        id: p
        status: approved
        publish_at: 2027-01-04 09:00
        accounts: [kominfo-x, kominfo-fb, kominfo-ig, kpk-bsky, arsip, kanal-tg, kominfo-mstdn]
        text: Tolak gratifikasi https://www.kpk.go.id
        media:
          - url: https://cdn.example.org/poster.jpg
            alt: Poster
        """), encoding="utf-8")
    code = textwrap.dedent(f"""\
        import sys
        from click.testing import CliRunner
        from spi_campaign.cli import cli
        r1 = CliRunner().invoke(cli, ["--help"])
        r2 = CliRunner().invoke(cli, ["--config", {str(tmp_path / 'config.yaml')!r}, "post", "validate"])
        assert r1.exit_code == 0, r1.output
        assert r2.exit_code in (0, 1), r2.output
        print(sorted(m for m in ("tweepy", "requests", "facebook", "urllib3", "requests_oauthlib",
                                 "mastodon", "atproto", "atproto_client", "httpx")
                     if m in sys.modules))
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_import_paths_from_before_the_family_split_still_work():
    """Plugins and older code import these paths; they must keep working."""
    from spi_campaign.adapters._http import GUARDED_LOGGERS, new_session, transport_error  # noqa: F401
    from spi_campaign.adapters.facebook import DEFAULT_GRAPH_VERSION, FacebookAdapter
    from spi_campaign.adapters.instagram import InstagramAdapter
    from spi_campaign.adapters.x import XAdapter

    assert (registry.get("facebook"), registry.get("instagram"), registry.get("x")) == (
        FacebookAdapter, InstagramAdapter, XAdapter)
    assert DEFAULT_GRAPH_VERSION == "v27.0"
