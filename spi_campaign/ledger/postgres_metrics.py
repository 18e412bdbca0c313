"""The PostgreSQL ledger's engagement snapshots (spi metrics fetch): the same
contract as ``sqlite_metrics``, scoped to the campaign. Bound as methods of
``PostgresLedger``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Iterator

from spi_campaign.ledger.model import Key, ts
from spi_campaign.ledger.sqlite_metrics import group_latest


def metrics_record(self, key: Key, fetched_at: datetime, snapshot: str,
                   values: dict[str, tuple[int | None, str | None]]) -> None:
    occ, n = ts(key[2]), ts(fetched_at)
    with self._tx() as c:
        for m, (v, r) in values.items():
            c.execute("INSERT INTO spi_metrics (campaign, occurrence, post, account, fetched_at, metric, value, reason, "
                      "snapshot) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (campaign, occurrence, post, "
                      "account, fetched_at, metric) DO UPDATE SET value = excluded.value, reason = excluded.reason, "
                      "snapshot = excluded.snapshot", (self.campaign, occ, key[0], key[1], n, m, v, r, snapshot))


def metrics_snapshots(self, key: Key) -> set[str]:
    rows = self._read("SELECT DISTINCT snapshot FROM spi_metrics WHERE campaign = %s AND occurrence = %s AND "
                      "post = %s AND account = %s", (self.campaign, ts(key[2]), key[0], key[1]))
    return {r[0] for r in rows}


def metrics_latest(self, key: Key):
    for got in iter_latest_metrics(self, key=key):
        return got[1], got[2]
    return None


def iter_latest_metrics(self, *, since: datetime | None = None, until: datetime | None = None,
                        key: Key | None = None) -> Iterator[tuple[Key, datetime, dict[str, Any]]]:
    where, args = ["campaign = %s"], [self.campaign]
    if key is not None:
        where.append("occurrence = %s AND post = %s AND account = %s")
        args += [ts(key[2]), key[0], key[1]]
    else:
        if since is not None:
            where.append("occurrence >= %s")
            args.append(ts(since))
        if until is not None:
            where.append("occurrence < %s")
            args.append(ts(until))
    rows = self._read("SELECT occurrence, post, account, fetched_at, metric, value, reason FROM spi_metrics WHERE "
                      + " AND ".join(where) + " ORDER BY occurrence DESC, post, account, fetched_at DESC, metric", args)
    yield from group_latest(rows)


def range_counts(self, since: datetime, until: datetime) -> list[tuple[str, str, str, int]]:
    return self._read("SELECT state, post, account, count(*) FROM spi_publications WHERE campaign = %s AND "
                      "occurrence >= %s AND occurrence < %s GROUP BY state, post, account",
                      (self.campaign, ts(since), ts(until)))


def metrics_due(self, now: datetime, published_since: datetime) -> Iterable[Any]:
    rows = self._rows("state = 'published' AND occurrence >= %s", (ts(published_since),),
                      " ORDER BY occurrence DESC, post, account")
    for r in rows:
        yield r, metrics_snapshots(self, r.key)
