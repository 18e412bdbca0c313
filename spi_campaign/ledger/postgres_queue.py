"""The PostgreSQL ledger's queue slots (spi_campaign.queue): the same
contract as ``sqlite_queue``, scoped to the campaign. ``PRIMARY KEY
(campaign, post)`` and ``UNIQUE (campaign, target, slot)`` make assignment
safe across machines: an insert that loses a race does nothing and the next
candidate slot is tried. Bound as methods of ``PostgresLedger``."""

from __future__ import annotations

import bisect
from datetime import datetime
from typing import Iterable

from spi_campaign.ledger.model import QueueSlot, parse_ts, ts

_COLS = "post, target, slot, assigned_at"


def _slot(row) -> QueueSlot:
    return QueueSlot(post=row[0], target=row[1], slot=parse_ts(row[2]), assigned_at=parse_ts(row[3]))


def queue_slots(self, *, posts: Iterable[str] | None = None, since: datetime | None = None) -> list[QueueSlot]:
    where, args = ["campaign = %s"], [self.campaign]
    if posts is not None and since is not None:
        where.append("(post = ANY(%s) OR slot >= %s)")
        args += [list(posts), ts(since)]
    elif posts is not None:
        where.append("post = ANY(%s)")
        args.append(list(posts))
    elif since is not None:
        where.append("slot >= %s")
        args.append(ts(since))
    rows = self._read(f"SELECT {_COLS} FROM spi_queue_slots WHERE {' AND '.join(where)} "
                      "ORDER BY slot, target, post", args)
    return [_slot(r) for r in rows]


def queue_assign(self, target: str, wanted: Iterable[tuple[str, datetime | None]],
                 candidates: Iterable[datetime], now: datetime) -> dict[str, QueueSlot]:
    wanted = list(wanted)
    if not wanted:
        return {}
    cands = sorted(set(candidates))
    keys = [ts(c) for c in cands]
    used = [False] * len(cands)
    out: dict[str, QueueSlot] = {}
    with self._tx() as c:
        for post, earliest in wanted:
            c.execute(f"SELECT {_COLS} FROM spi_queue_slots WHERE campaign = %s AND post = %s", (self.campaign, post))
            row = c.fetchone()
            if row is not None:
                out[post] = _slot(row)
                continue
            i = bisect.bisect_left(keys, ts(earliest)) if earliest is not None else 0
            while i < len(cands):
                if not used[i]:
                    used[i] = True
                    c.execute("INSERT INTO spi_queue_slots (campaign, post, target, slot, assigned_at) "
                              "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                              (self.campaign, post, target, keys[i], ts(now)))
                    if c.rowcount > 0:
                        out[post] = QueueSlot(post, target, cands[i], now)
                        break
                i += 1
    return out


def queue_free(self, slots: Iterable[QueueSlot]) -> int:
    n = 0
    with self._tx() as c:
        for s in slots:
            c.execute("DELETE FROM spi_queue_slots WHERE campaign = %s AND post = %s AND target = %s AND slot = %s",
                      (self.campaign, s.post, s.target, ts(s.slot)))
            n += max(c.rowcount, 0)
    return n
