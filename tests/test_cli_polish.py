"""Command-line polish for unattended use: global options anywhere, tables
that never cut an id, timestamps in cron logs, the cron example, `publish`
on a terminal, ledger-aware `list`/`validate`, `init` in an existing
campaign, the config-not-found message.

Real parts only: real campaign folders, CliRunner for option parsing, real
``spi`` processes (through a pipe, and through a pseudo-terminal from the
``pty`` module where the terminal matters), real SQLite ledgers."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import time
from datetime import datetime, timedelta, timezone
from io import StringIO
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from _support import load_plugin

kit = load_plugin("spi_testkit")

from spi_campaign import render, render_accounts, render_publish  # noqa: E402
from spi_campaign.accounts import AccountRow  # noqa: E402
from spi_campaign.cli import cli  # noqa: E402
from spi_campaign.ledger import Publication  # noqa: E402
from spi_campaign.timeutil import get_zone  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WITA = get_zone("Asia/Makassar")
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00 ")

LONG_ID = "spi-suara-pegawai-dan-pengguna-layanan"           # the longest id of the shipped campaign
LONG_ACCOUNT = "diskominfos-kabupaten-buleleng-fb"
URL = "https://www.facebook.com/1234567890_98765432101234567"
ENV = "SPI_DISKOMINFOS_KABUPATEN_BULELENG_FB_PAGE_TOKEN"


def invoke(*args, env=None, input=None):
    return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)


def whole(out: str, token: str) -> bool:
    """``token`` appears unbroken on one line of ``out``."""
    return any(token in line for line in out.splitlines())


def in_pty(argv: list[str], cwd: Path, answer: str | None = None, timeout: float = 60) -> tuple[int, str]:
    """Run ``argv`` with stdin/stdout/stderr on a pseudo-terminal; type
    ``answer`` once a question ("[y/N]") shows. Returns (exit code, output)."""
    master, slave = pty.openpty()
    env = kit.env() | {"NO_COLOR": "1", "TERM": "dumb"}
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:          # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
                if answer is not None and b"[y/N]" in out:
                    os.write(master, answer.encode())
                    answer = None
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
    return code, out.decode("utf-8", "replace").replace("\r\n", "\n")


# ----- --config, -v and --format anywhere ----------------------------------------------

def test_config_and_format_after_the_subcommand(camp):
    kit.write_post(camp.root, "p", kit.now() + timedelta(days=1), ["arsip"])
    os.chdir(camp.root.parent)           # ./config.yaml is not the campaign's
    cfg = str(camp.config)
    for args in (["post", "validate", "--config", cfg, "--format", "json"],
                 ["post", "--config", cfg, "validate", "--format", "json"],
                 ["--format", "json", "post", "validate", "--config", cfg],
                 ["post", "--format", "json", "validate", "--config", cfg],
                 ["--config", "nope.yaml", "post", "validate", "--config", cfg, "--format", "json"]):
        r = invoke(*args)
        assert r.exit_code == 0, (args, r.output)
        assert json.loads(r.output)["posts"] == 1, args
    r = invoke("post", "list", "--config", cfg, "--format", "json")
    assert [x["id"] for x in json.loads(r.output)] == ["p"]
    # The command's own --format wins over one given before it.
    r = invoke("--format", "json", "post", "list", "--format", "table", "--config", cfg)
    assert r.exit_code == 0 and "Next publish" in r.output
    r = invoke("accounts", "list", "--config", cfg, "--format", "json")
    assert r.exit_code == 0 and [a["name"] for a in json.loads(r.output)] == ["arsip", "kominfo-fb"]


def test_a_format_the_command_does_not_have_is_a_usage_error(camp):
    cfg = str(camp.config)
    r = invoke("--format", "table", "post", "validate", "--config", cfg)
    assert r.exit_code == 2 and "'table' is not one of 'text', 'json'" in r.output
    r = invoke("post", "--format", "json", "publish-due", "--config", cfg)
    assert r.exit_code == 2 and "post publish-due' has no --format option" in r.output
    assert not (camp.root / ".spi").exists()


@pytest.mark.usefixtures("flaky_platform")
def test_verbose_after_the_subcommand_and_split_across_levels(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["f"], platform="flaky"))
    kit.control(tmp_path, "f", script={"g": ["crash"], "h": ["crash"], "i": ["crash"]})
    cfg = str(tmp_path / "config.yaml")
    env = kit.env()

    def run(*args):
        return subprocess.run([kit.SPI, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)

    kit.write_post(tmp_path, "g", kit.now() - timedelta(minutes=1), ["f"])
    quiet = run("post", "publish-due", "--config", cfg)
    assert quiet.returncode == 1 and "Traceback" not in quiet.stderr
    kit.write_post(tmp_path, "h", kit.now() - timedelta(minutes=1), ["f"])
    debug = run("post", "publish-due", "--config", cfg, "-vv")
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "RuntimeError: adapter bug" in debug.stderr
    kit.write_post(tmp_path, "i", kit.now() - timedelta(minutes=1), ["f"])
    split = run("-v", "post", "publish-due", "-v", "--config", cfg)     # -v twice is -vv
    assert split.returncode == 1 and "Traceback" in split.stderr


def test_global_options_are_in_every_commands_help():
    for path in (["post", "validate"], ["post", "publish-due"], ["accounts", "check"], ["post"]):
        out = invoke(*path, "--help").output
        assert "--config PATH" in out and "-v, --verbose" in out, path
    assert "--config" not in invoke("init", "--help").output


# ----- config not found --------------------------------------------------------------

def test_config_not_found_names_the_absolute_path(tmp_path):
    r = invoke("post", "list")
    assert r.exit_code == 1
    assert f"config file not found: {tmp_path / 'config.yaml'} (create one with 'spi init'" in r.output
    (tmp_path / "sub").mkdir()
    r = invoke("post", "validate", "--config", "sub/../elsewhere/kampanye.yaml")
    assert r.exit_code == 1 and f"config file not found: {tmp_path / 'elsewhere' / 'kampanye.yaml'} " in r.output


# ----- spi init in an existing campaign -------------------------------------------------

def test_init_never_brings_back_a_deleted_sample_post(tmp_path):
    assert invoke("init", "k").exit_code == 0
    sample = tmp_path / "k" / "posts" / "contoh-tolak-gratifikasi.yaml"
    sample.unlink()
    r = invoke("init", "k")
    assert r.exit_code == 0
    assert not sample.exists()
    assert "exists, left as is: k/config.yaml" in r.output
    assert "not created (config.yaml already existed: an existing campaign): k/posts/contoh-tolak-gratifikasi.yaml" \
        in r.output
    assert "Next:" not in r.output
    # A kept sample is reported as kept.
    assert invoke("init", "k2").exit_code == 0
    r = invoke("init", "k2")
    assert "exists, left as is: k2/posts/contoh-tolak-gratifikasi.yaml" in r.output


# ----- tables never cut an id, a variable name, a page id or a URL ---------------------------

def _console(width: int) -> tuple[Console, StringIO]:
    buf = StringIO()
    return Console(file=buf, width=width, color_system=None), buf


def _list_row(**kw):
    row = {"id": LONG_ID, "title": None, "topic": "spi", "status": "approved", "repeat": "0 9 * * FRI",
           "accounts": [LONG_ACCOUNT, "diskominfos-bali-x", "arsip"], "_next": datetime(2026, 12, 11, 1, tzinfo=timezone.utc),
           "published": [{"account": LONG_ACCOUNT, "occurrence": None, "published_at": None, "url": URL}]}
    return row | kw


@pytest.mark.parametrize("width", [60, 80])
def test_post_table_keeps_every_id_whole(width):
    con, buf = _console(width)
    render.post_table(con, [_list_row(), _list_row(id="hakordia-2026", published=[])], WITA)
    out = buf.getvalue()
    for token in (LONG_ID, LONG_ACCOUNT, "diskominfos-bali-x", "2026-12-11 09:00 +08:00", "hakordia-2026"):
        assert whole(out, token), (token, out)
    assert "published 1/3" in out and f"✓{LONG_ACCOUNT}" in out
    if width == 80:
        assert out.startswith("Next publish") and max(len(x) for x in out.splitlines()) <= 80
    else:                                    # stacked: one block per post
        assert "Next publish" not in out
        assert f"{LONG_ID}\n  next:     2026-12-11 09:00 +08:00\n  status:   approved, published 1/3\n" in out


def _pub(**kw) -> Publication:
    return Publication(**({"post": LONG_ID, "account": LONG_ACCOUNT, "occurrence": datetime(2026, 12, 9, 1, tzinfo=timezone.utc),
                           "state": "published", "attempts": 1, "url": URL} | kw))


@pytest.mark.parametrize("width", [60, 80])
def test_status_table_keeps_ids_and_urls_whole(width):
    con, buf = _console(width)
    rows = [_pub(), _pub(post="hakordia-2026", account="diskominfos-bali-x", state="failed", url=None, attempts=5,
                         error="X: posting failed: HTTP 503 Service Unavailable (gave up after 5 attempts)")]
    render_publish.status_table(con, rows, WITA)
    out = buf.getvalue()
    for token in (LONG_ID, LONG_ACCOUNT, URL, "hakordia-2026", "diskominfos-bali-x", "2026-12-09 09:00 +08:00"):
        assert whole(out, token), (token, out)
    assert ("occurrence" in out.splitlines()[0]) == (width == 80)   # 60: stacked
    assert out.rstrip().endswith("1 failed, 1 published")


@pytest.mark.parametrize("width", [40, 60, 80])
def test_accounts_table_keeps_variable_names_and_page_ids_whole(width):
    con, buf = _console(width)
    rows = [AccountRow(name=LONG_ACCOUNT, platform="facebook", label="Facebook Page", credentials=[(ENV, False)],
                       posts=3, approved=2, options={"page_id": "123456789012345", "graph_version": "v27.0"}),
            AccountRow(name="arsip", platform="file", label="File (JSON lines)", credentials=[], posts=0,
                       options={"path": "outbox/arsip.jsonl"})]
    render_accounts.accounts_table(con, rows)
    out = buf.getvalue()
    for token in (LONG_ACCOUNT, ENV, "123456789012345", "outbox/arsip.jsonl"):
        assert whole(out, token), (token, out)
    assert ("Account" in out.splitlines()[0]) == (width == 80)      # narrower: stacked


def test_the_cli_at_60_columns_stacks_instead_of_cutting(tmp_path):
    accounts = {LONG_ACCOUNT: {"platform": "facebook", "page_id": '"123456789012345"'},
                "arsip": {"platform": "file", "path": "outbox/arsip.jsonl"}}
    kit.write_config(tmp_path, accounts)
    kit.write_post(tmp_path, LONG_ID, kit.now() - timedelta(minutes=5), ["arsip"])
    kit.write_post(tmp_path, "nanti", kit.now() + timedelta(days=2), [LONG_ACCOUNT, "arsip"])
    cfg = str(tmp_path / "config.yaml")
    assert kit.spi(tmp_path, "post", "publish-due").returncode == 0
    narrow = {"COLUMNS": "60"}
    out = invoke("post", "list", "--config", cfg, env=narrow).output
    for token in (LONG_ID, LONG_ACCOUNT, "✓arsip"):
        assert whole(out, token), (token, out)
    assert "Next publish" not in out and "  accounts: " in out
    url = (tmp_path / "outbox" / "arsip.jsonl").resolve().as_uri()
    out = invoke("post", "status", "--config", cfg, env=narrow).output
    assert whole(out, LONG_ID) and whole(out, url) and "  state:      published" in out
    out = invoke("accounts", "list", "--config", cfg, env=narrow).output
    for token in (LONG_ACCOUNT, "SPI_DISKOMINFOS_KABUPATEN_BULELENG_FB_PAGE_TOKEN", "123456789012345"):
        assert whole(out, token), (token, out)


# ----- publish-due: timestamps off a terminal; the cron example ----------------------------

def _due_and_missed(root: Path) -> None:
    kit.write_config(root, kit.file_accounts(["a"]))
    kit.write_post(root, "p", kit.now() - timedelta(minutes=2), ["a"])
    kit.write_post(root, "lama", kit.now() - timedelta(hours=8), ["a"])


def test_publish_due_lines_carry_a_timestamp_when_not_on_a_terminal(tmp_path):
    _due_and_missed(tmp_path)
    r = kit.spi(tmp_path, "post", "publish-due")
    assert r.returncode == 1, r.stdout + r.stderr
    lines = [x for x in r.stdout.splitlines() if x.strip()]
    assert any("missed    lama -> a" in x for x in lines) and "1 published, 1 missed" in lines[-2]
    assert "1 publication needs attention (1 missed): spi post status --problems" in lines[-1]
    assert all(STAMP.match(x) for x in lines), lines
    # Same on a terminal: no time in front of the lines that had none.
    kit.write_post(tmp_path, "q", kit.now() - timedelta(minutes=1), ["a"])
    kit.write_post(tmp_path, "lama2", kit.now() - timedelta(hours=9), ["a"])
    code, out = in_pty([kit.SPI, "--config", str(tmp_path / "config.yaml"), "post", "publish-due"], tmp_path)
    assert code == 1, out
    lines = [x for x in out.splitlines() if x.strip()]
    assert lines[-2].startswith("1 published, 1 missed"), out
    assert [x for x in lines if "lama2" in x][0].startswith("missed    lama2 -> a"), out


def _cron_line(text: str) -> str:
    return [x.strip() for x in text.splitlines() if x.strip().startswith("* * * * * ")][0]


def test_the_cron_example_of_the_help_and_the_readme_agree_and_mail_on_failure(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("```cron", 1)[1].split("```", 1)[0]
    line = _cron_line(block)
    assert line == _cron_line(invoke("post", "publish-due", "--help").output)
    assert line == _cron_line((ROOT / "docs" / "deploy.md").read_text(encoding="utf-8"))
    assert "MAILTO=" in block and "MAILTO=" in invoke("post", "publish-due", "--help").output
    # Run it as cron would (sh -c), with the example's paths pointing here.
    _due_and_missed(tmp_path)
    log, envfile = tmp_path / "spi.log", tmp_path / "spi.env"
    envfile.write_text("SPI_UNUSED_TOKEN=rahasia\n")
    cmd = (line.removeprefix("* * * * * ").replace("/srv/kampanye/.venv/bin/spi", kit.SPI)
           .replace("/srv/kampanye", str(tmp_path)).replace("/etc/spi-kampanye.env", str(envfile))
           .replace("/var/log/spi.log", str(log)))
    env = kit.env()
    first = subprocess.run(["sh", "-c", cmd], env=env, capture_output=True, text=True, timeout=60)
    # A run that needs a person prints (so cron mails) one line; the log has the details, timed.
    assert first.stdout == f"spi post publish-due: exit 1 - see {log}\n" and first.stderr == ""
    assert "missed    lama -> a" in log.read_text() and all(STAMP.match(x) for x in log.read_text().splitlines())
    # The miss stays loud on every run until someone resolves it (here: the post is cancelled).
    second = subprocess.run(["sh", "-c", cmd], env=env, capture_output=True, text=True, timeout=60)
    assert second.stdout == f"spi post publish-due: exit 1 - see {log}\n"
    kit.write_post(tmp_path, "lama", kit.now() - timedelta(hours=8), ["a"], status="cancelled")
    third = subprocess.run(["sh", "-c", cmd], env=env, capture_output=True, text=True, timeout=60)
    assert (third.returncode, third.stdout, third.stderr) == (0, "", "")     # nothing to mail
    assert "rahasia" not in log.read_text()


# ----- spi post publish ID on a terminal ----------------------------------------------------

def test_publish_asks_on_a_terminal_before_publishing_a_future_post_early(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["a"]))
    kit.write_post(tmp_path, "nanti", kit.now() + timedelta(days=2), ["a"])
    argv = [kit.SPI, "--config", str(tmp_path / "config.yaml"), "post", "publish", "nanti"]
    code, out = in_pty(argv, tmp_path, answer="n\n")
    assert code == 1 and "'nanti' is scheduled for" in out and "publish it now instead?" in out, out
    assert "Aborted" in out and kit.outbox(tmp_path, "a") == []
    code, out = in_pty(argv, tmp_path, answer="y\n")
    assert code == 0 and "published nanti -> a" in out, out
    assert [x["post"] for x in kit.outbox(tmp_path, "a")] == ["nanti"]
    # Not on a terminal (a script): no question, as before.
    kit.write_post(tmp_path, "besok", kit.now() + timedelta(days=1), ["a"])
    r = kit.spi(tmp_path, "post", "publish", "besok")
    assert r.returncode == 0 and "[y/N]" not in r.stdout
    # --yes on a terminal: no question either.
    kit.write_post(tmp_path, "lusa", kit.now() + timedelta(days=3), ["a"])
    code, out = in_pty(argv[:-1] + ["lusa", "--yes"], tmp_path)
    assert code == 0 and "[y/N]" not in out


@pytest.mark.usefixtures("flaky_platform")
def test_publish_exits_1_when_nothing_was_published(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["f"], platform="flaky"))
    kit.control(tmp_path, "f", script={"g": ["quota"]}, retry_after_s=600)
    kit.write_post(tmp_path, "g", kit.now() - timedelta(minutes=1), ["f"])
    r = invoke("--config", str(tmp_path / "config.yaml"), "post", "publish", "g")
    assert r.exit_code == 1, r.output
    assert "not published yet" in r.output and "post 'g': nothing was published" in r.output


# ----- validate and list know the ledger -------------------------------------------------------

def test_validate_and_list_know_what_was_published(camp):
    root = camp.root
    past = kit.now() - timedelta(hours=1)
    kit.write_post(root, "semua", past, ["arsip", "kominfo-fb"])
    kit.write_post(root, "sebagian", past - timedelta(minutes=1), ["arsip", "kominfo-fb"])
    kit.write_post(root, "nanti", kit.now() + timedelta(days=1), ["arsip"])
    cfg = str(camp.config)

    def warnings():
        r = invoke("post", "validate", "--config", cfg, "--format", "json")
        assert r.exit_code == 0, r.output
        return {p["post"]: p["message"] for p in json.loads(r.output)["problems"] if p["severity"] == "warning"}

    # No ledger yet: both warned about, and reading does not create the ledger.
    assert set(warnings()) == {"semua", "sebagian"}
    assert invoke("post", "list", "--config", cfg, "--status", "published").output.strip() == "No posts match."
    assert not (root / ".spi").exists()

    assert invoke("post", "publish", "semua", "--config", cfg).exit_code == 0
    assert invoke("post", "publish", "sebagian", "--account", "arsip", "--config", cfg).exit_code == 0
    w = warnings()
    assert "semua" not in w
    assert w["sebagian"].endswith("is in the past (published to arsip; not to kominfo-fb)")

    rows = {r["id"]: r for r in json.loads(invoke("post", "list", "--config", cfg, "--format", "json").output)}
    assert [p["account"] for p in rows["semua"]["published"]] == ["arsip", "kominfo-fb"]
    assert rows["semua"]["published"][0]["url"].startswith("file://")
    assert [p["account"] for p in rows["sebagian"]["published"]] == ["arsip"] and rows["nanti"]["published"] == []
    published = invoke("post", "list", "--config", cfg, "--status", "published", "--format", "json").output
    assert [r["id"] for r in json.loads(published)] == ["sebagian", "semua"]
    table = invoke("post", "list", "--config", cfg, env={"COLUMNS": "100"}).output
    assert "published 1/2" in table and "✓arsip, kominfo-fb" in table and "✓arsip, ✓kominfo-fb" in table
    assert invoke("post", "list", "--config", cfg, "--status", "approved", "--format", "json").exit_code == 0


def test_an_unreadable_ledger_is_a_warning_for_validate_and_list(camp):
    kit.write_post(camp.root, "p", kit.now() - timedelta(hours=1), ["arsip"])
    (camp.root / ".spi").mkdir()
    (camp.root / ".spi" / "state.db").write_bytes(b"this is not a database" * 100)
    r = invoke("post", "validate", "--config", str(camp.config))
    assert r.exit_code == 0 and "published posts are not recognised" in r.output and "in the past" in r.output
    r = CliRunner().invoke(cli, ["post", "list", "--config", str(camp.config)])
    assert r.exit_code == 0 and "published posts are not marked" in r.stderr
