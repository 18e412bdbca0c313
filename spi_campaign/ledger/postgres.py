"""The ledger in PostgreSQL (psycopg 3): several machines, one database.

Same contract as the SQLite ledger (one contract suite runs over both,
tests/test_ledger_contract.py). Differences, all inside this module:

- Claims use ``SELECT ... FOR UPDATE SKIP LOCKED``: workers on different
  machines never wait on each other's row, and never take the same one.
- Several campaigns share one database: every row carries the campaign's
  ``name``; a ledger object sees only its own campaign.
- Claimers on other machines are judged by their lease (heartbeats), never
  by a pid; see ``claimer_dead``. ``--host-id`` names the machine.
- Times are stored as the same fixed-width UTC text as in SQLite, so both
  backends compare and order instants identically (an index on text sorts
  like the instant); ``progress`` is jsonb.

psycopg is imported only here, and this module only when ``state`` is a
``postgresql://`` URL.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import datetime
from typing import Any, Iterable, Iterator, Sequence

from spi_campaign.errors import LedgerError
from spi_campaign.i18n import _
from spi_campaign.ledger.base import Ledger
from spi_campaign.ledger.model import (COLUMNS, LIVE_STATES, OPEN_STATES, PROBLEM_STATES, TIME_FIELDS, Change,
                                       Claim, DayCap, Key, Owner, Publication, parse_ts, ts)
from spi_campaign.ledger.postgres_schema import SCHEMA_VERSION, migrate
from spi_campaign.timeutil import UTC

_ORDER = " ORDER BY occurrence DESC, post, account"
_DUE = "state = 'pending' AND hold IS NULL AND COALESCE(next_attempt, occurrence) <= %s"
_NOT_MISSED = "NOT (attempts = 0 AND next_attempt IS NULL AND occurrence < %s)"


def redact_url(url: str) -> str:
    """The URL without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return "postgresql://(unparsable URL)"
    return url


class PostgresLedger(Ledger):
    def __init__(self, conn, url: str, campaign: str):
        self._conn = conn
        self.url = url
        self.where = redact_url(url)
        self.campaign = campaign
        self.path = None
        self.new = False
        self.readonly = False
        self._lock = threading.RLock()
        self._owner = Owner.me()
        self._select = f"SELECT {', '.join(COLUMNS)} FROM spi_publications"

    # ----- opening -------------------------------------------------------------

    @classmethod
    def open(cls, url: str, campaign: str, *, migrate_schema: bool = True) -> "PostgresLedger":
        try:
            import psycopg
        except ImportError:
            raise LedgerError(_("a postgresql:// ledger needs psycopg 3 (pip install 'psycopg[binary]')")) from None
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=15)
        except psycopg.Error as exc:
            raise LedgerError(_("cannot connect to the ledger {where}: {reason}").format(where=redact_url(url), reason=_reason(exc))) from None
        led = cls(conn, url, campaign)
        try:
            if migrate_schema:
                with led._tx() as c:
                    migrate(c)
            version = led._read("SELECT max(version) FROM spi_schema")[0][0]
            if version != SCHEMA_VERSION:
                raise LedgerError(_("the ledger {where} has schema version {version}; this spi knows {known} "
                                    "(run 'spi state migrate')").format(where=led.where, version=version,
                                                                        known=SCHEMA_VERSION))
            now = ts(datetime.now(UTC))
            with led._tx() as c:
                c.execute("INSERT INTO spi_meta VALUES (%s, 'created_at', %s) ON CONFLICT DO NOTHING RETURNING 1",
                          (campaign, now))
                led.new = c.fetchone() is not None
        except BaseException:
            led.close()
            raise
        return led

    class _Tx:
        def __init__(self, led: "PostgresLedger"):
            self.led = led
            self.tx = None

        def __enter__(self):
            import psycopg

            self.led._lock.acquire()
            try:
                self.tx = self.led._conn.transaction()
                self.tx.__enter__()
                return self.led._conn.cursor()
            except psycopg.Error as exc:
                self.led._lock.release()
                raise LedgerError(_("the ledger {where} cannot be written: {reason}").format(where=self.led.where, reason=_reason(exc))) from None

        def __exit__(self, et, ev, tb):
            import psycopg

            try:
                try:
                    self.tx.__exit__(et, ev, tb)
                except psycopg.Error as exc:
                    ev = exc
            finally:
                self.led._lock.release()
            if isinstance(ev, psycopg.Error):
                raise LedgerError(_("cannot write the ledger {where}: {reason}").format(where=self.led.where, reason=_reason(ev))) from None
            return False

    def _tx(self) -> "PostgresLedger._Tx":
        return PostgresLedger._Tx(self)

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        import psycopg

        with self._lock:
            try:
                with self._conn.cursor() as c:
                    c.execute(sql, args)
                    return c.fetchall()
            except psycopg.Error as exc:
                raise LedgerError(_("cannot read the ledger {where}: {reason}").format(where=self.where, reason=_reason(exc))) from None

    def _rows(self, where: str, args: Sequence[Any] = (), tail: str = "") -> list[Publication]:
        sql = f"{self._select} WHERE campaign = %s" + (f" AND {where}" if where else "") + tail
        return [_from_db(r) for r in self._read(sql, (self.campaign, *args))]

    def close(self) -> None:
        with self._lock:
            try:
                self._conn.close()
            except Exception:
                pass

    def check_identity(self) -> None:
        if self._conn.closed:
            raise LedgerError(_("the connection to the ledger {where} was lost").format(where=self.where))

    # ----- meta --------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM spi_meta WHERE campaign = %s AND key = %s", (self.campaign, key))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as c:
            c.execute("INSERT INTO spi_meta VALUES (%s, %s, %s) ON CONFLICT (campaign, key) DO UPDATE "
                      "SET value = excluded.value", (self.campaign, key, value))

    def set_meta_default(self, key: str, value: str) -> str:
        with self._tx() as c:
            c.execute("INSERT INTO spi_meta VALUES (%s, %s, %s) ON CONFLICT DO NOTHING", (self.campaign, key, value))
            c.execute("SELECT value FROM spi_meta WHERE campaign = %s AND key = %s", (self.campaign, key))
            return c.fetchone()[0]

    def bind(self, campaign: str) -> None:
        if campaign != self.campaign:
            raise LedgerError(_("this ledger connection is for campaign '{owner}', not '{campaign}'").format(owner=self.campaign, campaign=campaign))
        self.set_meta_default("campaign", campaign)

    # ----- reading -------------------------------------------------------------------

    @staticmethod
    def _filters(post, account, states, since=None, until=None) -> tuple[list[str], list[Any]]:
        where, args = [], []
        for col, val in (("post", post), ("account", account)):
            if val is not None:
                where.append(f"{col} = %s")
                args.append(val)
        if states is not None:
            where.append("state = ANY(%s)")
            args.append(list(states))
        if since is not None:
            where.append("occurrence >= %s")
            args.append(ts(since))
        if until is not None:
            where.append("occurrence < %s")
            args.append(ts(until))
        return where, args

    def rows(self, *, post=None, account=None, states=None) -> list[Publication]:
        where, args = self._filters(post, account, states)
        return self._rows(" AND ".join(where), args, _ORDER)

    def iter_rows(self, *, post=None, account=None, states=None, since=None, until=None,
                  limit=None) -> Iterator[Publication]:
        import psycopg

        where, args = self._filters(post, account, states, since, until)
        sql = f"{self._select} WHERE campaign = %s" + "".join(f" AND {w}" for w in where) + _ORDER
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        # A server-side cursor: rows arrive in chunks, memory stays flat.
        with self._lock:
            try:
                with self._conn.transaction():
                    with self._conn.cursor(name="spi_iter") as cur:
                        cur.itersize = 2000
                        cur.execute(sql, (self.campaign, *args))
                        for r in cur:
                            yield _from_db(r)
            except psycopg.Error as exc:
                raise LedgerError(_("cannot read the ledger {where}: {reason}").format(where=self.where, reason=_reason(exc))) from None

    def get(self, key: Key) -> Publication | None:
        rows = self._rows("post = %s AND account = %s AND occurrence = %s", (key[0], key[1], ts(key[2])))
        return rows[0] if rows else None

    def get_many(self, keys: Iterable[Key]) -> dict[Key, Publication]:
        keys = list(keys)
        out: dict[Key, Publication] = {}
        for i in range(0, len(keys), 1000):
            chunk = keys[i:i + 1000]
            rows = self._rows("(post, account, occurrence) IN (SELECT * FROM unnest(%s::text[], %s::text[], "
                              "%s::text[]))", ([k[0] for k in chunk], [k[1] for k in chunk],
                                               [ts(k[2]) for k in chunk]))
            for r in rows:
                out[r.key] = r
        return out

    def open_rows(self, *, states=None, posts=None) -> list[Publication]:
        states = list(states or OPEN_STATES)
        if posts is None:
            return self._rows("state = ANY(%s)", (states,))
        return self._rows("post = ANY(%s) AND state = ANY(%s)", (list(posts), states))

    def live_at(self, account: str, occurrence: datetime) -> list[Publication]:
        return self._rows("state = ANY(%s) AND account = %s AND occurrence = %s",
                          (list(LIVE_STATES), account, ts(occurrence)))

    def live_of(self, post: str, account: str, *, local_at: str | None = None) -> Publication | None:
        where = "post = %s AND account = %s AND state = ANY(%s)"
        args: list[Any] = [post, account, list(LIVE_STATES)]
        if local_at is not None:
            where += " AND substr(local_at, 1, 16) = substr(%s, 1, 16) AND local_at <> %s"
            args += [local_at, local_at]
        rows = self._rows(where, args, " LIMIT 1")
        return rows[0] if rows else None

    def problems(self, since: datetime, now: datetime) -> list[Publication]:
        out = self._rows("state = ANY(%s) AND occurrence >= %s", (list(PROBLEM_STATES), ts(since)), _ORDER)
        held = self._rows("state = 'pending' AND hold IS NOT NULL AND occurrence <= %s AND occurrence >= %s",
                          (ts(now), ts(since)), _ORDER)
        return sorted(out + held, key=lambda r: (r.occurrence, r.post, r.account), reverse=True)

    def counts(self) -> dict[str, int]:
        return {s: n for s, n in self._read("SELECT state, count(*) FROM spi_publications WHERE campaign = %s "
                                            "GROUP BY state", (self.campaign,))}

    def next_due(self, after: datetime | None = None) -> datetime | None:
        rows = self._read("SELECT min(COALESCE(next_attempt, occurrence)) FROM spi_publications WHERE campaign = %s "
                          "AND state = 'pending' AND hold IS NULL AND COALESCE(next_attempt, occurrence) > %s",
                          (self.campaign, ts(after) if after else ""))
        return parse_ts(rows[0][0]) if rows and rows[0][0] else None

    def due_accounts(self, now: datetime) -> set[str]:
        return {r[0] for r in self._read(f"SELECT DISTINCT account FROM spi_publications WHERE campaign = %s "
                                         f"AND {_DUE}", (self.campaign, ts(now)))}

    def events(self, key: Key) -> list[dict[str, Any]]:
        rows = self._read("SELECT at, state, detail, host, pid FROM spi_events WHERE campaign = %s AND post = %s "
                          "AND account = %s AND occurrence = %s ORDER BY id",
                          (self.campaign, key[0], key[1], ts(key[2])))
        return [{"at": parse_ts(a), "state": s, "detail": d, "host": h, "pid": p} for a, s, d, h, p in rows]

    # ----- writing -------------------------------------------------------------------

    def _event(self, c, key: Key, state: str, detail: str | None, now: str) -> None:
        c.execute("INSERT INTO spi_events (campaign, at, post, account, occurrence, state, detail, host, pid) "
                  "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                  (self.campaign, now, key[0], key[1], ts(key[2]), state, detail, self._owner.host, self._owner.pid))

    def insert(self, pubs: Iterable[Publication], now: datetime) -> list[Key]:
        pubs = list(pubs)
        if not pubs:
            return []
        n = ts(now)
        inserted: list[Key] = []
        cols = ", ".join(("campaign", *COLUMNS))
        marks = ", ".join(["%s"] * (len(COLUMNS) + 1))
        with self._tx() as c:
            for p in pubs:
                p = replace(p, created_at=now, updated_at=now)
                c.execute(f"INSERT INTO spi_publications ({cols}) VALUES ({marks}) ON CONFLICT DO NOTHING "
                          "RETURNING 1", [self.campaign] + [_to_db(k, getattr(p, k)) for k in COLUMNS])
                if c.fetchone() is not None:
                    inserted.append(p.key)
                    self._event(c, p.key, p.state, p.error or p.hold, n)
        return inserted

    def copy_in(self, rows: Iterable[Publication]) -> int:
        cols = ", ".join(("campaign", *COLUMNS))
        sql = (f"INSERT INTO spi_publications ({cols}) VALUES ({', '.join(['%s'] * (len(COLUMNS) + 1))}) "
               "ON CONFLICT DO NOTHING")
        n = 0
        with self._tx() as c:
            for p in rows:
                c.execute(sql, [self.campaign] + [_to_db(k, getattr(p, k)) for k in COLUMNS])
                n += max(c.rowcount, 0)
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

    def _apply(self, c, ch: Change, n: str, event: bool = True) -> bool:
        sets = ", ".join(f"{k} = %s" for k in ch.values) + ", updated_at = %s"
        args = [_to_db(k, v) for k, v in ch.values.items()] + [n]
        where = "campaign = %s AND post = %s AND account = %s AND occurrence = %s AND state = ANY(%s)"
        wargs: list[Any] = [self.campaign, ch.key[0], ch.key[1], ts(ch.key[2]), list(ch.expect_states)]
        if ch.expect_token is not None:
            where += " AND claim_token = %s"
            wargs.append(ch.expect_token)
        c.execute(f"UPDATE spi_publications SET {sets} WHERE {where}", args + wargs)
        done = c.rowcount > 0
        if done and event and ("state" in ch.values or ch.detail):
            self._event(c, ch.key, ch.values.get("state", "(same)"), ch.detail, n)
        return done

    def finish(self, token: str, values: dict[str, Any], now: datetime, detail: str,
               key: Key | None = None) -> bool:
        n = ts(now)
        sets = ", ".join(f"{k} = %s" for k in values) + ", updated_at = %s"
        args = [_to_db(k, v) for k, v in values.items()] + [n]
        with self._tx() as c:
            c.execute(f"UPDATE spi_publications SET {sets} WHERE campaign = %s AND claim_token = %s AND "
                      "state IN ('publishing', 'unknown') RETURNING post, account, occurrence",
                      args + [self.campaign, token])
            row = c.fetchone()
            if row is None:
                return False
            self._event(c, (row[0], row[1], parse_ts(row[2])), values.get("state", "(same)"), detail, n)
        return True

    def rename_post(self, old: Key, new_post: str, now: datetime) -> bool:
        occ = ts(old[2])
        with self._tx() as c:
            c.execute("UPDATE spi_publications SET post = %s, updated_at = %s WHERE campaign = %s AND post = %s "
                      "AND account = %s AND occurrence = %s AND NOT EXISTS (SELECT 1 FROM spi_publications "
                      "WHERE campaign = %s AND post = %s AND account = %s AND occurrence = %s)",
                      (new_post, ts(now), self.campaign, old[0], old[1], occ, self.campaign, new_post, old[1], occ))
            if c.rowcount <= 0:
                return False
            c.execute("UPDATE spi_events SET post = %s WHERE campaign = %s AND post = %s AND account = %s "
                      "AND occurrence = %s", (new_post, self.campaign, old[0], old[1], occ))
            self._event(c, (new_post, old[1], old[2]), "(same)", f"post renamed from '{old[0]}'", ts(now))
        return True

    def rename_account(self, old: str, new: str, now: datetime) -> int:
        with self._tx() as c:
            c.execute("UPDATE spi_publications p SET account = %s, updated_at = %s WHERE campaign = %s AND "
                      "account = %s AND NOT EXISTS (SELECT 1 FROM spi_publications q WHERE q.campaign = p.campaign "
                      "AND q.post = p.post AND q.account = %s AND q.occurrence = p.occurrence)",
                      (new, ts(now), self.campaign, old, new))
            moved = c.rowcount
            c.execute("UPDATE spi_events SET account = %s WHERE campaign = %s AND account = %s",
                      (new, self.campaign, old))
            return moved

    def _claim_values(self, pub: Publication, owner: Owner, now: datetime, lease_until: datetime) -> dict[str, Any]:
        return {"state": "publishing", "claimer_host": owner.host, "claimer_pid": owner.pid,
                "claimer_start": owner.start, "claim_token": owner.token(), "lease_until": lease_until,
                "claimed_at": now, "checked_at": None, "attempts": pub.attempts + 1}

    def claim_next(self, account: str, owner: Owner, now: datetime, *, lease_until: datetime,
                   miss_cutoff: datetime | None, cap: DayCap | None = None,
                   due_by: datetime | None = None) -> Claim:
        n = ts(now)
        due = ts(due_by or now)
        cutoff = ts(miss_cutoff) if miss_cutoff is not None else ""
        with self._tx() as c:
            c.execute(f"{self._select} WHERE campaign = %s AND account = %s AND {_DUE} AND {_NOT_MISSED} "
                      "ORDER BY COALESCE(next_attempt, occurrence), occurrence, post LIMIT 1 FOR UPDATE SKIP LOCKED",
                      (self.campaign, account, due, cutoff))
            row = c.fetchone()
            if row is None:
                return Claim(None)
            pub = _from_db(row)
            if cap is not None:
                c.execute("SELECT count(*) FROM spi_publications WHERE campaign = %s AND account = %s AND ("
                          "(state = 'published' AND published_at >= %s AND published_at < %s) OR "
                          "(state IN ('publishing', 'unknown') AND claimed_at >= %s AND claimed_at < %s))",
                          (self.campaign, account, ts(cap.start), ts(cap.end), ts(cap.start), ts(cap.end)))
                if c.fetchone()[0] >= cap.limit:
                    c.execute(f"{self._select} WHERE campaign = %s AND account = %s AND {_DUE} AND {_NOT_MISSED} "
                              "FOR UPDATE SKIP LOCKED", (self.campaign, account, due, cutoff))
                    rows = [_from_db(r) for r in c.fetchall()]
                    detail = f"max_per_day {cap.limit} reached; deferred to the next day"
                    for d in rows:
                        self._apply(c, Change(d.key, ("pending",), {"next_attempt": cap.end}, detail=detail), n)
                    return Claim(None, [replace(d, next_attempt=cap.end) for d in rows])
            values = self._claim_values(pub, owner, now, lease_until)
            self._apply(c, Change(pub.key, ("pending",), values), n, event=False)   # as in sqlite.py
            return Claim(replace(pub, **values))

    def claim(self, key: Key, owner: Owner, now: datetime, *, lease_until: datetime,
              from_states: tuple[str, ...]) -> Publication | None:
        with self._tx() as c:
            c.execute(f"{self._select} WHERE campaign = %s AND post = %s AND account = %s AND occurrence = %s "
                      "FOR UPDATE", (self.campaign, key[0], key[1], ts(key[2])))
            row = c.fetchone()
            if row is None:
                return None
            pub = _from_db(row)
            if pub.state not in from_states:
                return None
            values = self._claim_values(pub, owner, now, lease_until)
            values["hold"] = None
            self._apply(c, Change(pub.key, from_states, values,
                                  detail=f"claimed by {owner.host} pid {owner.pid} (explicit publish)"), ts(now))
            return replace(pub, **values)

    def heartbeat(self, tokens: Iterable[str], lease_until: datetime) -> None:
        tokens = list(tokens)
        if tokens:
            with self._tx() as c:
                c.execute("UPDATE spi_publications SET lease_until = %s WHERE campaign = %s AND claim_token = ANY(%s) "
                          "AND state = 'publishing'", (ts(lease_until), self.campaign, tokens))

    # ----- notifications (spi_campaign.notify) -----------------------------------------------

    from spi_campaign.ledger.postgres_notify import (notifications, notify_claim, notify_finish,  # noqa: E402
                                                     notify_record, notify_subjects)
    from spi_campaign.ledger.postgres_queue import queue_assign, queue_free, queue_slots  # noqa: E402
    from spi_campaign.ledger.postgres_metrics import (iter_latest_metrics, metrics_due,  # noqa: E402
                                                      metrics_latest, metrics_record, metrics_snapshots,
                                                      range_counts)


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _to_db(name: str, value: Any) -> Any:
    if name in TIME_FIELDS:
        return ts(value)
    if name == "progress":
        return json.dumps(value or {}, ensure_ascii=False, sort_keys=True)
    return value


def _from_db(row: Sequence[Any]) -> Publication:
    values = {}
    for name, value in zip(COLUMNS, row):
        if value is not None and name in TIME_FIELDS:
            value = datetime.fromisoformat(value)
        elif name == "progress":
            value = value if isinstance(value, dict) else (json.loads(value) if value else {})
        values[name] = value
    return Publication(**values)
