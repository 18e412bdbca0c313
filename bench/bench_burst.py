"""A burst of publications due at once over 30 ``file`` accounts: the
per-publication cost of one ``spi post publish-due`` (its wall time divided
by the publications it made) for a burst of 10,000 against a burst of
1,000, both measured in this run, on a ledger that also holds ``--rows``
rows of published history (bench/_common.history_campaign).

Both campaigns are built once; each run publishes a fresh copy. Runs of the
two sizes alternate ``--runs`` times; medians. Target (issue 9): <= 1.3x.

    .venv/bin/python bench/bench_burst.py [--small 1000] [--large 10000] [--runs 3] [--rows 100000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SPI, env, history_accounts, history_campaign, now, verdict  # noqa: E402


def burst_posts(root: Path, n: int) -> None:
    names = list(history_accounts())
    due = now().replace(microsecond=0) - timedelta(minutes=20)
    for i in range(n):
        (root / "posts" / f"kilat-{i:05d}.yaml").write_text(
            f"id: kilat-{i:05d}\nstatus: approved\npublish_at: \"{(due + timedelta(seconds=i % 600)).isoformat()}\"\n"
            f"accounts: [{names[i % len(names)]}]\n"
            f"text: {json.dumps('Tolak gratifikasi! Laporkan ke KPK. ' * 3 + str(i))}\n")


def one_run(template: Path, root: Path) -> tuple[float, int]:
    shutil.copytree(template, root)
    t = time.perf_counter()
    subprocess.run([SPI, "post", "publish-due"], cwd=root, env=env(), stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t
    c = sqlite3.connect(root / ".spi" / "state.db")
    n = c.execute("SELECT COUNT(*) FROM publications WHERE state = 'published' AND post LIKE 'kilat-%'").fetchone()[0]
    c.close()
    shutil.rmtree(root)
    return elapsed, n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", type=int, default=1000)
    ap.add_argument("--large", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    per = {args.small: [], args.large: []}
    with tempfile.TemporaryDirectory() as d:
        templates = {}
        for size in (args.small, args.large):
            templates[size] = Path(d) / f"t{size}"
            facts = history_campaign(templates[size], rows=args.rows, future=0)
            burst_posts(templates[size], size)
        for i in range(args.runs):
            for size in ((args.small, args.large) if i % 2 == 0 else (args.large, args.small)):
                elapsed, n = one_run(templates[size], Path(d) / "run")
                if n != size:
                    sys.exit(f"burst of {size}: {n} published")
                per[size].append(elapsed / n)
    a, b = statistics.median(per[args.large]), statistics.median(per[args.small])
    print(f"(30 file accounts; ledger with {facts['history_rows']:,} published rows; medians of {args.runs} "
          f"alternating runs)")
    print(f"burst publish-due: {args.large:,} due {a * 1000:.2f} ms vs {args.small:,} due {b * 1000:.2f} ms "
          f"per publication = {a / b:.2f}x (target <= 1.3x) {verdict(a / b, 1.3)}")


if __name__ == "__main__":
    main()
