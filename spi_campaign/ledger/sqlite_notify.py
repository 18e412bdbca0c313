"""The SQLite ledger's notifications table (spi_campaign.notify, docs/alerts.md).
Alerts never block publishing: these touch only the ``notifications`` table."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Iterable, Sequence

from spi_campaign.ledger.model import Key, parse_ts, ts


class SqliteNotifications:

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
