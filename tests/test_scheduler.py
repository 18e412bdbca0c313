"""``spi post schedule`` as a real process: timing, reloads, signals."""

from __future__ import annotations

import os
import signal
from datetime import datetime, timedelta


from _support import load_plugin

kit = load_plugin("spi_testkit")


_log = kit.schedule_log


def _lateness(rec) -> float:
    return (datetime.fromisoformat(rec["published_at"]) - datetime.fromisoformat(rec["occurrence"])).total_seconds()


def test_publishes_each_post_within_one_second_of_its_time(tmp_path, daemon):
    kit.write_config(tmp_path, kit.file_accounts(["a", "b"]))
    proc = daemon()
    # written once it runs, so a slow start-up under load cannot turn this into a catch-up
    t0 = kit.now().replace(microsecond=0) + timedelta(seconds=3)
    times = [t0 + timedelta(milliseconds=400 * i) for i in range(6)]
    for i, t in enumerate(times):
        kit.write_post(tmp_path, f"p{i}", t, ["a", "b"])
    assert kit.wait_for(lambda: len(kit.outbox(tmp_path, "a")) + len(kit.outbox(tmp_path, "b")) == 12, timeout=15)
    assert kit.stop(proc) == 0
    recs = kit.outbox(tmp_path, "a") + kit.outbox(tmp_path, "b")
    late = [_lateness(r) for r in recs]
    # published_at is written to the second; compare with the exact time of the call too
    assert all(-1 < x < 1 for x in late), late
    rows = kit.ledger_rows(tmp_path)
    assert all(0 <= (r.published_at - r.occurrence).total_seconds() < 1 for r in rows), \
        [(r.post, r.published_at - r.occurrence) for r in rows]
    # one log line per publication: time, post, account, result, URL
    lines = [ln for ln in _log(tmp_path).splitlines() if " published " in ln]
    assert len(lines) == 12 and all("file://" in ln for ln in lines)


def test_new_and_edited_files_noticed_within_seconds(tmp_path, daemon):
    kit.write_config(tmp_path, kit.file_accounts(["a"]))
    kit.write_post(tmp_path, "later", kit.now() + timedelta(hours=1), ["a"], text="lama")
    proc = daemon()
    t = kit.now().replace(microsecond=0) + timedelta(seconds=3)
    kit.write_post(tmp_path, "baru", t, ["a"])
    os.makedirs(tmp_path / "posts" / "minggu-2")
    t2 = t + timedelta(seconds=1)
    (tmp_path / "posts" / "minggu-2" / "nested.yaml").write_text(kit.post_yaml("nested", t2, ["a"]))
    assert kit.wait_for(lambda: len(kit.outbox(tmp_path, "a")) == 2, timeout=8), _log(tmp_path)
    assert all(-1 < _lateness(r) < 1 for r in kit.outbox(tmp_path, "a"))
    # an edit before the time: the new text goes out
    t3 = kit.now().replace(microsecond=0) + timedelta(seconds=2)
    kit.write_post(tmp_path, "later", t3, ["a"], text="baru diubah")
    assert kit.wait_for(lambda: len(kit.outbox(tmp_path, "a")) == 3, timeout=8), _log(tmp_path)
    assert kit.outbox(tmp_path, "a")[-1]["text"] == "baru diubah"
    assert kit.stop(proc) == 0


def test_cancel_and_delete_before_time_are_not_published(tmp_path, daemon):
    kit.write_config(tmp_path, kit.file_accounts(["a"]))
    t = kit.now().replace(microsecond=0) + timedelta(minutes=30)
    kit.write_post(tmp_path, "batal", t, ["a"])
    kit.write_post(tmp_path, "hapus", t, ["a"])
    kit.write_post(tmp_path, "tetap", t, ["a"])
    proc = daemon()
    assert kit.wait_for(lambda: len(kit.ledger_rows(tmp_path)) == 3, timeout=10)   # it knows all three
    kit.write_post(tmp_path, "batal", t, ["a"], status="cancelled")
    (tmp_path / "posts" / "hapus.yaml").unlink()
    soon = kit.now().replace(microsecond=0) + timedelta(seconds=2)
    kit.write_post(tmp_path, "tetap", soon, ["a"])            # moved earlier: goes out in 2 s
    assert kit.wait_for(lambda: kit.outbox(tmp_path, "a"), timeout=10), _log(tmp_path)
    assert kit.stop(proc) == 0
    assert [r["post"] for r in kit.outbox(tmp_path, "a")] == ["tetap"]
    states = {(r.post, r.occurrence): r.state for r in kit.ledger_rows(tmp_path)}
    assert states == {("batal", t): "skipped", ("hapus", t): "skipped", ("tetap", t): "skipped",
                      ("tetap", soon): "published"}


def test_sighup_reloads_without_watching(tmp_path, daemon):
    kit.write_config(tmp_path, kit.file_accounts(["a"]))
    proc = daemon("--no-watch")
    t = kit.now().replace(microsecond=0) + timedelta(seconds=2)
    kit.write_post(tmp_path, "hup", t, ["a"])
    # without a SIGHUP the daemon does not see it (no watching)
    assert not kit.wait_for(lambda: kit.outbox(tmp_path, "a"), timeout=3)
    proc.send_signal(signal.SIGHUP)
    assert kit.wait_for(lambda: kit.outbox(tmp_path, "a"), timeout=5), _log(tmp_path)
    assert "reloaded: 1 posts" in _log(tmp_path)
    assert kit.stop(proc) == 0


def test_retry_is_scheduled_and_picked_up_by_the_loop(tmp_path, daemon):
    kit.write_config(tmp_path, kit.file_accounts(["f"], platform="flaky"), retry_backoff="1s")
    kit.control(tmp_path, "f", script={"p": ["transient", "ok"]})
    kit.write_post(tmp_path, "p", kit.now().replace(microsecond=0) - timedelta(seconds=1), ["f"])
    proc = daemon("--no-watch")
    assert kit.wait_for(lambda: kit.outbox(tmp_path, "f"), timeout=10), _log(tmp_path)
    assert kit.stop(proc) == 0
    c = kit.calls(tmp_path, "f")
    gap = datetime.fromisoformat(c[1]["at"]) - datetime.fromisoformat(c[0]["at"])
    assert [x["outcome"] for x in c] == ["transient", "ok"] and timedelta(seconds=1) <= gap < timedelta(seconds=3)


def test_schedule_dry_run_writes_nothing(tmp_path, daemon):
    kit.write_config(tmp_path, kit.file_accounts(["a"]))
    kit.write_post(tmp_path, "p", kit.now().replace(microsecond=0) - timedelta(minutes=1), ["a"], text="uji coba")
    kit.write_post(tmp_path, "q", kit.now().replace(microsecond=0) + timedelta(seconds=1), ["a"])
    proc = daemon("--dry-run", "--no-watch")
    assert kit.wait_for(lambda: _log(tmp_path).count("dry-run") >= 2, timeout=10), _log(tmp_path)
    assert kit.stop(proc) == 0
    assert "would publish p" in _log(tmp_path) and "uji coba" in _log(tmp_path)
    assert kit.ledger_rows(tmp_path) == [] and not (tmp_path / "outbox").exists()


def test_sigint_exits_zero_when_idle(tmp_path, daemon):
    kit.write_config(tmp_path, kit.file_accounts(["a"]))
    proc = daemon()
    assert kit.stop(proc, signal.SIGINT) == 0
    assert "stopped" in _log(tmp_path)
