"""The ``Ledger`` interface: what planning, dispatching and the commands need
from a backend. Every backend passes the same contract suite
(tests/test_ledger_contract.py).

Contract, for every method that writes: one transaction; every state change
is a compare-and-set on the row's state (and claim token), so any number of
processes may share one ledger. Nothing here is SQLite-specific: a backend
with row locks implements ``claim_next`` with ``SELECT ... FOR UPDATE SKIP
LOCKED``.

Cost contract (docs/engine.md, "Flat cost"): every method used on the hot path
(``open_rows``, ``get_many``, ``live_*``, ``claim_next``, ``next_due``,
``due_accounts``, ``problems``, ``counts``, ``newest``) costs what it returns,
not what the ledger holds.
"""

from __future__ import annotations

import abc
from datetime import datetime
from typing import Any, Iterable, Iterator

from spi_campaign.i18n import _
from spi_campaign.ledger.model import Change, Claim, DayCap, Key, Owner, Publication, QueueSlot


class Ledger(abc.ABC):
    """What the engine needs from a ledger backend."""

    #: where it lives, for messages (a path or a redacted URL)
    where: str = ""

    @abc.abstractmethod
    def close(self) -> None: ...

    # ----- meta and identity -----------------------------------------------------

    @abc.abstractmethod
    def meta(self, key: str) -> str | None: ...

    @abc.abstractmethod
    def set_meta(self, key: str, value: str) -> None: ...

    @abc.abstractmethod
    def set_meta_default(self, key: str, value: str) -> str:
        """Set ``key`` unless it is set; return the value it has (atomic)."""

    @property
    def created_at(self) -> datetime | None:
        from spi_campaign.ledger.model import parse_ts

        return parse_ts(self.meta("created_at"))

    def bind(self, campaign: str) -> None:
        """Tie the ledger to one campaign: the first campaign to use it owns
        it; opening it for another campaign is an error."""
        from spi_campaign.errors import LedgerError

        owner = self.set_meta_default("campaign", campaign)
        if owner != campaign:
            raise LedgerError(_("the ledger {where} belongs to campaign '{owner}', not '{campaign}': "
                                "point 'state:' in config.yaml at this campaign's own ledger, or set "
                                "'name: {owner}' if this is the same campaign under a new name")
                              .format(where=self.where, owner=owner, campaign=campaign))

    def check_identity(self) -> None:
        """Raise ``LedgerError`` when the ledger this process opened is no
        longer the one at its address (file removed or replaced)."""

    # ----- reading -------------------------------------------------------------------

    @abc.abstractmethod
    def rows(self, *, post: str | None = None, account: str | None = None,
             states: Iterable[str] | None = None) -> list[Publication]:
        """Rows, newest occurrence first. Proportional to what matches: for
        operator commands on one post, not for the hot path."""

    @abc.abstractmethod
    def iter_rows(self, *, post: str | None = None, account: str | None = None,
                  states: Iterable[str] | None = None, since: datetime | None = None,
                  until: datetime | None = None, limit: int | None = None) -> Iterator[Publication]:
        """Like ``rows`` (newest first) but streamed, bounded memory, with an
        occurrence range ``[since, until)`` and an optional limit."""

    @abc.abstractmethod
    def get(self, key: Key) -> Publication | None: ...

    @abc.abstractmethod
    def get_many(self, keys: Iterable[Key]) -> dict[Key, Publication]:
        """The rows that exist among ``keys`` (primary-key lookups)."""

    @abc.abstractmethod
    def open_rows(self, *, states: Iterable[str] | None = None,
                  posts: Iterable[str] | None = None) -> list[Publication]:
        """Every row in an open state (pending, publishing, unknown), or in
        ``states`` (a subset of them); of ``posts`` only, when given."""

    @abc.abstractmethod
    def live_at(self, account: str, occurrence: datetime) -> list[Publication]:
        """Live rows (publishing, published, unknown) of any post at this
        account and instant."""

    @abc.abstractmethod
    def live_of(self, post: str, account: str, *, local_at: str | None = None) -> Publication | None:
        """A live row of (post, account). With ``local_at`` (``YYYY-MM-DDTHH:MM|zone``):
        only one at the same local wall time planned under *another* zone."""

    @abc.abstractmethod
    def problems(self, since: datetime, now: datetime) -> list[Publication]:
        """Rows that need a person: failed, unknown or missed with occurrence
        at or after ``since``, plus pending rows held (``hold`` set) that are due."""

    @abc.abstractmethod
    def counts(self) -> dict[str, int]:
        """Number of rows in each state."""

    @abc.abstractmethod
    def next_due(self, after: datetime | None = None) -> datetime | None:
        """The earliest time a pending, unheld row becomes due (after ``after``)."""

    @abc.abstractmethod
    def due_accounts(self, now: datetime) -> set[str]:
        """Accounts with at least one pending, unheld row due at ``now``."""

    @abc.abstractmethod
    def events(self, key: Key) -> list[dict[str, Any]]:
        """The state history of one row, oldest first."""

    # ----- writing -------------------------------------------------------------------

    @abc.abstractmethod
    def insert(self, pubs: Iterable[Publication], now: datetime) -> list[Key]:
        """Insert rows that do not exist yet (one transaction); the keys inserted."""

    @abc.abstractmethod
    def update(self, changes: Iterable[Change], now: datetime) -> list[Change]:
        """Apply compare-and-set changes (one transaction); the ones applied."""

    @abc.abstractmethod
    def finish(self, token: str, values: dict[str, Any], now: datetime, detail: str,
               key: Key | None = None) -> bool:
        """Record the outcome of the claim ``token`` (the row must still be
        ``publishing`` or ``unknown`` under that token): False when the claim
        was lost. ``key``: where the row was claimed (a fast path; the row is
        found by its token if it moved since)."""

    @abc.abstractmethod
    def copy_in(self, rows: Iterable[Publication]) -> int:
        """Insert rows exactly as given (times, states, tokens), skipping keys
        that exist: ``spi state copy``. How many were inserted."""

    @abc.abstractmethod
    def rename_post(self, old: Key, new_post: str, now: datetime) -> bool:
        """Move a row (and its history) to another post id, unless a row
        with the new key exists (a renamed post file keeps its history)."""

    @abc.abstractmethod
    def rename_account(self, old: str, new: str, now: datetime) -> int:
        """Move every row of account ``old`` to ``new`` (an account renamed
        in config.yaml, same destination). Rows the new name already has win."""

    @abc.abstractmethod
    def claim_next(self, account: str, owner: Owner, now: datetime, *, lease_until: datetime,
                   miss_cutoff: datetime | None, cap: DayCap | None = None,
                   due_by: datetime | None = None) -> Claim:
        """Atomically take the first due, unheld ``pending`` row of ``account``
        (in due order) and mark it ``publishing`` with a fresh claim token,
        ``attempts + 1``. A row never attempted whose occurrence is older than
        ``miss_cutoff`` is not taken (the next sync marks it missed). If
        ``cap`` is reached, every due row of the account is deferred to
        ``cap.end`` instead and nothing is claimed. ``due_by`` (default ``now``):
        only rows due at or before it are taken."""

    @abc.abstractmethod
    def claim(self, key: Key, owner: Owner, now: datetime, *, lease_until: datetime,
              from_states: tuple[str, ...]) -> Publication | None:
        """Claim one given row if its state is in ``from_states``."""

    @abc.abstractmethod
    def heartbeat(self, tokens: Iterable[str], lease_until: datetime) -> None:
        """Extend the lease of rows we are publishing."""

    # ----- notifications (spi_campaign.notify, docs/alerts.md) ----------------------------
    # ``Notice`` is spi_campaign.notify.model.Notice. Alerts never block
    # publishing: these touch only the ``notifications`` table.

    @abc.abstractmethod
    def notify_record(self, notices: Iterable[Any], now: datetime) -> int:
        """Insert the notices whose key is not recorded yet (insert-or-ignore,
        one transaction): concurrent runs record, so send, each alert once.
        How many were new."""

    @abc.abstractmethod
    def notify_claim(self, now: datetime, lease_until: datetime, limit: int = 200) -> list[Any]:
        """Atomically take the notices due for sending (``pending`` with
        ``next_attempt`` unset or past, or ``sending`` whose lease expired: a
        sender that died) and mark them ``sending`` with a fresh claim token."""

    @abc.abstractmethod
    def notify_finish(self, notices: Iterable[Any], now: datetime, *, status: str, error: str | None = None,
                      next_attempt: datetime | None = None, count_attempt: bool = True) -> None:
        """Record the result of claimed notices (only where the claim token is
        still ours): ``sent``, ``expired``, or ``pending`` again (a retry at
        ``next_attempt``)."""

    @abc.abstractmethod
    def notify_subjects(self, events: Iterable[str], since: datetime) -> list[tuple[str, Key]]:
        """(destination, publication key) of the notices of one of ``events``
        recorded at or after ``since`` (to tell when such a publication
        recovers)."""

    @abc.abstractmethod
    def notifications(self, *, status: str | None = None) -> list[Any]:
        """Recorded notices, oldest first."""

    # ----- queues (spi_campaign.queue, README "Time slots") ------------------------------
    # One row per queued post: its queue and slot. A slot of a queue holds one
    # post (unique), so concurrent runs never give two posts the same slot.

    @abc.abstractmethod
    def queue_slots(self, *, posts: Iterable[str] | None = None, since: datetime | None = None
                    ) -> list[QueueSlot]:
        """Slot rows of these posts, plus every row with a slot at or after
        ``since``; every row when both are None. Ordered by slot."""

    @abc.abstractmethod
    def queue_assign(self, target: str, wanted: Iterable[tuple[str, datetime | None]], candidates: Iterable[datetime],
                     now: datetime) -> dict[str, QueueSlot]:
        """In one transaction, for each (post, earliest) in order: the post's
        row if it has one (another run assigned it), else the first of
        ``candidates`` at or after ``earliest`` that is still free in
        ``target`` (insert-or-ignore). The rows of the posts that have a slot."""

    @abc.abstractmethod
    def queue_free(self, slots: Iterable[QueueSlot]) -> int:
        """Delete these rows (only while they are unchanged); how many."""

    # ----- engagement metrics (spi metrics fetch, docs/metrics.md) ---------------------------
    # Metrics never block publishing: these touch only the ``metrics`` table.

    @abc.abstractmethod
    def metrics_record(self, key: Key, fetched_at: datetime, snapshot: str,
                       values: dict[str, tuple[int | None, str | None]]) -> None:
        """Store one snapshot of a publication: metric -> (value or None, reason
        it is None). ``snapshot``: ``48h``, ``7d`` or ``manual``."""

    @abc.abstractmethod
    def metrics_snapshots(self, key: Key) -> set[str]:
        """The snapshot labels recorded for one publication (a key lookup)."""

    @abc.abstractmethod
    def metrics_latest(self, key: Key) -> tuple[datetime, dict[str, tuple[int | None, str | None]]] | None:
        """(fetched_at, values) of the newest snapshot of one publication."""

    @abc.abstractmethod
    def iter_latest_metrics(self, *, since: datetime | None = None, until: datetime | None = None,
                            key: Key | None = None) -> Iterator[tuple[Key, datetime, dict[str, Any]]]:
        """The newest snapshot of every publication with an occurrence in
        ``[since, until)``, streamed in ``iter_rows`` order (occurrence
        newest first, then post, account), so a caller merges both streams."""

    @abc.abstractmethod
    def range_counts(self, since: datetime, until: datetime) -> list[tuple[str, str, str, int]]:
        """(state, post, account, number of rows) with an occurrence in
        ``[since, until)`` (the report's totals; costs the rows in the range
        once, in the backend, and returns one line per post and account)."""

    @abc.abstractmethod
    def metrics_due(self, now: datetime, published_since: datetime) -> Iterable[Any]:
        """(row, snapshot labels) of published rows with an occurrence at or
        after ``published_since``: the candidates for a scheduled snapshot."""
