"""One claimed row: check it is still wanted, call the adapter, record the
outcome under the claim's token. Split from ``dispatch`` so each reads alone."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

from spi_campaign.compose import render
from spi_campaign.errors import (ACCOUNT_KINDS, AdapterError, LedgerError, QuotaDeferred, SpiError, TransientError,
                                 UnknownOutcomeError)
from spi_campaign.i18n import _, ngettext
from spi_campaign.ledger import Change, Publication
from spi_campaign.planner import ACCOUNT_HOLD
from spi_campaign.reports import Outcome

log = logging.getLogger("spi_campaign.engine")

BILLING_RECHECK = timedelta(hours=1)
AUTH_RECHECK = timedelta(minutes=15)


def publish_claimed(d, row: Publication) -> Outcome:
    """``d``: the Dispatcher that claimed ``row``."""
    from spi_campaign.dispatch import msg

    campaign = d.campaign()
    now = d.now()
    post = campaign.post(row.post) if campaign else None
    account = d.config.accounts.get(row.account)
    if post is not None and account is not None and post.id not in campaign.invalid_posts:
        # Checked again right before the adapter is called: a post cancelled,
        # deleted or taken off this account since the campaign was read.
        from spi_campaign.loader import fresh_post

        fresh = fresh_post(campaign, post)
        if fresh is None or fresh.status != "approved" or row.account not in fresh.accounts:
            why = ("deleted" if fresh is None else f"{fresh.status}" if fresh.status != "approved"
                   else f"no longer for account '{row.account}'")
            if fresh is None:
                error = _("the post was deleted just before publishing")
            elif fresh.status != "approved":
                error = _("the post was {status} just before publishing").format(status=fresh.status)
            else:
                error = _("the post was no longer for account '{account}' just before publishing").format(
                    account=row.account)
            return _record(d, row, {"state": "skipped", "hold": None, "lease_until": None,
                                    "attempts": max(0, row.attempts - 1), "error": error},
                           "skipped", f"skipped: post {why} just before publishing")
        if fresh is not post and (fresh.publish_at != post.publish_at or fresh.repeat != post.repeat):
            post = None      # its time changed: the next sync decides
        else:
            post = fresh
    if post is None or account is None or post.id in campaign.invalid_posts:
        return _record(d, row, {"state": "pending", "attempts": max(0, row.attempts - 1), "lease_until": None},
                       "released", "released: post changed before publishing")
    try:
        rendered = render(post, account, row.occurrence)
    except SpiError as exc:
        return _record(d, row, {"state": "failed", "error": msg(exc), "lease_until": None}, "failed",
                       "failed: cannot render")
    h = rendered.content_hash()
    progress = dict(row.progress)
    token = row.claim_token

    def checkpoint(data: dict[str, Any]) -> None:
        progress.update(data)
        d.ledger.update([Change(row.key, ("publishing",), {"progress": progress}, expect_token=token)], d.now())

    values: dict[str, Any]
    try:
        d.ledger.check_identity()
    except LedgerError as exc:
        d.stop_fatally(exc)
        return d.emit(Outcome(row.post, row.account, row.occurrence, "released", now, error=msg(exc)))
    try:
        if d.dry_run:
            if d.on_dry_run:
                d.on_dry_run(rendered)
            res_url, res_id = None, None
        else:
            res = d.adapter(account).publish(rendered, progress=progress or None, checkpoint=checkpoint)
            res_url, res_id = res.url, res.remote_id
    except QuotaDeferred as exc:
        nxt = exc.retry_after or (d.now() + d.config.retry_backoff)
        values, result = {"state": "pending", "attempts": max(0, row.attempts - 1), "next_attempt": nxt,
                          "error": _("quota: {reason}").format(reason=msg(exc))}, "deferred"
    except TransientError as exc:
        if row.attempts >= d.config.max_attempts:
            values = {"state": "failed", "next_attempt": None,
                      "error": ngettext("{reason} (gave up after {n} attempt; it is not tried again "
                                        "until 'spi post retry')",
                                        "{reason} (gave up after {n} attempts; it is not tried again "
                                        "until 'spi post retry')", row.attempts)
                      .format(reason=msg(exc), n=row.attempts)}
            result = "failed"
        else:
            from spi_campaign.dispatch import backoff

            nxt = d.now() + backoff(d.config.retry_backoff, row.attempts)
            if exc.retry_after is not None and exc.retry_after > nxt:
                nxt = exc.retry_after
            values = {"state": "pending", "next_attempt": nxt,
                      "error": _("transient: {reason} (attempt {n} of {max})")
                      .format(reason=msg(exc), n=row.attempts, max=d.config.max_attempts)}
            result = "retry"
    except UnknownOutcomeError as exc:
        values = {"state": "unknown", "next_attempt": None,
                  "error": _("outcome unknown: {reason} (check the platform, then 'spi post resolve')")
                  .format(reason=msg(exc))}
        result = "unknown"
    except AdapterError as exc:
        if exc.kind in ACCOUNT_KINDS:
            what = "billing" if exc.kind == "billing" else "credentials"
            recheck = BILLING_RECHECK if exc.kind == "billing" else AUTH_RECHECK
            nxt = exc.retry_after or (None if _local_problem(d, account, exc) else d.now() + recheck)
            error = (_("billing: {reason}") if exc.kind == "billing" else _("credentials: {reason}")).format(
                reason=msg(exc))
            values = {"state": "pending", "attempts": max(0, row.attempts - 1), "next_attempt": nxt,
                      "hold": f"{ACCOUNT_HOLD}{what}: {msg(exc)}", "error": error}
            result = "held"
        else:
            values, result = {"state": "failed", "next_attempt": None, "error": msg(exc)}, "failed"
    except Exception as exc:  # the request may have left: never retried automatically
        log.error(_("the {platform} adapter raised an unexpected error: {reason}")
                  .format(platform=account.platform, reason=msg(exc)), exc_info=log.isEnabledFor(logging.DEBUG))
        values = {"state": "unknown", "next_attempt": None,
                  "error": _("unexpected error from the {platform} adapter: {reason}")
                  .format(platform=account.platform, reason=msg(exc))}
        result = "unknown"
    else:
        values = {"state": "published", "url": res_url, "remote_id": res_id, "published_at": d.now(),
                  "published_hash": h, "next_attempt": None, "error": None}
        result = "published"
    values["content_hash"] = h
    values["progress"] = progress
    values["lease_until"] = None
    return _record(d, row, values, result, result, rendered=rendered)


def _local_problem(d, account, exc: Exception) -> bool:
    """A credential missing on this machine (no request was made): released
    as soon as it is set, not on a timer. Decided from the adapter's ``missing_env``
    (or ``local``) attribute or the environment, never from the message text (translated)."""
    if getattr(exc, "local", False) or getattr(exc, "missing_env", None):
        return True
    from spi_campaign.compose import adapter_class

    env = os.environ if d.env is None else d.env
    try:
        names = adapter_class(account).env_names(account)
    except Exception:
        return False
    return any(not str(env.get(n) or "").strip() for n in names)


def _record(d, row: Publication, values: dict[str, Any], result: str, detail: str, rendered=None) -> Outcome:
    """Record under the claim token; a lost claim or a ledger that cannot be
    written turns a success into a loud ``lost`` / ``unrecorded`` outcome."""
    from spi_campaign.dispatch import msg

    token = row.claim_token
    error = values.get("error")
    try:
        ok = False
        for attempt in range(3):
            try:
                ok = d.ledger.finish(token, values, d.now(), detail, key=row.key)
                break
            except LedgerError:
                if attempt == 2:
                    raise
        if not ok:
            where = _(" at {url}").format(url=values.get("url")) if values.get("url") else ""
            fields = dict(post=row.post, account=row.account, occurrence=row.occurrence.isoformat(),
                          state=values.get("state"), where=where)
            if values.get("state") == "published":
                log.error(_("{post}/{account} {occurrence}: this process lost its claim (another process took the "
                            "publication over) while publishing; its result ({state}{where}) was NOT recorded: "
                            "check the platform for a duplicate").format(**fields))
                error = _("claim lost while publishing; result {state}{where} not recorded; check the platform "
                          "for a duplicate").format(**fields)
            else:
                log.error(_("{post}/{account} {occurrence}: this process lost its claim (another process took the "
                            "publication over) while publishing; its result ({state}{where}) was NOT recorded")
                          .format(**fields))
                error = _("claim lost while publishing; result {state}{where} not recorded").format(**fields)
            result = "lost"
    except LedgerError as exc:
        where = _(" at {url}").format(url=values.get("url")) if values.get("url") else ""
        log.error(_("{post}/{account}: {state}{where} but the ledger could not record it: {reason}")
                  .format(post=row.post, account=row.account, state=values.get("state"), where=where,
                          reason=msg(exc)))
        result = "unrecorded"
        error = (_("{state}{where}, but the ledger could not record it ({reason}); "
                   "record it with 'spi post resolve' once the ledger works")
                 .format(state=values.get("state"), where=where, reason=msg(exc)))
    finally:
        d.untrack(token)
    return d.emit(Outcome(row.post, row.account, row.occurrence, result, d.now(),
                          url=values.get("url"), remote_id=values.get("remote_id"), error=error,
                          next_attempt=values.get("next_attempt"),
                          attempts=values.get("attempts", row.attempts), rendered=rendered,
                          dry_run=d.dry_run))
