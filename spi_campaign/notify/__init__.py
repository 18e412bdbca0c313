"""Alerts: tell people, through apprise, when a publication needs them.

One call after each publishing pass (``publish-due``, the daemon's
housekeeping)::

    from spi_campaign import notify
    notify.dispatch(config, ledger, now)

It (1) derives events from the ledger rows that need attention (or the
``problems`` given): ``failed``, ``unknown``, ``missed``, ``held`` (a due
``pending`` row with ``hold``), plus ``recovered``, ``token_expiring`` and
the daily ``digest``; (2) records each (destination, event, publication,
instance) once in the ledger's ``notifications`` table (insert-or-ignore, so
concurrent cron runs alert once); (3) sends what is due through apprise with
bounded timeouts, keeping failed sends for a retry with backoff; and never
raises: a problem is one scrubbed warning line. See docs/alerts.md.

Importing this package is cheap; apprise is imported only when sending.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Iterable, Sequence

from spi_campaign.i18n import _
from spi_campaign.notify.model import EVENTS, Notice, TokenWarning

if TYPE_CHECKING:
    from spi_campaign.ledger import Ledger, Publication
    from spi_campaign.models import Config

log = logging.getLogger("spi_campaign.notify")

__all__ = ["dispatch", "DispatchResult", "TokenWarning", "Notice", "EVENTS"]


@dataclass
class DispatchResult:
    recorded: int = 0      # notices new in the ledger
    sent: int = 0          # notices sent in this call
    failed: int = 0        # notices whose send failed (kept for a retry)
    error: str | None = None   # why dispatch stopped early (already logged)


def dispatch(config: "Config", ledger: "Ledger", now: datetime | None = None, *,
             problems: Sequence["Publication"] | None = None, recovered: Sequence["Publication"] = (),
             token_warnings: Iterable[TokenWarning] = (), send: bool = True) -> DispatchResult:
    """Record and send the alerts due at ``now``. Never raises.

    problems:       rows needing attention; None reads them from the ledger
                    (failed, unknown, missed, and due rows with a hold)
    recovered:      rows now published that the caller knows had a problem
                    (rows alerted before are found in the ledger anyway)
    token_warnings: accounts whose tokens expire soon
    send:           False only records (e.g. a caller that sends elsewhere)
    """
    result = DispatchResult()
    if not config.notify:
        return result
    try:
        from spi_campaign.notify import events as ev
        from spi_campaign.notify import send as snd
        from spi_campaign.timeutil import now_utc

        now = now or now_utc()
        rows = ev.attention_rows(ledger, config, now) if problems is None else list(problems)
        notices = (ev.problem_notices(config, rows, now) + ev.recovered_notices(config, ledger, list(recovered), now)
                   + ev.token_notices(config, token_warnings))
        digest = ev.digest_notices(config, ledger, now)
        result.recorded = ledger.notify_record(notices + digest, now)
        if digest:
            ledger.set_meta(ev.DIGEST_META, digest[0].occurrence)
        if send:
            result.sent, result.failed = snd.deliver(config, ledger, now)
    except Exception as exc:   # alerts never affect publishing
        from spi_campaign.redact import scrub

        result.error = scrub(" ".join(f"{type(exc).__name__}: {exc}".split()))
        log.warning(_("alerts not processed: {reason}").format(reason=result.error))
        log.debug("alerts failure", exc_info=True)
    return result
