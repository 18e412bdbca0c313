"""Several machines, one PostgreSQL ledger: real ``spi`` processes standing
for machines (``--host-id``) against a real server (tests/_pg.py)."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from collections import Counter
from datetime import timedelta

from _support import load_plugin

kit = load_plugin("spi_testkit")


def _campaign(root, pg_url, accounts, name=None):
    name = name or f"kampanye-{uuid.uuid4().hex[:8]}"
    kit.write_config(root, kit.file_accounts(accounts), ledger_since=None)
    cfg = root / "config.yaml"
    cfg.write_text(f"name: {name}\n" + cfg.read_text().replace("state: .spi/state.db", f"state: {pg_url}"))
    from spi_campaign.ledger.postgres import PostgresLedger

    led = PostgresLedger.open(pg_url, name)        # set up before the posts fell due (like spi init)
    led.set_meta("created_at", "2026-01-01T00:00:00.000000Z")
    led.close()
    return name


def _rows(pg_url, name):
    from spi_campaign.ledger.postgres import PostgresLedger

    led = PostgresLedger.open(pg_url, name)
    try:
        return led.rows()
    finally:
        led.close()


def test_three_daemons_and_three_cron_runs_on_three_machines_publish_each_once(tmp_path, pg_url):
    accounts = [f"acc{i}" for i in range(5)]
    name = _campaign(tmp_path, pg_url, accounts)
    base = kit.now().replace(microsecond=0) - timedelta(minutes=20)
    for i in range(100):
        kit.write_post(tmp_path, f"post-{i:03d}", base + timedelta(seconds=i), accounts)
    daemons = [kit.spawn(tmp_path, "post", "schedule", "--no-watch", "--host-id", f"mesin-{i}", log=f"d{i}.log")
               for i in range(3)]
    time.sleep(0.3)
    cmd = [kit.SPI, "--config", str(tmp_path / "config.yaml"), "post", "publish-due"]
    crons = [subprocess.Popen(cmd + ["--host-id", f"cron-{i}"], cwd=tmp_path, env=kit.env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for i in range(3)]
    # SIGKILL one daemon in the middle of the burst
    assert kit.wait_for(lambda: sum(len(kit.outbox(tmp_path, a)) for a in accounts) >= 100, timeout=180)
    daemons[0].send_signal(signal.SIGKILL)
    daemons[0].wait()
    for p in crons:
        p.wait(timeout=180)
        p.stderr.close()
    # the survivors carry on (on a loaded machine they may not be done yet: the
    # last run below finishes whatever is left, and must still double nothing)
    kit.wait_for(lambda: sum(len(kit.outbox(tmp_path, a)) for a in accounts) >= 499, timeout=120)
    time.sleep(1)
    for d in daemons[1:]:
        assert kit.stop(d) == 0
    # The killed machine's claim in flight (if any) is taken over only after
    # its lease: a later cron run on another machine, 15 minutes on.
    r = subprocess.run(["faketime", "-f", "+15m", *cmd, "--host-id", "mesin-baru"], cwd=tmp_path, env=kit.env(),
                       capture_output=True, text=True, timeout=120)
    assert "Traceback" not in r.stderr, r.stderr
    lines = [x for a in accounts for x in kit.outbox(tmp_path, a)]
    counts = Counter(kit.keys(lines))
    assert len(counts) == 500 and set(counts.values()) == {1}, "duplicates or gaps"
    rows = _rows(pg_url, name)
    assert len(rows) == 500 and {r.state for r in rows} == {"published"}
    hosts = Counter(r.claimer_host for r in rows)
    assert len(hosts) >= 2, hosts                     # the work really was shared


def test_state_copy_moves_a_sqlite_ledger_without_losing_a_row(tmp_path, pg_url):
    kit.write_config(tmp_path, kit.file_accounts(["a", "b"]))
    base = kit.now().replace(microsecond=0) - timedelta(minutes=10)
    for i in range(20):
        kit.write_post(tmp_path, f"p{i:02d}", base + timedelta(seconds=i), ["a", "b"])
    kit.write_post(tmp_path, "nanti", kit.now() + timedelta(days=3), ["a"])
    assert kit.spi(tmp_path, "post", "publish-due").returncode == 0
    name = f"salin-{uuid.uuid4().hex[:6]}"
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"name: {name}\n" + cfg.read_text())
    r = kit.spi(tmp_path, "state", "copy", "--to", pg_url)
    assert r.returncode == 0, r.stderr
    assert "copied 41 publication(s)" in r.stdout and "40 published" in r.stdout and "1 pending" in r.stdout
    again = kit.spi(tmp_path, "state", "copy", "--to", pg_url)
    assert again.returncode == 1 and "already has publications" in again.stderr
    # switch the campaign over: nothing is published again
    cfg.write_text(cfg.read_text().replace("state: .spi/state.db", f"state: {pg_url}"))
    r = kit.spi(tmp_path, "post", "publish-due")
    assert r.returncode == 0 and "0 published" in r.stdout, r.stdout + r.stderr
    assert sum(len(kit.outbox(tmp_path, a)) for a in ("a", "b")) == 40
    status = kit.spi(tmp_path, "post", "status", "--format", "json", "--all")
    assert status.returncode == 0 and status.stdout.count('"published"') == 40


def test_an_unreachable_database_fails_loudly_and_publishes_nothing(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["a"]), ledger_since=None)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(cfg.read_text().replace("state: .spi/state.db",
                                           f"state: postgresql://spi@/spi?host={tmp_path}/nowhere"))
    kit.write_post(tmp_path, "p", kit.now() - timedelta(minutes=1), ["a"])
    r = kit.spi(tmp_path, "post", "publish-due")
    assert r.returncode == 1 and "cannot connect to the ledger" in r.stderr and "Traceback" not in r.stderr
    assert kit.outbox(tmp_path, "a") == []
