"""The SQLite ledger on real files: schema, WAL, snapshots, claimer rules. What every backend
must do is in test_ledger_contract.py."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from spi_campaign.errors import LedgerError
from spi_campaign.ledger import (SCHEMA_VERSION, Owner, Publication, SqliteLedger, claimer_dead,
                                 pid_alive, process_start, LEASE_GRACE)

UTC = timezone.utc
NOW = datetime(2026, 12, 9, 3, 0, tzinfo=UTC)
ME = Owner.me()


@pytest.fixture
def led(tmp_path):
    ledger = SqliteLedger.open(tmp_path / "state" / "state.db")
    yield ledger
    ledger.close()


def pubs(n, account="a", start=NOW - timedelta(minutes=30)):
    return [Publication(f"p{i:03d}", account, start + timedelta(seconds=i)) for i in range(n)]


def claim(led, account="a", now=NOW, **kw):
    kw.setdefault("miss_cutoff", now - timedelta(hours=6))
    return led.claim_next(account, ME, now, lease_until=now + timedelta(minutes=2), **kw)


def test_created_on_first_use_in_wal_mode(tmp_path, led):
    assert (tmp_path / "state" / "state.db").exists()
    con = sqlite3.connect(tmp_path / "state" / "state.db")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    cols = {r[1] for r in con.execute("PRAGMA table_info(publications)")}
    assert {"post", "account", "occurrence", "state", "attempts", "remote_id", "url", "error", "content_hash",
            "progress", "claimer_pid", "claimer_host", "lease_until", "next_attempt", "file"} <= cols
    con.close()
    assert led.meta("created_at") and led.meta("schema_version") == SCHEMA_VERSION














def test_snapshot_is_isolated(tmp_path, led):
    led.insert(pubs(1), NOW)
    snap = SqliteLedger.snapshot(tmp_path / "state" / "state.db")
    claim(snap)
    assert snap.rows()[0].state == "publishing" and led.rows()[0].state == "pending"
    assert SqliteLedger.snapshot(tmp_path / "none.db").rows() == []
    assert not (tmp_path / "none.db").exists()


def test_not_a_database_is_a_ledger_error(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(LedgerError):
        SqliteLedger.open(bad)


def test_claimer_dead_rules(led):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    import time
    time.sleep(0.3)                       # exited, not reaped: a zombie
    assert pid_alive(ME.pid) and not pid_alive(dead.pid) and not pid_alive(zombie.pid)
    zombie.wait()
    base = Publication("p", "a", NOW, state="publishing", claimer_host=ME.host, claim_token="t",
                       lease_until=NOW + timedelta(minutes=2))
    from dataclasses import replace
    assert claimer_dead(replace(base, claimer_pid=dead.pid), NOW)
    assert not claimer_dead(replace(base, claimer_pid=ME.pid), NOW, ["t"])
    assert claimer_dead(replace(base, claimer_pid=ME.pid), NOW, [])        # an earlier process with our pid
    other = replace(base, claimer_host="elsewhere", claimer_pid=1)
    # another host: judged by its lease, with a grace so a clock stepped on one side does not expire it
    assert not claimer_dead(other, NOW) and not claimer_dead(other, NOW + timedelta(minutes=3))
    assert claimer_dead(other, NOW + timedelta(minutes=2) + LEASE_GRACE + timedelta(seconds=1))
    # this host: a live process is never dead, whatever its lease (SIGSTOP, a paused VM, a stepped clock)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        row = replace(base, claimer_pid=live.pid, claimer_start=process_start(live.pid))
        assert not claimer_dead(row, NOW + timedelta(days=3))
        # the same pid with another start time is another process: the claimer is gone
        assert claimer_dead(replace(row, claimer_start="0:1"), NOW)
    finally:
        live.kill()
        live.wait()
    assert claimer_dead(row, NOW)
