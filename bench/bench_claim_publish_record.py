"""The engine's claim-publish-record sequence with the ``file`` platform
against the same three steps written directly with sqlite3 and
``os.write``/``fsync``, measured in this run.

Each round: a campaign of ``--posts`` due posts on one ``file`` account is
synced into a fresh ledger (which also holds ``--rows`` rows of published
history, bench/_common.history_campaign), and the ledger file is copied.
Then, alternately (which goes first alternates too):

- the engine: ``Engine.sync`` then ``Dispatcher.drain`` (claim_next in a
  BEGIN IMMEDIATE transaction, the file adapter's flock+write+fsync, the
  outcome recorded), in-process, on the ledger;
- the baseline, on the copy, with the ledger's own pragmas (WAL,
  synchronous=FULL): per row, BEGIN IMMEDIATE, select the first due row of
  the account, UPDATE it to publishing, COMMIT; open the outbox,
  ``os.write`` one JSON line, ``fsync``; BEGIN IMMEDIATE, UPDATE it to
  published, COMMIT.

The figure is the ratio of the medians of the per-publication times.
Target (issue 9): <= 1.5x (it was 1.66x).

    .venv/bin/python bench/bench_claim_publish_record.py [--posts 200] [--rounds 5] [--rows 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import history_campaign, now, verdict  # noqa: E402

TS = "%Y-%m-%dT%H:%M:%S.%fZ"


def due_posts(root: Path, n: int, account: str) -> None:
    due = now().replace(microsecond=0) - timedelta(minutes=30)
    for i in range(n):
        (root / "posts" / f"burst-{i:05d}.yaml").write_text(
            f"id: burst-{i:05d}\nstatus: approved\npublish_at: \"{(due + timedelta(seconds=i)).isoformat()}\"\n"
            f"accounts: [{account}]\ntext: {json.dumps('Tolak gratifikasi! Laporkan ke KPK. ' * 3 + str(i))}\n")


def run_engine(root: Path, account: str) -> tuple[float, int]:
    from spi_campaign.config import load_config
    from spi_campaign.engine import Engine
    from spi_campaign.ledger import SqliteLedger
    from spi_campaign.loader import load_campaign

    cfg = load_config(root / "config.yaml")
    campaign = load_campaign(cfg)
    led = SqliteLedger.open(cfg.state)
    engine = Engine(cfg, led)
    engine.sync(campaign)
    t = time.perf_counter()
    n = engine.dispatcher.drain(account)
    elapsed = time.perf_counter() - t
    engine.close()
    led.close()
    return elapsed, n


def run_baseline(db: Path, outbox: Path, account: str) -> tuple[float, int]:
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("PRAGMA journal_mode = WAL")
    c.execute("PRAGMA synchronous = FULL")
    n = 0
    t = time.perf_counter()
    while True:
        stamp = now().strftime(TS)
        c.execute("BEGIN IMMEDIATE")
        row = c.execute("SELECT post, account, occurrence, attempts FROM publications WHERE account = ? AND "
                        "state = 'pending' AND hold IS NULL AND COALESCE(next_attempt, occurrence) <= ? "
                        "ORDER BY COALESCE(next_attempt, occurrence), occurrence, post LIMIT 1",
                        (account, stamp)).fetchone()
        if row is None:
            c.execute("COMMIT")
            break
        c.execute("UPDATE publications SET state = 'publishing', attempts = ?, claim_token = ?, claimed_at = ?, "
                  "updated_at = ? WHERE post = ? AND account = ? AND occurrence = ?",
                  (row[3] + 1, f"tok-{n}", stamp, stamp, row[0], row[1], row[2]))
        c.execute("COMMIT")
        line = (json.dumps({"post": row[0], "account": row[1], "occurrence": row[2], "published_at": stamp,
                            "text": "Tolak gratifikasi! Laporkan ke KPK. " * 3}, ensure_ascii=False)
                + "\n").encode()
        fd = os.open(outbox, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        done = now().strftime(TS)
        c.execute("BEGIN IMMEDIATE")
        c.execute("UPDATE publications SET state = 'published', published_at = ?, remote_id = ?, url = ?, "
                  "updated_at = ? WHERE post = ? AND account = ? AND occurrence = ?",
                  (done, f"{row[0]}@{row[2]}", outbox.as_uri(), done, row[0], row[1], row[2]))
        c.execute("COMMIT")
        n += 1
    elapsed = time.perf_counter() - t
    c.close()
    return elapsed, n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    eng, base = [], []
    with tempfile.TemporaryDirectory() as d:
        template = Path(d) / "template"
        facts = history_campaign(template, rows=args.rows, future=0)
        account = "bali-x"
        due_posts(template, args.posts, account)
        for i in range(args.rounds):
            root = Path(d) / f"r{i}"
            shutil.copytree(template, root)
            copy = Path(d) / f"base{i}.db"
            shutil.copy(root / ".spi" / "state.db", copy)
            # the baseline's rows: the engine's sync would insert them, so insert them the same way
            _sync_only(root)
            shutil.copy(root / ".spi" / "state.db", copy)
            order = [("engine", lambda: run_engine(root, account)),
                     ("base", lambda: run_baseline(copy, Path(d) / f"base{i}.jsonl", account))]
            if i % 2:
                order.reverse()
            for name, fn in order:
                elapsed, n = fn()
                if n != args.posts:
                    sys.exit(f"{name}: published {n}, expected {args.posts}")
                (eng if name == "engine" else base).append(elapsed / n)
            shutil.rmtree(root)
    a, b = statistics.median(eng), statistics.median(base)
    print(f"(ledger with {facts['history_rows']:,} published rows; {args.posts} due publications per round; "
          f"medians of {args.rounds} alternating rounds)")
    print(f"claim-publish-record, file platform: engine {a * 1000:.2f} ms vs sqlite3+os.write/fsync "
          f"{b * 1000:.2f} ms per publication = {a / b:.2f}x (target <= 1.5x) {verdict(a / b, 1.5)}")


def _sync_only(root: Path) -> None:
    from spi_campaign.config import load_config
    from spi_campaign.engine import Engine
    from spi_campaign.ledger import SqliteLedger
    from spi_campaign.loader import load_campaign

    cfg = load_config(root / "config.yaml")
    led = SqliteLedger.open(cfg.state)
    Engine(cfg, led).sync(load_campaign(cfg))
    led.close()


if __name__ == "__main__":
    main()
