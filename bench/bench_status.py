"""``spi post status`` against a ledger with 1M published rows (two years
of daily posts to 30 accounts, bench/_common.history_campaign) and against
the same campaign whose ledger holds only its open rows (0 history rows).

Both ledgers get one ``publish-due`` first (the campaign's open rows), and
the same three rows are then set to ``unknown`` in each, so ``--state
unknown`` has something to list. The default view and ``--format json
--state unknown`` are run alternately ``--runs`` times (median wall time;
target <= 2x). ``--format json --all`` on the 1M ledger must stream: its
peak RSS (wait4's ru_maxrss of the child) must stay <= 100 MB.

    .venv/bin/python bench/bench_status.py [--rows 1000000] [--runs 7]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SPI, env, history_campaign, peak_rss_mb, verdict  # noqa: E402


def unknowns(root: Path) -> None:
    c = sqlite3.connect(root / ".spi" / "state.db", isolation_level=None)
    c.execute("UPDATE publications SET state = 'unknown', attempts = 1, error = 'timeout' WHERE (post, account, "
              "occurrence) IN (SELECT post, account, occurrence FROM publications WHERE state = 'pending' "
              "ORDER BY occurrence, post, account LIMIT 3)")
    c.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    e = env()
    e["COLUMNS"] = "120"
    with tempfile.TemporaryDirectory() as d:
        empty, full = Path(d) / "empty", Path(d) / "full"
        t = time.monotonic()
        history_campaign(empty, rows=args.rows, empty=True)
        facts = history_campaign(full, rows=args.rows)
        built = time.monotonic() - t
        for root in (empty, full):
            _, _, rc = peak_rss_mb([SPI, "post", "publish-due"], root, e)
            if rc != 0:
                sys.exit(f"publish-due exited {rc} in {root}")
            unknowns(root)
        views = {"status (default view)": [SPI, "post", "status"],
                 "status --format json --state unknown": [SPI, "post", "status", "--format", "json", "--state",
                                                          "unknown"]}
        times = {k: ([], []) for k in views}
        for _ in range(args.runs):
            for k, cmd in views.items():
                for i, root in enumerate((empty, full)):
                    w, _, rc = peak_rss_mb(cmd, root, e)
                    if rc != 0:
                        sys.exit(f"{' '.join(cmd[1:])} exited {rc} in {root}")
                    times[k][i].append(w)
        out = Path(d) / "all.json"
        with open(out, "wb") as fh:
            all_wall, all_rss, rc = peak_rss_mb([SPI, "post", "status", "--format", "json", "--all"], full, e,
                                                stdout=fh)
        size = out.stat().st_size
    n = facts["history_rows"]
    label = f"{n / 1e6:g}M" if n >= 1e6 else f"{n:,}"
    print(f"(history: {n:,} published rows, {facts['recurring_posts']} daily posts x {facts['accounts']} accounts "
          f"+ {facts['future_posts']} future posts; built in {built:.0f} s; medians of {args.runs} alternating runs)")
    for k in views:
        b, a = statistics.median(times[k][0]), statistics.median(times[k][1])
        print(f"{k}: {label} rows {a:.2f} s vs 0 rows {b:.2f} s = {a / b:.2f}x (target <= 2x) {verdict(a / b, 2)}")
    print(f"status --format json --all: {label} rows peak RSS {all_rss:.1f} MB ({all_wall:.1f} s, "
          f"{size / 1e6:.0f} MB of JSON, exit {rc}) (target <= 100 MB) {verdict(all_rss, 100)}")


if __name__ == "__main__":
    main()
