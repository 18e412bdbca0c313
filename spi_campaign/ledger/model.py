"""What the ledger stores, and who may hold a claim.

Backend-neutral: nothing here knows SQL. Times are aware UTC datetimes in
memory and fixed-width ISO-8601 text (``...Z``) in storage, which sorts like
the instant it names and parses with ``datetime.fromisoformat`` (no
``strptime``: it was two thirds of a sync's cost at 1M rows).
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from spi_campaign.timeutil import UTC

# States that count against max_per_day: the post is (or may be) live.
LIVE_STATES = ("publishing", "published", "unknown")
# Rows the planner must look at on every sync (everything else is history).
OPEN_STATES = ("pending", "publishing", "unknown")
# States that need a person, inside the alert window.
PROBLEM_STATES = ("failed", "unknown", "missed")
STATES = ("pending", "publishing", "published", "failed", "unknown", "missed", "skipped")

# A claim from another host is judged dead only this long after its lease
# ran out, so a clock stepped forward on one side does not expire it.
LEASE_GRACE = timedelta(minutes=10)

Key = tuple[str, str, datetime]


def ts(dt: datetime | None) -> str | None:
    """A UTC timestamp as fixed-width text: sorts like the instant it names."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        raise ValueError("naive datetime given to the ledger")
    # isoformat: the same text as strftime("%Y-%m-%dT%H:%M:%S.%fZ") for years
    # 1000-9999, at a fifth of the cost (ten of these per publication).
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_ts(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text)


@lru_cache(maxsize=1)
def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def process_start(pid: int) -> str | None:
    """``boot_id:starttime`` of a process on this host, or None when it does
    not exist (or is a zombie). Two processes never share it, even when the
    kernel reuses a pid (a restarted container, a reboot)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return None
    try:
        rest = stat[stat.rindex(b")") + 2:].split()
    except ValueError:
        return None
    if rest[0] in (b"Z", b"X"):
        return None
    return f"{_boot_id()}:{rest[19].decode()}"   # field 22 of proc(5): starttime


@dataclass(frozen=True)
class Owner:
    """Who claims a row. ``instance`` is unique per process and prefixes
    every claim token it takes, so a process recognises its own claims
    from the token alone (no list of claims in flight to race against)."""

    host: str
    pid: int
    start: str | None = None
    instance: str = field(default_factory=lambda: uuid.uuid4().hex[:16])

    @classmethod
    def me(cls) -> "Owner":
        return _me()

    def token(self) -> str:
        return f"{self.instance}.{uuid.uuid4().hex[:16]}"

    def owns(self, token: str | None) -> bool:
        return bool(token) and token.split(".", 1)[0] == self.instance


_HOST_ID: list[str] = []


def set_host_id(name: str | None) -> None:
    """Name this machine in claims (``--host-id``; default: the host name).
    It must be unique per machine: processes with the same host id judge
    each other's claims by pid."""
    _HOST_ID[:] = [name] if name else []
    _me_for.cache_clear()


@lru_cache(maxsize=None)
def _me_for(pid: int) -> Owner:
    return Owner(_HOST_ID[0] if _HOST_ID else socket.gethostname(), pid, process_start(pid))


def _me() -> Owner:
    return _me_for(os.getpid())   # a fork gets its own identity


@dataclass
class Publication:
    """One ledger row. Times are aware UTC datetimes."""

    post: str
    account: str
    occurrence: datetime
    state: str = "pending"
    attempts: int = 0
    next_attempt: datetime | None = None
    hold: str | None = None
    content_hash: str | None = None
    published_hash: str | None = None
    remote_id: str | None = None
    url: str | None = None
    error: str | None = None
    progress: dict[str, Any] = field(default_factory=dict)
    file: str | None = None
    claimer_host: str | None = None
    claimer_pid: int | None = None
    claim_token: str | None = None
    lease_until: datetime | None = None
    claimed_at: datetime | None = None
    published_at: datetime | None = None
    checked_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # v2
    claimer_start: str | None = None     # process_start() of the claimer
    local_at: str | None = None          # the occurrence as local wall time when planned
    post_digest: str | None = None       # the post's source digest last checked against the row
    edited_hash: str | None = None       # content hash last reported as "edited after publication"

    @property
    def key(self) -> Key:
        return (self.post, self.account, self.occurrence)

    @property
    def due_at(self) -> datetime:
        """When this row may next be attempted."""
        return self.next_attempt or self.occurrence


TIME_FIELDS = frozenset({"occurrence", "next_attempt", "lease_until", "claimed_at", "published_at", "checked_at",
                         "created_at", "updated_at"})
COLUMNS = [f.name for f in fields(Publication)]


@dataclass
class Change:
    """A compare-and-set on one row: applied only if the row's state is in
    ``expect_states`` (and its claim token is ``expect_token`` when given)."""

    key: Key
    expect_states: tuple[str, ...]
    values: dict[str, Any]
    expect_token: str | None = None
    detail: str | None = None      # recorded in the event log


@dataclass(frozen=True)
class DayCap:
    """``max_per_day`` for one account on the campaign-timezone day [start, end)."""

    limit: int
    start: datetime
    end: datetime


@dataclass
class Claim:
    """Result of ``claim_next``: the claimed row (or None), and the rows the
    day cap pushed to the next day."""

    row: Publication | None
    deferred: list[Publication] = field(default_factory=list)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (a zombie counts as dead)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return process_start(pid) is not None or not os.path.exists("/proc/self/stat")


def claimer_dead(row: Publication, now: datetime, my_tokens=(), me: Owner | None = None) -> bool:
    """Whether the claimer of a ``publishing`` row can no longer finish it.

    On this host a claim is judged by the process alone, never by its lease:
    a process that is alive (paused by SIGSTOP, a frozen VM, a stepped
    clock) may still publish, so its row is never taken over. The process is
    identified by pid *and* start time, so a reused pid is not mistaken for
    the claimer, and a process recognises its own claims by their token.
    A claim from another host (a shared database) is dead once its lease,
    extended by heartbeats, ran out ``LEASE_GRACE`` ago."""
    me = me or Owner.me()
    if me.owns(row.claim_token) or (row.claim_token and row.claim_token in set(my_tokens)):
        return False
    if row.claimer_host == me.host and row.claimer_pid is not None:
        if row.claimer_start:
            return process_start(row.claimer_pid) != row.claimer_start
        # a claim written by spi before v2: no start time
        if row.claimer_pid == me.pid:
            return True
        return not pid_alive(row.claimer_pid)
    return row.lease_until is not None and row.lease_until + LEASE_GRACE < now


@dataclass(frozen=True, slots=True)
class QueueSlot:
    """The slot a queued post got (``queue_slots`` table): ``target`` is the
    queue (an account or ``@group``), ``slot`` the instant (UTC)."""

    post: str
    target: str
    slot: datetime
    assigned_at: datetime
