"""One contract suite over every ledger backend: SQLite (a real file) and
PostgreSQL (a real server started for the session, tests/_pg.py).

Each test gets a fresh ledger: a new SQLite file, or a new campaign name in
the shared PostgreSQL database (campaigns are namespaced, so that isolation
is itself part of the contract)."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from spi_campaign.ledger import Change, DayCap, Owner, Publication, SqliteLedger

UTC = timezone.utc
NOW = datetime(2026, 12, 9, 3, 0, tzinfo=UTC)
ME = Owner.me()


class Backend:
    def __init__(self, kind: str, target: str, campaign: str):
        self.kind, self.target, self.campaign = kind, target, campaign

    def open(self):
        if self.kind == "sqlite":
            return SqliteLedger.open(self.target)
        from spi_campaign.ledger.postgres import PostgresLedger

        return PostgresLedger.open(self.target, self.campaign)

    def opener_source(self) -> str:
        """Python that opens this ledger as ``led`` in another process."""
        if self.kind == "sqlite":
            return f"from spi_campaign.ledger import SqliteLedger\nled = SqliteLedger.open({self.target!r})\n"
        return ("from spi_campaign.ledger.postgres import PostgresLedger\n"
                f"led = PostgresLedger.open({self.target!r}, {self.campaign!r})\n")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path):
    campaign = f"c-{uuid.uuid4().hex[:10]}"
    if request.param == "sqlite":
        return Backend("sqlite", str(tmp_path / "state.db"), campaign)
    return Backend("postgresql", request.getfixturevalue("pg_url"), campaign)


@pytest.fixture
def led(backend):
    ledger = backend.open()
    yield ledger
    ledger.close()


def pubs(n, account="a", start=NOW - timedelta(minutes=30)):
    return [Publication(f"p{i:03d}", account, start + timedelta(seconds=i)) for i in range(n)]


def claim(led, account="a", now=NOW, **kw):
    kw.setdefault("miss_cutoff", now - timedelta(hours=6))
    return led.claim_next(account, ME, now, lease_until=now + timedelta(minutes=2), **kw)


def test_insert_is_idempotent(led):
    assert len(led.insert(pubs(3), NOW)) == 3
    assert led.insert(pubs(3), NOW) == []
    assert len(led.rows()) == 3 and led.counts() == {"pending": 3}


def test_claims_in_due_order_and_never_twice(led):
    led.insert(pubs(3) + [Publication("z", "a", NOW + timedelta(minutes=1))], NOW)
    got = [(c.row.post if (c := claim(led)).row else None) for _ in range(4)]
    assert got == ["p000", "p001", "p002", None]
    rows = {r.post: r for r in led.rows()}
    assert {rows[p].state for p in ("p000", "p001", "p002")} == {"publishing"}
    assert rows["p000"].attempts == 1 and rows["p000"].claimer_pid == ME.pid
    assert ME.owns(rows["p000"].claim_token) and rows["p000"].claimer_start == ME.start
    assert led.next_due(NOW) == NOW + timedelta(minutes=1) and led.due_accounts(NOW) == set()


def test_claim_skips_held_and_old_never_attempted_rows(led):
    led.insert([Publication("held", "a", NOW - timedelta(minutes=1), hold="broken"),
                Publication("old", "a", NOW - timedelta(hours=7)),
                Publication("retry", "a", NOW - timedelta(hours=7), attempts=1, next_attempt=NOW)], NOW)
    assert claim(led).row.post == "retry"
    assert claim(led).row is None


def test_threads_and_processes_claim_each_row_once(backend, led):
    led.insert(pubs(200), NOW)
    script = backend.opener_source() + """
from datetime import datetime, timedelta, timezone
from spi_campaign.ledger import Owner
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
    outs = [p.communicate(timeout=120)[0].split() for p in procs]
    for t in threads:
        t.join()
    counts = Counter(mine + [x for o in outs for x in o])
    assert len(counts) == 200 and set(counts.values()) == {1}


def test_compare_and_set_and_finish_under_the_token(led):
    (key,) = led.insert([Publication("p", "a", NOW)], NOW)
    row = claim(led).row
    assert led.update([Change(key, ("publishing",), {"state": "published"}, expect_token="other")], NOW) == []
    assert led.update([Change(key, ("pending",), {"state": "skipped"})], NOW) == []
    assert not led.finish("someone-else", {"state": "published"}, NOW, "not mine")
    assert led.finish(row.claim_token, {"state": "published", "url": "u", "progress": {"part": 2}}, NOW, "ok")
    got = led.get(key)
    assert (got.state, got.url, got.progress) == ("published", "u", {"part": 2})
    # a scheduled claim writes no event (the row says who claimed it); its outcome does
    assert [e["state"] for e in led.events(key)] == ["pending", "published"]
    assert led.counts() == {"published": 1}


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


def test_lookups_the_planner_uses(led):
    a = Publication("a", "x", NOW, state="published", local_at="2026-12-09T11:00|Asia/Makassar")
    b = Publication("b", "x", NOW + timedelta(hours=1))
    c = Publication("c", "y", NOW - timedelta(days=1), state="failed")
    d = Publication("d", "y", NOW - timedelta(days=30), state="missed")
    e = Publication("e", "y", NOW - timedelta(minutes=5), hold="account: credentials: not set")
    led.insert([a, b, c, d, e], NOW)
    assert set(led.get_many([a.key, b.key, ("zz", "x", NOW)])) == {a.key, b.key}
    assert sorted(r.post for r in led.open_rows()) == ["b", "e"]
    assert [r.post for r in led.live_at("x", NOW)] == ["a"]
    assert led.live_of("a", "x").post == "a" and led.live_of("b", "x") is None
    # the same local time under another zone (a timezone edit), never the same zone
    assert led.live_of("a", "x", local_at="2026-12-09T11:00|Asia/Jakarta").post == "a"
    assert led.live_of("a", "x", local_at="2026-12-09T11:00|Asia/Makassar") is None
    assert [r.post for r in led.problems(NOW - timedelta(days=7), NOW)] == ["e", "c"]
    assert [r.post for r in led.iter_rows(limit=2)] == ["b", "a"]
    assert [r.post for r in led.iter_rows(since=NOW - timedelta(days=2), until=NOW)] == ["e", "c"]
    assert [r.post for r in led.iter_rows(states=("missed",))] == ["d"]


def test_renames_keep_history_and_never_overwrite(led):
    led.insert([Publication("lama", "x", NOW, state="published"), Publication("baru", "x", NOW + timedelta(1))],
               NOW)
    assert led.rename_post(("lama", "x", NOW), "kini", NOW)
    assert led.get(("kini", "x", NOW)).state == "published" and led.get(("lama", "x", NOW)) is None
    assert [e["detail"] for e in led.events(("kini", "x", NOW))][-1] == "post renamed from 'lama'"
    assert not led.rename_post(("kini", "x", NOW), "kini", NOW)            # target exists
    assert led.rename_account("x", "diskominfo-x", NOW) == 2
    assert {r.account for r in led.rows()} == {"diskominfo-x"}


def test_meta_binding_and_creation_time(backend, led):
    assert led.created_at is not None
    assert led.set_meta_default("k", "first") == "first" and led.set_meta_default("k", "second") == "first"
    led.set_meta("k", "third")
    assert led.meta("k") == "third"
    led.bind(backend.campaign)
    with pytest.raises(Exception, match="campaign"):
        led.bind("another-campaign")


def test_heartbeat_extends_only_live_claims(led):
    led.insert(pubs(1), NOW)
    row = claim(led).row
    led.heartbeat([row.claim_token, "gone"], NOW + timedelta(minutes=9))
    assert led.get(row.key).lease_until == NOW + timedelta(minutes=9)


def test_postgresql_campaigns_are_isolated(pg_url):
    from spi_campaign.ledger.postgres import PostgresLedger

    one = PostgresLedger.open(pg_url, f"kota-{uuid.uuid4().hex[:6]}")
    two = PostgresLedger.open(pg_url, f"kab-{uuid.uuid4().hex[:6]}")
    try:
        one.insert(pubs(3), NOW)
        two.insert(pubs(1), NOW)
        assert len(one.rows()) == 3 and len(two.rows()) == 1 and two.counts() == {"pending": 1}
        assert claim(two).row.post == "p000" and claim(two).row is None
        assert one.counts() == {"pending": 3}
    finally:
        one.close()
        two.close()


def test_queue_slots_are_assigned_once_and_freed(backend, led):
    slots = [NOW + timedelta(hours=h) for h in range(3)]
    got = led.queue_assign("bali", [("p1", None), ("p2", None)], slots, NOW)
    assert [got["p1"].slot, got["p2"].slot] == slots[:2]
    # another process with a stale view offers the same slots: it gets the next free one
    other = backend.open()
    try:
        got2 = other.queue_assign("bali", [("p3", None), ("p1", None)], slots, NOW)
        assert got2["p3"].slot == slots[2] and got2["p1"].slot == slots[0]     # p1 keeps its slot
    finally:
        other.close()
    assert [s.post for s in led.queue_slots()] == ["p1", "p2", "p3"]
    assert led.queue_free([got["p2"]]) == 1
    assert [s.post for s in led.queue_slots(since=slots[1])] == ["p3"]
    assert led.queue_assign("bali", [("p4", slots[1])], slots, NOW)["p4"].slot == slots[1]


def test_metrics_snapshots_latest_first(led):
    a = Publication("a", "x", NOW, state="published")
    b = Publication("b", "x", NOW - timedelta(days=1), state="published")
    led.insert([a, b], NOW)
    led.metrics_record(a.key, NOW + timedelta(hours=48), "48h", {"likes": (3, None), "reach": (None, "retired")})
    led.metrics_record(a.key, NOW + timedelta(days=7), "7d", {"likes": (9, None)})
    led.metrics_record(b.key, NOW, "manual", {"likes": (1, None)})
    assert led.metrics_snapshots(a.key) == {"48h", "7d"}
    at, values = led.metrics_latest(a.key)
    assert at == NOW + timedelta(days=7) and values == {"likes": (9, None)}
    assert [(k[0], v) for k, _, v in led.iter_latest_metrics()] == [("a", {"likes": (9, None)}),
                                                                     ("b", {"likes": (1, None)})]
    assert sorted(led.range_counts(NOW - timedelta(days=2), NOW + timedelta(1))) == [
        ("published", "a", "x", 1), ("published", "b", "x", 1)]
    assert [r.post for r, labels in led.metrics_due(NOW, NOW - timedelta(days=3))] == ["a", "b"]
