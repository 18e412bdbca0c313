"""``spi post publish-due`` with nothing due: a ledger with 1M published rows
(two years of daily posts to 30 accounts, bench/_common.history_campaign)
against the same campaign with an empty ledger, both measured in this run.

Each campaign gets one warm-up run (the first sync inserts the next
occurrences), then the two are run alternately ``--runs`` times; the figure
is the median wall time and the median peak RSS (wait4's ru_maxrss of the
child). Target (issue 9): both ratios <= 1.5x.

    .venv/bin/python bench/bench_publish_due_idle.py [--rows 1000000] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SPI, env, history_campaign, peak_rss_mb, verdict  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        empty, full = Path(d) / "empty", Path(d) / "full"
        t = time.monotonic()
        history_campaign(empty, rows=args.rows, empty=True)
        facts = history_campaign(full, rows=args.rows)
        built = time.monotonic() - t
        cmd = [SPI, "post", "publish-due"]
        for root in (empty, full):
            _, _, rc = peak_rss_mb(cmd, root, env())
            if rc != 0:
                sys.exit(f"publish-due exited {rc} in {root}")
        w0, w1, r0, r1 = [], [], [], []
        for _ in range(args.runs):
            w, r, _ = peak_rss_mb(cmd, empty, env())
            w0.append(w), r0.append(r)
            w, r, _ = peak_rss_mb(cmd, full, env())
            w1.append(w), r1.append(r)
    n = facts["history_rows"]
    label = f"{n / 1e6:g}M" if n >= 1e6 else f"{n:,}"
    wa, wb = statistics.median(w1), statistics.median(w0)
    ra, rb = statistics.median(r1), statistics.median(r0)
    print(f"(history: {n:,} published rows, {facts['recurring_posts']} daily posts x {facts['accounts']} accounts "
          f"+ {facts['future_posts']} future posts; built in {built:.0f} s; medians of {args.runs} alternating runs)")
    print(f"publish-due idle: {label} rows {wa:.2f} s vs 0 rows {wb:.2f} s = {wa / wb:.2f}x "
          f"(target <= 1.5x) {verdict(wa / wb, 1.5)}")
    print(f"publish-due idle peak RSS: {label} rows {ra:.1f} MB vs 0 rows {rb:.1f} MB = {ra / rb:.2f}x "
          f"(target <= 1.5x) {verdict(ra / rb, 1.5)}")


if __name__ == "__main__":
    main()
