"""`spi calendar --format json` over a year of a campaign with 1,000 posts
(100 weekly recurring) across 30 accounts, as a ratio of
`spi post list --format json` on the same campaign (target: <= 3x).

Run: python bench/bench_calendar.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from _common import SPI, UTC, env, interleaved

p = argparse.ArgumentParser()
p.add_argument("--runs", type=int, default=5)
args = p.parse_args()

rng = random.Random(10)
accounts = [f"akun-{i:02d}" for i in range(30)]
start = datetime(2027, 1, 1, 1, 0, tzinfo=UTC)
with tempfile.TemporaryDirectory() as tmp:
    root = Path(tmp)
    lines = ["timezone: Asia/Makassar", "posts_dir: posts", "state: .spi/state.db", "accounts:"]
    for a in accounts:
        lines += [f"  {a}:", "    platform: file", f"    path: outbox/{a}.jsonl"]
    (root / "config.yaml").write_text("\n".join(lines) + "\n")
    (root / "posts").mkdir()
    for i in range(1000):
        when = start + timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        accs = rng.sample(accounts, 3)
        doc = [f"id: pos-{i:04d}", f"title: Pos {i}", f"topic: topik-{i % 5}", "status: approved",
               f'publish_at: "{when.isoformat()}"', f"accounts: [{', '.join(accs)}]",
               f"text: {json.dumps('Tolak gratifikasi! Laporkan ke KPK. ' * 3)}"]
        if i < 100:
            doc.insert(5, f'repeat: "{when.minute} {(when.hour + 8) % 24} * * {i % 7}"')
            doc[4] = 'publish_at: "2027-01-01T00:00:00+08:00"'
        (root / "posts" / f"pos-{i:04d}.yaml").write_text("\n".join(doc) + "\n")
    cal = [SPI, "--config", str(root / "config.yaml"), "calendar", "--from", "2027-01-01", "--to", "2027-12-31",
           "--format", "json"]
    lst = [SPI, "--config", str(root / "config.yaml"), "post", "list", "--format", "json"]
    out = subprocess.run(cal, env=env(), capture_output=True, text=True, check=True).stdout
    n = len(json.loads(out))
    cal_t, list_t = interleaved(cal, lst, args.runs, cwd=root, env=env())
    ratio = cal_t / list_t
    print(f"spi calendar --format json (a year, {n:,} publications): {cal_t * 1000:.0f} ms   "
          f"spi post list --format json: {list_t * 1000:.0f} ms   ratio {ratio:.2f}x (target <= 3x) "
          f"{'OK' if ratio <= 3 else 'OVER'}")
