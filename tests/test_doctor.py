"""``spi doctor`` through real ``spi`` processes: real campaign folders and
ledgers, a real local HTTP server standing in for a platform API (its
``Date`` header is what the clock check reads), and a ``crontab`` program
on PATH (a shell script, so the test never reads or changes the machine's
real crontab)."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from datetime import timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from _support import load_plugin

kit = load_plugin("spi_testkit")


def spi(root, *args, env=None, path_dir=None):
    e = kit.env()
    if path_dir is not None:
        e["PATH"] = f"{path_dir}:{e['PATH']}"
    e.update(env or {})
    return subprocess.run([kit.SPI, "--config", str(root / "config.yaml"), "doctor", *args], cwd=root, env=e,
                          capture_output=True, text=True, timeout=120)


def doctor_json(root, *args, **kw):
    r = spi(root, "--format", "json", *args, **kw)
    assert not r.stderr.strip() or "Traceback" not in r.stderr, r.stderr
    rep = json.loads(r.stdout)
    return r.returncode, rep, {(f["section"], f["check"]): f for f in rep["findings"]}


def fake_crontab(tmp_path, lines: str | None):
    """A ``crontab`` program: ``crontab -l`` prints ``lines`` (None: 'no crontab for root', exit 1)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "crontab"
    if lines is None:
        script.write_text("#!/bin/sh\necho 'no crontab for root' >&2\nexit 1\n")
    else:
        (bin_dir / "crontab.txt").write_text(lines)
        script.write_text(f"#!/bin/sh\n[ \"$1\" = -l ] && exec cat {bin_dir / 'crontab.txt'}\nexit 2\n")
    script.chmod(0o755)
    return bin_dir


def campaign(root, accounts=None, posts=("arsip",)):
    kit.write_config(root, accounts or {"arsip": {"platform": "file", "path": "outbox/arsip.jsonl"}})
    kit.write_post(root, "tolak-gratifikasi", kit.now() + timedelta(hours=2), list(posts),
                   text="Tolak gratifikasi. Laporkan ke KPK.")


@pytest.fixture
def date_server():
    """A local 'platform API' whose Date header is ``skew`` seconds off."""
    state = {"skew": 0.0, "heads": 0}

    class Handler(BaseHTTPRequestHandler):
        def date_time_string(self, timestamp=None):
            return formatdate(time.time() + state["skew"], usegmt=True)

        def do_HEAD(self):
            state["heads"] += 1
            self.send_response(404)          # like api.x.com at /: any status has a Date
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def test_ready_campaign_run_by_cron_exits_0(tmp_path):
    campaign(tmp_path)
    cron = fake_crontab(tmp_path, "MAILTO=humas@example.go.id\n"
                                  "# * * * * * cd /elsewhere && spi post publish-due\n"
                                  f"* * * * * cd {tmp_path} && .venv/bin/spi post publish-due >> spi.log 2>&1\n")
    rc, rep, f = doctor_json(tmp_path, path_dir=cron)
    assert rc == 0 and rep["ok"] and rep["problems"] == 0, rep
    assert f[("config", "config.yaml")]["status"] == "ok"
    assert f[("posts", "post files")]["status"] == "ok" and "1 post(s) (1 approved)" in f[("posts", "post files")]["detail"]
    assert f[("accounts", "arsip")]["status"] == "ok"
    assert f[("ledger", "schema")]["status"] == "ok" and f[("ledger", "writable")]["status"] == "ok"
    assert f[("ledger", "problems")]["status"] == "ok"
    assert f[("clock", "clock offset")]["status"] == "skipped"
    assert f[("runner", "crontab")]["status"] == "ok" and str(tmp_path) in f[("runner", "crontab")]["detail"]
    assert ("runner", "publishing") not in f


def test_nothing_running_publish_due_is_a_warning(tmp_path):
    campaign(tmp_path)
    rc, rep, f = doctor_json(tmp_path, path_dir=fake_crontab(tmp_path, None))
    assert rc == 0 and rep["warnings"] >= 1
    assert f[("runner", "publishing")] == {"section": "runner", "check": "publishing", "status": "warning",
                                           "detail": "nothing runs publish-due or schedule on this machine"}
    # a line for another campaign folder is not this campaign's
    cron = fake_crontab(tmp_path, "* * * * * cd /srv/kampanye-lain && spi post publish-due\n")
    rc, rep, f = doctor_json(tmp_path, path_dir=cron)
    assert f[("runner", "crontab")]["status"] == "warning" and ("runner", "publishing") in f


def test_systemd_unit_running_schedule_for_this_campaign(tmp_path):
    from spi_campaign.doctor import run_doctor

    campaign(tmp_path)
    units = tmp_path / "systemd"
    units.mkdir()
    (units / "spi-kampanye.service").write_text(
        f"[Service]\nWorkingDirectory={tmp_path}\nExecStart={tmp_path}/.venv/bin/spi post schedule\n")
    rep = run_doctor(tmp_path / "config.yaml", systemd_dir=units)
    f = {(x.section, x.check): x for x in rep.findings}
    assert f[("runner", "systemd")].status == "ok" and "spi-kampanye.service" in f[("runner", "systemd")].detail
    assert ("runner", "publishing") not in f


def test_problems_exit_1_and_name_what_to_fix(tmp_path):
    accounts = {"kominfo": {"platform": "flakykey", "path": "outbox/kominfo.jsonl"},
                "cadangan": {"platform": "flakykey", "path": "outbox/cadangan.jsonl"},
                "arsip": {"platform": "file", "path": "/proc/spi-doctor/arsip.jsonl"}}
    campaign(tmp_path, accounts, posts=("kominfo", "arsip"))
    rc, rep, f = doctor_json(tmp_path)
    assert rc == 1 and not rep["ok"]
    assert f[("accounts", "kominfo")]["status"] == "problem"
    assert f[("accounts", "kominfo")]["detail"] == "credentials not set: SPI_KOMINFO_TOKEN"
    assert f[("accounts", "cadangan")]["status"] == "warning"          # no approved post uses it
    assert f[("accounts", "arsip")]["status"] == "problem"
    assert f[("accounts", "arsip")]["detail"].startswith("cannot create /proc/spi-doctor/arsip.jsonl")
    # the table says the same, and no traceback
    r = spi(tmp_path, env={"COLUMNS": "200"})
    assert r.returncode == 1 and "PROBLEM" in r.stdout and "SPI_KOMINFO_TOKEN" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


def test_held_publications_and_a_foreign_ledger_are_problems(tmp_path):
    accounts = {"kominfo": {"platform": "flakykey", "path": "outbox/kominfo.jsonl"}}
    kit.write_config(tmp_path, accounts)
    kit.write_post(tmp_path, "tolak-gratifikasi", kit.now() - timedelta(minutes=5), ["kominfo"])
    assert kit.spi(tmp_path, "post", "publish-due").returncode == 1        # held: SPI_KOMINFO_TOKEN not set
    rc, rep, f = doctor_json(tmp_path, env={"SPI_KOMINFO_TOKEN": "tok-SECRET-doctor-123"})
    assert f[("accounts", "kominfo")]["status"] == "ok"
    assert f[("ledger", "problems")]["status"] == "problem"
    assert f[("ledger", "problems")]["detail"] == \
        "1 publication needs attention (1 held): spi post status --problems"
    assert rc == 1
    # another campaign whose config points at this campaign's ledger
    other = tmp_path / "lain"
    other.mkdir()
    (other / "config.yaml").write_text(f"timezone: Asia/Makassar\nstate: {tmp_path / '.spi' / 'state.db'}\n"
                                       "accounts:\n  arsip-lain:\n    platform: file\n    path: arsip.jsonl\n")
    rc, rep, f = doctor_json(other)
    assert rc == 1 and f[("ledger", "campaign")]["status"] == "problem"
    assert "belongs to campaign" in f[("ledger", "campaign")]["detail"]
    assert "tok-SECRET" not in json.dumps(rep)


def test_broken_config_is_one_problem_not_a_traceback(tmp_path):
    (tmp_path / "config.yaml").write_text("timezone: Asia/Makassar\naccounts: [\n")
    rc, rep, f = doctor_json(tmp_path)
    assert rc == 1 and f[("config", "config.yaml")]["status"] == "problem"
    assert "config.yaml" in f[("config", "config.yaml")]["detail"]


@pytest.mark.parametrize("skew,status", [(0, "ok"), (-20, "ok"), (120, "problem"), (-90, "problem")])
def test_online_clock_offset_against_the_platform_date_header(tmp_path, date_server, skew, status):
    date_server["skew"] = skew
    campaign(tmp_path, {"kominfo": {"platform": "flaky", "path": "outbox/kominfo.jsonl", "api": date_server["url"]},
                        "arsip": {"platform": "file", "path": "outbox/arsip.jsonl"}}, posts=("kominfo",))
    rc, rep, f = doctor_json(tmp_path, "--online")
    (clock,) = [x for x in rep["findings"] if x["section"] == "clock"]
    assert clock["check"] == f"{date_server['url']} (kominfo)" and clock["status"] == status, clock
    assert date_server["heads"] == 1
    assert f[("accounts", "kominfo")]["status"] == "ok" and "posts as flaky" in f[("accounts", "kominfo")]["detail"]
    if status == "problem":
        assert rc == 1 and "more than 30 s" in clock["detail"]
        assert ("ahead of" if skew < 0 else "behind") in clock["detail"]


def test_online_unreachable_api_is_a_warning(tmp_path):
    import socket

    with socket.socket() as s:                  # a port nothing listens on (bound, then released)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    campaign(tmp_path, {"kominfo": {"platform": "flaky", "path": "outbox/kominfo.jsonl",
                                    "api": f"http://127.0.0.1:{port}"}}, posts=("kominfo",))
    rc, rep, f = doctor_json(tmp_path, "--online")
    (clock,) = [x for x in rep["findings"] if x["section"] == "clock"]
    assert clock["status"] == "warning" and "could not ask for the time" in clock["detail"]


def test_doctor_help_has_an_example():
    from click.testing import CliRunner

    from spi_campaign.cli import cli

    r = CliRunner().invoke(cli, ["doctor", "--help"])
    assert r.exit_code == 0 and "spi doctor --online" in r.output
