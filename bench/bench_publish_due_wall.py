"""Wall time of ``spi post publish-due`` for 100 due posts across 10
accounts, against an adapter taking 200 ms per call (the ``flaky`` test
adapter, found through its entry point in tests/plugins). The per-account
serial bound is the busiest account's count x 0.2 s (10-11 posts: 2-2.2 s);
a serial loop would take about 20 s.
The ledger already holds ``--history`` rows of published history of the
campaign's daily posts to those accounts (bench/_common.history_campaign).

    .venv/bin/python bench/bench_publish_due_wall.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SPI, env, history_campaign, now  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=10)
    ap.add_argument("--posts", type=int, default=100)
    ap.add_argument("--delay-ms", type=int, default=200)
    ap.add_argument("--history", type=int, default=100_000, help="published rows already in the ledger")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        facts = history_campaign(root, rows=max(1, args.history), future=0, accounts=args.accounts,
                                 platform="flaky")
        accounts = [line.strip()[:-1] for line in (root / "config.yaml").read_text().splitlines()
                    if line.startswith("  ") and not line.startswith("    ")]
        due = now().replace(microsecond=0) - timedelta(minutes=5)
        for i in range(args.posts):
            (root / "posts" / f"p{i:03d}.yaml").write_text(
                f"id: p{i:03d}\nstatus: approved\npublish_at: \"{(due + timedelta(seconds=i)).isoformat()}\"\n"
                f"accounts: [{accounts[i % len(accounts)]}]\ntext: {json.dumps('Tolak gratifikasi! ' * 3 + str(i))}\n")
        (root / "outbox").mkdir(exist_ok=True)
        for a in accounts:
            (root / "outbox" / f"{a}.jsonl.control.json").write_text(json.dumps({"delay_ms": args.delay_ms}))
        # startup baseline: the same command with nothing due (second run)
        t = time.monotonic()
        r = subprocess.run([SPI, "post", "publish-due"], cwd=root, env=env(), capture_output=True, text=True)
        wall = time.monotonic() - t
        per_account = [len((root / "outbox" / f"{a}.jsonl").read_text().splitlines()) for a in accounts]
        published = sum(per_account)
        t = time.monotonic()
        subprocess.run([SPI, "post", "publish-due"], cwd=root, env=env(), capture_output=True, text=True)
        idle = time.monotonic() - t
    # The bound counts what was really published on the busiest account: the
    # history campaign's daily posts add their due occurrences of today to the
    # generated posts (104 for 100 posts), so an account may publish 11, not 10.
    bound = max(per_account) * args.delay_ms / 1000
    print(f"(ledger with {facts['history_rows']:,} published rows of history)")
    print(f"publish-due: {published} posts across {args.accounts} accounts at {args.delay_ms} ms/call: "
          f"{wall:.2f} s wall (exit {r.returncode})")
    print(f"per-account serial bound {bound:.1f} s ({max(per_account)} on the busiest account); "
          f"serial loop {published * args.delay_ms / 1000:.0f} s; "
          f"publish-due with nothing due (process start-up + load + sync): {idle:.2f} s")
    print(f"ratio wall/bound: {wall / bound:.2f}x (target <= 1.3x: {'OK' if wall / bound <= 1.3 else 'MISSED'}); "
          f"excluding start-up: {(wall - idle) / bound:.2f}x")


if __name__ == "__main__":
    main()
