"""X API v2 error answers -> the ``errors`` classes.

``x_http_error`` is the one place that decides what an X error means for a
publication: 401 is an account problem (``AuthError``), 429 and 5xx are
transient (with the reset time X sends), anything else is permanent with X's
own words (``detail`` / ``errors[].message``).

Billing is an account problem too, but one a retry every few minutes cannot
fix: ``402 Payment Required`` (the pay-per-use credits are used up) and a 429
whose problem ``type`` is ``.../problems/usage-capped`` (a usage cap; X's
"Response codes and errors" page lists it beside ``rate-limit-exceeded``)
are ``BillingError``: the engine holds the account's publications until the
operator acts or, for a cap, until ``retry_after`` (X's reset time).
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Mapping

from spi_campaign import redact
from spi_campaign.adapters._transport import from_epoch, retry_after_header, when_text
from spi_campaign.errors import AdapterError, AuthError, BillingError, PermanentError, TransientError
from spi_campaign.i18n import _

USAGE_CAPPED = "/problems/usage-capped"      # X problem type (api.twitter.com/... or api.x.com/...)


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


def usage_capped(response) -> dict | None:
    """The usage-capped problem of an X answer (``{"period", "scope", ...}``), or None."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    for problem in (body, *(e for e in body.get("errors") or () if isinstance(e, dict))):
        kind = str(problem.get("type") or "")
        if kind.endswith(USAGE_CAPPED) or problem.get("title") == "UsageCapExceeded":
            return problem
    return None


def x_http_error(response, *, who: str, what: str, env_names: Iterable[str]) -> AdapterError:
    """Map an X API error response to an ``errors`` class."""
    status = response.status_code
    detail = x_problem_detail(response)
    if status == 402:
        return BillingError(_("{who}: {what}: X refused for billing (402 Payment Required: {detail}): the "
                              "app's pay-per-use credits are used up. Add credits or raise the spending "
                              "limit in the X Developer Console; this account's posts wait until then").format(
            who=who, what=what, detail=detail))
    capped = usage_capped(response) if status == 429 else None
    if capped is not None:
        when, _daily = x_retry_after(response.headers)
        scope = " ".join(str(capped.get(k)).lower() for k in ("period", "scope") if capped.get(k))
        resets = (_("until the cap resets at {when}").format(when=when_text(when)) if when
                  else _("until the cap resets"))
        return BillingError(_("{who}: {what}: X usage cap reached ({cap}429 usage-capped: {detail}); this "
                              "account's posts wait {resets} or the plan is changed in the X Developer Console").format(
            who=who, what=what, cap=_("{scope} cap, ").format(scope=scope) if scope else "", detail=detail,
            resets=resets), retry_after=when)
    if status == 429:
        when, daily = x_retry_after(response.headers)
        if daily:
            msg = _("{who}: {what}: the account's 24-hour post limit on X is used up "
                    "(x-user-limit-24hour-remaining: 0); it resets at {when}").format(
                who=who, what=what, when=when_text(when))
        else:
            msg = _("{who}: {what}: X rate limit reached (429); retry after {when}").format(
                who=who, what=what, when=when_text(when))
        return TransientError(msg, retry_after=when)
    if status >= 500:
        when, _daily = x_retry_after(response.headers)
        return TransientError(_("{who}: {what}: X answered {status} ({detail}); will retry").format(
            who=who, what=what, status=status, detail=detail), retry_after=when)
    if status == 401:
        names = ", ".join(env_names)
        return AuthError(_("{who}: X rejected the credentials (401 {detail}); check {names} "
                           "(OAuth 1.0a user tokens of an app with Read and Write permission)").format(
            who=who, detail=detail, names=names))
    if status == 403 and "duplicate content" in detail.lower():
        return PermanentError(_("{who}: {what}: X refused a duplicate post: {detail}").format(
            who=who, what=what, detail=detail))
    return PermanentError(_("{who}: {what}: X refused the request ({status}): {detail}").format(
        who=who, what=what, status=status, detail=detail))
