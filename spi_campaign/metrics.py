"""Engagement read back (``spi metrics fetch``; docs/metrics.md).

Snapshots go to the ledger's ``metrics`` table, never into post files. The
daemon (``spi post schedule``) takes the ``48h`` and ``7d`` snapshots by
itself in a thread of its own; ``fetch`` also runs on demand (``manual``).
A metrics failure is reported, never raised into publishing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable

from spi_campaign.errors import AdapterError, ConfigError, SpiError
from spi_campaign.i18n import _
from spi_campaign.ledger.model import Publication

log = logging.getLogger(__name__)

SNAPSHOTS = (("48h", timedelta(hours=48)), ("7d", timedelta(days=7)))
LATE_LIMIT = timedelta(days=7)        # a snapshot more than this late is not taken any more
DUE_LOOKBACK = timedelta(days=15)     # occurrences the scheduled pass looks at
BATCH = 100
DEFAULT_SINCE = timedelta(days=30)


@dataclass
class FetchReport:
    stored: int = 0                                      # publications with a snapshot stored
    by_account: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)      # one message per account that failed


def due_snapshot(row: Publication, labels: set[str], now: datetime) -> str | None:
    """The scheduled snapshot ``row`` needs now (``48h`` / ``7d``), or None."""
    base = row.published_at or row.occurrence
    due = None
    for label, after in SNAPSHOTS:
        if base + after <= now < base + after + LATE_LIMIT and label not in labels:
            due = label                  # the later one wins: a 48h snapshot 8 days late is useless
    if due == "48h" and base + SNAPSHOTS[1][1] <= now:
        return None
    return due


def fetch(config, ledger, now: datetime, *, post: str | None = None, account: str | None = None,
          since: datetime | None = None, scheduled: bool = False) -> FetchReport:
    """Read engagement of published publications and store one snapshot each.

    ``scheduled``: only rows whose +48 h or +7 d snapshot is due (the
    daemon, cron); otherwise every published row matching the filters
    (occurrence at or after ``since``, default 30 days ago)."""
    if account is not None:
        config.account(account)          # NotFoundError / ConfigError for an unknown name
    work: dict[str, list[tuple[Publication, str]]] = {}
    if scheduled:
        for row, labels in ledger.metrics_due(now, now - DUE_LOOKBACK):
            label = due_snapshot(row, labels, now)
            if label and (account is None or row.account == account) and (post is None or row.post == post):
                work.setdefault(row.account, []).append((row, label))
    else:
        rows = ledger.iter_rows(post=post, account=account, states=("published",),
                                since=since if since is not None else (None if post else now - DEFAULT_SINCE))
        for row in rows:
            work.setdefault(row.account, []).append((row, "manual"))
    report = FetchReport()
    for name in sorted(work):
        try:
            n = _fetch_account(config, ledger, name, work[name], now)
        except (AdapterError, ConfigError) as exc:
            report.errors.append(str(exc))
            continue
        report.by_account[name] = n
        report.stored += n
    return report


def _fetch_account(config, ledger, name: str, items: list[tuple[Publication, str]], now: datetime) -> int:
    from spi_campaign.adapters.base import MetricsRef, MetricsResult
    from spi_campaign.compose import adapter_class

    acc = config.accounts.get(name)
    if acc is None:
        raise ConfigError(_("account '{account}' is in the ledger but no longer in config.yaml; its metrics "
                            "cannot be read").format(account=name))
    adapter = adapter_class(acc)(acc, tz=config.timezone)
    stored = 0
    try:
        for i in range(0, len(items), BATCH):
            chunk = items[i:i + BATCH]
            refs = [MetricsRef(r.remote_id, r.published_at or r.occurrence, r.url) for r, _ in chunk if r.remote_id]
            results = adapter.metrics(refs) if refs else {}
            for row, label in chunk:
                res = results.get(row.remote_id or "") or MetricsResult.unsupported(
                    _("no platform id was recorded for this publication"))
                ledger.metrics_record(row.key, now, label,
                                      {m: (v, res.reasons.get(m)) for m, v in res.values.items()})
                stored += 1
    finally:
        adapter.close()
    return stored


def fetch_quietly(config, ledger, now: datetime) -> FetchReport | None:
    """The scheduled pass for the daemon: logs, never raises."""
    try:
        report = fetch(config, ledger, now, scheduled=True)
    except SpiError as exc:
        log.warning("metrics: %s", exc)
        return None
    except Exception as exc:             # a metrics bug must never stop publishing
        log.error("metrics: %s: %s", type(exc).__name__, exc)
        return None
    for msg in report.errors:
        log.warning("metrics: %s", msg)
    if report.stored:
        log.info(_("metrics: {n} snapshot(s) stored").format(n=report.stored))
    return report


def as_json(report: FetchReport) -> dict:
    return {"stored": report.stored, "by_account": report.by_account, "errors": report.errors}


__all__: Iterable[str] = ["fetch", "fetch_quietly", "due_snapshot", "FetchReport", "as_json"]
