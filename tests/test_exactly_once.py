"""Exactly-once publishing with real ``spi`` processes, a real ledger and the
``flaky`` test platform (tests/plugins). Clock jumps use Debian's
``faketime`` on one process only, so a lease can expire without waiting
two minutes. Each test says why it failed on the engine before the rewrite
(commit c359636)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from _support import load_plugin

kit = load_plugin("spi_testkit")

FAKETIME = shutil.which("faketime")


def _faketime() -> str:
    # CI installs it (.ci/run); a missing faketime is a failure, not a skip
    assert FAKETIME, "faketime is not installed: apt-get install -y faketime"
    return FAKETIME


def spi_at(root: Path, offset: str, *args: str, prefix: tuple[str, ...] = (), timeout: float = 60):
    """``spi`` with its clock moved by ``offset`` (faketime syntax, e.g. '+5m')."""
    cmd = [*prefix, _faketime(), "-f", offset, kit.SPI, "--config", str(root / "config.yaml"), *args]
    return subprocess.run(cmd, cwd=root, env=kit.env(), capture_output=True, text=True, timeout=timeout)


def flaky(names) -> dict[str, dict]:
    return kit.file_accounts(names, platform="flaky")


def spawn_publish_due(root: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([kit.SPI, "--config", str(root / "config.yaml"), "post", "publish-due", *args],
                            cwd=root, env=kit.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGCONT)
        proc.kill()
        proc.wait()


# ----- 1. a live publisher declared dead --------------------------------------------------

def test_paused_publisher_past_its_lease_is_not_republished(tmp_path):
    """Process A claims, enters the adapter and is SIGSTOPped. Process B runs
    with its clock 5 minutes ahead (A's 120 s lease long expired). On
    c359636 B judged the claim by its lease: the row became unknown, the
    flaky adapter's reconcile found nothing in the outbox (A had not written
    yet), the row went back to pending and B published it again: two lines.
    Now a claim on this host is judged by its process (alive)."""
    kit.write_config(tmp_path, flaky(["x"]))
    kit.control(tmp_path, "x", delay_ms=1500)
    kit.write_post(tmp_path, "stall", kit.now().replace(microsecond=0) - timedelta(minutes=1), ["x"])
    a = spawn_publish_due(tmp_path)
    try:
        # A is inside the adapter call (its claim is committed): pause it
        assert kit.wait_for(lambda: len(kit.calls(tmp_path, "x")) == 1, timeout=30)
        os.kill(a.pid, signal.SIGSTOP)
        kit.control(tmp_path, "x")          # B would publish at once
        b = spi_at(tmp_path, "+5m", "post", "publish-due")
        assert "Traceback" not in b.stderr, b.stderr
        assert len(kit.calls(tmp_path, "x")) == 1, (b.stdout, b.stderr)
        assert kit.outbox(tmp_path, "x") == []
        os.kill(a.pid, signal.SIGCONT)
        out, err = a.communicate(timeout=60)
        assert a.returncode == 0, (out, err)
        assert "published" in out
    finally:
        _kill(a)
    assert len(kit.outbox(tmp_path, "x")) == 1
    assert [(r.post, r.state, r.attempts) for r in kit.ledger_rows(tmp_path)] == [("stall", "published", 1)]
    # and later runs leave it alone
    c = kit.spi(tmp_path, "post", "publish-due")
    assert c.returncode == 0, c.stdout + c.stderr
    assert len(kit.outbox(tmp_path, "x")) == 1


def test_claimer_that_lost_its_claim_never_reports_published(tmp_path):
    """A claim taken over (here by a process on another host, ``unshare -u``
    with its own hostname, whose clock is 20 minutes ahead: past lease and
    grace) must not let the paused first claimer print 'published' and exit
    0 when it resumes: its result was not recorded, and the platform may
    now hold two copies. On c359636 the first claimer's final write failed
    its claim-token check silently and it still reported success (exit 0)."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.fail("needs root and unshare(1) to run a process under another hostname")
    kit.write_config(tmp_path, flaky(["x"]))
    kit.control(tmp_path, "x", delay_ms=1500)
    kit.write_post(tmp_path, "rebut", kit.now().replace(microsecond=0) - timedelta(minutes=1), ["x"])
    a = spawn_publish_due(tmp_path)
    try:
        assert kit.wait_for(lambda: len(kit.calls(tmp_path, "x")) == 1, timeout=30)
        os.kill(a.pid, signal.SIGSTOP)
        kit.control(tmp_path, "x")
        b = spi_at(tmp_path, "+20m", "post", "publish-due",
                   prefix=("unshare", "-u", "sh", "-c", 'hostname host-lain && exec "$0" "$@"'))
        assert "Traceback" not in b.stderr, b.stderr
        assert len(kit.outbox(tmp_path, "x")) == 1, (b.stdout, b.stderr)   # B took it over and published
        os.kill(a.pid, signal.SIGCONT)
        out, err = a.communicate(timeout=60)
    finally:
        _kill(a)
    assert a.returncode != 0, (out, err)
    assert "claim lost" in (out + err), (out, err)
    # "<time> <result> <post> -> <account> ...": the result is 'lost', never 'published'
    results = [line.split()[1] for line in out.splitlines() if " rebut -> x " in line]
    assert results == ["lost"], out
    assert len(kit.outbox(tmp_path, "x")) == 2      # the duplicate the message warns about
    assert [r.state for r in kit.ledger_rows(tmp_path)] == ["published"]


# ----- 8. cancel racing a claim -------------------------------------------------------------

def test_post_cancelled_after_the_run_read_it_is_not_published(tmp_path):
    """The run reads the campaign, then spends 2 s on an earlier publication
    of the same account; meanwhile the second post is cancelled in its file.
    On c359636 the run published from what it had read at start: the
    cancelled post went out. Now the claim is checked against the file as
    it is just before the adapter call: the row is skipped."""
    kit.write_config(tmp_path, flaky(["x"]))
    kit.control(tmp_path, "x", script={"lambat": ["ok"]}, delay_ms=2000)
    t = kit.now().replace(microsecond=0) - timedelta(minutes=2)
    kit.write_post(tmp_path, "lambat", t, ["x"])
    kit.write_post(tmp_path, "batal", t + timedelta(seconds=30), ["x"])
    a = spawn_publish_due(tmp_path)
    try:
        assert kit.wait_for(lambda: len(kit.calls(tmp_path, "x")) == 1, timeout=30)
        kit.write_post(tmp_path, "batal", t + timedelta(seconds=30), ["x"], status="cancelled")
        kit.control(tmp_path, "x")           # the next call would be instant
        out, err = a.communicate(timeout=60)
    finally:
        _kill(a)
    assert "status: cancelled" in (tmp_path / "posts" / "batal.yaml").read_text()
    assert [r["post"] for r in kit.outbox(tmp_path, "x")] == ["lambat"], (out, err)
    assert [c["post"] for c in kit.calls(tmp_path, "x")] == ["lambat"]
    assert {r.post: r.state for r in kit.ledger_rows(tmp_path)} == {"lambat": "published", "batal": "skipped"}
    assert "Traceback" not in err


# ----- 5, 6. config edits after a publication ---------------------------------------------------

def _set_config(root: Path, old: str, new: str) -> None:
    p = root / "config.yaml"
    text = p.read_text(encoding="utf-8")
    assert old in text
    p.write_text(text.replace(old, new), encoding="utf-8")


def test_timezone_change_does_not_republish_todays_recurring_post(tmp_path):
    """A daily 09:00 post published at 09:00 WITA; then the campaign's
    timezone becomes Asia/Jakarta (WIB, one hour behind). At 09:00 WIB the
    same local slot comes round again an hour later. On c359636 that was a
    new occurrence (a new UTC key) and the post went out twice on one day."""
    kit.write_config(tmp_path, flaky(["x"]))
    kit.write_post(tmp_path, "harian", "2026-12-09 09:00", ["x"], repeat="0 9 * * *")
    first = spi_at(tmp_path, "@2026-12-09 01:00:20", "post", "publish-due")      # 09:00:20 WITA
    assert first.returncode == 0, first.stdout + first.stderr
    assert len(kit.outbox(tmp_path, "x")) == 1
    _set_config(tmp_path, "timezone: Asia/Makassar", "timezone: Asia/Jakarta")
    again = spi_at(tmp_path, "@2026-12-09 02:00:20", "post", "publish-due")      # 09:00:20 WIB
    assert "Traceback" not in again.stderr, again.stderr
    assert len(kit.outbox(tmp_path, "x")) == 1, again.stdout + again.stderr
    # the next day's slot is at 09:00 in the new zone
    nxt = spi_at(tmp_path, "@2026-12-10 02:00:20", "post", "publish-due")
    assert nxt.returncode == 0, nxt.stdout + nxt.stderr
    recs = kit.outbox(tmp_path, "x")
    assert len(recs) == 2 and recs[1]["occurrence"].startswith("2026-12-10T09:00:00+07:00"), recs


def test_account_renamed_in_config_is_not_republished(tmp_path):
    """The account 'humas' is renamed 'humas_kota' (same platform, same
    outbox path) in config.yaml and in the post. On c359636 the post had a
    new key (post, account, occurrence) and was published a second time."""
    kit.write_config(tmp_path, flaky(["humas"]))
    t = kit.now().replace(microsecond=0) - timedelta(minutes=5)
    kit.write_post(tmp_path, "sekali", t, ["humas"])
    first = kit.spi(tmp_path, "post", "publish-due")
    assert first.returncode == 0, first.stdout + first.stderr
    _set_config(tmp_path, "  humas:\n", "  humas_kota:\n")
    kit.write_post(tmp_path, "sekali", t, ["humas_kota"])
    again = kit.spi(tmp_path, "post", "publish-due")
    assert "Traceback" not in again.stderr, again.stderr
    assert len(kit.outbox(tmp_path, "humas")) == 1, again.stdout + again.stderr
    assert not (tmp_path / "outbox" / "humas_kota.jsonl").exists()
    assert [(r.post, r.state) for r in kit.ledger_rows(tmp_path)] == [("sekali", "published")]


# ----- 7, 9. a burst in one daemon, with renames and concurrent syncs -------------------------------

def test_burst_with_renamed_files_publishes_each_exactly_once(tmp_path):
    """300 publications (100 posts x 3 accounts) fall due within a few
    seconds under one ``spi post schedule``; during the burst 40 files are
    renamed (new file name and id, same content), each rename setting off a
    reload and sync while the workers publish. 7: the daemon's own claims are
    never taken for another process's (claim tokens carry the process's
    instance id), so a sync in the middle of a publication does not turn
    it unknown and republish it. 9: a renamed post's row moves to the new
    id (published once, not again under the new id; pending: published
    once under the new id). On c359636 a rename was a new key: renamed
    posts already out went out again."""
    accounts = ["a", "b", "c"]
    kit.write_config(tmp_path, kit.file_accounts(accounts))
    start = kit.now().replace(microsecond=0) + timedelta(seconds=4)
    for i in range(100):
        kit.write_post(tmp_path, f"p{i:03d}", start + timedelta(milliseconds=30 * i), accounts,
                       text=f"Laporkan pungli ke Inspektorat, nomor {i}.")
    proc = kit.spawn(tmp_path, "post", "schedule")
    try:
        assert kit.wait_for(lambda: len(kit.outbox(tmp_path, "a")) >= 10, timeout=30)
        for i in range(0, 80, 2):          # 40 renames
            # the id changes in place (atomic save), then the file is moved:
            # never two files with the same content at once
            old = tmp_path / "posts" / f"p{i:03d}.yaml"
            tmp = old.with_suffix(".tmp")
            tmp.write_text(kit.post_yaml(f"baru-{i:03d}", start + timedelta(milliseconds=30 * i), accounts,
                                         text=f"Laporkan pungli ke Inspektorat, nomor {i}."), encoding="utf-8")
            os.replace(tmp, old)
            os.rename(old, old.with_name(f"baru-{i:03d}.yaml"))
        total = lambda: sum(len(kit.outbox(tmp_path, a)) for a in accounts)
        assert kit.wait_for(lambda: total() >= 300, timeout=60)
        time.sleep(3)          # room for a duplicate to show up
        assert kit.stop(proc) == 0
    finally:
        _kill(proc)
    lines = [r for a in accounts for r in kit.outbox(tmp_path, a)]
    slots = Counter((r["account"], r["occurrence"]) for r in lines)
    assert len(slots) == 300 and set(slots.values()) == {1}, [k for k, n in slots.items() if n > 1][:5]
    rows = kit.ledger_rows(tmp_path)
    published = [r for r in rows if r.state == "published"]
    assert len(published) == 300 and len({(r.account, r.occurrence) for r in published}) == 300
    assert {r.post for r in published} == {f"baru-{i:03d}" for i in range(0, 80, 2)} | \
        {f"p{i:03d}" for i in range(100) if not (i < 80 and i % 2 == 0)}
    # A rename that lands while the old id's row is being claimed cannot move
    # that row: it stays under the old id as skipped (the file no longer has
    # it), and the new id publishes the slot once. Any other leftover is a bug.
    renamed = {f"p{i:03d}" for i in range(0, 80, 2)}
    others = [(r.post, r.account, r.state, r.error) for r in rows if r.state != "published"]
    assert all(post in renamed and state == "skipped" and "deleted" in (error or "")
               for post, _a, state, error in others), others


def test_new_post_at_the_slot_of_a_removed_published_one_is_published(tmp_path):
    """A published post is removed and a different post (other text) is
    written for the same account and minute: not a rename, so it must go
    out. (A rename check that matched on account and time alone would
    swallow it.)"""
    kit.write_config(tmp_path, kit.file_accounts(["a"]))
    t = kit.now().replace(microsecond=0) - timedelta(minutes=3)
    kit.write_post(tmp_path, "pagi", t, ["a"], text="Selamat pagi, tolak suap.")
    assert kit.spi(tmp_path, "post", "publish-due").returncode == 0
    (tmp_path / "posts" / "pagi.yaml").unlink()
    kit.write_post(tmp_path, "lain", t, ["a"], text="Pengumuman lain: layanan pengaduan dibuka.")
    r = kit.spi(tmp_path, "post", "publish-due")
    assert r.returncode == 0, r.stdout + r.stderr
    assert [x["post"] for x in kit.outbox(tmp_path, "a")] == ["pagi", "lain"]
