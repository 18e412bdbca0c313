"""X API v2 error answers -> the ``errors`` classes.

``x_http_error`` is the one place that decides what an X error means for a
publication: 401 is an account problem (``AuthError``), 429 and 5xx are
transient (with the reset time X sends), anything else is permanent with X's
own words (``detail`` / ``errors[].message``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Mapping

from spi_campaign import redact
from spi_campaign.adapters._transport import from_epoch, retry_after_header, when_text
from spi_campaign.errors import AdapterError, AuthError, PermanentError, TransientError


def x_problem_detail(response) -> str:
    """The human part of an X error body (``detail``, ``errors[].message`` or ``title``)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    parts: list[str] = []
    if isinstance(body, dict):
        if isinstance(body.get("detail"), str):
            parts.append(body["detail"])
        for err in body.get("errors") or ():
            if isinstance(err, dict):
                msg = err.get("detail") or err.get("message")
                if isinstance(msg, str) and msg not in parts:
                    parts.append(msg)
            elif isinstance(err, str):
                parts.append(err)
        if not parts and isinstance(body.get("title"), str):
            parts.append(body["title"])
        if not parts and isinstance(body.get("error"), str):
            parts.append(body["error"])
    if not parts:
        parts.append(f"HTTP {response.status_code} {getattr(response, 'reason', '') or ''}".strip())
    return redact.scrub("; ".join(p.strip() for p in parts if p))


def x_retry_after(headers: Mapping[str, str]) -> tuple[datetime | None, bool]:
    """(retry time, daily limit exhausted) from X's rate-limit headers.

    ``x-rate-limit-reset`` is the end of the endpoint's window (epoch seconds);
    ``x-user-limit-24hour-reset`` the end of the per-user 24-hour posting window,
    which is what counts when ``x-user-limit-24hour-remaining`` is 0."""
    reset = from_epoch(headers.get("x-rate-limit-reset"))
    daily = str(headers.get("x-user-limit-24hour-remaining", "")).strip() == "0"
    if daily:
        daily_reset = from_epoch(headers.get("x-user-limit-24hour-reset"))
        if daily_reset and (reset is None or daily_reset > reset):
            reset = daily_reset
    return reset or retry_after_header(headers), daily


def x_http_error(response, *, who: str, what: str, env_names: Iterable[str]) -> AdapterError:
    """Map an X API error response to an ``errors`` class."""
    status = response.status_code
    detail = x_problem_detail(response)
    if status == 429:
        when, daily = x_retry_after(response.headers)
        if daily:
            msg = (f"{who}: {what}: the account's 24-hour post limit on X is used up "
                   f"(x-user-limit-24hour-remaining: 0); it resets at {when_text(when)}")
        else:
            msg = f"{who}: {what}: X rate limit reached (429); retry after {when_text(when)}"
        return TransientError(msg, retry_after=when)
    if status >= 500:
        when, _ = x_retry_after(response.headers)
        return TransientError(f"{who}: {what}: X answered {status} ({detail}); will retry", retry_after=when)
    if status == 401:
        names = ", ".join(env_names)
        return AuthError(f"{who}: X rejected the credentials (401 {detail}); check {names} "
                         f"(OAuth 1.0a user tokens of an app with Read and Write permission)")
    if status == 403 and "duplicate content" in detail.lower():
        return PermanentError(f"{who}: {what}: X refused a duplicate post: {detail}")
    return PermanentError(f"{who}: {what}: X refused the request ({status}): {detail}")
