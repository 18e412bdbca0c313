"""The SQLite ledger's ``queue_slots`` table (spi_campaign.queue, README
"Time slots"). ``PRIMARY KEY (post)`` and ``UNIQUE (target, slot)`` make
assignment safe across processes: an insert that loses a race is ignored
and the next candidate slot is tried, inside one ``BEGIN IMMEDIATE``."""

from __future__ import annotations

import bisect
from datetime import datetime
from typing import Iterable

from spi_campaign.errors import LedgerError
from spi_campaign.ledger.model import QueueSlot, parse_ts, ts

_COLS = "post, target, slot, assigned_at"


def _slot(row) -> QueueSlot:
    return QueueSlot(post=row[0], target=row[1], slot=parse_ts(row[2]), assigned_at=parse_ts(row[3]))


class SqliteQueue:

    def _queue_read(self, sql: str, args) -> list[QueueSlot]:
        try:
            return [_slot(r) for r in self._read(sql, args)]
        except LedgerError:
            # a v2 ledger written by an older spi, opened read-only: no queue table yet
            if self.readonly and not self._read("SELECT name FROM sqlite_master WHERE name = 'queue_slots'"):
                return []
            raise

    def queue_slots(self, *, posts: Iterable[str] | None = None, since: datetime | None = None) -> list[QueueSlot]:
        if posts is None and since is None:
            return self._queue_read(f"SELECT {_COLS} FROM queue_slots ORDER BY slot, target", ())
        out: dict[str, QueueSlot] = {}
        if since is not None:
            for s in self._queue_read(f"SELECT {_COLS} FROM queue_slots WHERE slot >= ?", (ts(since),)):
                out[s.post] = s
        ids = [p for p in dict.fromkeys(posts or ()) if p not in out]
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            for s in self._queue_read(f"SELECT {_COLS} FROM queue_slots WHERE post IN ({','.join('?' * len(chunk))})",
                                      chunk):
                out[s.post] = s
        return sorted(out.values(), key=lambda s: (s.slot, s.target, s.post))

    def queue_assign(self, target: str, wanted: Iterable[tuple[str, datetime | None]],
                     candidates: Iterable[datetime], now: datetime) -> dict[str, QueueSlot]:
        wanted = list(wanted)
        if not wanted:
            return {}
        cands = sorted(set(candidates))
        keys = [ts(c) for c in cands]
        used = [False] * len(cands)
        n = ts(now)
        out: dict[str, QueueSlot] = {}
        with self._tx() as c:
            for post, earliest in wanted:
                row = c.execute(f"SELECT {_COLS} FROM queue_slots WHERE post = ?", (post,)).fetchone()
                if row is not None:
                    out[post] = _slot(row)
                    continue
                i = bisect.bisect_left(keys, ts(earliest)) if earliest is not None else 0
                while i < len(cands):
                    if not used[i]:
                        used[i] = True
                        cur = c.execute("INSERT OR IGNORE INTO queue_slots (post, target, slot, assigned_at) "
                                        "VALUES (?, ?, ?, ?)", (post, target, keys[i], n))
                        if cur.rowcount:
                            out[post] = QueueSlot(post, target, cands[i], now)
                            break
                    i += 1
        return out

    def queue_free(self, slots: Iterable[QueueSlot]) -> int:
        slots = list(slots)
        if not slots:
            return 0
        n = 0
        with self._tx() as c:
            for s in slots:
                n += c.execute("DELETE FROM queue_slots WHERE post = ? AND target = ? AND slot = ?",
                               (s.post, s.target, ts(s.slot))).rowcount
        return n
