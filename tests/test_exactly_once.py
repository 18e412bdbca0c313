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
