"""The PostgreSQL ledger's notifications (spi_campaign.notify): the same
contract as ``sqlite_notify``, scoped to the campaign. Bound as methods of
``PostgresLedger``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Iterable

from spi_campaign.ledger.model import Key, parse_ts, ts

_COLS = ("destination", "event", "post", "account", "occurrence", "since", "state", "title", "body", "status",
         "attempts", "next_attempt", "error", "claim_token", "lease_until", "created_at", "sent_at")
_TIMES = ("next_attempt", "lease_until", "created_at", "sent_at")
_KEY = "campaign = %s AND destination = %s AND event = %s AND post = %s AND account = %s AND occurrence = %s " \
       "AND since = %s"


def _notice(row) -> Any:
    from spi_campaign.notify.model import Notice

    values = dict(zip(_COLS, row))
    for name in _TIMES:
        values[name] = parse_ts(values[name])
    return Notice(**values)


def notify_record(self, notices: Iterable[Any], now: datetime) -> int:
    notices = list(notices)
    n = ts(now)
    new = 0
    cols = ("campaign",) + _COLS + ("updated_at",)
    sql = (f"INSERT INTO spi_notifications ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))}) "
           "ON CONFLICT DO NOTHING")
    with self._tx() as c:
        for x in notices:
            args = [ts(getattr(x, k)) if k in _TIMES else getattr(x, k) for k in _COLS]
            args[_COLS.index("created_at")] = n
            args[_COLS.index("status")] = "pending"
            c.execute(sql, [self.campaign] + args + [n])
            new += max(c.rowcount, 0)
    return new


def notify_claim(self, now: datetime, lease_until: datetime, limit: int = 200) -> list[Any]:
    n = ts(now)
    token = uuid.uuid4().hex
    with self._tx() as c:
        c.execute(f"SELECT {', '.join(_COLS)} FROM spi_notifications WHERE campaign = %s AND "
                  "((status = 'pending' AND (next_attempt IS NULL OR next_attempt <= %s)) OR "
                  "(status = 'sending' AND lease_until < %s)) ORDER BY created_at LIMIT %s FOR UPDATE SKIP LOCKED",
                  (self.campaign, n, n, limit))
        out = [_notice(r) for r in c.fetchall()]
        for x in out:
            c.execute(f"UPDATE spi_notifications SET status = 'sending', claim_token = %s, lease_until = %s, "
                      f"updated_at = %s WHERE {_KEY}", (token, ts(lease_until), n, self.campaign, *x.key))
            x.status, x.claim_token, x.lease_until = "sending", token, lease_until
    return out


def notify_finish(self, notices: Iterable[Any], now: datetime, *, status: str, error: str | None = None,
                  next_attempt: datetime | None = None, count_attempt: bool = True) -> None:
    n = ts(now)
    with self._tx() as c:
        for x in notices:
            c.execute("UPDATE spi_notifications SET status = %s, error = %s, next_attempt = %s, "
                      "attempts = attempts + %s, claim_token = NULL, lease_until = NULL, updated_at = %s, "
                      "sent_at = CASE WHEN %s = 'sent' THEN %s ELSE sent_at END "
                      f"WHERE {_KEY} AND status = 'sending' AND claim_token = %s",
                      (status, error, ts(next_attempt), 1 if count_attempt else 0, n, status, n, self.campaign,
                       *x.key, x.claim_token))


def notify_subjects(self, events: Iterable[str], since: datetime) -> list[tuple[str, Key]]:
    rows = self._read("SELECT DISTINCT destination, post, account, occurrence FROM spi_notifications WHERE "
                      "campaign = %s AND event = ANY(%s) AND created_at >= %s AND post <> ''",
                      (self.campaign, list(events), ts(since)))
    return [(d, (p, a, parse_ts(o))) for d, p, a, o in rows]


def notifications(self, *, status: str | None = None) -> list[Any]:
    sql = f"SELECT {', '.join(_COLS)} FROM spi_notifications WHERE campaign = %s"
    args: tuple = (self.campaign,)
    if status is not None:
        sql, args = sql + " AND status = %s", (self.campaign, status)
    return [_notice(r) for r in self._read(sql + " ORDER BY created_at, event, post, account", args)]
