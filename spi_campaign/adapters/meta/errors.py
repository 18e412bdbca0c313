"""Graph API error answers (Facebook Page, Instagram) -> the ``errors`` classes.

Codes and subcodes from Meta's "Handling Errors" guide and Instagram's
content publishing error codes; see docs/platforms.md, "Errors and retries".
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any, Mapping

from spi_campaign import redact
from spi_campaign.adapters._transport import retry_after_header
from spi_campaign.errors import (AdapterError, AuthError, PermanentError, QuotaDeferred, TransientError,
                                 UnknownOutcomeError)
from spi_campaign.i18n import N_, _
from spi_campaign.timeutil import now_utc

# https://developers.facebook.com/docs/graph-api/guides/error-handling
GRAPH_TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 341, 613, 80001, 80002, 80005, 80006, 80008, 80014})
GRAPH_AUTH_SUBCODES = {
    458: N_("the app is not installed for the user"),
    459: N_("the user's account is checkpointed; they must log in to facebook.com"),
    460: N_("the password changed"),
    463: N_("the token has expired"),
    464: N_("the user is not confirmed"),
    467: N_("the token is invalid"),
    492: N_("the session is invalid"),
}
IG_QUOTA_SUBCODE = 2207042          # "reached the maximum number of posts in 24 hours"
IG_NOT_READY = frozenset({9007})    # "media is not ready for publishing"
# Instagram's content publishing error codes: -1 / -2 are "try again" answers,
# whatever their subcode; code 4 with subcode 2207051 is not throttling but a
# restriction of the account ("we restrict certain activity to protect our
# community"): retrying only repeats the refusal.
IG_TRANSIENT_CODES = frozenset({-1, -2})
IG_TRANSIENT_SUBCODES = {
    2207001: N_("an Instagram server error"),
    2207003: N_("Instagram took too long to download the media"),
    2207032: N_("Instagram could not create the media"),
}
IG_SPAM_RESTRICTED = 2207051
_PERMISSION = re.compile(r"\b((?:pages|instagram|publish|business|ads|read|manage)_[a-z_]+)\b")


def graph_retry_after(headers: Mapping[str, str] | None) -> datetime | None:
    """Meta's throttling headers carry ``estimated_time_to_regain_access`` (minutes)."""
    if not headers:
        return None
    minutes = 0
    for name in ("x-business-use-case-usage", "x-ad-account-usage", "x-app-usage"):
        raw = headers.get(name)
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        for item in _walk_dicts(data):
            val = item.get("estimated_time_to_regain_access")
            if isinstance(val, (int, float)) and val > minutes:
                minutes = val
    if minutes:
        return now_utc() + timedelta(minutes=minutes)
    return retry_after_header(headers)


def _walk_dicts(data: Any):
    if isinstance(data, dict):
        yield data
        for v in data.values():
            yield from _walk_dicts(v)
    elif isinstance(data, list):
        for v in data:
            yield from _walk_dicts(v)


def graph_error(result: Any, *, status: int | None, headers: Mapping[str, str] | None, who: str,
                what: str, token_env: str, live: bool, product: str = "Facebook",
                app_secret_env: str | None = None) -> AdapterError:
    """Map a Graph API error (the JSON body, or whatever facebook-sdk raised) to an ``errors`` class.
    ``app_secret_env``: the variable that holds the app secret (for appsecret_proof errors)."""
    err = result.get("error") if isinstance(result, dict) else None
    if not isinstance(err, dict):
        # Not a Graph error body: an HTML error page, an empty answer...
        if status is None or status >= 500 or status == 429:
            return TransientError(_("{who}: {what}: {product} answered {status}; will retry").format(
                who=who, what=what, product=product, status=status or _("with no usable response")),
                retry_after=graph_retry_after(headers))
        if 200 <= status < 300:
            if live:
                return UnknownOutcomeError(_("{who}: {what}: {product} answered {status} with a body spi "
                                             "cannot read; the post may be live. Check the account").format(
                    who=who, what=what, product=product, status=status))
            return TransientError(_("{who}: {what}: {product} answered {status} with a body spi cannot read").format(
                who=who, what=what, product=product, status=status))
        return PermanentError(_("{who}: {what}: {product} refused the request (HTTP {status})").format(
            who=who, what=what, product=product, status=status))

    code = _int(err.get("code"))
    sub = _int(err.get("error_subcode"))
    message = redact.scrub(str(err.get("error_user_msg") or err.get("message") or _("no message")).strip())
    trace = err.get("fbtrace_id")
    tail = f" [code {code}" + (f", subcode {sub}" if sub else "") + (f", fbtrace_id {trace}" if trace else "") + "]"

    if code == 100 and "appsecret_proof" in message.lower():
        env = app_secret_env or "SPI_<ACCOUNT>_APP_SECRET"
        if "invalid" in message.lower():
            why = _("the app secret in {env} is not the secret of the app the token in {token_env} "
                    "belongs to; set {env} to that app's secret").format(env=env, token_env=token_env)
        else:
            why = _("the app requires an appsecret_proof on every call (Require App Secret); set {env} "
                    "to the app's secret (App settings > Basic) and spi adds the proof").format(env=env)
        return AuthError(_("{who}: {product} refused the call: {why} ({message}{tail})").format(
            who=who, product=product, why=why, message=message, tail=tail))
    if code == 4 and sub == IG_SPAM_RESTRICTED:
        return PermanentError(_("{who}: {what}: {product} restricted this account's activity (spam "
                                "restriction, not a rate limit; retrying will not help until it is "
                                "lifted): {message}{tail}").format(
            who=who, what=what, product=product, message=message, tail=tail))
    if code in IG_TRANSIENT_CODES or sub in IG_TRANSIENT_SUBCODES:
        why = _(IG_TRANSIENT_SUBCODES.get(sub or 0, N_("a temporary error")))
        return TransientError(_("{who}: {what}: {product} asks to try again ({why}): {message}{tail}").format(
            who=who, what=what, product=product, why=why, message=message, tail=tail),
            retry_after=graph_retry_after(headers))
    if code == 190 or code == 102 or (err.get("type") == "OAuthException" and code in (None, 190)):
        why = _(GRAPH_AUTH_SUBCODES.get(sub or 0, N_("the token is invalid or expired")))
        codes = f"code {code}" + (f", subcode {sub}" if sub else "")
        return AuthError(_("{who}: {product} rejected the access token in {env} ({codes}: {why}): {message}. "
                           "Get a new token and set {env}").format(
            who=who, product=product, env=token_env, codes=codes, why=why, message=message))
    if sub == IG_QUOTA_SUBCODE:
        return QuotaDeferred(_("{who}: {what}: the 24-hour publishing limit is reached: {message}{tail}").format(
            who=who, what=what, message=message, tail=tail), retry_after=now_utc() + timedelta(hours=24))
    if code in GRAPH_TRANSIENT_CODES or err.get("is_transient") is True or code in IG_NOT_READY:
        return TransientError(_("{who}: {what}: {product} asks to retry later: {message}{tail}").format(
            who=who, what=what, product=product, message=message, tail=tail), retry_after=graph_retry_after(headers))
    if code == 506:
        return PermanentError(_("{who}: {what}: {product} refused a duplicate post: {message}{tail}").format(
            who=who, what=what, product=product, message=message, tail=tail))
    if code == 368:
        return PermanentError(_("{who}: {what}: {product} blocked the post for a policy reason "
                                "(the account may be temporarily restricted): {message}{tail}").format(
            who=who, what=what, product=product, message=message, tail=tail))
    if code == 10 or (code is not None and 200 <= code <= 299):
        perms = sorted(set(_PERMISSION.findall(message)))
        need = (_("the token lacks the {permissions} permission").format(permissions=", ".join(perms)) if perms
                else _("the token lacks a needed permission"))
        return PermanentError(_("{who}: {what}: permission denied: {need} (token from {env}): {message}{tail}").format(
            who=who, what=what, need=need, env=token_env, message=message, tail=tail))
    if status is not None and status >= 500 and code is None:
        return TransientError(_("{who}: {what}: {product} answered {status}: {message}").format(
            who=who, what=what, product=product, status=status, message=message),
            retry_after=graph_retry_after(headers))
    return PermanentError(_("{who}: {what}: {product} refused the request: {message}{tail}").format(
        who=who, what=what, product=product, message=message, tail=tail))


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
