"""Shared fixtures. The autouse fixture points every path at ``tmp_path``:
tests run in an empty temporary folder, with no SPI_* variables inherited
from the developer's shell, so nothing reads or writes the real campaign."""

from __future__ import annotations

import os
import signal
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("SPI_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPI_LANG", "en")      # English output whatever LANG says (tests/test_i18n.py covers id)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    yield


class CampaignDir:
    """A campaign folder in tmp_path: ``config.yaml`` + ``posts/``."""

    def __init__(self, root: Path):
        self.root = root
        self.posts = root / "posts"
        self.posts.mkdir(parents=True, exist_ok=True)
        self.config = root / "config.yaml"

    def write_config(self, text: str | None = None, **accounts_extra) -> Path:
        if text is None:
            text = """\
                timezone: Asia/Makassar
                posts_dir: posts
                state: .spi/state.db
                accounts:
                  arsip:
                    platform: file
                    path: outbox/arsip.jsonl
                  kominfo-fb:
                    platform: file
                    path: outbox/fb.jsonl
                """
        self.config.write_text(textwrap.dedent(text), encoding="utf-8")
        return self.config

    def init_ledger(self, created_at: str = "2026-01-01T00:00:00.000000Z") -> None:
        """The ledger as ``spi init`` leaves it, created before the posts fell due."""
        from _support import load_plugin

        load_plugin("spi_testkit").init_ledger(self.root, created_at)

    def post(self, name: str, text: str) -> Path:
        path = self.posts / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def raw(self, name: str, data: bytes) -> Path:
        path = self.posts / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path


@pytest.fixture
def camp(tmp_path) -> CampaignDir:
    c = CampaignDir(tmp_path)
    c.write_config()
    return c


@pytest.fixture
def run_cli(camp):
    """Invoke ``spi --config <camp>/config.yaml ARGS`` with CliRunner."""
    from click.testing import CliRunner

    from spi_campaign.cli import cli

    def run(*args, input=None, env=None, config=True):
        runner = CliRunner()
        full = (["--config", str(camp.config)] if config else []) + list(args)
        return runner.invoke(cli, full, input=input, env=env, catch_exceptions=False)

    return run


@pytest.fixture
def flaky_platform(monkeypatch):
    """Register the ``flaky`` test adapter (tests/plugins/spi_test_adapter.py)
    for this test only (what registry.register does, undone afterwards so
    other tests see the real platforms)."""
    from _support import load_plugin

    from spi_campaign.adapters import registry

    FlakyAdapter = load_plugin("spi_test_adapter").FlakyAdapter
    monkeypatch.setitem(registry._loaded, "flaky", FlakyAdapter)
    monkeypatch.setitem(registry._entry_points(), "flaky", FlakyAdapter)


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory):
    """A real PostgreSQL server for this test session (see tests/_pg.py)."""
    import shutil
    import tempfile

    import _pg

    # Not under pytest's tmp folder: it is private to root, and the server runs as ``postgres``.
    folder = tempfile.mkdtemp(prefix="spi-pg-")
    url, stop = _pg.start(folder)
    yield url
    stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def daemon(tmp_path):
    """Start ``spi post schedule`` in ``tmp_path`` (extra arguments as given);
    returns once its start-up line is out; killed at the end of the test."""
    from _support import load_plugin

    kit = load_plugin("spi_testkit")
    procs = []

    def start(*args):
        p = kit.spawn(tmp_path, "post", "schedule", *args)
        procs.append(p)
        assert kit.wait_for(lambda: "spi schedule:" in kit.schedule_log(tmp_path), timeout=20), \
            kit.schedule_log(tmp_path)
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def _processes_under(folder: str) -> list[tuple[int, str]]:
    """Processes of this machine whose command line names ``folder``."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if folder in cmd:
            found.append((int(entry.name), cmd.strip()))
    return found


@pytest.fixture(scope="session", autouse=True)
def _no_process_left_behind(tmp_path_factory):
    """Every test stops what it starts: a daemon left running after the test
    session (found once: faketime did not pass SIGTERM on to spi) keeps
    publishing into a deleted folder. Such processes are ended and reported."""
    base = str(tmp_path_factory.getbasetemp())
    yield
    deadline = time.monotonic() + 10      # a daemon stopped by the last test may still be exiting
    left = _processes_under(base)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = _processes_under(base)
    for pid, _cmd in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    assert not left, "processes left running by the tests: " + "; ".join(f"{pid}: {cmd[:200]}" for pid, cmd in left)
