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


# ----- realistic history: 10 agencies x 3 platforms, ~2 years of daily posts -----------------

AGENCIES = ("bali", "badung", "bangli", "buleleng", "denpasar", "gianyar", "jembrana", "karangasem",
            "klungkung", "tabanan")
PLATFORMS = ("x", "fb", "ig")
WITA = timezone(timedelta(hours=8))
TEXT = "Tolak gratifikasi! Laporkan ke KPK melalui gol.kpk.go.id. Bersama kita wujudkan Bali bebas korupsi. "


def history_accounts(n: int = 30, platform: str = "file") -> dict[str, dict]:
    """Up to 30 accounts, 3 per agency, all ``file`` (no credentials, so every
    one can publish) or the test plugins' ``flaky`` (slow on demand)."""
    names = [f"{a}-{p}" for a in AGENCIES for p in PLATFORMS][:n]
    return {name: {"platform": platform, "path": f"outbox/{name}.jsonl"} for name in names}


def history_campaign(root: Path, *, rows: int, days: int = 730, future: int = 200, empty: bool = False,
                     accounts: int = 30, platform: str = "file") -> dict:
    """``build_history`` in a child process: the bench process stays small,
    so a child's peak RSS (which Linux counts from the RSS of the process it
    was forked from) is the child's own."""
    env_ = env()
    code = ("import json, sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
            "from _common import build_history, history_accounts; "
            "print(json.dumps(build_history(Path(sys.argv[2]), rows=int(sys.argv[3]), days=int(sys.argv[4]), "
            "future=int(sys.argv[5]), empty=sys.argv[6] == '1', "
            "accounts=history_accounts(int(sys.argv[7]), sys.argv[8]))))")
    out = subprocess.run([sys.executable, "-c", code, str(HERE), str(root), str(rows), str(days), str(future),
                          "1" if empty else "0", str(accounts), platform],
                         check=True, capture_output=True, text=True, env=env_).stdout
    return json.loads(out)


def build_history(root: Path, *, rows: int, days: int = 730, future: int = 200, empty: bool = False,
                  accounts: dict[str, dict] | None = None) -> dict:
    """A campaign folder whose ledger holds ``rows`` published rows (0: no
    ledger), like two years of a real campaign: daily recurring posts to every
    account (``repeat``), published each day since ``days`` ago, plus
    ``future`` one-off posts still to come (the open rows). The ledger is
    created by ``SqliteLedger.open()`` (schema, triggers, state_counts), then
    filled with one ``executemany`` in one transaction. ``empty``: the same
    campaign (the posts ``rows`` needs) with no ledger, the baseline. Returns
    facts for the report."""
    accounts = accounts or history_accounts()
    names = list(accounts)
    per_day = len(names)
    n_rec = max(1, -(-rows // (per_day * days)))
    start_day = (now().astimezone(WITA) - timedelta(days=days)).date()
    recurring = []   # (pid, hour, minute)
    for i in range(n_rec):
        recurring.append((f"harian-{i:03d}", 6 + (i * 7) // 60 % 14, (i * 7) % 60))
    root.mkdir(parents=True, exist_ok=True)
    lines = ["timezone: Asia/Makassar", "posts_dir: posts", "state: .spi/state.db", "catch_up: 6h", "accounts:"]
    for name, spec in accounts.items():
        lines.append(f"  {name}:")
        lines += [f"    {k}: {v}" for k, v in spec.items()]
    (root / "config.yaml").write_text("\n".join(lines) + "\n")
    (root / "posts").mkdir(exist_ok=True)
    acc_list = "[" + ", ".join(names) + "]"
    for pid, h, m in recurring:
        (root / "posts" / f"{pid}.yaml").write_text(
            f"id: {pid}\nstatus: approved\npublish_at: \"{start_day.isoformat()}T{h:02d}:{m:02d}:00+08:00\"\n"
            f"repeat: \"{m} {h} * * *\"\naccounts: {acc_list}\ntext: {json.dumps(TEXT + pid)}\n")
    t0 = now().replace(microsecond=0) + timedelta(days=2)
    for i in range(future):
        accs = [names[(i * 3 + k) % per_day] for k in range(3)]
        pid = f"sosialisasi-{i:04d}"
        (root / "posts" / f"{pid}.yaml").write_text(
            f"id: {pid}\nstatus: approved\npublish_at: \"{(t0 + timedelta(hours=i)).isoformat()}\"\n"
            f"accounts: [{', '.join(accs)}]\ntext: {json.dumps(TEXT + pid)}\n")
    facts = {"recurring_posts": n_rec, "future_posts": future, "accounts": per_day, "history_rows": 0}
    if rows and not empty:
        facts["history_rows"] = fill_history(root, recurring, names, start_day, rows)
    _set_up_since(root, start_day)
    return facts


def _set_up_since(root: Path, day) -> None:
    """The campaign was set up (``spi init`` creates the ledger) when its
    history began: a new ledger never publishes what fell due before it."""
    sys.path.insert(0, str(HERE.parent))
    from spi_campaign.config import load_config
    from spi_campaign.ledger import SqliteLedger

    led = SqliteLedger.open(load_config(root / "config.yaml").state)
    try:
        led.set_meta("created_at", f"{day.isoformat()}T00:00:00.000000Z")
    finally:
        led.close()


def fill_history(root: Path, recurring, names, start_day, rows: int) -> int:
    import sqlite3

    sys.path.insert(0, str(HERE.parent))
    from spi_campaign.compose import render
    from spi_campaign.config import load_config
    from spi_campaign.ledger import SqliteLedger
    from spi_campaign.loader import load_campaign
    from spi_campaign.planner import post_digest

    cfg = load_config(root / "config.yaml")
    camp = load_campaign(cfg)
    posts = {p.id: p for p in camp.posts}
    led = SqliteLedger.open(cfg.state)
    led.close()
    cutoff = now() - timedelta(minutes=1)     # history reaches now: nothing is due
    conn = sqlite3.connect(cfg.state, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -262144")    # 256 MB: the random-order index inserts stay in memory

    def gen():
        n = 0
        for pid, h, m in recurring:
            post = posts[pid]
            days = []      # the same slots for every account: formatted once
            day = start_day
            while True:
                local = datetime(day.year, day.month, day.day, h, m, tzinfo=WITA)
                occ = local.astimezone(UTC)
                if occ > cutoff:
                    break
                pub = (occ + timedelta(seconds=1, microseconds=250_000)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                days.append((occ.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), pub, f"{pid}@{local.isoformat()}",
                             local.strftime("%Y-%m-%dT%H:%M") + "|Asia/Makassar"))
                day += timedelta(days=1)
            file = str(post.file)
            for name in names:
                acc = cfg.accounts[name]
                digest = post_digest(post, acc)
                chash = render(post, acc, None).content_hash()
                url = f"file:///outbox/{name}.jsonl#"
                for o, pub, rid, local in days:
                    if n >= rows:
                        return
                    yield (pid, name, o, "published", 1, chash, chash, rid, url + rid, "{}", file, pub, pub, pub,
                           local, digest)
                    n += 1

    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO publications (post, account, occurrence, state, attempts, content_hash, published_hash, "
        "remote_id, url, progress, file, published_at, created_at, updated_at, local_at, post_digest) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", gen())
    conn.execute("INSERT INTO meta VALUES ('created_at', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                 (datetime.combine(start_day, datetime.min.time(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),))
    conn.execute("COMMIT")
    total = conn.execute("SELECT n FROM state_counts WHERE state = 'published'").fetchone()[0]
    conn.close()
    return total


def peak_rss_mb(cmd: list[str], cwd=None, env=None, stdout=subprocess.DEVNULL) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MB, exit code) of one child process (wait4's rusage)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=stdout, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss / 1024, proc.returncode


def verdict(ratio: float, target: float) -> str:
    return "OK" if ratio <= target else "MISSED"
