"""The ledger: the source of truth for what was published, where and when.

One row per publication, keyed by (post id, account, occurrence in UTC). A
recurring post has one row per occurrence. The key makes re-syncing from the
YAML idempotent: inserting a row that exists is a no-op.

- ``model``: rows, changes, claim owners (backend-neutral);
- ``base``: the ``Ledger`` interface every backend implements;
- ``sqlite``: the embedded default, one SQLite file; ``schema``: its
  schema and in-place migrations.
"""

from __future__ import annotations

from pathlib import Path

from spi_campaign.i18n import _
from spi_campaign.ledger.base import Ledger
from spi_campaign.ledger.model import (COLUMNS, LEASE_GRACE, LIVE_STATES, OPEN_STATES, PROBLEM_STATES, STATES,
                                       Change, Claim, DayCap, Key, Owner, Publication, QueueSlot, claimer_dead,
                                       parse_ts,
                                       pid_alive, process_start, ts)
from spi_campaign.ledger.schema import SCHEMA_VERSION
from spi_campaign.ledger.sqlite import SqliteLedger


def open_ledger(where, *, dry_run: bool = False) -> Ledger:
    """The campaign's ledger: ``where`` is a ``Config`` (its ``state``: a
    SQLite path, or a ``postgresql://`` URL in ``state_url``) or a SQLite
    path. With ``dry_run`` an in-memory copy that nothing is written through."""
    url = getattr(where, "state_url", None)
    if url:
        from spi_campaign.ledger.postgres import PostgresLedger

        led = PostgresLedger.open(url, where.name)
        if not dry_run:
            return led
        try:
            return copy_for_dry_run(led)
        finally:
            led.close()
    path = getattr(where, "state", where)
    return SqliteLedger.snapshot(path) if dry_run else SqliteLedger.open(path)


def open_for_reading(cfg) -> Ledger | None:
    """For commands that only read: None when there is no ledger yet (a
    SQLite file that does not exist is not created)."""
    if getattr(cfg, "state_url", None):
        return open_ledger(cfg)
    if not Path(cfg.state).exists():
        return None
    return SqliteLedger.open_for_reading(cfg.state)


def copy_for_dry_run(src: Ledger) -> SqliteLedger:
    """An in-memory SQLite ledger holding what a dry run can touch: the open
    rows and the last eight days, with the source's creation time."""
    from datetime import datetime, timedelta

    from spi_campaign.timeutil import UTC

    mem = SqliteLedger.snapshot(":memory:")
    now = datetime.now(UTC)
    rows = {r.key: r for r in src.iter_rows(since=now - timedelta(days=8))}
    rows.update({r.key: r for r in src.open_rows()})
    mem.insert(rows.values(), now)
    for key in ("created_at", "campaign", "last_sync"):
        value = src.meta(key)
        if value is not None:
            mem.set_meta(key, value)
    mem.where = _("{where} (dry-run copy)").format(where=src.where)
    return mem


__all__ = ["open_for_reading", "copy_for_dry_run", "COLUMNS", "LEASE_GRACE", "LIVE_STATES", "OPEN_STATES", "PROBLEM_STATES", "STATES", "SCHEMA_VERSION",
           "Change", "Claim", "DayCap", "Key", "Ledger", "Owner", "Publication", "QueueSlot", "SqliteLedger", "claimer_dead",
           "open_ledger", "parse_ts", "pid_alive", "process_start", "ts"]
