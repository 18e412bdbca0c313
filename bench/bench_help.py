"""`spi --help` wall time as a ratio of `python -c pass` (target: <= 4x), in
English and in Bahasa Indonesia (SPI_LANG=id: the gettext catalogs of spi and
Click are loaded and every help text is translated).

Run: python bench/bench_help.py [--runs 15]
"""

from __future__ import annotations

import argparse
import sys

from _common import SPI, env, interleaved

p = argparse.ArgumentParser()
p.add_argument("--runs", type=int, default=15)
args = p.parse_args()

for lang in ("en", "id"):
    e = env()
    e["SPI_LANG"] = lang
    help_t, base_t = interleaved([SPI, "--help"], [sys.executable, "-c", "pass"], args.runs, env=e)
    ratio = help_t / base_t
    print(f"SPI_LANG={lang}  spi --help: {help_t * 1000:.0f} ms   python -c pass: {base_t * 1000:.0f} ms   "
          f"ratio {ratio:.2f}x (target <= 4x) {'OK' if ratio <= 4 else 'OVER'}")
