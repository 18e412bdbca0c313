"""Publish latency of ``spi post schedule``: actual minus due time, p50/p99,
over 100 posts (5 ``file`` accounts), against a bare APScheduler date job
measured in the same run.

    .venv/bin/python bench/bench_publish_latency.py [--posts 100]
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SPI, campaign, env, now, pct, wait_for  # noqa: E402

BASELINE = r"""
import sys, time
from datetime import datetime, timedelta, timezone
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.jobstores.memory import MemoryJobStore
n, spacing = int(sys.argv[1]), float(sys.argv[2])
lat = []
s = BlockingScheduler(jobstores={"default": MemoryJobStore()}, timezone="Asia/Makassar")
t0 = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=2)
def job(due):
    lat.append((datetime.now(timezone.utc) - due).total_seconds())
    if len(lat) == n:
        s.shutdown(wait=False)
for i in range(n):
    due = t0 + timedelta(seconds=spacing * i)
    s.add_job(job, "date", run_date=due, args=[due])
s.start()
print(" ".join(f"{x:.6f}" for x in lat))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=100)
    ap.add_argument("--spacing", type=float, default=0.05, help="seconds between due times")
    args = ap.parse_args()

    out = subprocess.run([sys.executable, "-c", BASELINE, str(args.posts), str(args.spacing)],
                         capture_output=True, text=True, check=True).stdout
    base = [float(x) for x in out.split()]

    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        accounts = {f"a{i}": {"platform": "file", "path": f"outbox/a{i}.jsonl"} for i in range(5)}
        t0 = now().replace(microsecond=0) + timedelta(seconds=4)
        posts = [(f"p{i:03d}", t0 + timedelta(seconds=args.spacing * i), [f"a{i % 5}"]) for i in range(args.posts)]
        campaign(root, accounts, posts)
        proc = subprocess.Popen([SPI, "post", "schedule", "--no-watch"], cwd=root, env=env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            def done():
                return sum(len((root / "outbox" / f"a{i}.jsonl").read_text().splitlines())
                           for i in range(5) if (root / "outbox" / f"a{i}.jsonl").exists()) >= args.posts
            ok = wait_for(done, timeout=60)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        if not ok:
            sys.exit("not every post was published")
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from spi_campaign.ledger import SqliteLedger

        led = SqliteLedger.open(root / ".spi" / "state.db")
        lat = [(r.published_at - r.occurrence).total_seconds() for r in led.rows()]
        led.close()

    p50, p99 = pct(lat, 50), pct(lat, 99)
    b50, b99 = pct(base, 50), pct(base, 99)
    print(f"spi schedule publish latency over {len(lat)} posts: p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
          f"max {max(lat) * 1000:.1f} ms (target p99 < 1000 ms: {'OK' if p99 < 1 else 'MISSED'})")
    print(f"baseline bare APScheduler date job: p50 {b50 * 1000:.2f} ms, p99 {b99 * 1000:.2f} ms")
    print(f"ratio spi/baseline: p50 {p50 / max(b50, 1e-6):.1f}x, p99 {p99 / max(b99, 1e-6):.1f}x "
          f"(the difference is the ledger claim, fsync'd, and the adapter's write+fsync)")


if __name__ == "__main__":
    main()
