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
from spi_campaign.i18n import N_, _
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
        return TransientError(_(FAILED_WILL_RETRY).format(who=who, what=what, reason=_cause(exc, exc)))
    status, name, message = xrpc_name(exc)
    detail = f"{name}: {message}" if name and message else (name or message or f"HTTP {status}")
    if isinstance(exc, ax.RateLimitExceededError) or status == 429:
        reset = getattr(exc, "reset_at", None)
        retry = reset if isinstance(reset, datetime) and reset > now_utc() else now_utc() + timedelta(minutes=5)
        return TransientError(_("{who}: {what}: Bluesky's rate limit is reached ({reason}); will retry").format(
            who=who, what=what, reason=detail), retry_after=retry.astimezone(timezone.utc))
    if name == "AuthFactorTokenRequired":
        return AuthError(_("{who}: Bluesky asks for an e-mail code: put an app password (Settings > Privacy "
                           "and security > App passwords), not the account password, in {env}").format(
            who=who, env=password_env))
    if name in ("AccountTakedown", "AccountDeactivated"):
        return AuthError(_("{who}: Bluesky says the account is suspended or deactivated ({reason})").format(
            who=who, reason=detail))
    if isinstance(exc, ax.UnauthorizedError) or name in AUTH_ERRORS:
        return AuthError(_("{who}: Bluesky refused the login or session ({reason}); check the handle and the "
                           "app password in {env}").format(who=who, reason=detail, env=password_env))
    if isinstance(exc, ax.NetworkError) and (status is None or status == 502):
        kind = _("no answer before the timeout") if isinstance(exc, ax.InvokeTimeoutError) else _cause(exc)
        return TransientError(_(FAILED_WILL_RETRY).format(who=who, what=what, reason=kind))
    if status is not None and (status >= 500 or status == 409):
        return TransientError(_("{who}: {what}: Bluesky answered {reason}; will retry").format(
            who=who, what=what, reason=detail))
    if isinstance(exc, ax.ModelError):
        return TransientError(_("{who}: {what}: Bluesky's answer could not be read; will retry").format(
            who=who, what=what))
    return PermanentError(_("{who}: {what}: Bluesky refused the request ({reason})").format(
        who=who, what=what, reason=detail))


FAILED_WILL_RETRY = N_("{who}: {what} failed: {reason}; will retry (a retry never posts twice)")

# translated where shown (``_cause``)
_REASONS = {"ConnectError": N_("connection failed"), "ReadError": N_("connection dropped"),
            "RemoteProtocolError": N_("connection closed by the server"), "ConnectTimeout": N_("timed out connecting"),
            "ReadTimeout": N_("no answer before the timeout")}


def _cause(exc: BaseException, inner: BaseException | None = None) -> str:
    inner = inner or exc.__cause__ or exc.__context__
    name = type(inner).__name__ if inner is not None else type(exc).__name__
    reason = _REASONS.get(name)
    return _(reason) if reason else _("network error ({name})").format(name=name)
