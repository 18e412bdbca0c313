"""Peak RSS with 10,000 posts loaded: ``spi post publish-due`` (reads every
post, syncs 10,000 ledger rows) and ``spi post schedule`` (after its start-up
sync), against a bare ``python -c`` importing the same modules. The ledger
already holds ``--history`` rows of published history (two years of daily
posts to 30 accounts, bench/_common.history_campaign); the 10,000 posts are
one-off posts still to come, over those accounts.

    .venv/bin/python bench/bench_rss.py [--posts 10000] [--history 1000000]
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SPI, env, history_campaign, vm_hwm_mb, wait_for  # noqa: E402

IMPORTS = ("import spi_campaign.cli, spi_campaign.cli.post_publish, spi_campaign.engine, spi_campaign.loader, "
           "spi_campaign.validate, spi_campaign.scheduler, spi_campaign.adapters.file, rich.console, rich.table, "
           "apscheduler.schedulers.blocking, apscheduler.triggers.cron, sqlite3, yaml")


def peak_of(cmd, cwd) -> float:
    proc = subprocess.Popen(cmd, cwd=cwd, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024   # kB on Linux


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=10_000)
    ap.add_argument("--history", type=int, default=1_000_000, help="published rows already in the ledger")
    args = ap.parse_args()
    base = peak_of([sys.executable, "-c", IMPORTS], Path.cwd())
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        facts = history_campaign(root, rows=max(1, args.history), future=args.posts)
        t = time.monotonic()
        due = peak_of([SPI, "post", "publish-due"], root)
        due_wall = time.monotonic() - t
        log = open(root / "schedule.log", "wb")
        proc = subprocess.Popen([SPI, "post", "schedule", "--no-watch"], cwd=root, env=env(), stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: b"spi schedule:" in (root / "schedule.log").read_bytes(), timeout=120)
            time.sleep(3)
            sched = vm_hwm_mb(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    print(f"(ledger with {facts['history_rows']:,} published rows of history, "
          f"{facts['recurring_posts']} daily posts + {facts['future_posts']} one-off posts)")
    print(f"peak RSS, {args.posts} posts: publish-due {due:.1f} MB (first run, {due_wall:.1f} s wall), "
          f"schedule {sched:.1f} MB (target < 150 MB: {'OK' if max(due, sched) < 150 else 'MISSED'})")
    print(f"baseline python -c with the same imports: {base:.1f} MB")
    print(f"ratio: publish-due {due / base:.2f}x, schedule {sched / base:.2f}x")


if __name__ == "__main__":
    main()
