"""The notice: one alert for one destination, as the ledger records it.

Kept free of imports from the rest of spi so ``ledger.py`` can use it
without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Every event a destination may ask for, in the order the docs list them.
EVENTS = ("failed", "unknown", "missed", "held", "token_expiring", "recovered", "digest")
# Events about a publication that something went wrong with.
PROBLEM_EVENTS = ("failed", "unknown", "missed", "held")
# Notice statuses: pending (to send, maybe after ``next_attempt``), sending
# (claimed by a process until ``lease_until``), sent, expired (given up).
NOTICE_STATUSES = ("pending", "sending", "sent", "expired")


@dataclass
class Notice:
    """One alert to one destination.

    The key is (destination, event, post, account, occurrence, since): a
    notice with that key is recorded once, whatever number of runs see the
    same problem. ``destination`` is the url exactly as written in
    config.yaml (``${VAR}`` references unexpanded, so never a secret);
    ``occurrence`` is the publication's UTC key as the ledger writes it (a
    token expiry for ``token_expiring``, the local date for ``digest``);
    ``since`` tells one instance of a problem from a later one of the same
    publication (the claim that failed: a failure after ``spi post retry`` is
    alerted again).
    """

    destination: str
    event: str
    post: str = ""
    account: str = ""
    occurrence: str = ""
    since: str = ""
    state: str = ""
    title: str = ""
    body: str = ""
    status: str = "pending"
    attempts: int = 0
    next_attempt: datetime | None = None
    error: str | None = None
    claim_token: str | None = None
    lease_until: datetime | None = None
    created_at: datetime | None = None
    sent_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str, str, str, str, str]:
        return (self.destination, self.event, self.post, self.account, self.occurrence, self.since)


@dataclass(frozen=True)
class TokenWarning:
    """An account whose credentials expire soon (from an adapter's check).
    ``detail`` is one line, without the token."""

    account: str
    expires_at: datetime | None
    detail: str = ""
