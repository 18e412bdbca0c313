"""The engine in-process, on real campaign folders and real SQLite ledgers,
with ``now`` injected (no clock games, no sleeps)."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from _support import load_plugin

kit = load_plugin("spi_testkit")
utc = kit.utc

from spi_campaign.config import load_config  # noqa: E402
from spi_campaign.engine import Engine, backoff  # noqa: E402
from spi_campaign.ledger import Owner, Publication, SqliteLedger, ts  # noqa: E402
from spi_campaign.loader import load_campaign  # noqa: E402


pytestmark = pytest.mark.usefixtures("flaky_platform")


def run(root: Path, now, **kw):
    """One publish-due pass at ``now``; returns (report, {key: row})."""
    cfg = load_config(root / "config.yaml")
    led = SqliteLedger.open(cfg.state)
    eng = Engine(cfg, led, now=now, **kw)
    try:
        rep = eng.publish_due(load_campaign(cfg))
        rows = {(r.post, r.account, r.occurrence): r for r in led.rows()}
    finally:
        eng.close()
        led.close()
    return rep, rows


def states(rows) -> dict:
    return {k: r.state for k, r in rows.items()}


NOW = utc(2026, 12, 9, 3, 0)          # 11:00 WITA


def test_catch_up_window_publishes_recent_and_misses_old(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["a"]), catch_up="6h")
    kit.write_post(tmp_path, "recent", NOW - timedelta(hours=5, minutes=59), ["a"])
    kit.write_post(tmp_path, "old", NOW - timedelta(hours=6, minutes=1), ["a"])
    kit.write_post(tmp_path, "future", NOW + timedelta(minutes=1), ["a"])
    rep, rows = run(tmp_path, NOW)
    assert states(rows) == {("recent", "a", NOW - timedelta(hours=5, minutes=59)): "published",
                            ("old", "a", NOW - timedelta(hours=6, minutes=1)): "missed",
                            ("future", "a", NOW + timedelta(minutes=1)): "pending"}
    assert [m.post for m in rep.sync.missed] == ["old"]
    assert rep.exit_code == 1                       # a newly missed post must reach somebody
    assert [r["post"] for r in kit.outbox(tmp_path, "a")] == ["recent"]
    rep2, _ = run(tmp_path, NOW)
    # nothing new, but the miss stays loud (exit 1) inside the alert window until someone resolves it
    assert rep2.outcomes == [] and rep2.sync.missed == [] and [p.post for p in rep2.problems] == ["old"]
    assert rep2.exit_code == 1
    # the next run at the future post's time publishes it, once
    run(tmp_path, NOW + timedelta(minutes=1))
    run(tmp_path, NOW + timedelta(minutes=2))
    assert [r["post"] for r in kit.outbox(tmp_path, "a")] == ["recent", "future"]


def test_catch_up_override(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["a"]), catch_up="6h")
    kit.write_post(tmp_path, "old", NOW - timedelta(hours=8), ["a"])
    _, rows = run(tmp_path, NOW, catch_up=timedelta(hours=9))
    assert list(states(rows).values()) == ["published"]


def test_timezones_wita_and_explicit_offsets(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["a"]))
    kit.write_post(tmp_path, "wita", "2026-12-09 09:00", ["a"])               # 01:00Z
    kit.write_post(tmp_path, "wib", "2026-12-09T09:00:00+07:00", ["a"])       # 02:00Z
    kit.write_post(tmp_path, "zulu", "2026-12-09T00:30:00Z", ["a"])           # 00:30Z
    _, rows = run(tmp_path, utc(2026, 12, 9, 1, 0, 30))
    assert states(rows) == {("wita", "a", utc(2026, 12, 9, 1, 0)): "published",
                            ("wib", "a", utc(2026, 12, 9, 2, 0)): "pending",
                            ("zulu", "a", utc(2026, 12, 9, 0, 30)): "published"}
    out = {r["post"]: r["occurrence"] for r in kit.outbox(tmp_path, "a")}
    assert out == {"zulu": "2026-12-09T08:30:00+08:00", "wita": "2026-12-09T09:00:00+08:00"}
    _, rows = run(tmp_path, utc(2026, 12, 9, 1, 59, 59))
    assert rows[("wib", "a", utc(2026, 12, 9, 2, 0))].state == "pending"
    _, rows = run(tmp_path, utc(2026, 12, 9, 2, 0))
    assert rows[("wib", "a", utc(2026, 12, 9, 2, 0))].state == "published"
    assert kit.outbox(tmp_path, "a")[-1]["occurrence"] == "2026-12-09T10:00:00+08:00"


def test_recurring_post_one_row_per_occurrence(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["a", "b"]))
    # Fridays 09:00 WITA from 11 Dec 2026 to 1 Jan 2027 (crontab weekday semantics)
    kit.write_post(tmp_path, "jumat", "2026-12-11 09:00", ["a", "b"], repeat="0 9 * * FRI", until="2027-01-01")
    fri = [utc(2026, 12, d, 1) for d in (11, 18, 25)] + [utc(2027, 1, 1, 1)]
    _, rows = run(tmp_path, utc(2026, 12, 10, 12))
    assert states(rows) == {("jumat", "a", fri[0]): "pending", ("jumat", "b", fri[0]): "pending"}
    _, rows = run(tmp_path, fri[0] + timedelta(seconds=5))
    assert rows[("jumat", "a", fri[0])].state == "published"
    assert rows[("jumat", "a", fri[1])].state == "pending"           # the next occurrence is known
    _, rows = run(tmp_path, fri[1] + timedelta(minutes=1))
    assert rows[("jumat", "b", fri[1])].state == "published"
    # machine off on the 25th; back on Saturday 26th: beyond the catch-up window
    rep, rows = run(tmp_path, utc(2026, 12, 26, 3))
    assert rows[("jumat", "a", fri[2])].state == "missed"
    assert {m.account for m in rep.sync.missed} == {"a", "b"}
    _, rows = run(tmp_path, fri[3])
    assert rows[("jumat", "a", fri[3])].state == "published"
    _, rows = run(tmp_path, utc(2027, 1, 20))
    assert max(k[2] for k in rows) == fri[3]                          # until is respected
    assert [r["occurrence"] for r in kit.outbox(tmp_path, "a")] == [
        "2026-12-11T09:00:00+08:00", "2026-12-18T09:00:00+08:00", "2027-01-01T09:00:00+08:00"]
    # re-syncing is idempotent: one row per (post, account, occurrence)
    assert len(rows) == 8


def test_recurring_catch_up_publishes_once(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["a"]), catch_up="1h")
    kit.write_post(tmp_path, "often", "2026-12-01 00:00", ["a"], repeat="*/10 * * * *")
    run(tmp_path, utc(2026, 12, 9, 0, 0, 1))
    rep, rows = run(tmp_path, utc(2026, 12, 9, 0, 45))    # 4 occurrences due since
    assert [r["occurrence"] for r in kit.outbox(tmp_path, "a")] == [
        "2026-12-09T08:00:00+08:00", "2026-12-09T08:40:00+08:00"]
    assert sorted(m.occurrence.minute for m in rep.sync.missed) == [10, 20, 30]


def test_max_per_day_defers_to_next_day_never_drops(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["a"], max_per_day=2) | kit.file_accounts(["b"]))
    for i in range(4):
        kit.write_post(tmp_path, f"p{i}", NOW - timedelta(minutes=10 - i), ["a", "b"])
    rep, rows = run(tmp_path, NOW)
    a = sorted((k for k in rows if k[1] == "a"), key=lambda k: k[2])
    assert [rows[k].state for k in a] == ["published", "published", "pending", "pending"]
    midnight_wita = utc(2026, 12, 9, 16)
    assert [rows[k].next_attempt for k in a[2:]] == [midnight_wita, midnight_wita]
    assert [rows[k].attempts for k in a[2:]] == [0, 0]
    assert all(rows[k].state == "published" for k in rows if k[1] == "b")   # b is not held back
    assert rep.count("deferred") == 2 and rep.exit_code == 0
    _, rows = run(tmp_path, midnight_wita - timedelta(seconds=1))
    assert [rows[k].state for k in a] == ["published", "published", "pending", "pending"]
    _, rows = run(tmp_path, midnight_wita + timedelta(seconds=1))
    assert [rows[k].state for k in a] == ["published"] * 4
    assert len(kit.outbox(tmp_path, "a")) == 4


def test_edits_before_due_time(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["a", "b"]))
    t = NOW + timedelta(hours=1)
    kit.write_post(tmp_path, "p", t, ["a", "b"], text="versi satu")
    _, rows = run(tmp_path, NOW)
    h1 = rows[("p", "a", t)].content_hash
    kit.write_post(tmp_path, "p", t, ["a", "b"], text="versi dua")
    _, rows = run(tmp_path, NOW)
    assert rows[("p", "a", t)].content_hash != h1 and rows[("p", "a", t)].state == "pending"
    # time moved: the old occurrence is skipped, the new one pending
    t2 = t + timedelta(hours=1)
    kit.write_post(tmp_path, "p", t2, ["a"], text="versi dua")
    rep, rows = run(tmp_path, NOW)
    assert rows[("p", "a", t)].state == "skipped" and rows[("p", "a", t2)].state == "pending"
    assert rows[("p", "b", t)].state == "skipped"
    assert {r.account for r, _ in rep.sync.skipped} == {"a", "b"}
    # cancelled, then approved again before its time: published after all
    kit.write_post(tmp_path, "p", t2, ["a"], status="cancelled")
    _, rows = run(tmp_path, NOW)
    assert rows[("p", "a", t2)].state == "skipped"
    kit.write_post(tmp_path, "p", t2, ["a"], text="versi tiga")
    rep, rows = run(tmp_path, NOW)
    assert rows[("p", "a", t2)].state == "pending" and len(rep.sync.revived) == 1
    # draft, then deleted
    kit.write_post(tmp_path, "q", t, ["a"], status="draft")
    kit.write_post(tmp_path, "r", t, ["a"])
    run(tmp_path, NOW)
    (tmp_path / "posts" / "r.yaml").unlink()
    _, rows = run(tmp_path, NOW)
    assert ("q", "a", t) not in rows
    assert rows[("r", "a", t)].state == "skipped" and "deleted" in rows[("r", "a", t)].error
    _, rows = run(tmp_path, t2 + timedelta(seconds=1))
    assert [(r["post"], r["text"]) for r in kit.outbox(tmp_path, "a")] == [("p", "versi tiga")]


def test_edit_after_publication_warns_and_never_republishes(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["a"]))
    kit.write_post(tmp_path, "p", NOW - timedelta(minutes=1), ["a"], text="asli")
    rep, _ = run(tmp_path, NOW)
    assert rep.sync.edited == []
    kit.write_post(tmp_path, "p", NOW - timedelta(minutes=1), ["a"], text="sudah diubah")
    rep, rows = run(tmp_path, NOW + timedelta(minutes=1))
    assert [r.post for r in rep.sync.edited] == ["p"]
    assert rep.outcomes == [] and list(states(rows).values()) == ["published"]
    assert [r["text"] for r in kit.outbox(tmp_path, "a")] == ["asli"]


def test_broken_file_holds_its_posts_never_skips(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["a"]))
    t = NOW + timedelta(minutes=30)
    path = kit.write_post(tmp_path, "p", t, ["a"])
    run(tmp_path, NOW)
    path.write_text("id: p\nstatus: [unclosed\n", encoding="utf-8")
    rep, rows = run(tmp_path, t + timedelta(seconds=1))
    row = rows[("p", "a", t)]
    assert row.state == "pending" and "cannot be read" in row.hold
    assert [r.post for r in rep.sync.held_due] == ["p"] and rep.exit_code == 1
    assert kit.outbox(tmp_path, "a") == []
    kit.write_post(tmp_path, "p", t, ["a"])
    rep, rows = run(tmp_path, t + timedelta(minutes=2))
    assert rows[("p", "a", t)].state == "published" and rep.exit_code == 0


def test_invalid_post_is_held(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["a"]))
    kit.write_post(tmp_path, "p", NOW - timedelta(minutes=1), ["a"])
    (tmp_path / "posts" / "p.yaml").write_text(
        (tmp_path / "posts" / "p.yaml").read_text() + "link: not-a-url\n", encoding="utf-8")
    rep, rows = run(tmp_path, NOW)
    (row,) = rows.values()
    assert row.state == "pending" and row.hold and rep.sync.invalid_posts == ["p"] and rep.exit_code == 1
    assert kit.outbox(tmp_path, "a") == []


def flaky_campaign(root, script, reconcile="read", **cfg):
    kit.write_config(root, kit.file_accounts(["f"], platform="flaky") | kit.file_accounts(["ok"]), **cfg)
    kit.control(root, "f", script={"p": script}, retry_after_at=(NOW + timedelta(minutes=15)).isoformat(),
                reconcile=reconcile)
    kit.write_post(root, "p", NOW - timedelta(minutes=1), ["f", "ok"])


def test_transient_errors_retried_with_backoff_not_slept(tmp_path):
    flaky_campaign(tmp_path, ["transient", "transient", "ok"], retry_backoff="30s", max_attempts=5)
    key = ("p", "f", NOW - timedelta(minutes=1))
    rep, rows = run(tmp_path, NOW)
    assert rows[key].state == "pending" and rows[key].attempts == 1
    assert NOW + timedelta(seconds=30) <= rows[key].next_attempt <= NOW + timedelta(seconds=37.5)
    assert rows[("p", "ok", key[2])].state == "published"        # the other account is not delayed
    assert rep.count("retry") == 1 and rep.exit_code == 0
    first_retry = rows[key].next_attempt
    _, rows = run(tmp_path, first_retry - timedelta(seconds=1))   # not yet due: no call
    assert len(kit.calls(tmp_path, "f")) == 1
    _, rows = run(tmp_path, first_retry)
    assert rows[key].attempts == 2
    assert first_retry + timedelta(seconds=60) <= rows[key].next_attempt <= first_retry + timedelta(seconds=75)
    _, rows = run(tmp_path, rows[key].next_attempt)
    assert rows[key].state == "published" and rows[key].attempts == 3
    assert len(kit.outbox(tmp_path, "f")) == 1


def test_transient_gives_up_after_max_attempts(tmp_path):
    flaky_campaign(tmp_path, ["transient"] * 9, retry_backoff="1s", max_attempts=2)
    key = ("p", "f", NOW - timedelta(minutes=1))
    run(tmp_path, NOW)
    rep, rows = run(tmp_path, NOW + timedelta(seconds=10))
    assert rows[key].state == "failed" and rows[key].attempts == 2 and "gave up" in rows[key].error
    assert rep.exit_code == 1
    run(tmp_path, NOW + timedelta(hours=1))
    assert len(kit.calls(tmp_path, "f")) == 2


def test_rate_limit_retry_after_honoured(tmp_path):
    flaky_campaign(tmp_path, ["transient429"])
    rep, rows = run(tmp_path, NOW)
    row = rows[("p", "f", NOW - timedelta(minutes=1))]
    # the reset is 15 min away: the run did not wait for it, the next attempt is then
    assert row.state == "pending" and row.next_attempt == NOW + timedelta(minutes=15)
    assert rep.exit_code == 0 and len(kit.calls(tmp_path, "f")) == 1
    _, rows = run(tmp_path, NOW + timedelta(minutes=14))
    assert len(kit.calls(tmp_path, "f")) == 1
    _, rows = run(tmp_path, NOW + timedelta(minutes=15))
    assert rows[("p", "f", NOW - timedelta(minutes=1))].state == "published"


@pytest.mark.parametrize("outcome,state,attempts", [
    ("permanent", "failed", 1), ("auth", "pending", 0), ("unknown", "unknown", 1), ("crash", "unknown", 1),
    ("quota", "pending", 0)])
def test_error_classes(tmp_path, outcome, state, attempts):
    flaky_campaign(tmp_path, [outcome], reconcile="cannot_tell")
    rep, rows = run(tmp_path, NOW)
    row = rows[("p", "f", NOW - timedelta(minutes=1))]
    assert (row.state, row.attempts) == (state, attempts)
    if outcome == "auth":
        # an account problem holds the publication (attempt not counted); it goes
        # out by itself once the account works again (see test_readiness.py)
        assert "SPI_F_TOKEN" in row.error and row.hold.startswith("account: credentials")
    if outcome == "quota":
        assert row.next_attempt == NOW + timedelta(minutes=15)
    assert rep.exit_code == (0 if outcome == "quota" else 1)
    # never retried automatically (this platform cannot check: a person decides)
    run(tmp_path, NOW + timedelta(minutes=1))
    assert len(kit.calls(tmp_path, "f")) == 1


@pytest.mark.parametrize("outcome,calls", [("unknown", 1), ("crash", 2)])
def test_unknown_outcome_resolved_by_reconcile(tmp_path, outcome, calls):
    flaky_campaign(tmp_path, [outcome])
    _, rows = run(tmp_path, NOW)
    assert rows[("p", "f", NOW - timedelta(minutes=1))].state == "unknown"
    _, rows = run(tmp_path, NOW + timedelta(minutes=1))
    # "unknown": the line went out -> published, no second call;
    # "crash": nothing went out -> pending again -> published by the same run
    assert rows[("p", "f", NOW - timedelta(minutes=1))].state == "published"
    assert len(kit.calls(tmp_path, "f")) == calls and len(kit.outbox(tmp_path, "f")) == 1


def test_checkpoint_progress_is_stored_and_passed_back(tmp_path):
    flaky_campaign(tmp_path, ["checkpoint", "ok"], retry_backoff="1s")
    _, rows = run(tmp_path, NOW)
    assert rows[("p", "f", NOW - timedelta(minutes=1))].progress == {"parts": ["1"]}
    run(tmp_path, NOW + timedelta(seconds=10))
    assert [c["progress"] for c in kit.calls(tmp_path, "f")] == [None, {"parts": ["1"]}]


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _claimed_row(root, account, occ, *, pid, host=None, lease=timedelta(minutes=2)):
    cfg = load_config(root / "config.yaml")
    led = SqliteLedger.open(cfg.state)
    try:
        led.insert([Publication("p", account, occ)], NOW)
        claim = led.claim_next(account, Owner(host or Owner.me().host, pid), NOW, lease_until=NOW + lease,
                               miss_cutoff=None)
        assert claim.row is not None
    finally:
        led.close()


def test_dead_claimer_becomes_unknown_then_reconciled(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["a", "b"]))
    occ = NOW - timedelta(minutes=1)
    kit.write_post(tmp_path, "p", occ, ["a", "b"])
    _claimed_row(tmp_path, "a", occ, pid=_dead_pid())
    _claimed_row(tmp_path, "b", occ, pid=_dead_pid())
    # b's post did go out before the crash: its line is in the outbox
    from spi_campaign.adapters.file import FileAdapter
    from spi_campaign.compose import render

    cfg = load_config(tmp_path / "config.yaml")
    post = load_campaign(cfg).post("p")
    FileAdapter(cfg.accounts["b"], tz=cfg.timezone).publish(render(post, cfg.accounts["b"], occ))
    rep, rows = run(tmp_path, NOW)
    assert {r.account for r in rep.sync.became_unknown} == {"a", "b"}
    assert {(r.account, st) for r, st, _ in rep.sync.reconciled} == {("a", "not_found"), ("b", "published")}
    assert rows[("p", "a", occ)].state == "published"      # not found -> safe to publish -> published
    assert rows[("p", "b", occ)].state == "published"
    assert len(kit.outbox(tmp_path, "a")) == 1 and len(kit.outbox(tmp_path, "b")) == 1


def test_unknown_that_cannot_be_checked_waits_for_a_person(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["f"], platform="flaky"))
    kit.control(tmp_path, "f", reconcile="cannot_tell")
    occ = NOW - timedelta(minutes=1)
    kit.write_post(tmp_path, "p", occ, ["f"])
    _claimed_row(tmp_path, "f", occ, pid=_dead_pid())
    for i in range(2):
        rep, rows = run(tmp_path, NOW + timedelta(minutes=i))
        assert rows[("p", "f", occ)].state == "unknown" and rep.exit_code == 1
        assert [r.post for r in rep.sync.unknown] == ["p"]
    assert kit.calls(tmp_path, "f") == []


def test_lease_expiry_on_another_host(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["a"]))
    occ = NOW - timedelta(minutes=1)
    kit.write_post(tmp_path, "p", occ, ["a"])
    _claimed_row(tmp_path, "a", occ, pid=1, host="elsewhere", lease=timedelta(minutes=2))
    _, rows = run(tmp_path, NOW + timedelta(minutes=1))
    assert rows[("p", "a", occ)].state == "publishing"      # lease still valid: leave it alone
    _, rows = run(tmp_path, NOW + timedelta(minutes=3))
    assert rows[("p", "a", occ)].state == "publishing"      # expired, but within the grace for a stepped clock
    _, rows = run(tmp_path, NOW + timedelta(minutes=14))
    assert rows[("p", "a", occ)].state == "published"       # expired -> unknown -> not found -> published


def test_live_claimer_is_left_alone(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["a"]))
    occ = NOW - timedelta(minutes=1)
    kit.write_post(tmp_path, "p", occ, ["a"])
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        _claimed_row(tmp_path, "a", occ, pid=sleeper.pid)
        _, rows = run(tmp_path, NOW)
        assert rows[("p", "a", occ)].state == "publishing"
    finally:
        sleeper.kill()
        sleeper.wait()


def test_dry_run_engine_writes_nothing(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["a"]))
    kit.write_post(tmp_path, "p", NOW - timedelta(minutes=1), ["a"])
    cfg = load_config(tmp_path / "config.yaml")
    shown = []
    led = SqliteLedger.snapshot(cfg.state)
    eng = Engine(cfg, led, now=NOW, dry_run=True, on_dry_run=shown.append)
    rep = eng.publish_due(load_campaign(cfg))
    eng.close()
    assert [r.post_id for r in shown] == ["p"] and rep.count("published") == 1
    assert kit.ledger_rows(tmp_path) == [] and not (tmp_path / "outbox").exists()


def test_backoff_is_exponential_with_bounded_jitter():
    base = timedelta(seconds=30)
    for attempt, lo in ((1, 30), (2, 60), (3, 120)):
        for _ in range(50):
            d = backoff(base, attempt).total_seconds()
            assert lo <= d <= lo * 1.25


def test_ts_sorts_like_time():
    a, b = utc(2026, 12, 9, 1, 0, 0), utc(2026, 12, 9, 1, 0, 0, 1)
    assert ts(a) < ts(b) and len(ts(a)) == len(ts(b))


def test_one_off_post_moved_after_publication_is_never_republished(tmp_path):
    # The time of a published one-off post moves: a new publish_at, or a new
    # campaign timezone for a time written without offset. Its publication is
    # done; the new time is reported as an edit, never published again.
    kit.write_config(tmp_path, kit.file_accounts(["a"]))
    kit.write_post(tmp_path, "p", "2026-12-09 10:50", ["a"])          # WITA: 02:50Z
    run(tmp_path, NOW)
    assert [r["post"] for r in kit.outbox(tmp_path, "a")] == ["p"]
    kit.write_config(tmp_path, kit.file_accounts(["a"]), timezone_name="Asia/Jakarta")   # now 03:50Z
    rep, rows = run(tmp_path, NOW + timedelta(hours=1))
    assert [r.post for r in rep.sync.edited] == ["p"] and rep.exit_code == 0
    assert sorted(states(rows).values()) == ["published", "skipped"]     # the new time: skipped, with why
    assert "moved after it was published" in rows[("p", "a", utc(2026, 12, 9, 3, 50))].error
    rep, rows = run(tmp_path, NOW + timedelta(hours=1, minutes=1))
    assert rep.sync.edited == []                                         # reported once, not on every run
    kit.write_post(tmp_path, "p", NOW + timedelta(hours=2), ["a"])     # publish_at moved
    rep, rows = run(tmp_path, NOW + timedelta(hours=2, minutes=1))
    assert [r.post for r in rep.sync.edited] == ["p"]
    assert sorted(states(rows).values()) == ["published", "skipped", "skipped"]
    assert len(kit.outbox(tmp_path, "a")) == 1
    # a time moved *before* publication still moves the publication
    kit.write_post(tmp_path, "q", NOW + timedelta(hours=3), ["a"])
    run(tmp_path, NOW)
    kit.write_post(tmp_path, "q", NOW + timedelta(hours=4), ["a"])
    _, rows = run(tmp_path, NOW + timedelta(hours=4, minutes=1))
    assert rows[("q", "a", NOW + timedelta(hours=4))].state == "published"


def test_renamed_post_is_not_published_again(tmp_path):
    # A single-post file's id is its file name: `git mv` renames the post.
    kit.write_config(tmp_path, kit.file_accounts(["a", "b"]))
    t = NOW - timedelta(minutes=5)
    path = kit.write_post(tmp_path, "lama", t, ["a"])
    run(tmp_path, NOW)
    path.unlink()
    kit.write_post(tmp_path, "baru", t, ["a", "b"],                      # renamed, and a new account
                   text="Tolak gratifikasi, laporkan ke KPK: lama")
    rep, rows = run(tmp_path, NOW + timedelta(minutes=1))
    assert [(pid, acc, old.post) for pid, acc, _, old in rep.sync.renamed] == [("baru", "a", "lama")]
    # the row moved to the new id with its history: published once, never again
    assert ("lama", "a", t) not in rows and rows[("baru", "a", t)].state == "published"
    assert rows[("baru", "b", t)].state == "published"
    assert [r["post"] for r in kit.outbox(tmp_path, "a")] == ["lama"]
    assert rep.exit_code == 0


def test_unreadable_subfolder_holds_its_posts_never_skips(tmp_path, monkeypatch):
    import os

    kit.write_config(tmp_path, kit.file_accounts(["a"]))
    t = NOW + timedelta(minutes=30)
    sub = tmp_path / "posts" / "minggu-1"
    sub.mkdir()
    (sub / "p.yaml").write_text(kit.post_yaml("p", t, ["a"]), encoding="utf-8")
    run(tmp_path, NOW)
    real = os.scandir

    def scandir(path="."):      # `sub` cannot be listed (chmod 000 does not bite as root)
        if Path(path) == sub:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    rep, rows = run(tmp_path, t + timedelta(seconds=1))
    assert rows[("p", "a", t)].state == "pending" and rows[("p", "a", t)].hold
    assert rep.sync.broken_files == ["posts/minggu-1"] and rep.exit_code == 1
    monkeypatch.undo()
    _, rows = run(tmp_path, t + timedelta(minutes=1))
    assert rows[("p", "a", t)].state == "published"


def test_backoff_is_bounded_for_any_attempt():
    for attempt in (34, 60, 5000):
        d = backoff(timedelta(seconds=30), attempt)
        assert timedelta(days=3650) <= d <= timedelta(days=3650) * 1.25
        assert NOW + d > NOW     # no OverflowError
