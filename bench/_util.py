"""Shared helpers for the bench scripts (not part of the package)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPI = [sys.executable, "-m", "spi_campaign"]


def wall(cmd: list[str], cwd=None, env=None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def interleaved(a: list[str], b: list[str], runs: int, cwd=None, env=None) -> tuple[float, float]:
    """Median wall time of commands a and b, run alternately so noise hits both."""
    ta, tb = [], []
    for _ in range(runs):
        ta.append(wall(a, cwd, env))
        tb.append(wall(b, cwd, env))
    return statistics.median(ta), statistics.median(tb)
