"""atproto exceptions -> the ``errors`` classes.

XRPC errors are ``{"error": "<Name>", "message": "..."}`` with an HTTP status
(atproto raises ``UnauthorizedError`` for 401/403, ``BadRequestError`` for
400, ``RateLimitExceededError`` for 429, ``NetworkError`` for transport
failures and 409/413/502, ``InvokeTimeoutError`` for timeouts,
``RequestException`` for the rest).

Creating a post is safe to retry here (the adapter chooses the record key
first and looks it up before sending again), so no failure of Bluesky maps
to ``UnknownOutcomeError``: a lost answer is a ``TransientError``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from spi_campaign import redact
from spi_campaign.errors import AdapterError, AuthError, PermanentError, TransientError
from spi_campaign.timeutil import now_utc

AUTH_ERRORS = frozenset({"ExpiredToken", "InvalidToken", "AuthenticationRequired", "AuthMissing",
                         "AccountTakedown", "AccountDeactivated", "AuthFactorTokenRequired"})


def xrpc_name(exc: BaseException) -> tuple[int | None, str, str]:
    """(HTTP status, XRPC error name, message) of an atproto request error."""
    resp = getattr(exc, "response", None)
    if resp is None:
        return None, "", ""
    content = getattr(resp, "content", None)
    name = getattr(content, "error", None) or (content.get("error") if isinstance(content, dict) else None)
    message = getattr(content, "message", None) or (content.get("message") if isinstance(content, dict) else None)
    return getattr(resp, "status_code", None), str(name or ""), redact.scrub(str(message or "")).strip()


def bluesky_error(exc: BaseException, *, who: str, what: str, password_env: str) -> AdapterError:
    import httpx
    from atproto_client import exceptions as ax

    if isinstance(exc, httpx.HTTPError):      # atproto passes some transport errors through unwrapped
        return TransientError(f"{who}: {what} failed: {_cause(exc, exc)}; will retry (a retry never posts twice)")
    status, name, message = xrpc_name(exc)
    detail = f"{name}: {message}" if name and message else (name or message or f"HTTP {status}")
    if isinstance(exc, ax.RateLimitExceededError) or status == 429:
        reset = getattr(exc, "reset_at", None)
        retry = reset if isinstance(reset, datetime) and reset > now_utc() else now_utc() + timedelta(minutes=5)
        return TransientError(f"{who}: {what}: Bluesky's rate limit is reached ({detail}); will retry",
                              retry_after=retry.astimezone(timezone.utc))
    if name == "AuthFactorTokenRequired":
        return AuthError(f"{who}: Bluesky asks for an e-mail code: put an app password (Settings > Privacy "
                         f"and security > App passwords), not the account password, in {password_env}")
    if name in ("AccountTakedown", "AccountDeactivated"):
        return AuthError(f"{who}: Bluesky says the account is suspended or deactivated ({detail})")
    if isinstance(exc, ax.UnauthorizedError) or name in AUTH_ERRORS:
        return AuthError(f"{who}: Bluesky refused the login or session ({detail}); check the handle and the "
                         f"app password in {password_env}")
    if isinstance(exc, ax.NetworkError) and (status is None or status == 502):
        kind = "no answer before the timeout" if isinstance(exc, ax.InvokeTimeoutError) else _cause(exc)
        return TransientError(f"{who}: {what} failed: {kind}; will retry (a retry never posts twice)")
    if status is not None and (status >= 500 or status == 409):
        return TransientError(f"{who}: {what}: Bluesky answered {detail}; will retry")
    if isinstance(exc, ax.ModelError):
        return TransientError(f"{who}: {what}: Bluesky's answer could not be read; will retry")
    return PermanentError(f"{who}: {what}: Bluesky refused the request ({detail})")


_REASONS = {"ConnectError": "connection failed", "ReadError": "connection dropped",
            "RemoteProtocolError": "connection closed by the server", "ConnectTimeout": "timed out connecting",
            "ReadTimeout": "no answer before the timeout"}


def _cause(exc: BaseException, inner: BaseException | None = None) -> str:
    inner = inner or exc.__cause__ or exc.__context__
    name = type(inner).__name__ if inner is not None else type(exc).__name__
    return _REASONS.get(name, f"network error ({name})")
