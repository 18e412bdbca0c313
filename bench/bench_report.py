"""`spi report --format json` over N ledger rows with metrics, as a ratio of a
bare `sqlite3` SELECT of the same rows plus `json.dumps` (target: <= 5x at
100,000 rows), and the cost of 1,000,000 rows against 100,000 (target:
<= 12x: linear, no quadratic step).

The campaign: 200 posts (5 topics) on 30 accounts (file platform); the
ledger: N rows spread over a year, 90% published (each with one metrics
snapshot of the five common metrics, the table `spi metrics fetch` writes),
the rest failed, missed, unknown and pending. Both sides are whole processes
(interpreter start-up included), run alternately; output to /dev/null.

Run: python bench/bench_report.py [--sizes 100000 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from _common import SPI, env, interleaved

p = argparse.ArgumentParser()
p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
p.add_argument("--runs", type=int, default=3)
args = p.parse_args()

TOPICS = ["gratifikasi", "zero-gratifikasi", "titik-rawan", "spi", "pelaporan"]
POSTS, ACCOUNTS = 200, 30
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
BASELINE = """
import json, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
rows = con.execute("SELECT * FROM publications WHERE occurrence >= ? AND occurrence < ? "
                   "ORDER BY occurrence DESC, post, account", ("2025-12-31T16:00:00.000000Z", "2027-12-31T16:00:00.000000Z")).fetchall()
sys.stdout.write(json.dumps(rows))
"""


def ts(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def generate(root: Path, n: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from spi_campaign.ledger import SqliteLedger

    (root / "posts").mkdir(parents=True)
    lines = ["timezone: Asia/Makassar", "posts_dir: posts", "state: .spi/state.db", "accounts:"]
    lines += [f"  akun-{a:02d}: {{platform: file, path: outbox/akun-{a:02d}.jsonl}}" for a in range(ACCOUNTS)]
    (root / "config.yaml").write_text("\n".join(lines) + "\n")
    for i in range(POSTS):
        (root / "posts" / f"pesan-{i:03d}.yaml").write_text(
            f"id: pesan-{i:03d}\ntitle: Pesan antikorupsi nomor {i}\ntopic: {TOPICS[i % 5]}\nstatus: draft\n"
            f'publish_at: "2031-01-01 09:00"\naccounts: [akun-00]\ntext: "Tolak gratifikasi, laporkan ke KPK."\n')
    SqliteLedger.open(root / ".spi" / "state.db").close()
    con = sqlite3.connect(root / ".spi" / "state.db")
    con.execute("PRAGMA synchronous = OFF")
    rnd = random.Random(n)
    step = timedelta(days=365) / n
    now = ts(datetime.now(timezone.utc))
    pubs, mets = [], []
    for k in range(n):
        post, acc = f"pesan-{k % POSTS:03d}", f"akun-{(k // POSTS) % ACCOUNTS:02d}"
        occ = ts(START + step * k)
        r = rnd.random()
        state = "published" if r < 0.9 else "failed" if r < 0.93 else "missed" if r < 0.96 else \
            "unknown" if r < 0.97 else "pending"
        url = f"https://x.com/i/status/{10**17 + k}" if state == "published" else None
        pubs.append((post, acc, occ, state, 1, url, str(10**17 + k) if url else None,
                     "ditolak platform" if state == "failed" else None, now, now, occ))
        if state == "published":
            f_at = ts(START + step * k + timedelta(hours=48))
            for m, v in (("views", 1000 + k % 97), ("reach", None), ("likes", k % 50), ("comments", k % 7),
                         ("shares", k % 11)):
                mets.append((occ, post, acc, f_at, m, v, None if v is not None else "X does not report reach",
                             "48h"))
        if len(pubs) >= 50_000:
            flush(con, pubs, mets)
    flush(con, pubs, mets)
    con.commit()
    con.close()


def flush(con, pubs, mets) -> None:
    con.executemany("INSERT INTO publications (post, account, occurrence, state, attempts, url, remote_id, error, "
                    "created_at, updated_at, published_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", pubs)
    con.executemany("INSERT INTO metrics VALUES (?,?,?,?,?,?,?,?)", mets)
    pubs.clear()
    mets.clear()


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            root = Path(tmp) / f"c{n}"
            t = time.perf_counter()
            generate(root, n)
            print(f"{n:>9,} rows generated in {time.perf_counter() - t:.1f} s", flush=True)
            report = [SPI, "--config", str(root / "config.yaml"), "report", "--from", "2026-01-01", "--to",
                      "2027-12-31", "--format", "json"]
            base = [sys.executable, "-c", BASELINE, str(root / ".spi" / "state.db")]
            t_rep, t_base = interleaved(report, base, args.runs, cwd=root, env=env())
            results[n] = t_rep
            rss = {}
            for name, cmd in (("spi report", report), ("baseline", base)):
                proc = subprocess.Popen(cmd, cwd=root, env=env(), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
                rss[name] = os.wait4(proc.pid, 0)[2].ru_maxrss / 1024
            print(f"{n:>9,} rows: spi report {t_rep:.2f} s, sqlite3 SELECT + json.dumps {t_base:.2f} s, "
                  f"ratio {t_rep / t_base:.2f}x (target <= 5x); peak RSS {rss['spi report']:.0f} MB "
                  f"(baseline {rss['baseline']:.0f} MB)", flush=True)
    sizes = sorted(results)
    for a, b in zip(sizes, sizes[1:]):
        print(f"{b:,} rows / {a:,} rows: {results[b] / results[a]:.2f}x (target <= {12 * b // a // 10}x)")


main()
