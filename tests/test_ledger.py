"""The SQLite ledger on real files: schema, claims, compare-and-set, caps."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from spi_campaign.errors import LedgerError
from spi_campaign.ledger import (SCHEMA_VERSION, Change, DayCap, Owner, Publication, SqliteLedger, claimer_dead,
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


def test_insert_is_idempotent(led):
    assert len(led.insert(pubs(3), NOW)) == 3
    assert led.insert(pubs(3), NOW) == []
    assert len(led.rows()) == 3


def test_claims_in_due_order_and_never_twice(led):
    led.insert(pubs(3) + [Publication("z", "a", NOW + timedelta(minutes=1))], NOW)
    got = [(c.row.post if (c := claim(led)).row else None) for _ in range(4)]
    assert got == ["p000", "p001", "p002", None]
    assert claim(led).row is None                         # z is not due yet
    rows = {r.post: r for r in led.rows()}
    assert {rows[p].state for p in ("p000", "p001", "p002")} == {"publishing"}
    assert rows["p000"].attempts == 1 and rows["p000"].claimer_pid == ME.pid


def test_claim_skips_held_and_old_never_attempted_rows(led):
    led.insert([Publication("held", "a", NOW - timedelta(minutes=1), hold="broken"),
                Publication("old", "a", NOW - timedelta(hours=7)),
                Publication("retry", "a", NOW - timedelta(hours=7), attempts=1, next_attempt=NOW)], NOW)
    assert claim(led).row.post == "retry"
    assert claim(led).row is None


def test_threads_and_processes_claim_each_row_once(tmp_path, led):
    led.insert(pubs(200), NOW)
    script = f"""
import sys
from datetime import datetime, timedelta, timezone
from spi_campaign.ledger import SqliteLedger, Owner
led = SqliteLedger.open({str(tmp_path / 'state' / 'state.db')!r})
now = datetime(2026, 12, 9, 3, 0, tzinfo=timezone.utc)
while True:
    c = led.claim_next("a", Owner.me(), now, lease_until=now + timedelta(minutes=2), miss_cutoff=None)
    if c.row is None:
        break
    print(c.row.post, flush=True)
"""
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(4)]
    mine: list[str] = []

    def worker():
        while (c := claim(led)).row is not None:
            mine.append(c.row.post)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    outs = [p.communicate(timeout=60)[0].split() for p in procs]
    for t in threads:
        t.join()
    counts = Counter(mine + [x for o in outs for x in o])
    assert len(counts) == 200 and set(counts.values()) == {1}


def test_compare_and_set(led):
    (key,) = led.insert([Publication("p", "a", NOW)], NOW)
    row = claim(led).row
    assert led.update([Change(key, ("publishing",), {"state": "published"}, expect_token="other")], NOW) == []
    assert led.update([Change(key, ("pending",), {"state": "skipped"})], NOW) == []
    assert len(led.update([Change(key, ("publishing",), {"state": "published", "url": "u"},
                                  expect_token=row.claim_token)], NOW)) == 1
    assert led.get(key).state == "published" and led.get(key).url == "u"
    assert [e["state"] for e in led.events(key)] == ["pending", "publishing", "published"]


def test_day_cap_defers_all_due_rows(led):
    led.insert(pubs(4), NOW)
    cap = DayCap(2, NOW - timedelta(hours=11), NOW + timedelta(hours=13))
    for _ in range(2):
        r = claim(led, cap=cap).row
        led.update([Change(r.key, ("publishing",), {"state": "published", "published_at": NOW})], NOW)
    c = claim(led, cap=cap)
    assert c.row is None and len(c.deferred) == 2
    assert {r.next_attempt for r in led.rows(states=("pending",))} == {cap.end}
    assert led.next_due() == cap.end


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
