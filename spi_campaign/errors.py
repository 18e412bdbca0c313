"""Error types. Core modules raise these; only ``spi_campaign.cli`` turns them
into Click exceptions (exit 1).

Contract for every message: it is one line a user can act on, it names the
file/line/post/account where it knows them, and it never contains a secret
(token values are never passed into an exception in the first place).
"""

from __future__ import annotations

from datetime import datetime


class SpiError(Exception):
    """Base class for every error a user can cause or fix."""


class ConfigError(SpiError):
    """config.yaml cannot be read or is invalid."""


class CampaignError(SpiError):
    """The campaign as a whole cannot be read (missing posts dir, unreadable config)."""


class NotFoundError(SpiError):
    """A post id or account name given on the command line does not exist."""


class LedgerError(SpiError):
    """The publishing state cannot be read or written."""


class AdapterError(SpiError):
    """Base of the three error classes adapters raise from ``publish``.

    ``retry_after`` is an aware datetime before which a retry is pointless
    (e.g. the reset of a 429), or None.
    """

    kind = "permanent"

    def __init__(self, message: str, *, retry_after: datetime | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class TransientError(AdapterError):
    """Temporary failure known to have had no effect (5xx, 429, timeout before
    the request was sent). The engine retries with backoff."""

    kind = "transient"


class PermanentError(AdapterError):
    """The platform refused the post (validation, duplicate, permissions).
    Retrying the same request cannot succeed."""

    kind = "permanent"


class AuthError(AdapterError):
    """Missing, invalid or expired credentials. The message names the env var
    (never its value) or the token to fix."""

    kind = "auth"


class UnknownOutcomeError(AdapterError):
    """The request was sent but no answer came back (timeout after send,
    connection dropped). The post may be live: never retried automatically."""

    kind = "unknown"


class QuotaDeferred(AdapterError):
    """The platform's own publishing quota is used up. Not a failure: the
    engine defers the publication to ``retry_after`` without counting an
    attempt."""

    kind = "deferred"


class BillingError(AuthError):
    """The account cannot publish for a billing reason (X 402 out of
    pay-per-use credits, X 429 ``usage-capped``). Like ``AuthError`` it is a
    problem of the account, not of the post: the engine *holds* the
    publication until the operator acts (or ``retry_after``, the cap's reset,
    passes), it does not fail it and does not retry it every few minutes."""

    kind = "billing"


# Adapter error kinds that mean "the account cannot publish right now": the
# publication is held (not failed) and goes out by itself once the account is
# fixed, while inside its catch-up window.
ACCOUNT_KINDS = ("auth", "billing")
