"""The publishing engine: ledger sync, claims, adapter calls, outcomes.

Used by ``publish-due`` (one pass, then exit), ``schedule`` (the daemon in
``scheduler.py``) and ``publish ID``. Every publication goes through the same
ledger claim, so any number of these may run at once without publishing
anything twice. See docs/engine.md for the design.

``now`` is injectable everywhere (``Engine(now=...)``) so tests can run a
campaign at any instant without touching the clock.
"""

from __future__ import annotations

import logging
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Callable, Iterable

from spi_campaign.errors import (AdapterError, AuthError, NotFoundError, PermanentError, QuotaDeferred, SpiError,
                                 TransientError, UnknownOutcomeError)
from spi_campaign.ledger import (LIVE_STATES, Change, DayCap, Ledger, Owner, Publication, claimer_dead, parse_ts,
                                 ts)
from spi_campaign.models import Account, Campaign, Config, Post, Rendered
from spi_campaign.compose import adapter_class, render
from spi_campaign.timeutil import MAX_DURATION, UTC, now_utc

log = logging.getLogger("spi_campaign.engine")

LEASE = timedelta(seconds=120)          # a claim without heartbeat for this long is dead
HEARTBEAT_EVERY = 30.0                  # seconds
MAX_LOOKBACK = timedelta(days=7)        # recurring posts: how far back occurrences are looked for
MAX_DUE_PER_TARGET = 1000               # recurring: occurrences inside the catch-up window, per post/account
MAX_MISSED_PER_TARGET = 100             # recurring: missed occurrences recorded, per post/account
RECONCILE_EVERY = timedelta(minutes=15)  # how often an `unknown` row is re-checked with the platform

HELD_INVALID = "the post has errors (run 'spi post validate')"


# ----- reports -------------------------------------------------------------------

@dataclass
class Outcome:
    """What happened to one publication in this process.

    result: published | failed | unknown | retry (pending, next attempt
    scheduled) | deferred (quota or max_per_day; attempt not counted) |
    released (claimed but its post vanished; back to pending)
    """

    post: str
    account: str
    occurrence: datetime
    result: str
    at: datetime
    url: str | None = None
    remote_id: str | None = None
    error: str | None = None
    next_attempt: datetime | None = None
    attempts: int = 0
    rendered: Rendered | None = None
    dry_run: bool = False


@dataclass
class SyncReport:
    inserted: int = 0
    missed: list[Publication] = field(default_factory=list)          # new this sync
    skipped: list[tuple[Publication, str]] = field(default_factory=list)
    revived: list[Publication] = field(default_factory=list)
    held_due: list[Publication] = field(default_factory=list)       # due, but held: attention
    edited: list[Publication] = field(default_factory=list)         # published, then edited (or moved)
    # (post id, account, occurrence, live row of a post id no longer in the YAML at that
    # account and time): a renamed post, not published again
    renamed: list[tuple[str, str, datetime, Publication]] = field(default_factory=list)
    became_unknown: list[Publication] = field(default_factory=list)
    reconciled: list[tuple[Publication, str, str | None]] = field(default_factory=list)  # row, state, url
    unknown: list[Publication] = field(default_factory=list)        # still unknown after reconcile
    broken_files: list[str] = field(default_factory=list)
    invalid_posts: list[str] = field(default_factory=list)
    # broken file (as shown) or invalid post id -> its first error, "file:line: message"
    reasons: dict[str, str] = field(default_factory=dict)


@dataclass
class RunReport:
    sync: SyncReport
    outcomes: list[Outcome]
    next_due: datetime | None = None
    dry_run: bool = False

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)

    @property
    def exit_code(self) -> int:
        """1 when somebody should look: a failure, an unknown outcome
        (new or still unresolved), a newly missed publication, a due
        publication held back by an invalid post, or a post file that cannot
        be read (its posts cannot even be scheduled)."""
        bad = any(o.result in ("failed", "unknown") for o in self.outcomes)
        s = self.sync
        return 1 if bad or s.missed or s.held_due or s.unknown or s.became_unknown or s.broken_files else 0


@dataclass
class Target:
    """One publication ``publish ID`` would make."""

    post: Post
    account: Account
    occurrence: datetime
    row: Publication | None


# ----- the engine --------------------------------------------------------------------

class Engine:
    """Publishes a campaign through a ledger.

    ``dry_run``: adapters are never called; ``on_dry_run(rendered)`` is
    called instead and the row is recorded as published *in this ledger*
    (the CLI passes an in-memory snapshot, so nothing reaches the real file).
    ``on_outcome``: called (from worker threads) for every outcome.
    ``now``: a fixed clock for tests; None means the real clock.
    """

    def __init__(self, config: Config, ledger: Ledger, *, dry_run: bool = False,
                 on_outcome: Callable[[Outcome], None] | None = None,
                 on_dry_run: Callable[[Rendered], None] | None = None,
                 now: datetime | None = None, env=None, catch_up: timedelta | None = None):
        self.config = config
        self.ledger = ledger
        self.dry_run = dry_run
        self.on_outcome = on_outcome
        self.on_dry_run = on_dry_run
        self.fixed_now = now
        self.env = env
        self.catch_up = config.catch_up if catch_up is None else catch_up
        self.owner = Owner.me()
        self.campaign: Campaign | None = None
        self._hashes: dict[tuple[str, str], str | None] = {}
        self._adapters: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._running: set[str] = set()
        self._again: dict[str, datetime | None] = {}
        self._active: dict[str, Publication] = {}   # claim token -> row being published
        self._outcomes: list[Outcome] = []
        self._stopping = threading.Event()
        self._latest_due: dict[str, datetime] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._heartbeat: threading.Thread | None = None
        self._hb_wake = threading.Event()
        self.after_drain: Callable[[str, int], None] | None = None

    # ----- time ------------------------------------------------------------------

    def now(self) -> datetime:
        return self.fixed_now if self.fixed_now is not None else now_utc()

    def day_cap(self, account: Account, now: datetime) -> DayCap | None:
        if not account.max_per_day:
            return None
        tz = self.config.timezone
        local = now.astimezone(tz)
        start = datetime.combine(local.date(), time(0), tzinfo=tz)
        end = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=tz)
        return DayCap(account.max_per_day, start.astimezone(UTC), end.astimezone(UTC))

    # ----- campaign -> desired publications -------------------------------------------

    def set_campaign(self, campaign: Campaign) -> None:
        with self._lock:
            self.campaign = campaign
            self.config = campaign.config
            self._hashes = {}

    def _hash(self, post: Post, account: Account) -> str | None:
        k = (post.id, account.name)
        if k not in self._hashes:
            try:
                self._hashes[k] = render(post, account, None).content_hash()
            except Exception:  # an unknown platform: the post is invalid anyway
                self._hashes[k] = None
        return self._hashes[k]

    def occurrences(self, post: Post, now: datetime, lookback: datetime) -> list[datetime]:
        """The occurrences the ledger should hold for ``post`` (UTC): a one-off
        post's ``publish_at``; for a recurring post, those in
        ``[lookback, now]`` (bounded) plus the next one after ``now``."""
        if post.publish_at is None:
            return []
        if not post.repeat:
            return [post.publish_at.astimezone(UTC)]
        from spi_campaign.recurrence import next_after, occurrences

        tz = self.config.timezone
        window = now - self.catch_up
        out: list[datetime] = []
        if lookback < window:
            out += occurrences(post.repeat, tz, post.publish_at, lookback, window - timedelta(microseconds=1),
                               post.until, limit=MAX_MISSED_PER_TARGET)
        out += occurrences(post.repeat, tz, post.publish_at, max(lookback, window), now, post.until,
                           limit=MAX_DUE_PER_TARGET)
        nxt = next_after(post.repeat, tz, post.publish_at, now + timedelta(microseconds=1), post.until)
        if nxt is not None:
            out.append(nxt)
        return sorted({o.astimezone(UTC) for o in out})

    def is_occurrence(self, post: Post, occ: datetime) -> bool:
        """Whether ``occ`` is (still) one of the post's publication times."""
        if post.publish_at is None:
            return False
        if not post.repeat:
            return post.publish_at == occ
        from spi_campaign.recurrence import is_occurrence

        return is_occurrence(post.repeat, self.config.timezone, post.publish_at, occ, post.until)

    # ----- sync ------------------------------------------------------------------------

    def sync(self, campaign: Campaign | None = None, *, reconcile: bool = True) -> SyncReport:
        """Bring the ledger in line with the YAML. Idempotent, safe to run
        from any number of processes at once (inserts ignore existing rows,
        every change is a compare-and-set on the row's state)."""
        if campaign is not None:
            self.set_campaign(campaign)
        campaign = self.campaign
        assert campaign is not None, "set_campaign first"
        cfg = self.config
        now = self.now()
        cutoff = now - self.catch_up
        rep = SyncReport()
        broken = sorted(str(p) for p in campaign.broken_files)
        rep.broken_files = [cfg.rel(p) for p in broken]
        invalid = campaign.invalid_posts
        last_sync = parse_ts(self.ledger.meta("last_sync")) or now
        lookback = max(min(last_sync, cutoff), now - MAX_LOOKBACK)

        posts: dict[str, Post] = {}
        for post in campaign.posts:
            posts.setdefault(post.id, post)
        rep.invalid_posts = sorted(pid for pid in invalid if pid in posts)
        for prob in campaign.problems:
            if prob.severity != "error" or not prob.file:
                continue
            where = f"{cfg.rel(prob.file)}:{prob.line}" if prob.line else cfg.rel(prob.file)
            key = prob.post if prob.post in rep.invalid_posts else cfg.rel(prob.file)
            rep.reasons.setdefault(key, f"{where}: {prob.message}")

        desired: dict[tuple[str, str, datetime], tuple[Post, str | None]] = {}
        latest_due: dict[str, datetime] = {}   # recurring post -> its latest occurrence at or before now
        for post in posts.values():
            if post.status != "approved" or post.publish_at is None:
                continue
            occs = self.occurrences(post, now, lookback)
            if post.repeat:
                due = [o for o in occs if o <= now]
                if due:
                    latest_due[post.id] = due[-1]
            for name in post.accounts:
                account = cfg.accounts.get(name)
                if account is None:
                    continue
                h = self._hash(post, account)
                for occ in occs:
                    desired[(post.id, name, occ)] = (post, h)
        self._latest_due = latest_due

        existing = {r.key: r for r in self.ledger.rows()}
        # Exactly once also across edits of the YAML: a one-off post that went
        # out (or may have) is not published again because its time moved (new
        # publish_at, or a new timezone for a time written without offset), and
        # a post whose id changed (renamed file or id) is not published again at
        # a time its old id already went out on that account.
        live_of: dict[tuple[str, str], Publication] = {}
        live_at: dict[tuple[str, datetime], list[Publication]] = {}
        for r in existing.values():
            if r.state in LIVE_STATES:
                live_of.setdefault((r.post, r.account), r)
                live_at.setdefault((r.account, r.occurrence), []).append(r)
        new_rows: list[Publication] = []
        for key, (post, h) in desired.items():
            if key in existing:
                continue
            if not post.repeat and (key[0], key[1]) in live_of:
                rep.edited.append(live_of[(key[0], key[1])])
                continue
            gone = [r for r in live_at.get((key[1], key[2]), ()) if r.post not in posts]
            if gone:
                rep.renamed.append((key[0], key[1], key[2], gone[0]))
                continue
            missed = key[2] < cutoff
            error = f"older than the catch-up window ({_dur(self.catch_up)}) when first seen" if missed else None
            superseded = self._superseded(post, key[2])
            if superseded and not missed:
                missed, error = True, superseded
            new_rows.append(Publication(
                post=key[0], account=key[1], occurrence=key[2],
                state="missed" if missed else "pending",
                hold=HELD_INVALID if (post.id in invalid and not missed) else None,
                content_hash=h, file=str(post.file), error=error,
            ))
        inserted = set(self.ledger.insert(new_rows, now))
        rep.inserted = len(inserted)
        rep.missed = [r for r in new_rows if r.key in inserted and r.state == "missed"]
        for r in new_rows:
            if r.key in inserted and r.state == "pending" and r.hold and r.due_at <= now:
                rep.held_due.append(r)

        with self._lock:
            mine = set(self._active)
        changes: list[Change] = []
        for key, row in existing.items():
            post = posts.get(row.post)
            if row.state in ("pending", "skipped"):
                self._sync_open_row(row, post, campaign, desired, broken, now, cutoff, changes, rep)
            elif row.state == "publishing":
                if claimer_dead(row, now, mine, self.owner):
                    who = f"{row.claimer_host} pid {row.claimer_pid}"
                    changes.append(Change(key, ("publishing",), {
                        "state": "unknown", "lease_until": None,
                        "error": f"the process publishing it ({who}) stopped before recording the result"},
                        expect_token=row.claim_token, detail="claimer died"))
            elif row.state == "published" and post is not None and not post.repeat:
                account = cfg.accounts.get(row.account)
                if account is not None and row.published_hash and key in desired:
                    h = self._hash(post, account)
                    if h and h != row.published_hash:
                        rep.edited.append(row)
        applied = self.ledger.update(changes, now)
        for ch in applied:
            row = existing[ch.key]
            st = ch.values.get("state")
            if st == "unknown":
                rep.became_unknown.append(_with(row, ch.values))
            elif st == "skipped":
                rep.skipped.append((_with(row, ch.values), ch.values.get("error") or ""))
            elif st == "missed":
                rep.missed.append(_with(row, ch.values))
            elif st == "pending" and row.state == "skipped":
                rep.revived.append(_with(row, ch.values))
        if reconcile and not self.dry_run:
            self._reconcile_unknown(now, rep)
        rep.unknown = [r for r in self.ledger.rows(states=("unknown",))]
        if not self.dry_run:
            self.ledger.set_meta("last_sync", ts(now))
        return rep

    def _sync_open_row(self, row: Publication, post: Post | None, campaign: Campaign,
                       desired: dict, broken: list[str], now: datetime, cutoff: datetime,
                       changes: list[Change], rep: SyncReport) -> None:
        key = row.key

        def hold(reason: str) -> None:
            if row.state != "pending":
                return
            if row.hold != reason:
                changes.append(Change(key, ("pending",), {"hold": reason}, detail=f"held: {reason}"))
            if row.due_at <= now:
                rep.held_due.append(_with(row, {"hold": reason}))

        if post is None:
            if broken:
                if row.file in broken:
                    hold(f"its file {self.config.rel(row.file)} cannot be read")
                else:
                    hold("post not found, and post file(s) that cannot be read may hold it: "
                         + ", ".join(self.config.rel(b) for b in broken))
                return
            if row.state == "pending":
                changes.append(Change(key, ("pending",), {"state": "skipped", "hold": None,
                                                          "error": "the post was deleted from the YAML"},
                                      detail="post deleted"))
            return
        if post.id in campaign.invalid_posts:
            hold(HELD_INVALID)
            return
        account = self.config.accounts.get(row.account)
        scheduled = (post.status == "approved" and account is not None and row.account in post.accounts
                     and (key in desired or self.is_occurrence(post, row.occurrence)))
        if not scheduled:
            if row.state == "pending":
                if post.status != "approved":
                    why = f"the post is {post.status}"
                elif account is None or row.account not in post.accounts:
                    why = f"account '{row.account}' is no longer in the post's accounts"
                else:
                    why = "the post is no longer scheduled at this time (publish_at/repeat/until changed)"
                changes.append(Change(key, ("pending",), {"state": "skipped", "hold": None, "error": why},
                                      detail=why))
            return
        h = self._hash(post, account)
        f = str(post.file)
        if row.state == "skipped":
            values: dict[str, Any] = {"hold": None, "content_hash": h, "file": f, "attempts": 0,
                                      "next_attempt": None}
            if row.occurrence < cutoff:
                values.update(state="missed", error=f"older than the catch-up window ({_dur(self.catch_up)}) "
                                                    "when scheduled again")
            else:
                values.update(state="pending", error=None)
            changes.append(Change(key, ("skipped",), values, detail="scheduled again"))
            return
        values = {}
        if row.hold is not None:
            values["hold"] = None
        if h != row.content_hash:
            values["content_hash"] = h
        if f != row.file:
            values["file"] = f
        if row.attempts == 0 and row.next_attempt is None:
            superseded = self._superseded(post, row.occurrence)
            if row.occurrence < cutoff:
                values.update(state="missed", hold=None,
                              error=f"not published within the catch-up window ({_dur(self.catch_up)})")
            elif superseded:
                values.update(state="missed", hold=None, error=superseded)
        if values:
            changes.append(Change(key, ("pending",), values,
                                  detail="missed" if values.get("state") == "missed" else None))

    def _superseded(self, post: Post, occ: datetime) -> str | None:
        """Recurring posts catch up once: an occurrence that was never tried
        and has a later occurrence already due is coalesced into it."""
        latest = self._latest_due.get(post.id) if post.repeat else None
        if latest is not None and occ < latest:
            return (f"superseded by the later occurrence "
                    f"{latest.astimezone(self.config.timezone).isoformat(timespec='minutes')} (catch-up publishes "
                    "a recurring post once)")
        return None

    def _reconcile_unknown(self, now: datetime, rep: SyncReport) -> None:
        from spi_campaign.adapters.base import PublicationRef

        for row in self.ledger.rows(states=("unknown",)):
            if row.checked_at is not None and now - row.checked_at < RECONCILE_EVERY:
                continue
            account = self.config.accounts.get(row.account)
            result_state, url, remote_id, detail = "cannot_tell", None, None, None
            if account is not None:
                rendered = None
                post = self.campaign.post(row.post) if self.campaign else None
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
                    adapter = self._new_adapter(account)
                    res = adapter.reconcile(ref)
                    result_state, url, remote_id, detail = res.state, res.url, res.remote_id, res.detail
                except Exception as exc:  # a broken reconcile must not stop the sync
                    detail = f"reconcile failed: {_msg(exc)}"
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
                ch = Change(row.key, ("unknown",), {
                    "state": "pending", "next_attempt": None, "checked_at": now,
                    "error": "reconcile: not found on the platform after a lost attempt; will be retried"},
                    detail="reconcile: not found")
            else:
                ch = Change(row.key, ("unknown",), {"checked_at": now},
                            detail=f"reconcile: cannot tell{': ' + detail if detail else ''}")
            if self.ledger.update([ch], now) and result_state in ("published", "not_found"):
                rep.reconciled.append((row, result_state, url))

    # ----- adapters ----------------------------------------------------------------------

    def _new_adapter(self, account: Account):
        cls = adapter_class(account)
        return cls(account, self.env, tz=self.config.timezone)

    def _adapter(self, account: Account):
        """One instance per account, used only by that account's worker."""
        a = self._adapters.get(account.name)
        if a is None or a.account is not account:
            a = self._new_adapter(account)
            self._adapters[account.name] = a
        return a

    # ----- publishing one claimed row --------------------------------------------------------

    def publish_row(self, row: Publication) -> Outcome:
        """Publish a row this process has claimed and record the result."""
        campaign = self.campaign
        now = self.now()
        post = campaign.post(row.post) if campaign else None
        account = self.config.accounts.get(row.account)
        token = row.claim_token
        if post is None or account is None or post.id in campaign.invalid_posts:
            # The YAML changed between the claim and now: give the row back.
            self._finish(row, {"state": "pending", "attempts": max(0, row.attempts - 1), "lease_until": None},
                         "released: post changed before publishing")
            return self._emit(Outcome(row.post, row.account, row.occurrence, "released", now))
        try:
            rendered = render(post, account, row.occurrence)
        except SpiError as exc:
            values = {"state": "failed", "error": _msg(exc), "lease_until": None}
            self._finish(row, values, "failed: cannot render")
            return self._emit(Outcome(row.post, row.account, row.occurrence, "failed", now, error=_msg(exc),
                                      attempts=row.attempts))
        h = rendered.content_hash()
        progress = dict(row.progress)

        def checkpoint(data: dict[str, Any]) -> None:
            progress.update(data)
            self.ledger.update([Change(row.key, ("publishing",), {"progress": progress}, expect_token=token)],
                               self.now())

        values: dict[str, Any]
        result: str
        try:
            if self.dry_run:
                if self.on_dry_run:
                    self.on_dry_run(rendered)
                res_url, res_id = None, None
            else:
                adapter = self._adapter(account)
                res = adapter.publish(rendered, progress=progress or None, checkpoint=checkpoint)
                res_url, res_id = res.url, res.remote_id
        except QuotaDeferred as exc:
            nxt = exc.retry_after or (self.now() + self.config.retry_backoff)
            values = {"state": "pending", "attempts": max(0, row.attempts - 1), "next_attempt": nxt,
                      "error": f"quota: {_msg(exc)}"}
            result = "deferred"
        except TransientError as exc:
            if row.attempts >= self.config.max_attempts:
                values = {"state": "failed", "next_attempt": None,
                          "error": f"{_msg(exc)} (gave up after {row.attempts} attempts)"}
                result = "failed"
            else:
                nxt = self.now() + backoff(self.config.retry_backoff, row.attempts)
                if exc.retry_after is not None and exc.retry_after > nxt:
                    nxt = exc.retry_after
                values = {"state": "pending", "next_attempt": nxt,
                          "error": f"transient: {_msg(exc)} (attempt {row.attempts} of {self.config.max_attempts})"}
                result = "retry"
        except AuthError as exc:
            values = {"state": "failed", "next_attempt": None, "error": f"credentials: {_msg(exc)}"}
            result = "failed"
        except UnknownOutcomeError as exc:
            values = {"state": "unknown", "next_attempt": None,
                      "error": f"outcome unknown: {_msg(exc)} (check the platform, then 'spi post resolve')"}
            result = "unknown"
        except (PermanentError, AdapterError) as exc:
            values = {"state": "failed", "next_attempt": None, "error": _msg(exc)}
            result = "failed"
        except Exception as exc:  # the request may have left: never retried automatically
            log.exception("adapter %s raised an unexpected error", account.platform)
            values = {"state": "unknown", "next_attempt": None,
                      "error": f"unexpected error from the {account.platform} adapter: {_msg(exc)}"}
            result = "unknown"
        else:
            values = {"state": "published", "url": res_url, "remote_id": res_id, "published_at": self.now(),
                      "published_hash": h, "next_attempt": None, "error": None}
            result = "published"
        values["content_hash"] = h
        values["progress"] = progress
        values["lease_until"] = None
        self._finish(row, values, result)
        return self._emit(Outcome(row.post, row.account, row.occurrence, result, self.now(),
                                  url=values.get("url"), remote_id=values.get("remote_id"),
                                  error=values.get("error"), next_attempt=values.get("next_attempt"),
                                  attempts=values.get("attempts", row.attempts), rendered=rendered,
                                  dry_run=self.dry_run))

    def _finish(self, row: Publication, values: dict[str, Any], detail: str) -> None:
        token = row.claim_token
        try:
            for attempt in range(3):
                try:
                    ok = self.ledger.update([Change(row.key, ("publishing", "unknown"), values, expect_token=token,
                                                    detail=detail)], self.now())
                    if not ok:
                        log.warning("%s/%s %s: the ledger row changed while publishing; result %s not recorded",
                                    row.post, row.account, row.occurrence, values.get("state"))
                    return
                except SpiError:
                    if attempt == 2:
                        raise
        finally:
            with self._lock:
                self._active.pop(token, None)

    def _emit(self, outcome: Outcome) -> Outcome:
        with self._lock:
            self._outcomes.append(outcome)
        if self.on_outcome:
            try:
                self.on_outcome(outcome)
            except Exception:
                log.exception("printing an outcome failed")
        return outcome

    # ----- workers: one per account ---------------------------------------------------------

    def _track(self, row: Publication) -> None:
        with self._lock:
            self._active[row.claim_token] = row
            if self._heartbeat is None or not self._heartbeat.is_alive():
                self._heartbeat = threading.Thread(target=self._beat, name="spi-heartbeat", daemon=True)
                self._heartbeat.start()

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
            except SpiError:
                log.warning("could not extend the lease of publications in flight", exc_info=True)

    def drain(self, account_name: str, due_by: datetime | None = None) -> int:
        """Publish the due rows of one account, in due order, until none is
        left (or we are stopping). Returns how many rows were claimed."""
        claimed = 0
        while not self._stopping.is_set():
            account = self.config.accounts.get(account_name)
            if account is None:
                return claimed
            now = self.now()
            claim = self.ledger.claim_next(
                account_name, self.owner, now, lease_until=now + LEASE, miss_cutoff=now - self.catch_up,
                cap=self.day_cap(account, now), due_by=due_by)
            for d in claim.deferred:
                self._emit(Outcome(d.post, d.account, d.occurrence, "deferred", now, next_attempt=d.next_attempt,
                                   error=f"max_per_day ({account.max_per_day}) reached", attempts=d.attempts))
            if claim.row is None:
                return claimed
            claimed += 1
            self._track(claim.row)
            try:
                self.publish_row(claim.row)
            except Exception:
                log.exception("publishing %s/%s failed inside the engine", claim.row.post, claim.row.account)
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
                except Exception:
                    log.exception("account %s: worker error", name)
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
                except Exception:
                    log.exception("after_drain callback failed")

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

    # ----- commands -------------------------------------------------------------------------

    def publish_due(self, campaign: Campaign, on_sync: Callable[[SyncReport], None] | None = None) -> RunReport:
        """``publish-due``: sync, publish every due row (accounts in parallel),
        wait, report. Retries that are not due yet are left for the next run."""
        rep = self.sync(campaign)
        if on_sync is not None:
            on_sync(rep)
        start = self.now()
        self.take_outcomes()
        accounts = self.ledger.due_accounts(start)
        if accounts:
            self.kick(sorted(accounts), due_by=start)
            self.wait_idle()
        outcomes = self.take_outcomes()
        # A publication that went unknown during this run is reported by its outcome.
        return RunReport(rep, outcomes, self.ledger.next_due(self.now()), dry_run=self.dry_run)

    def targets(self, campaign: Campaign, post_id: str, account: str | None = None) -> list[Target]:
        """What ``publish ID`` would publish: one occurrence per account (see
        docs/engine.md, "Publishing one post now"). Raises a user-facing
        SpiError when the post cannot be published."""
        post = campaign.require_post(post_id)
        if post.id in campaign.invalid_posts:
            raise SpiError(f"post '{post_id}' has errors and cannot be published; run 'spi post validate'")
        if post.status != "approved":
            raise SpiError(f"post '{post_id}' is {post.status}; set status: approved to publish it")
        if post.publish_at is None:
            raise SpiError(f"post '{post_id}' has no publish_at")
        if account is not None:
            self.config.account(account)
            if account not in post.accounts:
                raise SpiError(f"post '{post_id}' is not for account '{account}' "
                               f"(its accounts: {', '.join(post.accounts)})")
            names = [account]
        else:
            names = list(post.accounts)
        now = self.now()
        out = []
        for name in names:
            acc = self.config.account(name)
            occ = self._current_occurrence(post, name, now)
            if occ is None:
                raise SpiError(f"post '{post_id}' has no occurrence to publish (until has passed)")
            row = self.ledger.get((post.id, name, occ))
            if row is None and not post.repeat:
                # A one-off post whose time moved after it went out: that publication is this post's.
                live = self.ledger.rows(post=post.id, account=name, states=LIVE_STATES)
                if live:
                    occ, row = live[0].occurrence, live[0]
            out.append(Target(post, acc, occ, row))
        return out

    def _current_occurrence(self, post: Post, account: str, now: datetime) -> datetime | None:
        if not post.repeat:
            return post.publish_at.astimezone(UTC)
        from spi_campaign.recurrence import last_at_or_before, next_after

        tz = self.config.timezone
        last = last_at_or_before(post.repeat, tz, post.publish_at, now, post.until, not_before=now - MAX_LOOKBACK)
        if last is not None:
            row = self.ledger.get((post.id, account, last))
            if row is None or row.state != "published":
                return last
        nxt = next_after(post.repeat, tz, post.publish_at, now + timedelta(microseconds=1), post.until)
        return nxt if nxt is not None else last

    def publish_now(self, targets: list[Target], *, force: bool = False) -> list[Outcome]:
        """Publish each target now, through a claim. ``force`` also takes
        rows already published (or unknown)."""
        states = ("pending", "failed", "missed", "skipped")
        if force:
            states += ("published", "unknown")
        out = []
        for t in targets:
            now = self.now()
            key = (t.post.id, t.account.name, t.occurrence)
            self.ledger.insert([Publication(post=key[0], account=key[1], occurrence=key[2],
                                            content_hash=self._hash(t.post, t.account),
                                            file=str(t.post.file))], now)
            row = self.ledger.claim(key, self.owner, now, lease_until=now + LEASE, from_states=states)
            if row is None:
                cur = self.ledger.get(key)
                state = cur.state if cur else "missing"
                out.append(self._emit(Outcome(key[0], key[1], key[2], "refused", now,
                                              error=f"it is {state}" + (" (use --force)" if state in
                                                                         ("published", "unknown") else ""))))
                continue
            self._track(row)
            out.append(self.publish_row(row))
        return out

    # ----- retry / resolve / status --------------------------------------------------------------

    def retry_candidates(self, post_id: str | None = None, account: str | None = None) -> list[Publication]:
        return [r for r in self.ledger.rows(post=post_id, account=account, states=("failed", "unknown"))]

    def retry(self, rows: list[Publication]) -> list[Publication]:
        now = self.now()
        changes = [Change(r.key, ("failed", "unknown"), {"state": "pending", "attempts": 0, "next_attempt": None,
                                                          "error": None, "hold": None, "lease_until": None},
                          detail=f"retry requested (was {r.state})") for r in rows]
        applied = {c.key for c in self.ledger.update(changes, now)}
        return [r for r in rows if r.key in applied]

    def resolve(self, post_id: str, account: str, *, url: str | None, published: bool,
                occurrence: datetime | None = None) -> Publication:
        """Record what a person checked by hand on the platform."""
        states = ("unknown", "failed") if published else ("unknown",)
        rows = [r for r in self.ledger.rows(post=post_id, account=account) if r.state in states]
        if occurrence is not None:
            rows = [r for r in rows if r.occurrence == occurrence]
        if not rows:
            all_rows = self.ledger.rows(post=post_id, account=account)
            if not all_rows:
                raise NotFoundError(f"no publication of post '{post_id}' to account '{account}' in the ledger")
            have = ", ".join(sorted({r.state for r in all_rows}))
            need = " or ".join(states)
            raise SpiError(f"nothing to resolve: post '{post_id}' on '{account}' has no {need} publication"
                           + (" at that occurrence" if occurrence else "") + f" (states: {have})")
        if len(rows) > 1:
            occs = ", ".join(r.occurrence.astimezone(self.config.timezone).isoformat(timespec="seconds")
                             for r in rows)
            raise SpiError(f"post '{post_id}' on '{account}' has several publications to resolve ({occs}); "
                           "choose one with --occurrence")
        row = rows[0]
        now = self.now()
        if published:
            values = {"state": "published", "url": url, "published_at": row.claimed_at or now,
                      "published_hash": row.content_hash, "error": None, "next_attempt": None,
                      "lease_until": None}
            detail = f"resolved by hand: published at {url}"
        else:
            values = {"state": "pending", "attempts": 0, "next_attempt": None, "lease_until": None,
                      "error": None, "hold": None}
            detail = "resolved by hand: not published; will be published by the next run"
        if not self.ledger.update([Change(row.key, states, values, detail=detail)], now):
            raise SpiError("the publication changed while resolving; run the command again")
        return _with(row, values)


# ----- helpers ---------------------------------------------------------------------------

def backoff(base: timedelta, attempt: int) -> timedelta:
    """Delay before attempt ``attempt + 1``: exponential, plus up to 25% jitter
    (never less than the exponential value, so tests can bound it)."""
    # Bounded (a large max_attempts must not overflow the date arithmetic).
    seconds = min(base.total_seconds() * 2.0 ** min(max(0, attempt - 1), 64), MAX_DURATION.total_seconds())
    return timedelta(seconds=seconds) * (1 + random.uniform(0, 0.25))


def _with(row: Publication, values: dict[str, Any]) -> Publication:
    from dataclasses import replace

    return replace(row, **{k: v for k, v in values.items() if hasattr(row, k)})


def _msg(exc: BaseException) -> str:
    from spi_campaign.redact import scrub

    text = str(exc) or type(exc).__name__
    if not isinstance(exc, SpiError):
        text = f"{type(exc).__name__}: {text}"
    return scrub(text)


def _dur(td: timedelta) -> str:
    s = int(td.total_seconds())
    if s and s % 86400 == 0:
        return f"{s // 86400}d"
    if s and s % 3600 == 0:
        return f"{s // 3600}h"
    if s and s % 60 == 0:
        return f"{s // 60}m"
    return f"{s}s"
