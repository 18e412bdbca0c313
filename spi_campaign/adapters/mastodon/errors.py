"""Mastodon.py exceptions -> the ``errors`` classes.

Mastodon.py wraps every requests exception in ``MastodonNetworkError``
(raised inside the ``except``, so the requests exception is its
``__context__``): that one is classified by ``_transport.transport_error``
(a read timeout after a status was sent is ``UnknownOutcomeError``). It
raises ``MastodonAPIError`` subclasses for error answers, with
``args = (message, status, reason, error)``. Nothing here puts a URL or a
token into a message; the instance's ``error`` text is scrubbed.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from spi_campaign import redact
from spi_campaign.adapters._transport import transport_error
from spi_campaign.errors import (AdapterError, AuthError, PermanentError, TransientError,
                                 UnknownOutcomeError)
from spi_campaign.i18n import N_, _
from spi_campaign.timeutil import now_utc


RATE_LIMITED = N_("{who}: {what}: the instance's rate limit is reached (429); nothing was published")


def mastodon_error(exc: BaseException, *, who: str, what: str, live: bool, token_env: str,
                   headers: Any = None) -> AdapterError:
    import mastodon
    import requests

    if isinstance(exc, mastodon.MastodonNetworkError):
        inner = exc.__cause__ or exc.__context__
        if isinstance(inner, requests.RequestException):
            return transport_error(inner, who=who, what=what, live=live)
        if live:
            return UnknownOutcomeError(_("{who}: {what}: the connection failed after the request was sent; "
                                         "the status may be live. Check the account before retrying").format(
                who=who, what=what))
        return TransientError(_("{who}: {what}: the connection failed; nothing was published, try again later").format(
            who=who, what=what))
    if isinstance(exc, mastodon.MastodonRatelimitError):
        return TransientError(_(RATE_LIMITED).format(who=who, what=what), retry_after=_reset(headers))
    if not isinstance(exc, mastodon.MastodonAPIError):
        return PermanentError(f"{who}: {what}: {type(exc).__name__}")
    args = exc.args
    status = args[1] if len(args) > 1 and isinstance(args[1], int) else None
    detail = redact.scrub(str(args[3] if len(args) > 3 and args[3] else (args[2] if len(args) > 2 else "")))[:300]
    if status is None:                       # "Could not parse response as JSON ..."
        if live:
            return UnknownOutcomeError(_("{who}: {what}: the instance's answer could not be read; "
                                         "the status may be live. Check the account before retrying").format(
                who=who, what=what))
        return TransientError(_("{who}: {what}: the instance's answer could not be read; try again later").format(
            who=who, what=what))
    if status == 401:
        return AuthError(_("{who}: {what}: the instance refused the access token in {env} ({reason}); "
                           "create a new one under Preferences > Development").format(
            who=who, what=what, env=token_env, reason=detail))
    if status == 403:
        return AuthError(_("{who}: {what}: the token in {env} may not do this ({reason}); it needs the "
                           "scopes write:statuses, write:media and read:accounts").format(
            who=who, what=what, env=token_env, reason=detail))
    if status == 429:
        return TransientError(_(RATE_LIMITED).format(who=who, what=what), retry_after=_reset(headers))
    if status >= 500:
        return TransientError(_("{who}: {what}: the instance failed (HTTP {status}); try again later").format(
            who=who, what=what, status=status))
    if status == 404:
        return PermanentError(_("{who}: {what}: not found on the instance (404: {reason}); check instance: "
                                "in config.yaml").format(who=who, what=what, reason=detail))
    return PermanentError(_("{who}: {what}: the instance refused it (HTTP {status}: {reason})").format(
        who=who, what=what, status=status, reason=detail))


def _reset(headers: Any) -> datetime | None:
    """``X-RateLimit-Reset`` (an ISO 8601 time) of the last answer; a minute from now if absent."""
    raw = str((headers or {}).get("X-RateLimit-Reset") or "").strip()
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    except ValueError:
        return now_utc() + timedelta(minutes=1)
