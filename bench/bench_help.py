"""`spi --help` wall time as a ratio of `python -c pass` (target: <= 4x).

Run: python bench/bench_help.py [--runs 15]
"""

from __future__ import annotations

import argparse
import sys

from _common import SPI, interleaved

p = argparse.ArgumentParser()
p.add_argument("--runs", type=int, default=15)
args = p.parse_args()

help_t, base_t = interleaved([SPI, "--help"], [sys.executable, "-c", "pass"], args.runs)
ratio = help_t / base_t
print(f"spi --help: {help_t * 1000:.0f} ms   python -c pass: {base_t * 1000:.0f} ms   "
      f"ratio {ratio:.2f}x (target <= 4x) {'OK' if ratio <= 4 else 'OVER'}")
