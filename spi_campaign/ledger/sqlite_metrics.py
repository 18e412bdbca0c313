"""The SQLite ledger's ``metrics`` table: engagement snapshots read back from
the platforms (``spi metrics fetch``, docs/metrics.md). Metrics never block
publishing: these touch only the ``metrics`` table."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any, Iterable, Iterator

from spi_campaign.ledger.model import Key, parse_ts, ts


class SqliteMetrics:

    def metrics_record(self, key: Key, fetched_at: datetime, snapshot: str,
                       values: dict[str, tuple[int | None, str | None]]) -> None:
        occ, n = ts(key[2]), ts(fetched_at)
        with self._tx() as c:
            c.executemany("INSERT OR REPLACE INTO metrics (occurrence, post, account, fetched_at, metric, value, "
                          "reason, snapshot) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                          [(occ, key[0], key[1], n, m, v, r, snapshot) for m, (v, r) in values.items()])

    def metrics_snapshots(self, key: Key) -> set[str]:
        rows = self._read("SELECT DISTINCT snapshot FROM metrics WHERE occurrence = ? AND post = ? AND account = ?",
                          (ts(key[2]), key[0], key[1]))
        return {r[0] for r in rows}

    def metrics_latest(self, key: Key) -> tuple[datetime, dict[str, tuple[int | None, str | None]]] | None:
        for got in self.iter_latest_metrics(since=key[2], until=None, key=key):
            return got[1], got[2]
        return None

    def iter_latest_metrics(self, *, since: datetime | None = None, until: datetime | None = None,
                            key: Key | None = None) -> Iterator[tuple[Key, datetime, dict[str, Any]]]:
        where, args = [], []
        if key is not None:
            where.append("occurrence = ? AND post = ? AND account = ?")
            args += [ts(key[2]), key[0], key[1]]
        else:
            if since is not None:
                where.append("occurrence >= ?")
                args.append(ts(since))
            if until is not None:
                where.append("occurrence < ?")
                args.append(ts(until))
        sql = ("SELECT occurrence, post, account, fetched_at, metric, value, reason FROM metrics"
               + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY occurrence DESC, post, account, fetched_at DESC, metric")
        with self._lock:
            try:
                cur = self._conn.execute(sql, args)
            except sqlite3.Error as exc:
                from spi_campaign.errors import LedgerError
                from spi_campaign.i18n import _

                raise LedgerError(_("cannot read the ledger {where}: {reason}").format(where=self.where, reason=exc)) from None
        def rows():
            while True:
                with self._lock:
                    chunk = cur.fetchmany(2000)
                if not chunk:
                    return
                yield from chunk

        yield from group_latest(rows())

    def range_counts(self, since: datetime, until: datetime) -> list[tuple[str, str, str, int]]:
        """(state, post, account, rows) of the occurrences in ``[since, until)``:
        one index range scan, for the report's totals before its rows stream."""
        return self._read("SELECT state, post, account, COUNT(*) FROM publications WHERE occurrence >= ? AND "
                          "occurrence < ? GROUP BY state, post, account", (ts(since), ts(until)))

    def metrics_due(self, now: datetime, published_since: datetime) -> Iterable[Any]:
        """Published rows with an occurrence at or after ``published_since`` and
        the snapshot labels they have (newest first)."""
        rows = self._rows("state = 'published' AND occurrence >= ?", (ts(published_since),),
                          " ORDER BY occurrence DESC, post, account")
        for r in rows:
            yield r, self.metrics_snapshots(r.key)


def group_latest(rows) -> Iterator[tuple[Key, datetime, dict[str, Any]]]:
    """(key, fetched_at, {metric: (value, reason)}) of the newest snapshot of
    each publication, from rows ``(occurrence, post, account, fetched_at,
    metric, value, reason)`` ordered by key, newest snapshot first (both
    backends' ``iter_latest_metrics``)."""
    current: tuple | None = None
    fetched: str | None = None
    values: dict[str, Any] = {}
    for occ, post, account, f_at, metric, value, reason in rows:
        k = (occ, post, account)
        if k != current:
            if current is not None:
                yield (current[1], current[2], parse_ts(current[0])), parse_ts(fetched), values
            current, fetched, values = k, f_at, {}
        if f_at == fetched:
            values[metric] = (value, reason)
    if current is not None:
        yield (current[1], current[2], parse_ts(current[0])), parse_ts(fetched), values
