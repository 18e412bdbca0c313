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

from spi_campaign.ledger.base import Ledger
from spi_campaign.ledger.model import (COLUMNS, LEASE_GRACE, LIVE_STATES, OPEN_STATES, PROBLEM_STATES, STATES,
                                       Change, Claim, DayCap, Key, Owner, Publication, QueueSlot, claimer_dead,
                                       parse_ts,
                                       pid_alive, process_start, ts)
from spi_campaign.ledger.schema import SCHEMA_VERSION
from spi_campaign.ledger.sqlite import SqliteLedger


def open_ledger(path: Path | str, *, dry_run: bool = False) -> SqliteLedger:
    """The ledger at ``path``; with ``dry_run`` an in-memory copy of it."""
    return SqliteLedger.snapshot(path) if dry_run else SqliteLedger.open(path)


__all__ = ["COLUMNS", "LEASE_GRACE", "LIVE_STATES", "OPEN_STATES", "PROBLEM_STATES", "STATES", "SCHEMA_VERSION",
           "Change", "Claim", "DayCap", "Key", "Ledger", "Owner", "Publication", "QueueSlot", "SqliteLedger", "claimer_dead",
           "open_ledger", "parse_ts", "pid_alive", "process_start", "ts"]
