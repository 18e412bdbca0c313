"""Shared by the bench scripts: campaign folders and the ``spi`` command."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLUGINS = HERE.parent / "tests" / "plugins"
SPI = str(Path(sys.executable).parent / "spi")
UTC = timezone.utc


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("SPI_")}
    e["PYTHONPATH"] = os.pathsep.join(p for p in (str(PLUGINS), e.get("PYTHONPATH", "")) if p)
    e["PYTHONUNBUFFERED"] = "1"
    return e


def campaign(root: Path, accounts: dict[str, dict], posts: list[tuple[str, datetime, list[str]]],
             per_file: int = 1) -> None:
    """config.yaml + posts (``per_file`` posts per YAML file, as a list)."""
    root.mkdir(parents=True, exist_ok=True)
    lines = ["timezone: Asia/Makassar", "posts_dir: posts", "state: .spi/state.db", "catch_up: 6h", "accounts:"]
    for name, spec in accounts.items():
        lines.append(f"  {name}:")
        lines += [f"    {k}: {v}" for k, v in spec.items()]
    (root / "config.yaml").write_text("\n".join(lines) + "\n")
    (root / "posts").mkdir(exist_ok=True)
    for start in range(0, len(posts), per_file):
        chunk = posts[start:start + per_file]
        docs = []
        for pid, when, accs in chunk:
            docs.append("\n".join([
                f"- id: {pid}" if per_file > 1 else f"id: {pid}",
                f"  status: approved" if per_file > 1 else "status: approved",
                (f'  publish_at: "{when.isoformat()}"' if per_file > 1 else f'publish_at: "{when.isoformat()}"'),
                (f"  accounts: [{', '.join(accs)}]" if per_file > 1 else f"accounts: [{', '.join(accs)}]"),
                (f"  text: {json.dumps('Tolak gratifikasi! Laporkan ke KPK. ' * 3 + pid)}" if per_file > 1
                 else f"text: {json.dumps('Tolak gratifikasi! Laporkan ke KPK. ' * 3 + pid)}"),
            ]))
        (root / "posts" / f"{chunk[0][0]}.yaml").write_text("\n".join(docs) + "\n")


def now() -> datetime:
    return datetime.now(UTC)


def wait_for(cond, timeout: float, interval: float = 0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(interval)
    return cond()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, from /proc (Linux)."""
    with open(f"/proc/{pid}/stat", "rb") as fh:
        data = fh.read()
    fields = data[data.rindex(b")") + 2:].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def vm_hwm_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * (len(s) - 1)))))
    return s[k]


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
