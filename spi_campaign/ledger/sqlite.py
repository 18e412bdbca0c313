"""The ledger in one SQLite file (WAL, busy timeout, BEGIN IMMEDIATE).

One connection per process, shared by threads under a lock: SQLite
serialises writers anyway, and a Python lock queues threads without
SQLite's sleeping busy handler. Processes wait on each other through the
busy timeout.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from spi_campaign.errors import LedgerError
from spi_campaign.i18n import _
from spi_campaign.ledger import schema
from spi_campaign.ledger.base import Ledger
from spi_campaign.ledger.sqlite_metrics import SqliteMetrics
from spi_campaign.ledger.sqlite_notify import SqliteNotifications
from spi_campaign.ledger.sqlite_queue import SqliteQueue
from spi_campaign.ledger.model import (COLUMNS, LIVE_STATES, OPEN_STATES, PROBLEM_STATES, TIME_FIELDS, Change,
                                       Claim, DayCap, Key, Owner, Publication, parse_ts, ts)
from spi_campaign.timeutil import UTC

_DUE = "state = 'pending' AND hold IS NULL AND COALESCE(next_attempt, occurrence) <= ?"
_NOT_MISSED = "NOT (attempts = 0 AND next_attempt IS NULL AND occurrence < ?)"
_ORDER = " ORDER BY occurrence DESC, post, account"
_fromiso = datetime.fromisoformat


def _reason(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and "disk is full" in text:
        return _("the disk is full")
    return text


class SqliteLedger(SqliteMetrics, SqliteNotifications, SqliteQueue, Ledger):
    BUSY_TIMEOUT_MS = 30_000

    def __init__(self, conn: sqlite3.Connection, path: Path | None, *, readonly: bool = False):
        self._conn = conn
        self.path = path
        self.where = str(path) if path is not None else ":memory:"
        self.readonly = readonly
        self._lock = threading.RLock()
        self._owner = Owner.me()
        self._ids: dict[str, tuple[int, int]] = {}
        self.new = False          # created by this open (or found empty)
        self._cols = list(COLUMNS)
        self._time_cols = [c for c in self._cols if c in TIME_FIELDS]
        self._select = ""

    # ----- opening -----------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str, *, readonly: bool = False) -> "SqliteLedger":
        """Open (creating on first use, unless ``readonly``) the ledger file at ``path``."""
        path = Path(path)
        try:
            if readonly:
                if not path.is_file():
                    raise LedgerError(_("there is no ledger at {path}").format(path=path))
                conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None,
                                       timeout=cls.BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
            else:
                if path.exists() and not path.is_file():
                    raise LedgerError(_("the ledger {where} is not a regular file").format(where=path))
                path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(str(path), timeout=cls.BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                       check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise LedgerError(_("cannot open the ledger {where}: {reason}").format(where=path, reason=_reason(exc))) from None
        led = cls(conn, path, readonly=readonly)
        try:
            led._setup(wal=not readonly)
        except BaseException:
            led.close()
            raise
        return led

    @classmethod
    def open_for_reading(cls, path: Path | str) -> "SqliteLedger":
        """For commands that only read (``status``): the ledger as it is, also
        when its file or folder is read-only to us (no migration then)."""
        try:
            return cls.open(path)
        except LedgerError:
            if not Path(path).is_file():
                raise
            return cls.open(path, readonly=True)

    @classmethod
    def snapshot(cls, path: Path | str) -> "SqliteLedger":
        """An in-memory copy of the ledger at ``path`` (empty if it does not
        exist). ``--dry-run`` runs the real engine against it: nothing it does
        reaches the file."""
        mem = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        path = Path(path)
        if path.exists():
            try:
                # A real file URI (a raw path with '#', '?' or '%' names another file);
                # mode=rw never creates the file, and as the last connection it removes
                # the -wal/-shm files on close. No row is ever changed.
                src = sqlite3.connect(path.resolve().as_uri() + "?mode=rw", uri=True,
                                      timeout=cls.BUSY_TIMEOUT_MS / 1000)
                try:
                    src.backup(mem)
                finally:
                    src.close()
            except (OSError, sqlite3.Error) as exc:
                raise LedgerError(_("cannot read the ledger {where}: {reason}").format(where=path, reason=_reason(exc))) from None
        led = cls(mem, path)   # the path names the ledger in messages; nothing is written to it
        led.where = _("{where} (dry-run copy)").format(where=path)
        led._setup(wal=False)
        led.path = None        # no identity to check: it is a copy
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
                    raise LedgerError(_("the ledger {where} cannot use WAL mode (journal_mode={mode})").format(where=self.where, mode=mode))
                # FULL: a claim must survive a power cut, or a post that went
                # out could be published again after the reboot.
                c.execute("PRAGMA synchronous = FULL")
            if not self.readonly:
                with self._tx():
                    found = schema.create_or_migrate(c, ts(datetime.now(UTC)))
                self.new = found is None
            version = self.meta("schema_version")
        except sqlite3.DatabaseError as exc:
            raise LedgerError(_("the ledger {where} is not usable: {reason}").format(where=self.where, reason=_reason(exc))) from None
        if version not in (schema.SCHEMA_VERSION, "1" if self.readonly else None):
            raise LedgerError(_("the ledger {where} has schema version {version}; this spi knows {known} (upgrade spi)")
                              .format(where=self.where, version=version, known=schema.SCHEMA_VERSION))
        have = {r[1] for r in self._read("PRAGMA table_info(publications)")}
        self._cols = [c for c in COLUMNS if c in have]
        self._time_cols = [c for c in self._cols if c in TIME_FIELDS]
        self._select = f"SELECT {', '.join(self._cols)} FROM publications"
        if wal and self.path is not None:
            self._ids = {}
            for suffix in ("", "-wal", "-shm"):
                st = self._stat(suffix)
                if st is not None:
                    self._ids[suffix] = st

    def _stat(self, suffix: str) -> tuple[int, int] | None:
        try:
            st = os.stat(f"{self.path}{suffix}")
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def check_identity(self) -> None:
        for suffix, ident in self._ids.items():
            now = self._stat(suffix)
            if now != ident:
                what = {"": _("the ledger file"), "-wal": _("the ledger's write-ahead log"),
                        "-shm": _("the ledger's shared-memory file")}[suffix]
                msg = (_("{what} {path} was removed while spi was running; stopped publishing so nothing is "
                         "published twice (restart spi)") if now is None else
                       _("{what} {path} was replaced while spi was running; stopped publishing so nothing is "
                         "published twice (restart spi)"))
                err = LedgerError(msg.format(what=what, path=f"{self.path}{suffix}"))
                err.identity_lost = True    # the daemon stops on it (recognised by this, not by the text)
                raise err

    class _Tx:
        def __init__(self, led: "SqliteLedger"):
            self.led = led

        def __enter__(self):
            self.led._lock.acquire()
            try:
                self.led._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                self.led._lock.release()
                raise LedgerError(_("the ledger {where} is busy or cannot be written: {reason}")
                                  .format(where=self.led.where, reason=_reason(exc))) from None
            return self.led._conn

        def __exit__(self, et, ev, tb):
            conn = self.led._conn
            try:
                if et is None:
                    try:
                        conn.execute("COMMIT")
                    except sqlite3.Error as exc:
                        ev = exc
                if ev is not None and conn.in_transaction:
                    try:   # SQLite may already have rolled back (a full disk does)
                        conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
            finally:
                self.led._lock.release()
            if isinstance(ev, sqlite3.Error):
                raise LedgerError(_("cannot write the ledger {where}: {reason}").format(where=self.led.where, reason=_reason(ev))) from None
            return False

    def _tx(self) -> "SqliteLedger._Tx":
        if self.readonly:
            raise LedgerError(_("the ledger {where} is open read-only").format(where=self.where))
        return SqliteLedger._Tx(self)

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._conn.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise LedgerError(_("cannot read the ledger {where}: {reason}").format(where=self.where, reason=_reason(exc))) from None

    def _rows(self, where: str, args: Sequence[Any] = (), tail: str = "") -> list[Publication]:
        sql = self._select + (f" WHERE {where}" if where else "") + tail
        return [self._from_db(r) for r in self._read(sql, args)]

    def _from_db(self, row: Sequence[Any]) -> Publication:
        # hot (every open row on every sync): convert only the non-null time columns
        values = dict(zip(self._cols, row))
        for name in self._time_cols:
            value = values[name]
            if value is not None:
                values[name] = _fromiso(value)
        progress = values.get("progress")
        values["progress"] = json.loads(progress) if progress and progress != "{}" else {}
        return Publication(**values)

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

    def set_meta_default(self, key: str, value: str) -> str:
        if self.readonly:
            return self.meta(key) or value
        with self._tx() as c:
            c.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, value))
            return c.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]

    # ----- reading ---------------------------------------------------------------

    @staticmethod
    def _filters(post, account, states, since=None, until=None) -> tuple[list[str], list[Any]]:
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
        if since is not None:
            where.append("occurrence >= ?")
            args.append(ts(since))
        if until is not None:
            where.append("occurrence < ?")
            args.append(ts(until))
        return where, args

    def rows(self, *, post=None, account=None, states=None) -> list[Publication]:
        where, args = self._filters(post, account, states)
        return self._rows(" AND ".join(where), args, _ORDER)

    def iter_rows(self, *, post=None, account=None, states=None, since=None, until=None,
                  limit=None) -> Iterator[Publication]:
        where, args = self._filters(post, account, states, since, until)
        sql = self._select + (" WHERE " + " AND ".join(where) if where else "") + _ORDER
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            try:
                cur = self._conn.execute(sql, args)
            except sqlite3.Error as exc:
                raise LedgerError(_("cannot read the ledger {where}: {reason}").format(where=self.where, reason=_reason(exc))) from None
        while True:
            with self._lock:
                try:
                    chunk = cur.fetchmany(2000)
                except sqlite3.Error as exc:
                    raise LedgerError(_("cannot read the ledger {where}: {reason}").format(where=self.where, reason=_reason(exc))) from None
            if not chunk:
                return
            for r in chunk:
                yield self._from_db(r)

    def get(self, key: Key) -> Publication | None:
        rows = self._rows("post=? AND account=? AND occurrence=?", (key[0], key[1], ts(key[2])))
        return rows[0] if rows else None

    def get_many(self, keys: Iterable[Key]) -> dict[Key, Publication]:
        keys = list(keys)
        out: dict[Key, Publication] = {}
        for i in range(0, len(keys), 300):
            chunk = keys[i:i + 300]
            cond = " OR ".join(["(post=? AND account=? AND occurrence=?)"] * len(chunk))
            args = [v for k in chunk for v in (k[0], k[1], ts(k[2]))]
            for r in self._rows(cond, args):
                out[r.key] = r
        return out

    def open_rows(self, *, states=None, posts=None) -> list[Publication]:
        states = list(states or OPEN_STATES)
        where, args = f"state IN ({','.join('?' * len(states))})", list(states)
        if posts is None:
            return self._rows(where, args)
        out: list[Publication] = []
        posts = list(posts)
        for i in range(0, len(posts), 500):
            chunk = posts[i:i + 500]
            out += self._rows(f"post IN ({','.join('?' * len(chunk))}) AND {where}", chunk + args)
        return out

    def live_at(self, account: str, occurrence: datetime) -> list[Publication]:
        return self._rows(f"state IN ({','.join('?' * len(LIVE_STATES))}) AND account = ? AND occurrence = ?",
                          (*LIVE_STATES, account, ts(occurrence)))

    def live_of(self, post: str, account: str, *, local_at: str | None = None) -> Publication | None:
        where = f"post = ? AND account = ? AND state IN ({','.join('?' * len(LIVE_STATES))})"
        args: list[Any] = [post, account, *LIVE_STATES]
        if local_at is not None:
            if "local_at" not in self._cols:
                return None
            # the same local wall time, planned under another timezone
            where += " AND substr(local_at, 1, 16) = substr(?, 1, 16) AND local_at <> ?"
            args += [local_at, local_at]
        rows = self._rows(where, args, " LIMIT 1")
        return rows[0] if rows else None

    def problems(self, since: datetime, now: datetime) -> list[Publication]:
        s = ts(since)
        out = self._rows(f"state IN ({','.join('?' * len(PROBLEM_STATES))}) AND occurrence >= ?",
                         (*PROBLEM_STATES, s), _ORDER)
        held = self._rows("state = 'pending' AND hold IS NOT NULL AND occurrence <= ? AND occurrence >= ?",
                          (ts(now), s), _ORDER)
        return sorted(out + held, key=lambda r: (r.occurrence, r.post, r.account), reverse=True)

    def counts(self) -> dict[str, int]:
        try:
            return {s: n for s, n in self._read("SELECT state, n FROM state_counts") if n}
        except LedgerError:   # a v1 ledger opened read-only
            return {s: n for s, n in self._read("SELECT state, COUNT(*) FROM publications GROUP BY state")}

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

    @staticmethod
    def _to_db(name: str, value: Any) -> Any:
        if name in TIME_FIELDS:
            return ts(value)
        if name == "progress":
            return json.dumps(value or {}, ensure_ascii=False, sort_keys=True)
        return value

    def insert(self, pubs: Iterable[Publication], now: datetime) -> list[Key]:
        pubs = list(pubs)
        if not pubs:
            return []
        n = ts(now)
        inserted: list[Key] = []
        cols = ", ".join(self._cols)
        marks = ", ".join("?" * len(self._cols))
        with self._tx() as c:
            for p in pubs:
                p = replace(p, created_at=now, updated_at=now)
                cur = c.execute(f"INSERT OR IGNORE INTO publications ({cols}) VALUES ({marks})",
                                [self._to_db(name, getattr(p, name)) for name in self._cols])
                if cur.rowcount:
                    inserted.append(p.key)
                    self._event(c, p.key, p.state, p.error or p.hold, n)
        return inserted

    def copy_in(self, rows: Iterable[Publication]) -> int:
        cols = ", ".join(self._cols)
        sql = f"INSERT OR IGNORE INTO publications ({cols}) VALUES ({', '.join('?' * len(self._cols))})"
        n = 0
        with self._tx() as c:
            for p in rows:
                n += c.execute(sql, [self._to_db(k, getattr(p, k)) for k in self._cols]).rowcount
        return n

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

    def _apply(self, c: sqlite3.Connection, ch: Change, n: str, event: bool = True) -> bool:
        values = dict(ch.values)
        sets = ", ".join(f"{k} = ?" for k in values) + ", updated_at = ?"
        args = [self._to_db(k, v) for k, v in values.items()] + [n]
        where = f"post = ? AND account = ? AND occurrence = ? AND state IN ({','.join('?' * len(ch.expect_states))})"
        wargs: list[Any] = [ch.key[0], ch.key[1], ts(ch.key[2]), *ch.expect_states]
        if ch.expect_token is not None:
            where += " AND claim_token = ?"
            wargs.append(ch.expect_token)
        cur = c.execute(f"UPDATE publications SET {sets} WHERE {where}", args + wargs)
        if cur.rowcount and event and ("state" in ch.values or ch.detail):
            self._event(c, ch.key, ch.values.get("state", "(same)"), ch.detail, n)
        return bool(cur.rowcount)

    def finish(self, token: str, values: dict[str, Any], now: datetime, detail: str,
               key: Key | None = None) -> bool:
        n = ts(now)
        sets = ", ".join(f"{k} = ?" for k in values) + ", updated_at = ?"
        args = [self._to_db(k, v) for k, v in values.items()] + [n]
        with self._tx() as c:
            if key is not None:     # the usual case: one statement on the primary key
                cur = c.execute(f"UPDATE publications SET {sets} WHERE post = ? AND account = ? AND occurrence = ? "
                                "AND claim_token = ? AND state IN ('publishing', 'unknown')",
                                args + [key[0], key[1], ts(key[2]), token])
                if cur.rowcount:
                    self._event(c, key, values.get("state", "(same)"), detail, n)
                    return True
            # the row moved (a renamed post) while it was being published: find it by its token
            row = c.execute("SELECT post, account, occurrence FROM publications WHERE claim_token = ? "
                            "AND state IN ('publishing', 'unknown')", (token,)).fetchone()
            if row is None:
                return False
            c.execute(f"UPDATE publications SET {sets} WHERE post = ? AND account = ? AND occurrence = ?",
                      args + list(row))
            self._event(c, (row[0], row[1], parse_ts(row[2])), values.get("state", "(same)"), detail, n)
        return True

    def rename_post(self, old: Key, new_post: str, now: datetime) -> bool:
        n, occ = ts(now), ts(old[2])
        with self._tx() as c:
            cur = c.execute("UPDATE publications SET post = ?, updated_at = ? WHERE post = ? AND account = ? "
                            "AND occurrence = ? AND NOT EXISTS (SELECT 1 FROM publications WHERE post = ? "
                            "AND account = ? AND occurrence = ?)",
                            (new_post, n, old[0], old[1], occ, new_post, old[1], occ))
            if not cur.rowcount:
                return False
            c.execute("UPDATE events SET post = ? WHERE post = ? AND account = ? AND occurrence = ?",
                      (new_post, old[0], old[1], occ))
            self._event(c, (new_post, old[1], old[2]), "(same)", f"post renamed from '{old[0]}'", n)
        return True

    def rename_account(self, old: str, new: str, now: datetime) -> int:
        with self._tx() as c:
            cur = c.execute("UPDATE OR IGNORE publications SET account = ?, updated_at = ? WHERE account = ?",
                            (new, ts(now), old))
            c.execute("UPDATE events SET account = ? WHERE account = ?", (new, old))
            return cur.rowcount

    def _claim_values(self, pub: Publication, owner: Owner, now: datetime, lease_until: datetime) -> dict[str, Any]:
        values = {"state": "publishing", "claimer_host": owner.host, "claimer_pid": owner.pid,
                  "claim_token": owner.token(), "lease_until": lease_until, "claimed_at": now,
                  "checked_at": None, "attempts": pub.attempts + 1}
        if "claimer_start" in self._cols:
            values["claimer_start"] = owner.start
        return values

    def claim_next(self, account: str, owner: Owner, now: datetime, *, lease_until: datetime,
                   miss_cutoff: datetime | None, cap: DayCap | None = None,
                   due_by: datetime | None = None) -> Claim:
        n = ts(now)
        due = ts(due_by or now)
        cutoff = ts(miss_cutoff) if miss_cutoff is not None else ""
        with self._tx() as c:
            row = c.execute(
                f"{self._select} WHERE account = ? AND {_DUE} AND {_NOT_MISSED} "
                "ORDER BY COALESCE(next_attempt, occurrence), occurrence, post LIMIT 1",
                (account, due, cutoff)).fetchone()
            if row is None:
                return Claim(None)
            pub = self._from_db(row)
            if cap is not None:
                used = c.execute(
                    "SELECT COUNT(*) FROM publications WHERE account = ? AND ("
                    "(state = 'published' AND published_at >= ? AND published_at < ?) OR "
                    "(state IN ('publishing', 'unknown') AND claimed_at >= ? AND claimed_at < ?))",
                    (account, ts(cap.start), ts(cap.end), ts(cap.start), ts(cap.end))).fetchone()[0]
                if used >= cap.limit:
                    rows = [self._from_db(r) for r in c.execute(
                        f"{self._select} WHERE account = ? AND {_DUE} AND {_NOT_MISSED}",
                        (account, due, cutoff)).fetchall()]
                    detail = f"max_per_day {cap.limit} reached; deferred to the next day"
                    for d in rows:
                        self._apply(c, Change(d.key, ("pending",), {"next_attempt": cap.end}, detail=detail), n)
                    return Claim(None, [replace(d, next_attempt=cap.end) for d in rows])
            values = self._claim_values(pub, owner, now, lease_until)
            # No event for a scheduled claim: the row itself says who claimed it
            # and when (claimer_host, claimer_pid, claimed_at), the outcome gets
            # its event, and a claim taken over gets one ("claimer died"). One
            # write less in the one transaction every publication pays for.
            self._apply(c, Change(pub.key, ("pending",), values), n, event=False)
            return Claim(replace(pub, **values))

    def claim(self, key: Key, owner: Owner, now: datetime, *, lease_until: datetime,
              from_states: tuple[str, ...]) -> Publication | None:
        n = ts(now)
        with self._tx() as c:
            row = c.execute(f"{self._select} WHERE post=? AND account=? AND occurrence=?",
                            (key[0], key[1], ts(key[2]))).fetchone()
            if row is None:
                return None
            pub = self._from_db(row)
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
