"""CPU used by an idle ``spi post schedule`` with 1,000 future posts, against
an idle ``python -c "import time; time.sleep(N)"`` measured the same way.

    .venv/bin/python bench/bench_idle_cpu.py [--seconds 60] [--posts 1000]
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SPI, campaign, cpu_seconds, env, now, wait_for  # noqa: E402


def measure(pid: int, seconds: float) -> float:
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - c0) / (time.monotonic() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--posts", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        accounts = {f"a{i}": {"platform": "file", "path": f"outbox/a{i}.jsonl"} for i in range(5)}
        start = now().replace(microsecond=0) + timedelta(days=1)
        posts = [(f"p{i:04d}", start + timedelta(minutes=i), [f"a{i % 5}"]) for i in range(args.posts)]
        campaign(root, accounts, posts)
        log = open(root / "schedule.log", "wb")
        proc = subprocess.Popen([SPI, "post", "schedule"], cwd=root, env=env(), stdout=log, stderr=subprocess.STDOUT)
        base = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({args.seconds + 30})"])
        try:
            if not wait_for(lambda: b"spi schedule:" in (root / "schedule.log").read_bytes(), timeout=60):
                sys.exit("schedule did not start")
            time.sleep(2)   # let the start-up sync finish
            spi_frac = measure(proc.pid, args.seconds)
            base_frac = (cpu_seconds(base.pid)) / 1.0  # total since start (it only ever sleeps)
            base_frac = measure(base.pid, min(5.0, args.seconds))
        finally:
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=30)
            base.kill()
            base.wait()
    print(f"idle spi schedule with {args.posts} future posts over {args.seconds:.0f} s: "
          f"{spi_frac * 100:.3f}% of one core (target < 1%: {'OK' if spi_frac < 0.01 else 'MISSED'}); exit {rc}")
    print(f"baseline idle python sleep: {base_frac * 100:.3f}% of one core")
    tick = 1 / __import__('os').sysconf('SC_CLK_TCK')
    print(f"ratio: {spi_frac / base_frac:.1f}x" if base_frac > 0 else
          f"ratio: baseline used 0 ticks (clock tick {tick * 1000:.0f} ms); spi used "
          f"{spi_frac * args.seconds / tick:.0f} ticks in {args.seconds:.0f} s")


if __name__ == "__main__":
    main()
