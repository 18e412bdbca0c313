"""The ledger: the source of truth for what was published, where and when.

One row per publication, keyed by (post id, account, occurrence in UTC). A
recurring post has one row per occurrence. The key makes re-syncing from the
YAML idempotent: inserting a row that exists is a no-op.

The engine talks to the abstract ``Ledger``; ``SqliteLedger`` is the only
backend today. Every state change is a compare-and-set (``UPDATE ... WHERE
state IN (...)``), and a claim is one transaction that picks a due row and
marks it ``publishing`` before any adapter is called, so any number of
processes can share one ledger. A PostgreSQL backend implements the same
methods with ``SELECT ... FOR UPDATE SKIP LOCKED`` in ``claim_next`` (see
docs/engine.md).
"""

from __future__ import annotations

import abc
import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Sequence

from spi_campaign.errors import LedgerError
from spi_campaign.timeutil import UTC

# States that count against max_per_day: the post is (or may be) live.
LIVE_STATES = ("publishing", "published", "unknown")

SCHEMA_VERSION = "1"

Key = tuple[str, str, datetime]


def ts(dt: datetime | None) -> str | None:
    """A UTC timestamp as fixed-width text: sorts like the instant it names."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        raise ValueError("naive datetime given to the ledger")
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Owner:
    """Who claimed a row: enough to tell later whether that process is dead."""

    host: str
    pid: int

    @classmethod
    def me(cls) -> "Owner":
        return cls(socket.gethostname(), os.getpid())


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

    @property
    def key(self) -> Key:
        return (self.post, self.account, self.occurrence)

    @property
    def due_at(self) -> datetime:
        """When this row may next be attempted."""
        return self.next_attempt or self.occurrence


_TIME_FIELDS = {"occurrence", "next_attempt", "lease_until", "claimed_at", "published_at", "checked_at",
                "created_at", "updated_at"}
_COLUMNS = [f.name for f in fields(Publication)]
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM publications"


def _to_db(name: str, value: Any) -> Any:
    if name in _TIME_FIELDS:
        return ts(value)
    if name == "progress":
        return json.dumps(value or {}, ensure_ascii=False, sort_keys=True)
    return value


def _from_db(row: Sequence[Any]) -> Publication:
    values = {}
    for name, value in zip(_COLUMNS, row):
        if name in _TIME_FIELDS:
            value = parse_ts(value)
        elif name == "progress":
            value = json.loads(value) if value else {}
        values[name] = value
    return Publication(**values)


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


class Ledger(abc.ABC):
    """What the engine needs from a ledger backend."""

    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    def meta(self, key: str) -> str | None: ...

    @abc.abstractmethod
    def set_meta(self, key: str, value: str) -> None: ...

    @abc.abstractmethod
    def rows(self, *, post: str | None = None, account: str | None = None,
             states: Iterable[str] | None = None) -> list[Publication]:
        """Rows, newest occurrence first."""

    def get(self, key: Key) -> Publication | None:
        for row in self.rows(post=key[0], account=key[1]):
            if row.occurrence == key[2]:
                return row
        return None

    @abc.abstractmethod
    def insert(self, pubs: Iterable[Publication], now: datetime) -> list[Key]:
        """Insert rows that do not exist yet (one transaction); the keys inserted."""

    @abc.abstractmethod
    def update(self, changes: Iterable[Change], now: datetime) -> list[Change]:
        """Apply compare-and-set changes (one transaction); the ones applied."""

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

    @abc.abstractmethod
    def next_due(self, after: datetime | None = None) -> datetime | None:
        """The earliest time a pending, unheld row becomes due (after ``after``)."""

    @abc.abstractmethod
    def due_accounts(self, now: datetime) -> set[str]:
        """Accounts with at least one pending, unheld row due at ``now``."""

    @abc.abstractmethod
    def events(self, key: Key) -> list[dict[str, Any]]:
        """The state history of one row, oldest first."""

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


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS publications (
    post           TEXT NOT NULL,
    account        TEXT NOT NULL,
    occurrence     TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('pending','publishing','published','failed','unknown','missed','skipped')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_attempt   TEXT,
    hold           TEXT,
    content_hash   TEXT,
    published_hash TEXT,
    remote_id      TEXT,
    url            TEXT,
    error          TEXT,
    progress       TEXT NOT NULL DEFAULT '{}',
    file           TEXT,
    claimer_host   TEXT,
    claimer_pid    INTEGER,
    claim_token    TEXT,
    lease_until    TEXT,
    claimed_at     TEXT,
    published_at   TEXT,
    checked_at     TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (post, account, occurrence)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS publications_due ON publications (state, account, occurrence);
CREATE TABLE IF NOT EXISTS events (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    post       TEXT NOT NULL,
    account    TEXT NOT NULL,
    occurrence TEXT NOT NULL,
    state      TEXT NOT NULL,
    detail     TEXT,
    host       TEXT,
    pid        INTEGER
);
CREATE INDEX IF NOT EXISTS events_key ON events (post, account, occurrence);
CREATE TABLE IF NOT EXISTS notifications (
    destination  TEXT NOT NULL,
    event        TEXT NOT NULL,
    post         TEXT NOT NULL DEFAULT '',
    account      TEXT NOT NULL DEFAULT '',
    occurrence   TEXT NOT NULL DEFAULT '',
    since        TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL DEFAULT '',
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending','sending','sent','expired')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt TEXT,
    error        TEXT,
    claim_token  TEXT,
    lease_until  TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    sent_at      TEXT,
    PRIMARY KEY (destination, event, post, account, occurrence, since)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (status, next_attempt);
"""

_DUE = "state = 'pending' AND hold IS NULL AND COALESCE(next_attempt, occurrence) <= ?"
_NOT_MISSED = "NOT (attempts = 0 AND next_attempt IS NULL AND occurrence < ?)"


class SqliteLedger(Ledger):
    """The ledger in one SQLite file (WAL, busy timeout, BEGIN IMMEDIATE).

    One connection per process, shared by threads under a lock: SQLite
    serialises writers anyway, and a Python lock queues threads without
    SQLite's sleeping busy handler. Processes wait on each other through the
    busy timeout.
    """

    BUSY_TIMEOUT_MS = 30_000

    def __init__(self, conn: sqlite3.Connection, path: Path | None):
        self._conn = conn
        self.path = path
        self._lock = threading.RLock()
        self._owner = Owner.me()

    # ----- opening -----------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str) -> "SqliteLedger":
        """Open (creating on first use) the ledger file at ``path``."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=cls.BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise LedgerError(f"cannot open the ledger {path}: {exc}") from None
        led = cls(conn, path)
        led._setup(wal=True)
        return led

    @classmethod
    def snapshot(cls, path: Path | str) -> "SqliteLedger":
        """An in-memory copy of the ledger at ``path`` (empty if it does not
        exist). ``--dry-run`` runs the real engine against it: nothing it does
        reaches the file."""
        mem = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        path = Path(path)
        if path.exists():
            try:
                # A real file URI: a raw path with '#', '?' or '%' names another file (and
                # would create it). mode=rw, not ro: it never creates the file either, is
                # read-only anyway when the file is, and, as the last connection, it removes
                # the -wal/-shm files on close where a read-only one leaves them behind. No
                # row is ever changed (at most a WAL a crashed process left is checkpointed).
                src = sqlite3.connect(path.resolve().as_uri() + "?mode=rw", uri=True,
                                      timeout=cls.BUSY_TIMEOUT_MS / 1000)
                try:
                    src.backup(mem)
                finally:
                    src.close()
            except sqlite3.Error as exc:
                raise LedgerError(f"cannot read the ledger {path}: {exc}") from None
        led = cls(mem, path)   # the path names the ledger in messages; nothing is written to it
        led._setup(wal=False)
        return led

    def _setup(self, *, wal: bool) -> None:
        c = self._conn
        try:
            c.execute(f"PRAGMA busy_timeout = {self.BUSY_TIMEOUT_MS}")
            if wal:
                for attempt in range(50):
                    try:
                        mode = c.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                        break
                    except sqlite3.OperationalError:
                        if attempt == 49:
                            raise
                        time.sleep(0.05)
                if str(mode).lower() != "wal":
                    raise LedgerError(f"the ledger {self.path} cannot use WAL mode (journal_mode={mode})")
                # FULL: a claim must survive a power cut, or a post that went
                # out could be published again after the reboot.
                c.execute("PRAGMA synchronous = FULL")
            with self._tx():
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        c.execute(stmt)
                if c.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() is None:
                    now = ts(datetime.now(UTC))
                    c.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
                    c.execute("INSERT OR IGNORE INTO meta VALUES ('created_at', ?)", (now,))
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"the ledger {self.path or ':memory:'} is not usable: {exc}") from None
        version = self.meta("schema_version")
        if version != SCHEMA_VERSION:
            raise LedgerError(f"the ledger {self.path} has schema version {version}; this spi knows {SCHEMA_VERSION}")

    class _Tx:
        def __init__(self, led: "SqliteLedger"):
            self.led = led

        def __enter__(self):
            self.led._lock.acquire()
            try:
                self.led._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                self.led._lock.release()
                raise LedgerError(f"the ledger {self.led.path} is busy or unreadable: {exc}") from None
            return self.led._conn

        def __exit__(self, et, ev, tb):
            try:
                if et is None:
                    try:
                        self.led._conn.execute("COMMIT")
                    except sqlite3.Error as exc:
                        self.led._conn.execute("ROLLBACK")
                        raise LedgerError(f"cannot write the ledger {self.led.path}: {exc}") from None
                else:
                    try:
                        self.led._conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
            finally:
                self.led._lock.release()
            if isinstance(ev, sqlite3.Error):
                raise LedgerError(f"cannot write the ledger {self.led.path}: {ev}") from None
            return False

    def _tx(self) -> "SqliteLedger._Tx":
        return SqliteLedger._Tx(self)

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._conn.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise LedgerError(f"cannot read the ledger {self.path}: {exc}") from None

    def close(self) -> None:
        with self._lock:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass

    # ----- meta ----------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as c:
            c.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                      (key, value))

    # ----- reading ---------------------------------------------------------------

    def rows(self, *, post: str | None = None, account: str | None = None,
             states: Iterable[str] | None = None) -> list[Publication]:
        where, args = [], []
        if post is not None:
            where.append("post = ?")
            args.append(post)
        if account is not None:
            where.append("account = ?")
            args.append(account)
        if states is not None:
            states = list(states)
            where.append(f"state IN ({','.join('?' * len(states))})")
            args.extend(states)
        sql = _SELECT
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY occurrence DESC, post, account"
        return [_from_db(r) for r in self._read(sql, args)]

    def get(self, key: Key) -> Publication | None:
        rows = self._read(f"{_SELECT} WHERE post=? AND account=? AND occurrence=?", (key[0], key[1], ts(key[2])))
        return _from_db(rows[0]) if rows else None

    def next_due(self, after: datetime | None = None) -> datetime | None:
        rows = self._read("SELECT MIN(COALESCE(next_attempt, occurrence)) FROM publications "
                          "WHERE state = 'pending' AND hold IS NULL AND COALESCE(next_attempt, occurrence) > ?",
                          (ts(after) if after else "",))
        return parse_ts(rows[0][0]) if rows and rows[0][0] else None

    def due_accounts(self, now: datetime) -> set[str]:
        return {r[0] for r in self._read(f"SELECT DISTINCT account FROM publications WHERE {_DUE}", (ts(now),))}

    def events(self, key: Key) -> list[dict[str, Any]]:
        rows = self._read("SELECT at, state, detail, host, pid FROM events WHERE post=? AND account=? AND occurrence=? "
                          "ORDER BY id", (key[0], key[1], ts(key[2])))
        return [{"at": parse_ts(a), "state": s, "detail": d, "host": h, "pid": p} for a, s, d, h, p in rows]

    # ----- writing -----------------------------------------------------------------

    def _event(self, c: sqlite3.Connection, key: Key, state: str, detail: str | None, now: str) -> None:
        c.execute("INSERT INTO events (at, post, account, occurrence, state, detail, host, pid) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                  (now, key[0], key[1], ts(key[2]), state, detail, self._owner.host, self._owner.pid))

    def insert(self, pubs: Iterable[Publication], now: datetime) -> list[Key]:
        pubs = list(pubs)
        if not pubs:
            return []
        n = ts(now)
        inserted: list[Key] = []
        cols = ", ".join(_COLUMNS)
        marks = ", ".join("?" * len(_COLUMNS))
        with self._tx() as c:
            for p in pubs:
                p = replace(p, created_at=now, updated_at=now)
                cur = c.execute(f"INSERT OR IGNORE INTO publications ({cols}) VALUES ({marks})",
                                [_to_db(name, getattr(p, name)) for name in _COLUMNS])
                if cur.rowcount:
                    inserted.append(p.key)
                    self._event(c, p.key, p.state, p.error or p.hold, n)
        return inserted

    def update(self, changes: Iterable[Change], now: datetime) -> list[Change]:
        changes = list(changes)
        if not changes:
            return []
        n = ts(now)
        applied: list[Change] = []
        with self._tx() as c:
            for ch in changes:
                if self._apply(c, ch, n):
                    applied.append(ch)
        return applied

    def _apply(self, c: sqlite3.Connection, ch: Change, n: str) -> bool:
        values = dict(ch.values)
        sets = ", ".join(f"{k} = ?" for k in values) + ", updated_at = ?"
        args = [_to_db(k, v) for k, v in values.items()] + [n]
        where = f"post = ? AND account = ? AND occurrence = ? AND state IN ({','.join('?' * len(ch.expect_states))})"
        wargs: list[Any] = [ch.key[0], ch.key[1], ts(ch.key[2]), *ch.expect_states]
        if ch.expect_token is not None:
            where += " AND claim_token = ?"
            wargs.append(ch.expect_token)
        cur = c.execute(f"UPDATE publications SET {sets} WHERE {where}", args + wargs)
        if cur.rowcount and ("state" in ch.values or ch.detail):
            self._event(c, ch.key, ch.values.get("state", "(same)"), ch.detail, n)
        return bool(cur.rowcount)

    def _claim_values(self, pub: Publication, owner: Owner, now: datetime, lease_until: datetime) -> dict[str, Any]:
        return {"state": "publishing", "claimer_host": owner.host, "claimer_pid": owner.pid,
                "claim_token": uuid.uuid4().hex, "lease_until": lease_until, "claimed_at": now,
                "checked_at": None, "attempts": pub.attempts + 1}

    def claim_next(self, account: str, owner: Owner, now: datetime, *, lease_until: datetime,
                   miss_cutoff: datetime | None, cap: DayCap | None = None,
                   due_by: datetime | None = None) -> Claim:
        n = ts(now)
        due = ts(due_by or now)
        cutoff = ts(miss_cutoff) if miss_cutoff is not None else ""
        with self._tx() as c:
            row = c.execute(
                f"{_SELECT} WHERE account = ? AND {_DUE} AND {_NOT_MISSED} "
                "ORDER BY COALESCE(next_attempt, occurrence), occurrence, post LIMIT 1",
                (account, due, cutoff)).fetchone()
            if row is None:
                return Claim(None)
            pub = _from_db(row)
            if cap is not None:
                used = c.execute(
                    "SELECT COUNT(*) FROM publications WHERE account = ? AND ("
                    "(state = 'published' AND published_at >= ? AND published_at < ?) OR "
                    "(state IN ('publishing', 'unknown') AND claimed_at >= ? AND claimed_at < ?))",
                    (account, ts(cap.start), ts(cap.end), ts(cap.start), ts(cap.end))).fetchone()[0]
                if used >= cap.limit:
                    due = [_from_db(r) for r in c.execute(
                        f"{_SELECT} WHERE account = ? AND {_DUE} AND {_NOT_MISSED}",
                        (account, due, cutoff)).fetchall()]
                    detail = f"max_per_day {cap.limit} reached; deferred to the next day"
                    for d in due:
                        self._apply(c, Change(d.key, ("pending",), {"next_attempt": cap.end}, detail=detail), n)
                    return Claim(None, [replace(d, next_attempt=cap.end) for d in due])
            values = self._claim_values(pub, owner, now, lease_until)
            self._apply(c, Change(pub.key, ("pending",), values, detail=f"claimed by {owner.host} pid {owner.pid}"), n)
            return Claim(replace(pub, **values))

    def claim(self, key: Key, owner: Owner, now: datetime, *, lease_until: datetime,
              from_states: tuple[str, ...]) -> Publication | None:
        n = ts(now)
        with self._tx() as c:
            row = c.execute(f"{_SELECT} WHERE post=? AND account=? AND occurrence=?",
                            (key[0], key[1], ts(key[2]))).fetchone()
            if row is None:
                return None
            pub = _from_db(row)
            if pub.state not in from_states:
                return None
            values = self._claim_values(pub, owner, now, lease_until)
            values["hold"] = None
            self._apply(c, Change(pub.key, from_states, values,
                                  detail=f"claimed by {owner.host} pid {owner.pid} (explicit publish)"), n)
            return replace(pub, **values)

    def heartbeat(self, tokens: Iterable[str], lease_until: datetime) -> None:
        tokens = list(tokens)
        if not tokens:
            return
        with self._tx() as c:
            c.executemany("UPDATE publications SET lease_until = ? WHERE claim_token = ? AND state = 'publishing'",
                          [(ts(lease_until), t) for t in tokens])

    # ----- notifications (spi_campaign.notify, docs/alerts.md) ----------------------------

    _NOTICE_COLS = ("destination", "event", "post", "account", "occurrence", "since", "state", "title", "body",
                    "status", "attempts", "next_attempt", "error", "claim_token", "lease_until", "created_at",
                    "sent_at")
    _NOTICE_TIMES = ("next_attempt", "lease_until", "created_at", "sent_at")
    _NOTICE_KEY = "destination = ? AND event = ? AND post = ? AND account = ? AND occurrence = ? AND since = ?"

    def _notice(self, row: Sequence[Any]) -> Any:
        from spi_campaign.notify.model import Notice

        values = dict(zip(self._NOTICE_COLS, row))
        for name in self._NOTICE_TIMES:
            values[name] = parse_ts(values[name])
        return Notice(**values)

    def notify_record(self, notices: Iterable[Any], now: datetime) -> int:
        notices = list(notices)
        if not notices:
            return 0
        n = ts(now)
        cols = self._NOTICE_COLS + ("updated_at",)
        sql = f"INSERT OR IGNORE INTO notifications ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        new = 0
        with self._tx() as c:
            for x in notices:
                args = [ts(getattr(x, k)) if k in self._NOTICE_TIMES else getattr(x, k) for k in self._NOTICE_COLS]
                args[self._NOTICE_COLS.index("created_at")] = n
                args[self._NOTICE_COLS.index("status")] = "pending"
                new += c.execute(sql, args + [n]).rowcount
        return new

    def notify_claim(self, now: datetime, lease_until: datetime, limit: int = 200) -> list[Any]:
        n = ts(now)
        token = uuid.uuid4().hex
        with self._tx() as c:
            rows = c.execute(
                f"SELECT {', '.join(self._NOTICE_COLS)} FROM notifications WHERE "
                "(status = 'pending' AND (next_attempt IS NULL OR next_attempt <= ?)) OR "
                "(status = 'sending' AND lease_until < ?) ORDER BY created_at LIMIT ?", (n, n, limit)).fetchall()
            out = []
            for r in rows:
                x = self._notice(r)
                c.execute(f"UPDATE notifications SET status = 'sending', claim_token = ?, lease_until = ?, "
                          f"updated_at = ? WHERE {self._NOTICE_KEY}", (token, ts(lease_until), n, *x.key))
                x.status, x.claim_token, x.lease_until = "sending", token, lease_until
                out.append(x)
        return out

    def notify_finish(self, notices: Iterable[Any], now: datetime, *, status: str, error: str | None = None,
                      next_attempt: datetime | None = None, count_attempt: bool = True) -> None:
        notices = list(notices)
        if not notices:
            return
        n = ts(now)
        with self._tx() as c:
            for x in notices:
                c.execute(f"UPDATE notifications SET status = ?, error = ?, next_attempt = ?, attempts = attempts + ?, "
                          "claim_token = NULL, lease_until = NULL, updated_at = ?, "
                          "sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END "
                          f"WHERE {self._NOTICE_KEY} AND status = 'sending' AND claim_token = ?",
                          (status, error, ts(next_attempt), 1 if count_attempt else 0, n, status, n, *x.key,
                           x.claim_token))

    def notify_subjects(self, events: Iterable[str], since: datetime) -> list[tuple[str, Key]]:
        events = list(events)
        rows = self._read(f"SELECT DISTINCT destination, post, account, occurrence FROM notifications WHERE event IN "
                          f"({','.join('?' * len(events))}) AND created_at >= ? AND post != ''",
                          (*events, ts(since)))
        return [(d, (p, a, parse_ts(o))) for d, p, a, o in rows]

    def notifications(self, *, status: str | None = None) -> list[Any]:
        sql = f"SELECT {', '.join(self._NOTICE_COLS)} FROM notifications"
        args: tuple = ()
        if status is not None:
            sql, args = sql + " WHERE status = ?", (status,)
        return [self._notice(r) for r in self._read(sql + " ORDER BY created_at, event, post, account", args)]


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
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
        state = stat[stat.rindex(b")") + 2:stat.rindex(b")") + 3]
        if state in (b"Z", b"X"):
            return False
    except (OSError, ValueError):
        pass
    return True


def claimer_dead(row: Publication, now: datetime, my_tokens: Iterable[str] = (),
                 me: Owner | None = None) -> bool:
    """A ``publishing`` row whose claimer is gone: the lease expired without a
    heartbeat (any host), or the claimer is on this host and its pid is not
    alive. A row claimed under our own pid but not by one of ``my_tokens`` (the
    claims this process holds) belongs to an earlier process that had the same
    pid (containers restart with the same pids): dead too."""
    me = me or Owner.me()
    if row.lease_until is not None and row.lease_until < now:
        return True
    if row.claimer_host == me.host and row.claimer_pid is not None:
        if row.claimer_pid == me.pid:
            return row.claim_token not in set(my_tokens)
        return not pid_alive(row.claimer_pid)
    return False


def open_ledger(path: Path | str, *, dry_run: bool = False) -> SqliteLedger:
    """The ledger at ``path``; with ``dry_run`` an in-memory copy of it."""
    return SqliteLedger.snapshot(path) if dry_run else SqliteLedger.open(path)
