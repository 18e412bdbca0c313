"""No credential value ever appears in output, logs, error messages or the
ledger: at every verbosity, on success and on failure, for every network
platform, with the libraries' own DEBUG logging switched on, and with
http.client's print-based debug output switched on.

Known token strings are set in the environment and searched for in stdout,
stderr, every log record (caplog at DEBUG on the root logger) and the bytes
of the ledger files."""

from __future__ import annotations

import http.client
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import responses
from click.testing import CliRunner

from _support import GRAPH, IG, add_account_checks, load
from spi_campaign import redact
from spi_campaign.adapters._http import GUARDED_LOGGERS
from spi_campaign.cli import cli
from spi_campaign.errors import AdapterError
from spi_campaign.models import Account, Content, Media

TOKENS = {
    "SPI_KOMINFO_X_API_KEY": "tok-SECRET-1234567890-xkey",
    "SPI_KOMINFO_X_API_SECRET": "tok-SECRET-1234567890-xsecret",
    "SPI_KOMINFO_X_ACCESS_TOKEN": "2244994945-tok-SECRET-1234567890-xtoken",
    "SPI_KOMINFO_X_ACCESS_TOKEN_SECRET": "tok-SECRET-1234567890-xtokensecret",
    "SPI_KOMINFO_FB_PAGE_TOKEN": "tok-SECRET-1234567890-fb",
    "SPI_KOMINFO_IG_ACCESS_TOKEN": "tok-SECRET-1234567890-ig",
}
VERBOSITY = [[], ["-v"], ["-vv"]]
NOISY = sorted(set(GUARDED_LOGGERS) | set(redact.NOISY_LIBRARIES))


def assert_clean(*texts: str | bytes) -> None:
    for text in texts:
        if isinstance(text, bytes):
            for value in TOKENS.values():
                assert value.encode() not in text, "a credential value leaked"
        else:
            for value in TOKENS.values():
                assert value not in text, "a credential value leaked"


@pytest.fixture(autouse=True)
def _restore_logging():
    """configure_logging (-v) installs a root handler and sets levels; undo it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in NOISY + ["spi_campaign"]}
    debuglevel = http.client.HTTPConnection.debuglevel
    yield
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)
    for name, lvl in levels.items():
        logging.getLogger(name).setLevel(lvl)
    http.client.HTTPConnection.debuglevel = debuglevel


@pytest.fixture
def campaign(camp) -> Path:
    config = camp.write_config(f"""\
        timezone: Asia/Makassar
        accounts:
          kominfo-x:
            platform: x
            username: diskominfobali
          kominfo-fb:
            platform: facebook
            page_id: "1234567890"
          kominfo-ig:
            platform: instagram
            ig_user_id: "{IG}"
            poll_interval: 0
        """)
    camp.post("01.yaml", """\
        id: apa-itu-gratifikasi
        status: approved
        publish_at: 2026-12-07 09:00
        accounts: [kominfo-x, kominfo-fb, kominfo-ig]
        text: Gratifikasi adalah pemberian dalam arti luas.
        hashtags: [TolakGratifikasi]
        media:
          - url: https://cdn.example.org/poster.jpg
            alt: Poster
        variants:
          x:
            media: []
          facebook:
            media: []
        """)
    return config


def invoke(config: Path, verbosity: list[str], *args: str):
    result = CliRunner().invoke(cli, [*verbosity, "--config", str(config), *args], env=TOKENS)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def everything(result, caplog) -> list[str]:
    records = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    return [result.stdout, result.stderr, caplog.text, records]


def add_x_me(rs, ok=True):
    if ok:
        rs.add(responses.GET, "https://api.x.com/2/users/me", json=load("x/users_me.json"))
    else:
        rs.add(responses.GET, "https://api.x.com/2/users/me", json=load("x/error_401.json"), status=401)


# ----- accounts check ---------------------------------------------------------

@pytest.mark.parametrize("verbosity", VERBOSITY, ids=["quiet", "-v", "-vv"])
@pytest.mark.parametrize("outcome", ["succeeds", "fails"])
def test_accounts_check(campaign, caplog, verbosity, outcome):
    caplog.set_level(logging.DEBUG)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rs:
        if outcome == "succeeds":
            add_account_checks(rs)
        else:
            add_x_me(rs, ok=False)
            rs.add(responses.GET, f"{GRAPH}/1234567890", json=load("meta/error_190_463.json"), status=400)
            rs.add(responses.GET, f"{GRAPH}/{IG}", body=requests.exceptions.ReadTimeout("read timed out"))
        result = invoke(campaign, verbosity, "accounts", "check", "--format", "json")
    assert result.exit_code == (0 if outcome == "succeeds" else 1)
    assert_clean(*everything(result, caplog))
    if outcome == "fails":
        rows = {r["name"]: r for r in json.loads(result.stdout)}
        assert "SPI_KOMINFO_FB_PAGE_TOKEN" in rows["kominfo-fb"]["error"]
        assert "SPI_KOMINFO_X_API_KEY" in rows["kominfo-x"]["error"]


# ----- publish through the engine (and the ledger) ----------------------------

def _publish_wire(rs, platform: str, ok: bool):
    if platform == "x":
        if ok:
            rs.add(responses.POST, "https://api.x.com/2/tweets", json=load("x/create_post.json"), status=201)
        else:
            rs.add(responses.POST, "https://api.x.com/2/tweets", json=load("x/error_401.json"), status=401)
    elif platform == "fb":
        if ok:
            rs.add(responses.POST, f"{GRAPH}/1234567890/feed", json=load("meta/feed_post.json"))
        else:
            rs.add(responses.POST, f"{GRAPH}/1234567890/feed", json=load("meta/error_190_463.json"), status=400)
    else:
        rs.add(responses.GET, f"{GRAPH}/{IG}/content_publishing_limit", json=load("meta/ig_publishing_limit.json"))
        rs.add(responses.POST, f"{GRAPH}/{IG}/media", json=load("meta/ig_container.json"))
        rs.add(responses.GET, f"{GRAPH}/17889455560051444", json=load("meta/ig_status_finished.json"))
        if ok:
            rs.add(responses.POST, f"{GRAPH}/{IG}/media_publish", json=load("meta/ig_media_publish.json"))
            rs.add(responses.GET, f"{GRAPH}/17920238422030506", json=load("meta/ig_permalink.json"))
        else:
            rs.add(responses.POST, f"{GRAPH}/{IG}/media_publish", body=requests.exceptions.ReadTimeout("timed out"))


@pytest.mark.parametrize("verbosity", VERBOSITY, ids=["quiet", "-v", "-vv"])
@pytest.mark.parametrize("platform", ["x", "fb", "ig"])
@pytest.mark.parametrize("ok", [True, False], ids=["succeeds", "fails"])
def test_post_publish_and_ledger(campaign, caplog, verbosity, platform, ok):
    pytest.importorskip("spi_campaign.ledger")
    caplog.set_level(logging.DEBUG)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rs:
        _publish_wire(rs, platform, ok)
        result = invoke(campaign, verbosity, "post", "publish", "apa-itu-gratifikasi",
                        "--account", f"kominfo-{platform}", "--yes")
    assert result.exit_code == (0 if ok else 1), result.output
    assert_clean(*everything(result, caplog))
    state = campaign.parent / ".spi"
    files = [p for p in state.iterdir() if p.is_file()]
    assert files, "the ledger was not written"
    for p in files:
        assert_clean(p.read_bytes())
    status = invoke(campaign, verbosity, "post", "status", "--format", "json")
    assert_clean(status.stdout, status.stderr)


# ----- adapters directly, with every library logger at DEBUG ------------------

def _accounts():
    return {
        "x": Account("kominfo-x", "x", {"username": "diskominfobali", "timeout": 30.0}),
        "fb": Account("kominfo-fb", "facebook", {"page_id": "1234567890", "graph_version": "v27.0"}),
        "ig": Account("kominfo-ig", "instagram", {"ig_user_id": IG, "graph_version": "v27.0", "poll_interval": 0.0}),
    }


@pytest.mark.parametrize("ok", [True, False], ids=["succeeds", "fails"])
def test_library_debug_logging_never_shows_secrets(tmp_path, caplog, capsys, ok):
    from spi_campaign.compose import adapter_class

    caplog.set_level(logging.DEBUG)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.DEBUG)      # as if someone turned them all on
    png = tmp_path / "poster.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    errors = []
    for key, account in _accounts().items():
        cls = adapter_class(account)
        content = Content(text="Tolak gratifikasi", hashtags=("TolakGratifikasi",),
                          media=(Media(path=png, url="https://cdn.example.org/poster.jpg", alt="Poster"),))
        if key == "x":
            content = Content(text="satu", thread=("satu", "dua"), media=content.media)
        post = cls.compose("apa-itu-gratifikasi", account.name, content)
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rs:
            if key == "x":
                rs.add(responses.POST, "https://api.x.com/2/media/upload", json=load("x/media_upload.json"))
                rs.add(responses.POST, "https://api.x.com/2/media/metadata", json=load("x/media_metadata.json"))
            if key == "fb":
                rs.add(responses.POST, f"{GRAPH}/1234567890/photos", json=load("meta/photo_published.json")
                       if ok else load("meta/error_190_463.json"), status=200 if ok else 400)
            else:
                _publish_wire(rs, key, ok)
            if key == "x" and ok:
                rs.add(responses.POST, "https://api.x.com/2/tweets", json=load("x/create_post.json"), status=201)
            adapter = cls(account, env=TOKENS)
            try:
                adapter.publish(post, checkpoint=lambda p: None)
            except AdapterError as exc:
                errors.append(str(exc))
            adapter.close()
    out, err = capsys.readouterr()
    assert_clean(out, err, caplog.text, *errors, *(r.getMessage() for r in caplog.records))
    assert bool(errors) is not ok
    # the libraries did log (so the assertion above means something), with the secrets masked
    names = {r.name for r in caplog.records}
    assert "requests_oauthlib.oauth1_auth" in names and "oauthlib.oauth1.rfc5849" in names
    assert redact.MASK in caplog.text


# ----- a real socket: urllib3 DEBUG and http.client's print() debug -----------

class _GraphStub(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server API
        body = json.dumps({"id": "1234567890", "name": "Diskominfos Provinsi Bali"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep the server quiet
        pass


@pytest.fixture
def graph_stub(monkeypatch):
    import facebook

    server = ThreadingHTTPServer(("127.0.0.1", 0), _GraphStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(facebook, "FACEBOOK_GRAPH_URL", f"http://127.0.0.1:{server.server_port}/")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    yield server
    server.shutdown()
    server.server_close()


def test_real_socket_with_http_client_debug_and_urllib3_debug(graph_stub, caplog, capfd):
    from spi_campaign.adapters.facebook import FacebookAdapter

    caplog.set_level(logging.DEBUG)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.DEBUG)
    http.client.HTTPConnection.debuglevel = 1                 # prints "send: b'GET ...access_token=...'"
    adapter = FacebookAdapter(_accounts()["fb"], env=TOKENS)
    ident = adapter.check()
    adapter.close()
    assert ident.name == "Diskominfos Provinsi Bali"
    out, err = capfd.readouterr()
    assert_clean(out, err, caplog.text)
    assert "send:" not in out                                 # http.client's debug print was switched off
    assert http.client.HTTPConnection.debuglevel == 0
    urllib3_lines = [r.getMessage() for r in caplog.records if r.name.startswith("urllib3")]
    assert any("access_token=" + redact.MASK in line for line in urllib3_lines)


def test_error_messages_name_variables_not_values(caplog):
    """Every AuthError names the variable to fix and never contains a value."""
    from spi_campaign.compose import adapter_class

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rs:
        add_x_me(rs, ok=False)
        rs.add(responses.GET, f"{GRAPH}/1234567890", json=load("meta/error_190_463.json"), status=400)
        rs.add(responses.GET, f"{GRAPH}/{IG}", json=load("meta/error_190_463.json"), status=400)
        for key, account in _accounts().items():
            with pytest.raises(AdapterError) as info:
                adapter_class(account)(account, env=TOKENS).check()
            assert account.env_prefix in str(info.value)
            assert_clean(str(info.value), repr(info.value))
