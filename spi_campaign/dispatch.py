"""Dispatching: claims, one worker per account, adapter calls, outcomes.

Knows the ``Ledger`` interface and adapters; knows nothing of YAML (it gets
posts from the planner's campaign) or of how rows are stored.

The promise (docs/engine.md, "Exactly once"): a row is published only by the
process that claimed it, the claim is committed before the adapter is
called, and the outcome is recorded only under that claim's token. A
process that lost its claim, or could not record what it published, says so
loudly and never reports ``published``.
"""

from __future__ import annotations

import logging
import os
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time, timedelta
from typing import Any, Callable, Iterable

from spi_campaign.compose import adapter_class, render
from spi_campaign.errors import (ACCOUNT_KINDS, AdapterError, LedgerError, PermanentError, QuotaDeferred, SpiError,
                                 TransientError, UnknownOutcomeError)
from spi_campaign.i18n import _
from spi_campaign.ledger import Change, DayCap, Ledger, Owner, Publication, claimer_dead
from spi_campaign.models import Account, Campaign, Config
from spi_campaign.planner import ACCOUNT_HOLD
from spi_campaign.reports import Outcome, SyncReport
from spi_campaign.timeutil import MAX_DURATION, UTC

log = logging.getLogger("spi_campaign.engine")

LEASE = timedelta(seconds=120)          # a claim's lease, extended by heartbeats
HEARTBEAT_EVERY = 30.0                  # seconds
RECONCILE_EVERY = timedelta(minutes=15)  # how often an `unknown` row is re-checked with the platform
HOLD_RECHECK = timedelta(minutes=15)    # an account the platform refused is tried again after this


def backoff(base: timedelta, attempt: int) -> timedelta:
    """Delay before attempt ``attempt + 1``: exponential, plus up to 25% jitter
    (never less than the exponential value, so tests can bound it)."""
    seconds = min(base.total_seconds() * 2.0 ** min(max(0, attempt - 1), 64), MAX_DURATION.total_seconds())
    return timedelta(seconds=seconds) * (1 + random.uniform(0, 0.25))


def msg(exc: BaseException) -> str:
    from spi_campaign.redact import scrub

    text = str(exc) or type(exc).__name__
    if not isinstance(exc, SpiError):
        text = f"{type(exc).__name__}: {text}"
    return scrub(text)


class Dispatcher:
    def __init__(self, config: Config, ledger: Ledger, *, now: Callable[[], datetime],
                 catch_up: Callable[[], timedelta], campaign: Callable[[], Campaign | None], dry_run: bool = False,
                 on_outcome: Callable[[Outcome], None] | None = None, on_dry_run=None, env=None,
                 accounts: Iterable[str] | None = None):
        self.config = config
        self.ledger = ledger
        self.now = now
        self.catch_up = catch_up
        self.campaign = campaign
        self.dry_run = dry_run
        self.on_outcome = on_outcome
        self.on_dry_run = on_dry_run
        self.env = env
        self.only = set(accounts) if accounts else None
        self.owner = Owner.me()
        self.after_drain: Callable[[str, int], None] | None = None
        self.fatal: LedgerError | None = None      # the ledger went away: stop everything
        self._adapters: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._running: set[str] = set()
        self._again: dict[str, datetime | None] = {}
        self._active: dict[str, Publication] = {}   # claim token -> row being published
        self._outcomes: list[Outcome] = []
        self._stopping = threading.Event()
        self._pool: ThreadPoolExecutor | None = None
        self._heartbeat: threading.Thread | None = None
        self._hb_wake = threading.Event()
        self._ready_checked: set[str] = set()      # accounts whose readiness was checked before publishing

    def day_cap(self, account: Account, now: datetime) -> DayCap | None:
        if not account.max_per_day:
            return None
        tz = self.config.timezone
        local = now.astimezone(tz)
        start = datetime.combine(local.date(), time(0), tzinfo=tz)
        end = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=tz)
        return DayCap(account.max_per_day, start.astimezone(UTC), end.astimezone(UTC))

    def wanted(self, account: str) -> bool:
        return self.only is None or account in self.only

    # ----- claims of processes that are gone; unknown outcomes -------------------------------

    def reap(self, rep: SyncReport, open_rows: Iterable[Publication] | None = None) -> None:
        """``publishing`` rows whose claimer can no longer finish become ``unknown``."""
        now = self.now()
        # only the claims (state index), not every open row: flat in the campaign's size
        rows = open_rows if open_rows is not None else self.ledger.rows(states=("publishing",))
        changes = []
        for row in rows:
            if row.state == "publishing" and claimer_dead(row, now, (), self.owner):
                who = f"{row.claimer_host} pid {row.claimer_pid}"
                changes.append(Change(row.key, ("publishing",), {
                    "state": "unknown", "error": _("the process publishing it ({who}) stopped before recording "
                                                   "the result").format(who=who)},
                    expect_token=row.claim_token, detail="claimer died"))
        for ch in self.ledger.update(changes, now):
            row = next(r for r in rows if r.key == ch.key)
            rep.became_unknown.append(_with(row, ch.values))

    def reconcile_unknown(self, rep: SyncReport) -> None:
        from spi_campaign.adapters.base import PublicationRef

        now = self.now()
        campaign = self.campaign()
        for row in self.ledger.rows(states=("unknown",)):
            if row.state != "unknown" or (row.checked_at is not None and now - row.checked_at < RECONCILE_EVERY):
                continue
            if not self.wanted(row.account):
                continue
            account = self.config.accounts.get(row.account)
            result_state, url, remote_id, detail = "cannot_tell", None, None, None
            if account is not None:
                post = campaign.post(row.post) if campaign else None
                rendered = None
                if post is not None:
                    try:
                        rendered = render(post, account, row.occurrence)
                    except Exception:
                        rendered = None
                ref = PublicationRef(post_id=row.post, account=row.account, occurrence=row.occurrence,
                                     claimed_at=row.claimed_at, rendered=rendered, remote_id=row.remote_id,
                                     progress=dict(row.progress))
                adapter = None
                try:
                    adapter = self.new_adapter(account)
                    res = adapter.reconcile(ref)
                    result_state, url, remote_id, detail = res.state, res.url, res.remote_id, res.detail
                except Exception as exc:  # a broken reconcile must not stop the sync
                    detail = f"reconcile failed: {msg(exc)}"
                finally:
                    if adapter is not None:
                        try:
                            adapter.close()
                        except Exception:
                            pass
            if result_state == "published":
                ch = Change(row.key, ("unknown",), {
                    "state": "published", "url": url, "remote_id": remote_id or row.remote_id,
                    "published_at": row.claimed_at or now, "published_hash": row.content_hash,
                    "error": None, "checked_at": now}, detail="reconcile: found on the platform")
            elif result_state == "not_found":
                # Fence the old claim: a late claimer can no longer record over the retry.
                ch = Change(row.key, ("unknown",), {
                    "state": "pending", "next_attempt": None, "checked_at": now, "claim_token": None,
                    "error": _("reconcile: not found on the platform after a lost attempt; will be retried")},
                    detail="reconcile: not found")
            else:
                ch = Change(row.key, ("unknown",), {"checked_at": now},
                            detail=f"reconcile: cannot tell{': ' + detail if detail else ''}")
            if self.ledger.update([ch], now) and result_state in ("published", "not_found"):
                rep.reconciled.append((row, result_state, url))

    # ----- adapters ----------------------------------------------------------------------------

    def new_adapter(self, account: Account):
        cls = adapter_class(account)
        return cls(account, self.env, tz=self.config.timezone)

    def adapter(self, account: Account):
        """One instance per account, used only by that account's worker."""
        a = self._adapters.get(account.name)
        if a is None or a.account is not account:
            a = self.new_adapter(account)
            self._adapters[account.name] = a
        return a

    # ----- publishing one claimed row --------------------------------------------------------

    def publish_row(self, row: Publication) -> Outcome:
        from spi_campaign.dispatch_outcome import publish_claimed

        return publish_claimed(self, row)

    def emit(self, outcome: Outcome) -> Outcome:
        with self._lock:
            self._outcomes.append(outcome)
        if self.on_outcome:
            try:
                self.on_outcome(outcome)
            except Exception:
                log.exception(_("printing an outcome failed"))
        return outcome

    # ----- workers: one per account ---------------------------------------------------------

    def track(self, row: Publication) -> None:
        with self._lock:
            self._active[row.claim_token] = row
            if self._heartbeat is None or not self._heartbeat.is_alive():
                self._heartbeat = threading.Thread(target=self._beat, name="spi-heartbeat", daemon=True)
                self._heartbeat.start()

    def untrack(self, token: str | None) -> None:
        with self._lock:
            self._active.pop(token, None)

    def _beat(self) -> None:
        while True:
            self._hb_wake.wait(HEARTBEAT_EVERY)
            self._hb_wake.clear()
            with self._lock:
                tokens = list(self._active)
                if not tokens:
                    self._heartbeat = None
                    return
            try:
                self.ledger.heartbeat(tokens, self.now() + LEASE)
            except SpiError as exc:
                log.warning(_("could not extend the lease of publications in flight: {reason}").format(reason=msg(exc)))

    def stop_fatally(self, exc: LedgerError) -> None:
        with self._lock:
            if self.fatal is None:
                self.fatal = exc
        log.error("%s", msg(exc))
        self._stopping.set()

    def warn_not_ready(self, account: Account) -> None:
        """Before an account's first publication in this process: one warning
        per readiness problem it still has (docs/deploy.md, "Readiness")."""
        with self._lock:
            if account.name in self._ready_checked or self.dry_run:
                return
            self._ready_checked.add(account.name)
        from spi_campaign.readiness import account_problems

        try:
            problems = account_problems(account, os.environ if self.env is None else self.env)
        except Exception as exc:  # a check must never stop a publication
            log.debug("readiness of %s: %s", account.name, msg(exc))
            return
        for problem in problems:
            log.warning(_("account {account} is about to publish but is not ready: {problem}")
                        .format(account=account.name, problem=problem))

    def drain(self, account_name: str, due_by: datetime | None = None) -> int:
        """Publish the due rows of one account, in due order, until none is
        left (or we are stopping). Returns how many rows were claimed."""
        claimed = 0
        while not self._stopping.is_set():
            account = self.config.accounts.get(account_name)
            if account is None or not self.wanted(account_name):
                return claimed
            try:
                self.ledger.check_identity()
            except LedgerError as exc:
                self.stop_fatally(exc)
                return claimed
            now = self.now()
            claim = self.ledger.claim_next(
                account_name, self.owner, now, lease_until=now + LEASE, miss_cutoff=now - self.catch_up(),
                cap=self.day_cap(account, now), due_by=due_by)
            for d in claim.deferred:
                self.emit(Outcome(d.post, d.account, d.occurrence, "deferred", now, next_attempt=d.next_attempt,
                                  error=_("max_per_day ({limit}) reached").format(limit=account.max_per_day),
                                  attempts=d.attempts))
            if claim.row is None:
                return claimed
            claimed += 1
            self.warn_not_ready(account)
            self.track(claim.row)
            try:
                self.publish_row(claim.row)
            except Exception as exc:
                log.error(_("publishing {post}/{account} failed inside the engine: {reason}")
                          .format(post=claim.row.post, account=claim.row.account, reason=msg(exc)),
                          exc_info=log.isEnabledFor(logging.DEBUG))
        return claimed

    def kick(self, accounts: Iterable[str], due_by: datetime | None = None) -> None:
        """Start (or re-run) the worker of each account. Never blocks."""
        with self._lock:
            if self._stopping.is_set():
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=max(32, len(self.config.accounts)),
                                                thread_name_prefix="spi-account")
            for name in accounts:
                if not self.wanted(name):
                    continue
                if name in self._running:
                    self._again[name] = due_by
                    continue
                self._running.add(name)
                self._pool.submit(self._worker, name, due_by)

    def _worker(self, name: str, due_by: datetime | None) -> None:
        total = 0
        try:
            while True:
                try:
                    total += self.drain(name, due_by)
                except LedgerError as exc:
                    log.error(_("account {account}: cannot use the ledger: {reason}").format(account=name, reason=msg(exc)))
                except Exception as exc:
                    log.error(_("account {account}: worker error: {reason}").format(account=name, reason=msg(exc)),
                              exc_info=log.isEnabledFor(logging.DEBUG))
                with self._lock:
                    if name in self._again and not self._stopping.is_set():
                        due_by = self._again.pop(name)
                        continue
                    self._again.pop(name, None)
                    self._running.discard(name)
                    self._idle.notify_all()
                    break
        finally:
            cb = self.after_drain
            if cb is not None:
                try:
                    cb(name, total)
                except Exception as exc:
                    log.error(_("after a publication: {reason}").format(reason=msg(exc)))

    def wait_idle(self, timeout: float | None = None) -> bool:
        with self._lock:
            return self._idle.wait_for(lambda: not self._running, timeout)

    def stop(self) -> None:
        """Stop claiming; publications in flight finish (see ``wait_idle``)."""
        self._stopping.set()

    def close(self) -> None:
        self.stop()
        self.wait_idle()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._hb_wake.set()
        for a in self._adapters.values():
            try:
                a.close()
            except Exception:
                pass

    def take_outcomes(self) -> list[Outcome]:
        with self._lock:
            out, self._outcomes = self._outcomes, []
        return out


def _with(row: Publication, values: dict[str, Any]) -> Publication:
    from dataclasses import replace

    return replace(row, **{k: v for k, v in values.items() if hasattr(row, k)})
