"""Alerts (spi_campaign.notify, docs/alerts.md), against real endpoints: a
JSON webhook served by http.server and an SMTP server (aiosmtpd), both
started here on 127.0.0.1 and both checking the password that spi expands
from SPI_NOTIFY_* variables. Real ``spi`` processes, real SQLite ledgers,
real apprise."""

from __future__ import annotations

import base64
import http.server
import json
import shutil
import socket
import subprocess
import threading
import warnings
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.policy import default as email_policy
from pathlib import Path

import pytest
from _support import load_plugin

from spi_campaign import notify
from spi_campaign.config import load_config, read_config
from spi_campaign.ledger import Change, Publication, SqliteLedger

kit = load_plugin("spi_testkit")
UTC = timezone.utc
HOOK_PASSWORD = "hook-S3cret-7f2a9c"       # expanded from SPI_NOTIFY_HOOK_PASSWORD
MAIL_PASSWORD = "mail-S3cret-41be0d"       # expanded from SPI_NOTIFY_MAIL_PASSWORD
SECRETS = {"SPI_NOTIFY_HOOK_PASSWORD": HOOK_PASSWORD, "SPI_NOTIFY_MAIL_PASSWORD": MAIL_PASSWORD}


# ----- endpoints ------------------------------------------------------------------------------

class Hook:
    """A JSON webhook: records each POST (path, Authorization, JSON body);
    answers ``status`` (set it to 500 to make sends fail)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 200
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.requests.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                      "json": json.loads(data)})
                self.send_response(hook.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"json://spi:${{SPI_NOTIFY_HOOK_PASSWORD}}@127.0.0.1:{self.port}/alerts"

    def payloads(self) -> list[dict]:
        assert all(r["path"] == "/alerts" for r in self.requests)
        want = "Basic " + base64.b64encode(f"spi:{HOOK_PASSWORD}".encode()).decode()
        assert all(r["auth"] == want for r in self.requests), "the password was not expanded from the environment"
        return [r["json"] for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mailbox():
    """An SMTP server requiring AUTH (user ``spi``, MAIL_PASSWORD); the
    messages it accepted, parsed."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    messages = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            messages.append(message_from_bytes(envelope.content, policy=email_policy))
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"spi" and auth_data.password == MAIL_PASSWORD.encode()
        return AuthResult(success=ok)

    port = _free_port()
    warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")   # a local test server
    ctl = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=authenticator,
                     auth_required=True, auth_require_tls=False)
    ctl.start()
    ctl.url = (f"mailto://spi:${{SPI_NOTIFY_MAIL_PASSWORD}}@127.0.0.1:{port}"
               "?from=spi@diskominfo.example&to=humas@diskominfo.example")
    ctl.messages = messages
    yield ctl
    ctl.stop()


# ----- campaign helpers -----------------------------------------------------------------------

def write_campaign(root: Path, notify_yaml: str, *, broken: bool = True, extra: str = "") -> None:
    """Accounts ``arsip`` (works) and ``rusak`` (a file account whose path is
    a directory: every publication fails)."""
    (root / "posts").mkdir(parents=True, exist_ok=True)
    (root / "outbox" / "rusak.jsonl").mkdir(parents=True, exist_ok=True)
    (root / "config.yaml").write_text(
        "timezone: Asia/Makassar\nstate: .spi/state.db\n" + extra + "accounts:\n"
        "  arsip:\n    platform: file\n    path: outbox/arsip.jsonl\n"
        "  rusak:\n    platform: file\n    path: outbox/rusak.jsonl\n" + notify_yaml, encoding="utf-8")
    kit.init_ledger(root, "2026-01-01T00:00:00.000000Z")     # set up (spi init) before the posts fell due


def notify_yaml(*dests: tuple[str, list[str]]) -> str:
    return "notify:\n" + "".join(f"  - url: {json.dumps(u)}\n    events: [{', '.join(e)}]\n" for u, e in dests)


def spi(root: Path, *args: str, faketime: str | None = None) -> subprocess.CompletedProcess:
    env = kit.env() | SECRETS
    cmd = [kit.SPI, "-vv", "--config", str(root / "config.yaml"), *args]
    if faketime:
        cmd = ["faketime", "-f", faketime, *cmd]
    return subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=90)


def notices(root: Path):
    led = SqliteLedger.open(root / ".spi" / "state.db")
    try:
        return led.notifications()
    finally:
        led.close()


def assert_no_secret(root: Path, *outputs: str) -> None:
    for out in outputs:
        assert HOOK_PASSWORD not in out and MAIL_PASSWORD not in out
    for f in (root / ".spi").iterdir():
        data = f.read_bytes()
        assert HOOK_PASSWORD.encode() not in data and MAIL_PASSWORD.encode() not in data, f


# ----- end to end -----------------------------------------------------------------------------

def test_failed_publication_alerts_once_by_webhook_and_by_email_across_three_runs(tmp_path, hook, mailbox):
    write_campaign(tmp_path, notify_yaml((hook.url, ["failed"]), (mailbox.url, ["failed", "missed"])))
    kit.write_post(tmp_path, "tolak-gratifikasi", kit.later(-60), ["rusak"])
    runs = [spi(tmp_path, "post", "publish-due") for _ in range(3)]
    # Alerts never change what publish-due reports: 1 for the run with the failure.
    # every run exits 1 while the failure stands (the alert itself is sent once)
    assert [r.returncode for r in runs] == [1, 1, 1], runs[0].stderr
    payloads = hook.payloads()
    assert len(payloads) == 1
    p = payloads[0]
    assert p["type"] == "failure"
    assert f"[spi {tmp_path.name}]" in p["title"] and "failed" in p["title"]
    body = p["message"]
    for part in ("post: tolak-gratifikasi", "account: rusak", "state: failed", "Is a directory",
                 "spi post retry tolak-gratifikasi --account rusak"):
        assert part in body
    occ = kit.ledger_rows(tmp_path)[0].occurrence.astimezone(timezone(timedelta(hours=8)))
    assert f"occurrence: {occ:%Y-%m-%d %H:%M} +08:00" in body
    assert len(mailbox.messages) == 1
    mail = mailbox.messages[0]
    assert mail["Subject"] == p["title"] and mail["To"] == "humas@diskominfo.example"
    assert "post: tolak-gratifikasi" in mail.get_body(("plain", "html")).get_content()
    assert [(n.event, n.status) for n in notices(tmp_path)] == [("failed", "sent")] * 2
    assert_no_secret(tmp_path, *(r.stdout + r.stderr for r in runs))


def test_concurrent_runs_alert_once(tmp_path, hook):
    write_campaign(tmp_path, notify_yaml((hook.url, ["failed"])))
    kit.write_post(tmp_path, "laporkan-gratifikasi", kit.later(-60), ["rusak"])
    cmd = [kit.SPI, "--config", str(tmp_path / "config.yaml"), "post", "publish-due"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, env=kit.env() | SECRETS, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errs = [p.communicate(timeout=90)[1] for p in procs]
    assert len(hook.payloads()) == 1, errs
    # (the folder's name contains "alert": a readiness warning naming the outbox path is not about alerts)
    assert all("alert" not in e.replace(str(tmp_path), "") for e in errs), errs


def test_unsendable_alert_never_affects_publishing_and_is_retried_later(tmp_path, hook):
    if shutil.which("faketime") is None:
        pytest.skip("Debian's faketime is not installed (apt-get install faketime)")
    hook.status = 500
    write_campaign(tmp_path, notify_yaml((hook.url, ["failed"])))
    kit.write_post(tmp_path, "zona-integritas", kit.later(-60), ["arsip", "rusak"])
    first = spi(tmp_path, "post", "publish-due")
    assert first.returncode == 1            # the failed publication, as without alerts
    assert len(kit.outbox(tmp_path, "arsip")) == 1
    warning = [ln for ln in first.stderr.splitlines() if "alert to json://127.0.0.1" in ln]
    assert len(warning) == 1 and "not sent" in warning[0] and "attempt 1" in warning[0], first.stderr
    assert "Traceback" not in first.stderr
    [n] = notices(tmp_path)
    assert (n.status, n.attempts) == ("pending", 1) and n.error and n.next_attempt is not None
    # Not due yet (backoff 1 min): the next cron run does not send again.
    second = spi(tmp_path, "post", "publish-due")
    assert len(hook.requests) == 1 and second.returncode == 1     # still failed: still loud
    hook.status = 200
    third = spi(tmp_path, "post", "publish-due", faketime="+2m")
    assert len(hook.payloads()) == 2
    assert [(n.status, n.attempts) for n in notices(tmp_path)] == [("sent", 2)]
    spi(tmp_path, "post", "publish-due", faketime="+5m")
    assert len(hook.requests) == 2
    assert_no_secret(tmp_path, first.stderr, second.stderr, third.stderr + third.stdout)


def test_validate_refuses_secrets_written_in_urls_and_never_echoes_them(tmp_path):
    write_campaign(tmp_path, notify_yaml(("mailto://humas:hunter2pass@mail.example.go.id", ["failed"]),
                                         ("tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-100123",
                                          ["failed", "falied"])))
    r = subprocess.run([kit.SPI, "--config", str(tmp_path / "config.yaml"), "post", "validate"], cwd=tmp_path,
                       env=kit.env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    out = r.stdout + r.stderr
    assert "notify[0] url has a password written in config.yaml" in out
    assert "notify[1] url has a token (the host part) written in config.yaml" in out
    assert "${SPI_NOTIFY_<NAME>}" in out
    assert "unknown event 'falied' (did you mean 'failed'?)" in out
    assert "hunter2pass" not in out and "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in out


@pytest.mark.parametrize("dest, message", [
    ({"events": ["failed"]}, "notify[0] needs 'url'"),
    ({"url": "json://h/x", "events": ["failed", "exploded"]}, "unknown event 'exploded'"),
    ({"url": "json://h/x", "events": []}, "events must be a list of: failed, unknown"),
    ({"url": "json://h/x", "event": ["failed"]}, "unknown key 'event' (did you mean 'events'?)"),
    ({"url": "json://h/${SPI_X_API_KEY}"}, "only SPI_NOTIFY_* variables"),
    ({"url": "json://h/hook?token=abcdef123"}, "a secret in the 'token' parameter"),
    ({"url": "slack://T1ABC/B2DEF/C3GHIJ/#humas"}, "has a token"),
    ({"url": "https://hooks.slack.com/services/T1ABC/B2DEF/C3GHIJ"}, "has a token (in the path)"),
    ({"url": "matrixs://syt_abcdef@matrix.example.org/#humas"}, "an access token (the user part)"),
    ({"url": "localhost:8080"}, "must be an apprise URL"),
])
def test_notify_entry_errors(tmp_path, dest, message):
    write_campaign(tmp_path, "notify:\n  - " + json.dumps(dest) + "\n")
    cfg, problems = read_config(tmp_path / "config.yaml")
    errors = [p.message for p in problems if p.severity == "error"]
    assert len(errors) == 1 and message in errors[0], errors
    assert problems[0].line == 11           # the entry (or its url) line in config.yaml
    assert cfg.notify == ()


def test_accepted_urls_and_settings(tmp_path):
    urls = ["json://127.0.0.1:8080/alerts", "tgram://${SPI_NOTIFY_TELEGRAM_TOKEN}/-100123",
            "mailtos://humas:${SPI_NOTIFY_MAIL_PASSWORD}@mail.example.go.id?to=ops@example.go.id",
            "slack://${SPI_NOTIFY_SLACK_A}/${SPI_NOTIFY_SLACK_B}/${SPI_NOTIFY_SLACK_C}/#humas",
            "matrixs://spi:${SPI_NOTIFY_MATRIX_PASSWORD}@matrix.example.org/#humas", "${SPI_NOTIFY_OPS}"]
    write_campaign(tmp_path, notify_yaml(*[(u, ["failed", "digest"]) for u in urls]),
                   extra="alert_window: 2h\ndigest_at: 17:30\n")   # unquoted: YAML 1.1 reads 1050
    cfg = load_config(tmp_path / "config.yaml")
    assert [d.url for d in cfg.notify] == urls
    assert cfg.alert_window == timedelta(hours=2) and (cfg.digest_at.hour, cfg.digest_at.minute) == (17, 30)
    write_campaign(tmp_path, "", extra="digest_at: '25:00'\nalert_window: 0s\n")
    _, problems = read_config(tmp_path / "config.yaml")
    assert [p.message.split(" ")[0] for p in problems] == ["alert_window:", "digest_at"]


# ----- dispatch in process: events, recovery, digest, give-up ----------------------------------

WITA = timezone(timedelta(hours=8))
NOW = datetime(2026, 12, 9, 10, 0, tzinfo=WITA).astimezone(UTC)     # Wednesday 10:00 WITA


def row(post: str, state: str, *, minutes_ago: int = 5, **kw) -> Publication:
    occ = NOW - timedelta(minutes=minutes_ago)
    return Publication(post=post, account="arsip", occurrence=occ, state=state, **kw)


@pytest.fixture
def setup(tmp_path, hook, monkeypatch):
    monkeypatch.setenv("SPI_NOTIFY_HOOK_PASSWORD", HOOK_PASSWORD)
    write_campaign(tmp_path, notify_yaml((hook.url, ["failed", "unknown", "missed", "held", "recovered",
                                                     "token_expiring", "digest"])),
                   extra="digest_at: '09:00'\nalert_window: 24h\n")
    led = SqliteLedger.open(tmp_path / ".spi" / "state.db")
    yield load_config(tmp_path / "config.yaml"), led, hook
    led.close()


def test_each_event_once_then_recovered_then_a_new_failure_after_retry(setup):
    cfg, led, hook = setup
    led.insert([row("a-gagal", "failed", claimed_at=NOW - timedelta(minutes=4), attempts=1, error="ditolak"),
                row("b-entah", "unknown", claimed_at=NOW - timedelta(minutes=4), attempts=1, error="timeout"),
                row("c-lewat", "missed"),
                row("d-tahan", "pending", hold="the post has errors (run 'spi post validate')"),
                row("e-nanti", "pending", minutes_ago=-60, hold="the post has errors"),      # not due yet
                row("f-lama", "failed", claimed_at=NOW - timedelta(days=3), error="lama")],  # older than 24h
               NOW - timedelta(minutes=1))
    res = notify.dispatch(cfg, led, NOW)
    assert (res.recorded, res.sent, res.failed, res.error) == (5, 5, 0, None)
    by_title = {p["title"]: p for p in hook.payloads()}
    assert sorted(p["type"] for p in by_title.values()) == ["failure", "failure", "info", "warning", "warning"]
    titles = " | ".join(by_title)
    for part in ("failed: a-gagal on arsip", "unknown outcome (may be live): b-entah", "missed: c-lewat",
                 "held back: d-tahan", "daily summary 2026-12-09"):
        assert part in titles
    assert "f-lama" not in titles and "e-nanti" not in titles
    digest = next(p["message"] for t, p in by_title.items() if "daily summary" in t)
    assert "failed: 1" in digest and "held back: 1" in digest and "scheduled: 0" in digest
    assert notify.dispatch(cfg, led, NOW + timedelta(minutes=1)).recorded == 0
    assert len(hook.requests) == 5

    key = row("a-gagal", "failed").key
    led.update([Change(key, ("failed",), {"state": "published", "url": "https://x.example/1",
                                          "published_at": NOW + timedelta(minutes=2)})], NOW)
    notify.dispatch(cfg, led, NOW + timedelta(minutes=3))
    assert len(hook.requests) == 6
    last = hook.payloads()[-1]
    assert last["type"] == "success" and "recovered: a-gagal" in last["title"] and "https://x.example/1" in last["message"]
    notify.dispatch(cfg, led, NOW + timedelta(minutes=4))
    assert len(hook.requests) == 6

    # retried by hand (spi post retry), failed again: a new claim, a new alert
    led.update([Change(row("b-entah", "unknown").key, ("unknown",),
                       {"state": "failed", "claimed_at": NOW + timedelta(minutes=5), "error": "ditolak lagi"})], NOW)
    notify.dispatch(cfg, led, NOW + timedelta(minutes=6))
    assert len(hook.requests) == 7 and "failed: b-entah" in hook.payloads()[-1]["title"]


def test_digest_once_a_day_after_digest_at(setup):
    cfg, led, hook = setup
    notify.dispatch(cfg, led, NOW)
    notify.dispatch(cfg, led, NOW + timedelta(hours=5))
    tomorrow_0859 = NOW + timedelta(hours=22, minutes=59)
    notify.dispatch(cfg, led, tomorrow_0859)
    assert [p["title"].split("] ")[1] for p in hook.payloads()] == ["daily summary 2026-12-09"]
    notify.dispatch(cfg, led, tomorrow_0859 + timedelta(minutes=1))
    assert [p["title"].split("] ")[1] for p in hook.payloads()][1:] == ["daily summary 2026-12-10"]


def test_token_warning_once_and_grouping(setup):
    cfg, led, hook = setup
    warn = notify.TokenWarning("diskominfos-bali-fb", datetime(2026, 12, 20, tzinfo=UTC), "Page token, 60 days")
    led.insert([row(f"m-{i}", "missed") for i in range(3)], NOW)
    notify.dispatch(cfg, led, NOW - timedelta(hours=2), token_warnings=[warn])   # 08:00 WITA: no digest yet
    notify.dispatch(cfg, led, NOW - timedelta(hours=2), token_warnings=[warn])
    titles = sorted(p["title"] for p in hook.payloads())
    assert titles == [f"[spi {cfg.root.name}] 3 publication(s) missed",
                      f"[spi {cfg.root.name}] an account token expiring: diskominfos-bali-fb"]
    missed = next(p["message"] for p in hook.payloads() if "missed" in p["title"])
    assert all(f"post: m-{i}" in missed for i in range(3))


def test_unsendable_alerts_are_given_up_after_alert_window(setup, monkeypatch, caplog):
    cfg, led, hook = setup
    led.insert([row("a-gagal", "failed", claimed_at=NOW - timedelta(minutes=4), error="ditolak")], NOW)
    monkeypatch.delenv("SPI_NOTIFY_HOOK_PASSWORD")
    res = notify.dispatch(cfg, led, NOW - timedelta(hours=2))
    assert (res.sent, res.failed) == (0, 1) and not hook.requests
    [n] = led.notifications()
    assert n.status == "pending" and n.error == "environment variable(s) not set: SPI_NOTIFY_HOOK_PASSWORD"
    caplog.clear()
    notify.dispatch(cfg, led, NOW + timedelta(hours=22, minutes=30))   # 08:30: before the digest
    assert [n.status for n in led.notifications()] == ["expired"]
    assert any("given up" in r.getMessage() for r in caplog.records)
    assert not hook.requests


def test_dispatch_never_raises(setup, caplog):
    cfg, led, hook = setup
    led.close()                                # a ledger that cannot be used
    res = notify.dispatch(cfg, led, NOW)
    assert res.error and "alerts not processed" in caplog.text


def test_held_account_is_alerted_even_when_its_retry_time_lies_ahead(setup):
    cfg, led, hook = setup
    hold = "account 'arsip' cannot publish: out of credits (fix billing)"
    led.insert([row("g-akun", "pending", hold=hold, attempts=1, next_attempt=NOW + timedelta(hours=6))],
               NOW - timedelta(minutes=1))
    notify.dispatch(cfg, led, NOW)
    [p] = [p for p in hook.payloads() if "daily summary" not in p["title"]]
    assert "held back: g-akun" in p["title"] and f"why: {hold}" in p["message"]


def test_accounts_check_raises_token_expiring_once(tmp_path, hook, monkeypatch):
    # The Graph API at the wire (responses); the webhook is a real local server.
    import re

    import responses
    from click.testing import CliRunner

    from _support import GRAPH, debug_token, load
    from spi_campaign.cli import cli

    monkeypatch.setenv("SPI_NOTIFY_HOOK_PASSWORD", HOOK_PASSWORD)
    (tmp_path / "config.yaml").write_text(
        "timezone: Asia/Makassar\naccounts:\n  kominfo-fb:\n    platform: facebook\n    page_id: \"1234567890\"\n"
        + notify_yaml((hook.url, ["token_expiring"])), encoding="utf-8")
    (tmp_path / "posts").mkdir()
    token = "EAAG-page-token-" + "q" * 20
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rs:
        rs.add_passthru(re.compile(r"http://127\.0\.0\.1:\d+/"))
        rs.add(responses.GET, f"{GRAPH}/1234567890", json=load("meta/page.json"))
        rs.add(responses.GET, f"{GRAPH}/debug_token", json=debug_token(5))
        for _ in range(2):
            r = CliRunner().invoke(cli, ["--config", str(tmp_path / "config.yaml"), "accounts", "check"],
                                   env={"SPI_KOMINFO_FB_PAGE_TOKEN": token, "COLUMNS": "200"})
            assert r.exit_code == 0 and "warning: the access token" in r.output, r.output
    [payload] = hook.payloads()                   # two checks, one alert
    assert "kominfo-fb" in payload["message"] and token not in json.dumps(payload)
