"""``spi post schedule``: the foreground daemon.

An APScheduler ``BlockingScheduler`` in the campaign timezone with a
``MemoryJobStore`` only: the ledger is the source of truth, the scheduler
just wakes us up. Jobs (all on one executor thread, so they never race):

- ``wake``: a date job at the next time a pending row is due. It starts the
  workers of the due accounts and returns at once: each account publishes
  in its own thread, so a slow account never delays another.
- ``resync``: after workers published something, or once a reload is ready:
  sync the ledger, start due workers, re-arm ``wake``.
- ``housekeeping`` (every minute): the ledger is still the one we opened
  (else stop, exit 1), claims of processes that died, the hourly summary of
  problems, and every ``RESCAN_EVERY`` a rescan of the post files (a safety
  net for a watcher that missed something, e.g. ``posts/`` replaced).

Reading the post files never runs on the scheduler's thread: a reload is
done by a loader thread (only the files that changed, ``reload.py``) and
handed over when ready, so a slow or hostile file cannot delay a due
publication. Idle, the daemon sleeps in the scheduler and the kernel.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import datetime, timedelta
from typing import Callable

from spi_campaign.errors import LedgerError, SpiError
from spi_campaign.i18n import _

log = logging.getLogger("spi_campaign.scheduler")

HOUSEKEEPING_SECONDS = 60
RESCAN_EVERY = timedelta(minutes=15)
SUMMARY_EVERY = timedelta(hours=1)
TOKEN_CHECK_EVERY = timedelta(days=1)
METRICS_EVERY = timedelta(hours=1)     # the +48 h / +7 d engagement snapshots (metrics.py)

# SIGHUPs that arrived before the daemon was ready (cli installs the handler first thing).
EARLY_HUP: list[int] = []


class Daemon:
    def __init__(self, app, *, console, dry_run: bool = False, watch: bool = True, accounts=None,
                 strict: bool = False, now: Callable[[], datetime] | None = None):
        self.app = app
        self.console = console
        self.dry_run = dry_run
        self.watch = watch
        self.accounts = accounts
        self.strict = strict
        self.engine = None
        self.scheduler = None
        self.watcher = None
        self.exit_code = 0
        self._last_rescan = time.monotonic()
        self._last_summary: float | None = None
        self._stop_once = threading.Lock()
        self._load_lock = threading.Lock()
        self._load_wanted = threading.Event()
        self._want_config = False
        self._want_paths: set | None = set()
        self._loader: threading.Thread | None = None
        self._seq = 0
        self._alerting: threading.Thread | None = None
        self._touched: set[str] = set()
        self._touched_queued = False
        self._touched_lock = threading.Lock()
        self._last_token_check = float("-inf")
        self._metrics_thread: threading.Thread | None = None
        self._last_metrics = float("-inf")

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
        ledger = open_ledger(cfg, dry_run=self.dry_run)
        self.engine = Engine(cfg, ledger, dry_run=self.dry_run, accounts=self.accounts,
                             on_outcome=self._on_outcome,
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
        # either in the first read or queues a reload; it is never lost.
        if self.watch:
            self.watcher = Watcher(cfg.posts_dir, cfg.path, self._on_files_changed)
            self.watcher.start()
        campaign = self.app.campaign()
        self.engine.set_campaign(campaign)
        from spi_campaign.readiness import readiness, report_readiness

        problems = readiness(self.engine, campaign)
        report_readiness(self.console, problems, tz)
        if problems and self.strict:
            rp.message(self.console, _("spi schedule: --strict: not starting until these are fixed"), "bold red")
            ledger.close()
            return 1
        self._sync_and_dispatch(initial=True)
        self.scheduler.add_job(self._housekeeping, "interval", seconds=HOUSEKEEPING_SECONDS, id="housekeeping")
        self._metrics()          # snapshots that fell due while the daemon was down
        rp.message(self.console, _("spi schedule: {posts} posts, {accounts} accounts, timezone {timezone}, "
                                   "ledger {ledger}").format(
            posts=len(campaign.posts), accounts=len(cfg.accounts), timezone=cfg.timezone_name,
            ledger=ledger.where if cfg.state_url else cfg.rel(cfg.state))
                   + (_(", watching the post files") if self.watch else "")
                   + (_(" (dry run: nothing is written)") if self.dry_run else ""))
        rp.upcoming(self.console, ledger.open_rows(states=("pending",)), tz)
        if EARLY_HUP:
            EARLY_HUP.clear()
            self._request_reload(config=True)
        try:
            if not self.engine.stopping:
                self.scheduler.start()   # blocks until shutdown
        finally:
            if self.watcher is not None:
                self.watcher.stop()
            self.engine.stop()
            self.engine.wait_idle()
            self.engine.close()
            ledger.close()
        fatal = self.engine.dispatcher.fatal
        if fatal is not None:
            rp.message(self.console, _("spi schedule: {reason}").format(reason=fatal), "bold red")
            return 1
        rp.message(self.console, _("spi schedule: stopped"))
        return self.exit_code

    def _on_stop_signal(self, signum, frame) -> None:
        # Never touch the scheduler's locks from a signal handler (the main
        # thread may hold them): hand over to a thread.
        self.engine.stop()
        threading.Thread(target=self._shutdown, name="spi-stop", daemon=True).start()

    def _shutdown(self) -> None:
        from apscheduler.schedulers import SchedulerNotRunningError

        if not self._stop_once.acquire(blocking=False):
            return
        for _ in range(200):
            try:
                self.scheduler.shutdown(wait=False)
                return
            except SchedulerNotRunningError:
                time.sleep(0.05)
            except Exception:
                log.debug("shutdown", exc_info=True)
                return

    def _fail(self, exc: LedgerError) -> None:
        self.engine.dispatcher.stop_fatally(exc)
        threading.Thread(target=self._shutdown, name="spi-stop", daemon=True).start()

    def _on_hup(self, signum, frame) -> None:
        threading.Thread(target=self._request_reload, kwargs={"config": True}, name="spi-hup", daemon=True).start()

    def _on_files_changed(self, paths=None) -> None:
        cfg = self.engine.config if self.engine else None
        if paths is None or (cfg is not None and cfg.path.resolve() in {p.resolve() for p in paths}):
            self._request_reload(config=True)
        else:
            self._request_reload(paths=paths)

    # ----- reloading, off the scheduler's thread ------------------------------------------------

    def _request_reload(self, *, config: bool = False, paths=None) -> None:
        """Reload the post files in the loader thread; requests made while it
        runs are merged into one more pass."""
        if self.engine is None or self.engine.stopping:
            return
        with self._load_lock:
            self._want_config |= config
            if config or paths is None:
                self._want_paths = None            # read the config and rescan everything
            elif self._want_paths is not None:
                self._want_paths |= set(paths)
            self._load_wanted.set()
            if self._loader is None or not self._loader.is_alive():
                self._loader = threading.Thread(target=self._load_loop, name="spi-loader", daemon=True)
                self._loader.start()

    def _load_loop(self) -> None:
        from spi_campaign import render_publish as rp

        while True:
            with self._load_lock:
                if not self._load_wanted.is_set() or self.engine.stopping:
                    self._loader = None
                    return
                self._load_wanted.clear()
                config, self._want_config = self._want_config, False
                paths, self._want_paths = self._want_paths, set()
            try:
                cfg = self.engine.config
                if config:
                    from spi_campaign.config import load_config

                    new_cfg = load_config(self.app.config_path)
                    if _same_config(new_cfg, cfg):
                        new_cfg = cfg
                    cfg = new_cfg
                from spi_campaign.reload import reload_campaign

                got = reload_campaign(self.engine.campaign, cfg,
                                      paths=frozenset(paths) if paths is not None else None)
            except SpiError as exc:
                rp.message(self.console, _("reload failed, keeping the previous version: {reason}").format(reason=exc),
                           "bold red")
                continue
            except Exception as exc:
                log.error(_("reload failed, keeping the previous version: {reason}").format(
                    reason=f"{type(exc).__name__}: {exc}"))
                continue
            if got.read or got.changed or cfg is not self.engine.config:
                self._queue(self._apply, got.campaign, got.read, got.changed)

    def _apply(self, campaign, read: int, changed=None) -> None:
        from spi_campaign import render_publish as rp

        self.app._config = campaign.config
        self.app._campaign = campaign
        self.engine.set_campaign(campaign)
        if self.watcher is not None:
            self.watcher.retarget(campaign.config.posts_dir, campaign.config.path)
        rp.message(self.console, _("reloaded: {posts} posts ({read} file(s) read)").format(posts=len(campaign.posts),
                                                                                        read=read)
                   + (_(", {n} unreadable file(s)").format(n=len(campaign.broken_files))
                      if campaign.broken_files else ""))
        self._readiness(campaign)
        self._sync_and_dispatch(only=changed)

    def _readiness(self, campaign) -> None:
        """Readiness again after a reload: a new post or account may need
        credentials this process does not have. Reported, never fatal here."""
        from spi_campaign.readiness import readiness, report_readiness

        try:
            report_readiness(self.console, readiness(self.engine, campaign), campaign.config.timezone)
        except Exception as exc:
            log.error(_("readiness check failed: {reason}").format(reason=f"{type(exc).__name__}: {exc}"))

    # ----- jobs ----------------------------------------------------------------------

    def _queue(self, fn, *args) -> None:
        if self.engine.stopping:
            return
        self._seq += 1
        try:
            self.scheduler.add_job(fn, args=args, id=f"job-{self._seq}-{time.monotonic_ns()}")
        except Exception:
            log.debug("could not queue a job", exc_info=True)

    def _on_outcome(self, o) -> None:
        from spi_campaign import render_publish as rp

        with self._touched_lock:
            self._touched.add(o.post)
        rp.outcome_line(self.console, o, self.engine.config.timezone)

    def _after_drain(self, account: str, claimed: int) -> None:
        # Something was published: the next occurrence of a recurring post,
        # a retry time... re-sync the posts concerned and re-arm the wake-up.
        if claimed:
            with self._touched_lock:
                if self._touched_queued:
                    return          # one queued sync takes every account's posts
                self._touched_queued = True
            self._queue(self._sync_touched)

    def _sync_touched(self) -> None:
        with self._touched_lock:
            touched, self._touched = frozenset(self._touched), set()
            self._touched_queued = False
        self._sync_and_dispatch(only=touched)

    def _sync_and_dispatch(self, initial: bool = False, only=None) -> None:
        """``only``: the post ids a reload found changed (the sync looks at
        those alone; the every-minute housekeeping sync looks at everything)."""
        from spi_campaign import render_publish as rp

        try:
            rep = self.engine.sync(only=only)
            if not initial:
                rep.unknown = [r for r in rep.unknown if r in rep.became_unknown]
            rp.sync_report(self.console, rep, self.engine.config.timezone)
        except LedgerError as exc:
            rp.message(self.console, _("sync failed: {reason}").format(reason=exc), "bold red")
            if getattr(exc, "identity_lost", False):
                self._fail(exc)
                return
        except SpiError as exc:
            rp.message(self.console, _("sync failed: {reason}").format(reason=exc), "bold red")
        self._dispatch()

    def _dispatch(self) -> None:
        now = self.engine.now()
        try:
            accounts = self.engine.ledger.due_accounts(now)
        except SpiError as exc:
            log.error(_("cannot read the ledger: {reason}").format(reason=exc))
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
        self.scheduler.add_job(self._dispatch, DateTrigger(run_date=nxt), id="wake", replace_existing=True)

    def _housekeeping(self) -> None:
        from spi_campaign import render_publish as rp

        try:
            self.engine.ledger.check_identity()
        except LedgerError as exc:
            self._fail(exc)
            return
        if self.watcher is not None:
            self.watcher.check()
        full = time.monotonic() - self._last_rescan > RESCAN_EVERY.total_seconds()
        if full:
            # the safety net: every file stat'ed again, every post planned again
            self._last_rescan = time.monotonic()
            self._request_reload(config=True)
        if self._last_summary is None or time.monotonic() - self._last_summary > SUMMARY_EVERY.total_seconds():
            self._last_summary = time.monotonic()
            try:
                problems = self.engine.problems()
            except SpiError:
                problems = []
            if problems:
                rp.problems_summary(self.console, problems)
        if full:
            self._sync_and_dispatch()
        else:
            # every minute: only the posts with a pending row that is due (held,
            # past its catch-up window...); claims of dead processes and unknown
            # outcomes are checked in any case
            now = self.engine.now()
            try:
                due = frozenset(r.post for r in self.engine.ledger.open_rows(states=("pending",))
                                if r.due_at <= now)
            except SpiError:
                due = frozenset()
            self._sync_and_dispatch(only=due)
        self._alerts()
        self._metrics()

    def _metrics(self) -> None:
        """Engagement snapshots (+48 h, +7 d; docs/metrics.md) once an hour, in
        a thread of their own: reading metrics never delays publishing."""
        if self.dry_run or (self._metrics_thread is not None and self._metrics_thread.is_alive()) or \
                time.monotonic() - self._last_metrics < METRICS_EVERY.total_seconds():
            return
        self._last_metrics = time.monotonic()
        from spi_campaign.metrics import fetch_quietly

        self._metrics_thread = threading.Thread(
            target=fetch_quietly, args=(self.engine.config, self.engine.ledger, self.engine.now()),
            name="spi-metrics", daemon=True)
        self._metrics_thread.start()

    def _alerts(self) -> None:
        """Alerts (docs/alerts.md) from the daemon, every minute, in a thread
        of their own: sending may take seconds and never delays publishing."""
        cfg = self.engine.config
        if self.dry_run or not cfg.notify or (self._alerting is not None and self._alerting.is_alive()):
            return

        def send() -> None:
            from spi_campaign import notify

            warnings = []
            if "token_expiring" in {e for d in cfg.notify for e in d.events} and \
                    time.monotonic() - self._last_token_check > TOKEN_CHECK_EVERY.total_seconds():
                # Once a day: ask the platforms when the tokens expire (Meta's debug_token).
                from spi_campaign.accounts import check_account
                from spi_campaign.notify.model import TokenWarning

                self._last_token_check = time.monotonic()
                for acc in cfg.accounts.values():
                    if self.accounts and acc.name not in self.accounts:
                        continue
                    row = check_account(acc, cfg.timezone)
                    if row.ok and row.token_expiring:
                        warnings.append(TokenWarning(row.name, row.expires_at or row.data_access_expires_at,
                                                     "; ".join(row.warnings)))
            notify.dispatch(cfg, self.engine.ledger, self.engine.now(), token_warnings=warnings)

        self._alerting = threading.Thread(target=send, name="spi-alerts", daemon=True)
        self._alerting.start()


def _same_config(a, b) -> bool:
    try:
        return a.path == b.path and a.path.read_bytes() is not None and repr(a) == repr(b)
    except OSError:
        return False
