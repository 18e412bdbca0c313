"""Daemon reload after saving one post file, against the first full load,
with 10,000 posts and a ledger of 100,000 published rows plus the
campaign's open rows (bench/_common.history_campaign).

Measured in-process, with the code the daemon runs: the first full load is
``load_config`` + ``load_campaign`` + ``Engine.sync`` (what ``spi post
schedule`` does before its first "spi schedule:" line, on a ledger that
already holds the campaign's rows, as after any restart); a reload is one
post file rewritten (its text edited) then ``reload_campaign`` +
``Engine.sync`` (what the daemon's loader thread and its queued ``_apply``
do after a file event). In-process because the daemon's file-event latency
(inotify, debouncing) is not what the issue measures. Full loads and
reloads alternate ``--runs`` times; medians. Target (issue 9): <= 0.2x.

    .venv/bin/python bench/bench_reload.py [--posts 10000] [--rows 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import SPI, env, history_campaign, verdict  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=10_000)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    from spi_campaign.config import load_config
    from spi_campaign.engine import Engine
    from spi_campaign.ledger import SqliteLedger
    from spi_campaign.loader import load_campaign
    from spi_campaign.reload import reload_campaign

    with tempfile.TemporaryDirectory() as d:
        root = Path(d) / "c"
        t = time.monotonic()
        facts = history_campaign(root, rows=args.rows, future=args.posts - 1)
        built = time.monotonic() - t
        r = subprocess.run([SPI, "post", "publish-due"], cwd=root, env=env(), capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"publish-due exited {r.returncode}: {r.stdout[-500:]}")
        victim = root / "posts" / "sosialisasi-0007.yaml"
        original = victim.read_text()
        full, reload = [], []
        for i in range(args.runs):
            t = time.perf_counter()
            cfg = load_config(root / "config.yaml")
            campaign = load_campaign(cfg)
            led = SqliteLedger.open(cfg.state)
            engine = Engine(cfg, led)
            engine.sync(campaign)
            full.append(time.perf_counter() - t)
            n_posts = len(campaign.posts)

            victim.write_text(original.replace("Tolak gratifikasi!", f"Tolak gratifikasi (revisi {i})!"))
            t = time.perf_counter()
            # what the daemon does after the watcher reports the saved file
            got = reload_campaign(engine.campaign, cfg, paths=frozenset([victim]))
            engine.set_campaign(got.campaign)
            engine.sync(only=got.changed)
            reload.append(time.perf_counter() - t)
            assert got.read == 1, got.read
            assert engine.ledger.get(next(iter(engine.ledger.open_rows(posts=["sosialisasi-0007"]))).key)
            engine.close()
            led.close()
        rows = led_rows(root)
    a, b = statistics.median(reload), statistics.median(full)
    print(f"(campaign: {n_posts:,} posts, ledger {rows:,} rows of which {facts['history_rows']:,} published "
          f"history; built in {built:.0f} s; medians of {args.runs} alternating runs, in-process)")
    print(f"daemon reload after saving one file: {a:.3f} s vs first full load {b:.3f} s = {a / b:.2f}x "
          f"(target <= 0.2x) {verdict(a / b, 0.2)}")


def led_rows(root: Path) -> int:
    import sqlite3

    c = sqlite3.connect(root / ".spi" / "state.db")
    try:
        return c.execute("SELECT SUM(n) FROM state_counts").fetchone()[0]
    finally:
        c.close()


if __name__ == "__main__":
    main()
