"""``spi state``: the ledger itself — migrate its schema, copy it to
another backend (an existing SQLite ledger to PostgreSQL) without losing a
row."""

from __future__ import annotations

from dataclasses import dataclass

from spi_campaign.errors import LedgerError
from spi_campaign.i18n import _
from spi_campaign.ledger import Ledger, SqliteLedger
from spi_campaign.models import Config

BATCH = 2000
COPIED_META = ("created_at", "campaign", "last_sync")


@dataclass
class CopyReport:
    source: str
    target: str
    rows: int
    counts: dict[str, int]


def open_target(url: str, config: Config) -> Ledger:
    if url.startswith(("postgresql://", "postgres://")):
        from spi_campaign.ledger.postgres import PostgresLedger

        return PostgresLedger.open(url, config.name)
    return SqliteLedger.open(url)


def copy_ledger(source: Ledger, target: Ledger) -> CopyReport:
    """Copy every row (and the ledger's creation time and campaign) from
    ``source`` to ``target``, in batches, then check the counts by state
    match. The target must not hold rows of this campaign yet."""
    if target.counts():
        raise LedgerError(_("the target ledger {where} already has publications of this campaign; "
                            "copy only into an empty one").format(where=target.where))
    total = 0
    batch = []
    for row in source.iter_rows():
        batch.append(row)
        if len(batch) >= BATCH:
            total += target.copy_in(batch)
            batch = []
    if batch:
        total += target.copy_in(batch)
    for key in COPIED_META:
        value = source.meta(key)
        if value is not None:
            target.set_meta(key, value)
    want, got = source.counts(), target.counts()
    if want != got:
        raise LedgerError(_("the copy does not match: source {want}, target {got}; the source is unchanged")
                          .format(want=want, got=got))
    return CopyReport(source.where, target.where, total, got)
