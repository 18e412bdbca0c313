"""``spi post schedule``: the foreground daemon.

An APScheduler ``BlockingScheduler`` in the campaign timezone with a
``MemoryJobStore`` only: the ledger is the source of truth, the scheduler
just wakes us up. Jobs:

- ``wake``: a date job at the next time a pending row is due (a publication's
  time, a scheduled retry, a deferral). It starts the workers of the due
  accounts and returns at once: each account publishes in its own thread, so
  a slow account never delays another.
- ``resync``: after workers published something, after a file change or a
  SIGHUP: reload (if asked), sync the ledger, start due workers, re-arm ``wake``.
- ``housekeeping`` (every minute): picks up what other processes changed
  (``spi post retry``, a crashed ``publish-due``): one cheap query, and a full
  sync every ``FULL_SYNC_EVERY``.

Idle, the main thread sleeps in the scheduler until the next job, the file
watcher blocks in ``select`` on an inotify descriptor, and no other thread
runs: no busy loop, no measurable CPU.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import select
import signal
import struct
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

from spi_campaign.errors import SpiError

log = logging.getLogger("spi_campaign.scheduler")

HOUSEKEEPING_SECONDS = 60
FULL_SYNC_EVERY = timedelta(minutes=15)
DEBOUNCE_SECONDS = 0.25
POLL_SECONDS = 2.0


class Daemon:
    def __init__(self, app, *, console, dry_run: bool = False, watch: bool = True,
                 now: Callable[[], datetime] | None = None):
        self.app = app
        self.console = console
        self.dry_run = dry_run
        self.watch = watch
        self.engine = None
        self.scheduler = None
        self.watcher: Watcher | None = None
        self._last_full = None
        self._stop_once = threading.Lock()
        self._req_lock = threading.Lock()
        self._want_reload = self._want_config = self._queued = False
        self._seq = 0
        self._stopped = threading.Event()

    # ----- lifecycle ------------------------------------------------------------------

    def run(self) -> int:
        from apscheduler.executors.pool import ThreadPoolExecutor as ApsPool
        from apscheduler.jobstores.memory import MemoryJobStore
        from apscheduler.schedulers.blocking import BlockingScheduler

        from spi_campaign import render_publish as rp
        from spi_campaign.engine import Engine
        from spi_campaign.ledger import open_ledger

        cfg = self.app.config()
        campaign = self.app.campaign()
        tz = cfg.timezone
        ledger = open_ledger(cfg.state, dry_run=self.dry_run)
        self.engine = Engine(cfg, ledger, dry_run=self.dry_run,
                             on_outcome=lambda o: rp.outcome_line(self.console, o, self.engine.config.timezone),
                             on_dry_run=lambda r: rp.dry_run_post(self.console, r, self.engine.config.timezone))
        self.engine.after_drain = self._after_drain
        self.scheduler = BlockingScheduler(
            timezone=tz, jobstores={"default": MemoryJobStore()},
            executors={"default": ApsPool(max_workers=1)},
            # One executor thread runs every job in turn; a high max_instances
            # means a job re-armed while it runs is queued, never skipped.
            job_defaults={"coalesce": True, "max_instances": 100, "misfire_grace_time": None})
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_stop_signal)
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, self._on_hup)

        rp.message(self.console, f"spi schedule: {len(campaign.posts)} posts, {len(cfg.accounts)} accounts, "
                                 f"timezone {cfg.timezone_name}, ledger {cfg.rel(cfg.state)}"
                                 + (" (dry run: nothing is written)" if self.dry_run else ""))
        self.engine.set_campaign(campaign)
        self._sync_and_dispatch(initial=True)
        self.scheduler.add_job(self._housekeeping, "interval", seconds=HOUSEKEEPING_SECONDS, id="housekeeping")
        if self.watch:
            self.watcher = Watcher(cfg.posts_dir, cfg.path, self._on_files_changed)
            self.watcher.start()
        try:
            if not self.engine._stopping.is_set():
                self.scheduler.start()   # blocks until shutdown
        finally:
            if self.watcher is not None:
                self.watcher.stop()
            # Let the publication in flight finish; claim nothing new.
            self.engine.stop()
            self.engine.wait_idle()
            self.engine.close()
            ledger.close()
        rp.message(self.console, "spi schedule: stopped")
        return 0

    def _on_stop_signal(self, signum, frame) -> None:
        # Never touch the scheduler's locks from a signal handler (the main
        # thread may hold them): hand over to a thread.
        self.engine.stop()
        threading.Thread(target=self._shutdown, name="spi-stop", daemon=True).start()

    def _shutdown(self) -> None:
        from apscheduler.schedulers import SchedulerNotRunningError

        if not self._stop_once.acquire(blocking=False):
            return
        # The signal may come before the scheduler runs (during the start-up
        # catch-up): run() then does not start it; or it is starting right
        # now: keep trying briefly.
        for _ in range(200):
            try:
                self.scheduler.shutdown(wait=False)
                return
            except SchedulerNotRunningError:
                time.sleep(0.05)
            except Exception:
                log.debug("shutdown", exc_info=True)
                return

    def _on_hup(self, signum, frame) -> None:
        threading.Thread(target=self._request_resync, kwargs={"reload": True, "config": True},
                         name="spi-hup", daemon=True).start()

    def _on_files_changed(self) -> None:
        self._request_resync(reload=True, config=True)

    # ----- jobs ----------------------------------------------------------------------

    def _request_resync(self, *, reload: bool = False, config: bool = False) -> None:
        """Queue one resync job; requests made before it starts are merged
        into it (a request made while it runs queues the next one)."""
        if self.engine._stopping.is_set():
            return
        with self._req_lock:
            self._want_reload |= reload
            self._want_config |= config
            if self._queued:
                return
            self._queued = True
            self._seq += 1
            seq = self._seq
        try:
            self.scheduler.add_job(self._resync_job, id=f"resync-{seq}")
        except Exception:
            with self._req_lock:
                self._queued = False
            log.debug("could not queue a resync", exc_info=True)

    def _resync_job(self) -> None:
        with self._req_lock:
            reload, config = self._want_reload, self._want_config
            self._want_reload = self._want_config = self._queued = False
        self._resync(reload=reload, config=config)

    def _after_drain(self, account: str, claimed: int) -> None:
        # Something was published: the next occurrence of a recurring post,
        # a retry time... re-sync and re-arm the wake-up. Nothing claimed:
        # nothing changed, so no follow-up (no loop).
        if claimed:
            self._request_resync()

    def _resync(self, reload: bool = False, config: bool = False) -> None:
        from spi_campaign import render_publish as rp

        if reload:
            try:
                if config:
                    from spi_campaign.config import load_config

                    cfg = load_config(self.app.config_path)
                    self.app._config = cfg
                    self.engine.config = cfg
                from spi_campaign.loader import load_campaign

                campaign = load_campaign(self.app.config())
                self.app._campaign = campaign
                self.engine.set_campaign(campaign)
                rp.message(self.console, f"reloaded: {len(campaign.posts)} posts"
                           + (f", {len(campaign.broken_files)} unreadable file(s)" if campaign.broken_files else ""))
            except SpiError as exc:
                rp.message(self.console, f"reload failed, keeping the previous version: {exc}", "bold red")
        self._sync_and_dispatch()

    def _sync_and_dispatch(self, initial: bool = False) -> None:
        from spi_campaign import render_publish as rp

        try:
            rep = self.engine.sync()
            self._last_full = time.monotonic()
            quiet = not initial
            if quiet:
                rep.unknown = [r for r in rep.unknown if r in rep.became_unknown]
            rp.sync_report(self.console, rep, self.engine.config.timezone)
        except SpiError as exc:
            rp.message(self.console, f"sync failed: {exc}", "bold red")
        self._dispatch()

    def _dispatch(self) -> None:
        now = self.engine.now()
        try:
            accounts = self.engine.ledger.due_accounts(now)
        except SpiError as exc:
            log.error("cannot read the ledger: %s", exc)
            accounts = set()
        if accounts:
            self.engine.kick(sorted(accounts))
        self._arm(now)

    def _arm(self, now: datetime) -> None:
        from apscheduler.triggers.date import DateTrigger

        try:
            nxt = self.engine.ledger.next_due(after=now)
        except SpiError:
            nxt = None
        if nxt is None:
            try:
                self.scheduler.remove_job("wake")
            except Exception:
                pass
            return
        self.scheduler.add_job(self._wake, DateTrigger(run_date=nxt), id="wake", replace_existing=True)

    def _wake(self) -> None:
        self._dispatch()

    def _housekeeping(self) -> None:
        from spi_campaign.ledger import claimer_dead

        if self._last_full is None or time.monotonic() - self._last_full > FULL_SYNC_EVERY.total_seconds():
            self._sync_and_dispatch()
            return
        # Cheap: a claim by a process that died? (full sync turns it unknown)
        try:
            now = self.engine.now()
            with self.engine._lock:
                mine = set(self.engine._active)
            stale = [r for r in self.engine.ledger.rows(states=("publishing",))
                     if claimer_dead(r, now, mine, self.engine.owner)]
        except SpiError:
            stale = []
        if stale:
            self._sync_and_dispatch()
        else:
            self._dispatch()


# ----- watching the post files ---------------------------------------------------------------

_IN_MODIFY, _IN_ATTRIB, _IN_CLOSE_WRITE = 0x2, 0x4, 0x8
_IN_MOVED_FROM, _IN_MOVED_TO, _IN_CREATE, _IN_DELETE = 0x40, 0x80, 0x100, 0x200
_IN_DELETE_SELF, _IN_MOVE_SELF, _IN_Q_OVERFLOW, _IN_ISDIR = 0x400, 0x800, 0x4000, 0x40000000
_MASK = (_IN_MODIFY | _IN_ATTRIB | _IN_CLOSE_WRITE | _IN_MOVED_FROM | _IN_MOVED_TO | _IN_CREATE | _IN_DELETE
         | _IN_DELETE_SELF | _IN_MOVE_SELF)
_EVENT = struct.Struct("iIII")


class Watcher:
    """Calls ``callback`` (from its own thread) shortly after a post file or
    the config file changes. Linux: inotify through ctypes, blocking in
    ``select`` (zero CPU while nothing changes). Elsewhere: a stat poll every
    ``POLL_SECONDS``."""

    def __init__(self, posts_dir: Path, config_path: Path, callback: Callable[[], None]):
        self.posts_dir = Path(posts_dir).resolve()
        self.config_path = Path(config_path).resolve()
        self.callback = callback
        self._r, self._w = os.pipe()
        self._thread: threading.Thread | None = None
        self._fd = -1
        self._libc = None
        self._wds: dict[int, Path] = {}

    def start(self) -> None:
        target = self._run_inotify if self._init_inotify() else self._run_poll
        self._thread = threading.Thread(target=target, name="spi-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        try:
            os.write(self._w, b"x")
        except OSError:
            pass
        if self._thread is not None:
            self._thread.join(timeout=2)

    # inotify

    def _init_inotify(self) -> bool:
        if not hasattr(os, "O_CLOEXEC") or os.uname().sysname != "Linux":
            return False
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, AttributeError):
            return False
        if fd < 0:
            return False
        self._libc, self._fd = libc, fd
        self._add_watches()
        return bool(self._wds)

    def _add_watch(self, path: Path) -> None:
        wd = self._libc.inotify_add_watch(self._fd, os.fsencode(str(path)), _MASK)
        if wd >= 0:
            self._wds[wd] = path

    def _add_watches(self) -> None:
        self._add_watch(self.config_path.parent)
        if self.posts_dir.is_dir():
            for dirpath, dirnames, _ in os.walk(self.posts_dir):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                self._add_watch(Path(dirpath))

    def _relevant(self, wd: int, mask: int, name: str) -> bool:
        if mask & _IN_Q_OVERFLOW:
            return True
        where = self._wds.get(wd)
        if where is None:
            return False
        if where == self.config_path.parent and name == self.config_path.name:
            return True
        try:
            inside = where == self.posts_dir or self.posts_dir in where.parents
        except Exception:
            inside = False
        if not inside:
            return False
        if mask & (_IN_DELETE_SELF | _IN_MOVE_SELF):
            return True
        if mask & _IN_ISDIR:
            return not name.startswith(".")
        return name.endswith((".yaml", ".yml")) and not name.startswith(".")

    def _read_events(self) -> bool:
        relevant = False
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return relevant
            except OSError:
                return relevant
            if not data:
                return relevant
            off = 0
            while off + _EVENT.size <= len(data):
                wd, mask, _cookie, length = _EVENT.unpack_from(data, off)
                name = data[off + _EVENT.size: off + _EVENT.size + length].split(b"\0", 1)[0].decode(
                    "utf-8", "replace")
                off += _EVENT.size + length
                if self._relevant(wd, mask, name):
                    relevant = True

    def _run_inotify(self) -> None:
        try:
            while True:
                ready, _, _ = select.select([self._fd, self._r], [], [])
                if self._r in ready:
                    return
                if not self._read_events():
                    continue
                # Debounce: an editor's save is several events; wait for quiet.
                while True:
                    ready, _, _ = select.select([self._fd, self._r], [], [], DEBOUNCE_SECONDS)
                    if self._r in ready:
                        return
                    if not ready:
                        break
                    self._read_events()
                self._add_watches()   # new folders
                try:
                    self.callback()
                except Exception:
                    log.exception("reload callback failed")
        finally:
            os.close(self._fd)

    # polling fallback

    def _signature(self):
        sig = []
        for p in [self.config_path]:
            try:
                st = p.stat()
                sig.append((str(p), st.st_mtime_ns, st.st_size))
            except OSError:
                sig.append((str(p), None, None))
        if self.posts_dir.is_dir():
            for dirpath, dirnames, filenames in os.walk(self.posts_dir):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                for f in filenames:
                    if f.endswith((".yaml", ".yml")):
                        try:
                            st = os.stat(os.path.join(dirpath, f))
                            sig.append((os.path.join(dirpath, f), st.st_mtime_ns, st.st_size))
                        except OSError:
                            pass
        return sorted(sig, key=lambda x: x[0])

    def _run_poll(self) -> None:
        last = self._signature()
        while True:
            ready, _, _ = select.select([self._r], [], [], POLL_SECONDS)
            if ready:
                return
            cur = self._signature()
            if cur != last:
                last = cur
                try:
                    self.callback()
                except Exception:
                    log.exception("reload callback failed")
