"""Helpers for the publishing tests: real campaign folders, real ``spi``
processes, real SQLite ledgers. Loaded by ``tests/_support.load_plugin``
without putting this folder on sys.path; subprocesses get it on PYTHONPATH
(``env()``), which is also what makes the ``flaky`` entry point visible to
them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

PLUGINS = Path(__file__).resolve().parent
ROOT = PLUGINS.parents[1]
UTC = timezone.utc
SPI = str(Path(sys.executable).parent / "spi")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def now() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    return dt.isoformat(timespec="microseconds") if dt.microsecond else dt.isoformat(timespec="seconds")


def write_config(root: Path, accounts: dict[str, dict], *, catch_up: str = "6h", max_attempts: int = 5,
                 retry_backoff: str = "30s", timezone_name: str = "Asia/Makassar",
                 ledger_since: str | None = "2026-01-01T00:00:00.000000Z") -> Path:
    lines = [f"timezone: {timezone_name}", "posts_dir: posts", "state: .spi/state.db",
             f"catch_up: {catch_up}", f"max_attempts: {max_attempts}", f"retry_backoff: {retry_backoff}",
             "accounts:"]
    for name, spec in accounts.items():
        lines.append(f"  {name}:")
        for k, v in spec.items():
            lines.append(f"    {k}: {v}")
    (root / "posts").mkdir(parents=True, exist_ok=True)
    path = root / "config.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if ledger_since is not None:
        # The campaign was set up (``spi init``) before its posts fell due: a
        # new ledger never publishes what fell due before it was created.
        init_ledger(root, ledger_since)
    return path


def init_ledger(root: Path, created_at: str) -> None:
    from spi_campaign.ledger import SqliteLedger

    state = root / ".spi" / "state.db"
    if state.exists():
        return
    led = SqliteLedger.open(state)
    try:
        led.set_meta("created_at", created_at)
    finally:
        led.close()


def file_accounts(names, platform: str = "file", **extra) -> dict[str, dict]:
    return {n: {"platform": platform, "path": f"outbox/{n}.jsonl", **extra} for n in names}


def post_yaml(pid: str, publish_at, accounts, *, text: str | None = None, status: str = "approved",
              repeat: str | None = None, until: str | None = None) -> str:
    when = iso(publish_at) if isinstance(publish_at, datetime) else publish_at
    out = [f"id: {pid}", f"status: {status}"]
    if when is not None:
        out.append(f'publish_at: "{when}"')
    if repeat:
        out.append(f'repeat: "{repeat}"')
    if until:
        out.append(f"until: {until}")
    out.append(f"accounts: [{', '.join(accounts)}]")
    out.append(f"text: {json.dumps(text or 'Tolak gratifikasi, laporkan ke KPK: ' + pid)}")
    return "\n".join(out) + "\n"


def write_post(root: Path, pid: str, publish_at, accounts, **kw) -> Path:
    path = root / "posts" / f"{pid}.yaml"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(post_yaml(pid, publish_at, accounts, **kw), encoding="utf-8")
    os.replace(tmp, path)   # atomic, like an editor's save
    return path


def read_jsonl(path: Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def outbox(root: Path, account: str) -> list[dict]:
    return read_jsonl(root / "outbox" / f"{account}.jsonl")


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("SPI_")}
    e["PYTHONPATH"] = os.pathsep.join([str(PLUGINS), e.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    e["PYTHONUNBUFFERED"] = "1"
    e["COLUMNS"] = "200"
    return e


def spi(root: Path, *args: str, timeout: float = 60, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([SPI, "--config", str(root / "config.yaml"), *args], cwd=root, env=env(),
                          capture_output=True, text=True, timeout=timeout, input=input)


def spawn(root: Path, *args: str, log: str = "schedule.log") -> subprocess.Popen:
    fh = open(root / log, "ab")
    return subprocess.Popen([SPI, "--config", str(root / "config.yaml"), *args], cwd=root, env=env(),
                            stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)


def schedule_log(root: Path) -> str:
    """What ``spawn`` wrote to ``schedule.log`` so far."""
    p = root / "schedule.log"
    return p.read_text(errors="replace") if p.exists() else ""


def stop(proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 20) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout=timeout)
    finally:
        end_group(proc)


def end_group(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """End what is left of a process started with ``start_new_session=True``:
    a wrapper such as ``faketime`` forks the real ``spi`` and does not pass
    signals on, so stopping the wrapper alone left daemons running after the
    test session."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return      # no such group: nothing left (or not started in its own session)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def wait_for(cond, timeout: float = 15.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        time.sleep(interval)


def ledger_rows(root: Path):
    from spi_campaign.ledger import SqliteLedger

    led = SqliteLedger.open(root / ".spi" / "state.db")
    try:
        return led.rows()
    finally:
        led.close()


def control(root: Path, account: str, **settings) -> None:
    """Write the flaky adapter's control file for ``account``."""
    p = root / "outbox" / f"{account}.jsonl.control.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(settings), encoding="utf-8")


def calls(root: Path, account: str) -> list[dict]:
    return read_jsonl(root / "outbox" / f"{account}.jsonl.calls.jsonl")


def keys(records) -> list[tuple[str, str, str]]:
    return [(r["post"], r["account"], datetime.fromisoformat(r["occurrence"]).astimezone(UTC).isoformat())
            for r in records]


def later(seconds: float) -> datetime:
    return now() + timedelta(seconds=seconds)
