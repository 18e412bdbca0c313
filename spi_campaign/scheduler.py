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

Idle, the main thread sleeps in the scheduler until the next job and the
file watcher (``watch.py``, watchdog/inotify) sleeps in the kernel: no busy
loop, no measurable CPU.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import datetime, timedelta
from spi_campaign.errors import SpiError

log = logging.getLogger("spi_campaign.scheduler")

HOUSEKEEPING_SECONDS = 60
FULL_SYNC_EVERY = timedelta(minutes=15)


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
        from spi_campaign.watch import Watcher

        cfg = self.app.config()
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

        # Watch before reading the posts: a file saved while we start is then
        # either in the first read or queues a reload (a job that runs as soon
        # as the scheduler starts); it is never lost.
        if self.watch:
            self.watcher = Watcher(cfg.posts_dir, cfg.path, self._on_files_changed)
            self.watcher.start()
        campaign = self.app.campaign()
        self.engine.set_campaign(campaign)
        self._sync_and_dispatch(initial=True)
        self.scheduler.add_job(self._housekeeping, "interval", seconds=HOUSEKEEPING_SECONDS, id="housekeeping")
        # The start-up line comes last: once it is out, changes are watched.
        rp.message(self.console, f"spi schedule: {len(campaign.posts)} posts, {len(cfg.accounts)} accounts, "
                                 f"timezone {cfg.timezone_name}, ledger {cfg.rel(cfg.state)}"
                                 + (", watching the post files" if self.watch else "")
                                 + (" (dry run: nothing is written)" if self.dry_run else ""))
        rp.upcoming(self.console, self.engine.ledger.rows(states=("pending",)), tz)
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
