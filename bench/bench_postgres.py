"""Issue 12's figures for the PostgreSQL ledger, each against a baseline in
the same run, on a throwaway PostgreSQL server started here (tests/_pg.py).

1. claim-and-record overhead per publication: ``claim_next`` + ``finish``
   on PostgreSQL vs the same two calls on the SQLite ledger, in-process, on
   ledgers holding the same pending rows. Target <= 3x.
2. publish lag p99 with 3 ``spi post schedule`` daemons (``--host-id``s
   standing for machines) sharing the PostgreSQL ledger: posts due at
   distinct instants a few seconds ahead; lag = the adapter's own timestamp
   minus the occurrence. Target < 50 ms.
3. 10,000 publications due in one minute over 30 accounts and 3 daemons,
   with a 50 ms adapter (the ``flaky`` test platform): the time from the due
   instant until the last one is recorded, against the per-account serial
   bound (publications per account x 50 ms). Target <= 1.3x.

    .venv/bin/python bench/bench_postgres.py [--claims 2000] [--lag-posts 40] [--burst 10000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))
from _common import SPI, env, now, pct, verdict, wait_for  # noqa: E402

import _pg  # noqa: E402  (tests/_pg.py: the same throwaway cluster the tests use)


def claims(url: str, n: int) -> tuple[float, float]:
    from spi_campaign.ledger import Owner, Publication, SqliteLedger
    from spi_campaign.ledger.postgres import PostgresLedger

    t0 = now() - timedelta(minutes=30)
    rows = [Publication(f"p{i:05d}", "a", t0 + timedelta(milliseconds=i)) for i in range(n)]
    out = []
    with tempfile.TemporaryDirectory() as d:
        for led in (SqliteLedger.open(Path(d) / "s.db"), PostgresLedger.open(url, f"bench-{uuid.uuid4().hex[:6]}")):
            led.insert(rows, now())
            me = Owner.me()
            t = time.perf_counter()
            done = 0
            while True:
                at = now()
                c = led.claim_next("a", me, at, lease_until=at + timedelta(minutes=2), miss_cutoff=None)
                if c.row is None:
                    break
                led.finish(c.row.claim_token, {"state": "published", "url": "u", "published_at": at}, at, "ok",
                           key=c.row.key)
                done += 1
            out.append((time.perf_counter() - t) / done)
            led.close()
    return out[0], out[1]


def campaign(root: Path, url: str, accounts: list[str], posts: list[tuple[str, datetime]], delay_ms: int) -> None:
    root.mkdir(parents=True)
    name = f"bench-{uuid.uuid4().hex[:8]}"
    lines = [f"name: {name}", "timezone: Asia/Makassar", "posts_dir: posts", f"state: {url}", "catch_up: 6h",
             "accounts:"]
    for a in accounts:
        lines += [f"  {a}:", "    platform: flaky", f"    path: outbox/{a}.jsonl"]
    (root / "config.yaml").write_text("\n".join(lines) + "\n")
    (root / "posts").mkdir()
    for pid, when in posts:
        (root / "posts" / f"{pid}.yaml").write_text(
            f"id: {pid}\nstatus: approved\npublish_at: \"{when.isoformat()}\"\naccounts: [{', '.join(accounts)}]\n"
            f"text: {json.dumps('Tolak gratifikasi, laporkan ke KPK: ' + pid)}\n")
    for a in accounts:
        ctl = root / "outbox" / f"{a}.jsonl.control.json"
        ctl.parent.mkdir(exist_ok=True)
        ctl.write_text(json.dumps({"delay_ms": delay_ms}))
    from spi_campaign.ledger.postgres import PostgresLedger

    led = PostgresLedger.open(url, name)
    led.set_meta("created_at", "2026-01-01T00:00:00.000000Z")
    led.close()


def outbox(root: Path, accounts: list[str]) -> list[dict]:
    out = []
    for a in accounts:
        p = root / "outbox" / f"{a}.jsonl"
        if p.exists():
            out += [json.loads(x) for x in p.read_text().splitlines() if x.strip()]
    return out


def daemons(root: Path, n: int) -> list[subprocess.Popen]:
    procs = []
    for i in range(n):
        log = open(root / f"d{i}.log", "w")
        procs.append(subprocess.Popen([SPI, "post", "schedule", "--no-watch", "--host-id", f"mesin-{i}"], cwd=root,
                                      env=env(), stdout=log, stderr=log))
    wait_for(lambda: all("spi schedule:" in (root / f"d{i}.log").read_text() for i in range(n)), timeout=120)
    return procs


def stop(procs) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=60)


def lag(url: str, root: Path, n: int) -> list[float]:
    accounts = ["a"]
    start = now().replace(microsecond=0) + timedelta(seconds=40)
    posts = [(f"lag-{i:03d}", start + timedelta(milliseconds=700 * i)) for i in range(n)]
    campaign(root, url, accounts, posts, delay_ms=0)
    procs = daemons(root, 3)
    wait_for(lambda: len(outbox(root, accounts)) >= n, timeout=120 + n)
    stop(procs)
    # the ledger's published_at (microseconds; the outbox line has seconds only)
    rows = _rows(url, root)
    return [(r.published_at - r.occurrence).total_seconds() for r in rows if r.state == "published"]


def _rows(url: str, root: Path):
    from spi_campaign.ledger.postgres import PostgresLedger

    name = (root / "config.yaml").read_text().split("\n", 1)[0].split(": ", 1)[1]
    led = PostgresLedger.open(url, name)
    try:
        return led.rows()
    finally:
        led.close()


def burst(url: str, root: Path, n: int) -> tuple[float, float, int]:
    accounts = [f"akun{i:02d}" for i in range(30)]
    per_post = len(accounts)
    n_posts = -(-n // per_post)
    due = now().replace(microsecond=0) + timedelta(seconds=90)
    posts = [(f"b-{i:04d}", due + timedelta(milliseconds=(i * 37) % 59000)) for i in range(n_posts)]
    campaign(root, url, accounts, posts, delay_ms=50)
    procs = daemons(root, 3)
    total = n_posts * per_post
    if now() >= due:
        stop(procs)
        sys.exit("the daemons took longer than 90 s to start: rerun on a quieter machine")
    wait_for(lambda: len(outbox(root, accounts)) >= total, timeout=900)
    stop(procs)
    last = max(r.published_at for r in _rows(url, root) if r.published_at)
    got = len(outbox(root, accounts))
    bound = (total / len(accounts)) * 0.050
    return (last - due).total_seconds(), bound, got


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=2000)
    ap.add_argument("--lag-posts", type=int, default=40)
    ap.add_argument("--burst", type=int, default=10000)
    args = ap.parse_args()
    folder = tempfile.mkdtemp(prefix="spi-pg-bench-")
    url, stop_server = _pg.start(folder)
    work = Path(tempfile.mkdtemp(prefix="spi-bench-"))
    try:
        s, p = claims(url, args.claims)
        print(f"claim-and-record per publication: PostgreSQL {p * 1000:.2f} ms vs SQLite {s * 1000:.2f} ms = "
              f"{p / s:.2f}x (target <= 3x) {verdict(p / s, 3)}")
        lags = lag(url, work / "lag", args.lag_posts)
        p99 = pct(lags, 99) * 1000
        print(f"publish lag with 3 daemons on PostgreSQL: p50 {statistics.median(lags) * 1000:.1f} ms, "
              f"p99 {p99:.1f} ms over {len(lags)} publications (target < 50 ms) {'OK' if p99 < 50 else 'MISSED'}")
        took, bound, got = burst(url, work / "burst", args.burst)
        print(f"{got:,} publications due in one minute, 30 accounts, 3 daemons, 50 ms adapter: finished "
              f"{took:.1f} s after the due minute began vs per-account serial bound {bound:.1f} s = "
              f"{took / bound:.2f}x (target <= 1.3x) {verdict(took / bound, 1.3)}")
    finally:
        stop_server()
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
