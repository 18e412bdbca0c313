"""Real OS processes sharing one real SQLite ledger: concurrency, crashes,
signals. The ``flaky`` adapter is found through its entry point
(tests/plugins on PYTHONPATH)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from datetime import timedelta

from _support import load_plugin

kit = load_plugin("spi_testkit")


def test_eight_concurrent_publish_due_publish_everything_exactly_once(tmp_path):
    accounts = [f"acc{i}" for i in range(5)]
    kit.write_config(tmp_path, kit.file_accounts(accounts))
    base = kit.now().replace(microsecond=0) - timedelta(minutes=30)
    for i in range(50):
        kit.write_post(tmp_path, f"post-{i:02d}", base + timedelta(seconds=i), accounts)
    cmd = [kit.SPI, "--config", str(tmp_path / "config.yaml"), "post", "publish-due"]
    for round_ in range(2):
        procs = [subprocess.Popen(cmd, cwd=tmp_path, env=kit.env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(8)]
        results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
        for p in procs:
            p.stdout.close()
            p.stderr.close()
        assert [rc for rc, _, _ in results] == [0] * 8, results
        lines = [r for a in accounts for r in kit.outbox(tmp_path, a)]
        counts = Counter(kit.keys(lines))
        assert len(counts) == 250 and set(counts.values()) == {1}, f"round {round_}: duplicates or gaps"
    rows = kit.ledger_rows(tmp_path)
    assert len(rows) == 250 and {r.state for r in rows} == {"published"} and {r.attempts for r in rows} == {1}


def test_transient_errors_retried_across_runs_permanent_not(tmp_path):
    """Entry-point adapter in real processes: backoff is scheduled, not slept."""
    kit.write_config(tmp_path, kit.file_accounts(["f"], platform="flaky"), retry_backoff="1s", max_attempts=4)
    kit.control(tmp_path, "f", script={"t": ["transient", "transient", "ok"], "x": ["permanent"]})
    due = kit.now().replace(microsecond=0) - timedelta(minutes=1)
    kit.write_post(tmp_path, "t", due, ["f"])
    kit.write_post(tmp_path, "x", due, ["f"])
    started = time.monotonic()
    r = kit.spi(tmp_path, "post", "publish-due")
    assert time.monotonic() - started < 10
    assert r.returncode == 1, r.stdout + r.stderr            # x failed
    assert "retry" in r.stdout and "next attempt" in r.stdout
    for _ in range(40):
        time.sleep(0.25)
        kit.spi(tmp_path, "post", "publish-due")
        if any(c["outcome"] == "ok" for c in kit.calls(tmp_path, "f")):
            break
    calls = kit.calls(tmp_path, "f")
    t_calls = [c for c in calls if c["post"] == "t"]
    assert [c["outcome"] for c in t_calls] == ["transient", "transient", "ok"]
    from datetime import datetime
    at = [datetime.fromisoformat(c["at"]) for c in t_calls]
    assert at[1] - at[0] >= timedelta(seconds=1)             # base backoff
    assert at[2] - at[1] >= timedelta(seconds=2)             # doubled
    assert [c["outcome"] for c in calls if c["post"] == "x"] == ["permanent"]   # never retried
    rows = {r.post: r for r in kit.ledger_rows(tmp_path)}
    assert rows["t"].state == "published" and rows["t"].attempts == 3
    assert rows["x"].state == "failed" and rows["x"].attempts == 1


def test_schedule_sigkill_mid_burst_then_restart_loses_and_doubles_nothing(tmp_path):
    accounts = ["f1", "f2"]
    kit.write_config(tmp_path, kit.file_accounts(accounts, platform="flaky"))
    for a in accounts:
        kit.control(tmp_path, a, delay_ms=150)
    due = kit.now().replace(microsecond=0) - timedelta(seconds=30)
    for i in range(12):
        kit.write_post(tmp_path, f"p{i:02d}", due + timedelta(seconds=i), accounts)
    proc = kit.spawn(tmp_path, "post", "schedule", "--no-watch")
    try:
        assert kit.wait_for(lambda: sum(len(kit.outbox(tmp_path, a)) for a in accounts) >= 6, timeout=30)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    first = sum(len(kit.outbox(tmp_path, a)) for a in accounts)
    assert first < 24, "the kill should land mid-burst"
    in_flight = [r for r in kit.ledger_rows(tmp_path) if r.state == "publishing"]
    assert in_flight, "the kill should leave claims behind"
    for a in accounts:
        kit.control(tmp_path, a, delay_ms=0)
    proc = kit.spawn(tmp_path, "post", "schedule", "--no-watch")
    try:
        assert kit.wait_for(lambda: all(r.state in ("published", "unknown") for r in kit.ledger_rows(tmp_path))
                            and len(kit.ledger_rows(tmp_path)) == 24, timeout=30)
    finally:
        assert kit.stop(proc) == 0
    lines = [r for a in accounts for r in kit.outbox(tmp_path, a)]
    counts = Counter(kit.keys(lines))
    assert set(counts.values()) == {1}, "published twice"
    rows = kit.ledger_rows(tmp_path)
    # the flaky adapter can check its outbox: every lost claim was resolved
    assert {r.state for r in rows} == {"published"} and len(counts) == 24
    log = (tmp_path / "schedule.log").read_text()
    assert "stopped before recording the result" in log


def test_sigterm_lets_the_publication_in_flight_finish(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["slow"], platform="flaky"))
    kit.control(tmp_path, "slow", delay_ms=1500)
    kit.write_post(tmp_path, "p", kit.now().replace(microsecond=0) - timedelta(seconds=5), ["slow"])
    kit.write_post(tmp_path, "q", kit.now().replace(microsecond=0) - timedelta(seconds=4), ["slow"])
    proc = kit.spawn(tmp_path, "post", "schedule", "--no-watch")
    try:
        assert kit.wait_for(lambda: kit.calls(tmp_path, "slow"), timeout=20)   # the call has started
    finally:
        rc = kit.stop(proc, signal.SIGTERM)
    assert rc == 0
    assert [r["post"] for r in kit.outbox(tmp_path, "slow")] == ["p"]
    rows = {r.post: r.state for r in kit.ledger_rows(tmp_path)}
    assert rows == {"p": "published", "q": "pending"}            # q was not started
    assert "published p" in (tmp_path / "schedule.log").read_text()


def test_schedule_and_publish_due_together_never_double(tmp_path):
    accounts = ["a", "b", "c"]
    kit.write_config(tmp_path, kit.file_accounts(accounts))
    due = kit.now().replace(microsecond=0) - timedelta(minutes=5)
    for i in range(20):
        kit.write_post(tmp_path, f"p{i:02d}", due + timedelta(seconds=i), accounts)
    proc = kit.spawn(tmp_path, "post", "schedule", "--no-watch")
    others = [subprocess.Popen([kit.SPI, "--config", str(tmp_path / "config.yaml"), "post", "publish-due"],
                               cwd=tmp_path, env=kit.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
              for _ in range(3)]
    try:
        assert [p.wait(timeout=60) for p in others] == [0, 0, 0]
        assert kit.wait_for(lambda: sum(len(kit.outbox(tmp_path, a)) for a in accounts) >= 60, timeout=30)
    finally:
        assert kit.stop(proc) == 0
    counts = Counter(kit.keys([r for a in accounts for r in kit.outbox(tmp_path, a)]))
    assert len(counts) == 60 and set(counts.values()) == {1}
