"""From ledger rows to notices: which event a publication is, the text of
its alert, the daily digest. Pure functions of their arguments (plus
ledger reads for ``recovered`` and the digest); nothing is sent here."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable, Sequence

from spi_campaign.i18n import N_, _, ngettext
from spi_campaign.ledger import Ledger, Publication, ts
from spi_campaign.models import Config, Destination
from spi_campaign.notify.model import PROBLEM_EVENTS, Notice, TokenWarning
from spi_campaign.timeutil import human

# A publication alerted as a problem is watched this long for its recovery.
RECOVERY_LOOKBACK = timedelta(days=30)
DIGEST_META = "notify_digest_day"        # meta key: the local day of the last digest recorded
MAX_LINES = 20                           # items listed in one message; more are counted

HINTS = {     # translated when shown (N_: marked here)
    "failed": N_("Fix the cause, then: spi post retry {post} --account {account}"),
    "unknown": N_("It may be live. Check the platform, then: spi post resolve {post} --account {account} "
                  "--published URL (or --not-published)"),
    "missed": N_("It was not published in time and will not be. To publish it now: spi post publish {post} "
                 "--account {account}"),
    "held": N_("Due but held back: fix the post or its file (spi post validate); it goes out once fixed, "
               "within the catch-up window."),
    "recovered": N_("Published after all."),
}


def headline(event: str, n: int) -> str:
    """An alert's headline for ``n`` notices of ``event``."""
    if event == "failed":
        head = ngettext("a publication failed", "{n} publication(s) failed", n)
    elif event == "unknown":
        head = ngettext("a publication with unknown outcome (may be live)",
                        "{n} publication(s) with unknown outcome (may be live)", n)
    elif event == "missed":
        head = ngettext("a publication missed", "{n} publication(s) missed", n)
    elif event == "held":
        head = ngettext("1 due publication held back", "{n} due publication(s) held back", n)
    elif event == "recovered":
        head = ngettext("a publication recovered", "{n} publication(s) recovered", n)
    elif event == "token_expiring":
        head = ngettext("an account token expiring", "{n} account token(s) expiring", n)
    elif event == "digest":
        head = _("daily summary")
    else:
        head = event
    return head.format(n=n)


def campaign_name(config: Config) -> str:
    """The campaign as titles name it: its folder."""
    return config.root.name or str(config.root)


def title(config: Config, event: str, n: int = 1, extra: str = "") -> str:
    return f"[spi {campaign_name(config)}] {headline(event, n)}{extra}"


def classify(row: Publication, now: datetime) -> tuple[str, str, datetime] | None:
    """(event, since, when it happened) for a row needing attention, else None."""
    if row.state in ("failed", "unknown"):
        at = row.claimed_at or row.updated_at or now
        return row.state, ts(row.claimed_at) if row.claimed_at else "", at
    if row.state == "missed":
        return "missed", "", row.updated_at or row.occurrence
    # Held once its time has come (even when a retry time lies ahead: an
    # account held for a billing reason needs a person now).
    if row.state == "pending" and row.hold and row.occurrence <= now:
        return "held", "", max(row.occurrence, row.updated_at or row.occurrence)
    return None


def attention_rows(ledger: Ledger, config: Config, now: datetime) -> list[Publication]:
    """Rows that may need an alert: failed, unknown, missed, held, inside the
    alert window (an indexed query: its cost does not grow with history)."""
    return ledger.problems(now - config.alert_window, now)


def describe(config: Config, row: Publication, event: str) -> str:
    """The alert body for one publication: post, account, occurrence, state,
    error and what to do (the error is the ledger's, already scrubbed)."""
    tz = config.timezone
    state = "pending, held" if event == "held" else row.state
    lines = [_("post: {post}").format(post=row.post), _("account: {account}").format(account=row.account),
             _("occurrence: {when}").format(when=human(row.occurrence, tz)),
             (_("state: {state} after {n} attempt(s)") if row.state in ("failed", "unknown") else _("state: {state}"))
             .format(state=state, n=row.attempts)]
    if event == "held" and row.hold:
        lines.append(_("why: {reason}").format(reason=row.hold))
    elif event == "recovered":
        if row.url:
            lines.append(_("url: {url}").format(url=row.url))
    elif row.error:
        lines.append(_("error: {reason}").format(reason=row.error))
    hint = HINTS.get(event)
    if hint:
        lines.append(_(hint).format(post=row.post, account=row.account))
    return "\n".join(lines)


def _notice(config: Config, dest: Destination, event: str, row: Publication, since: str) -> Notice:
    return Notice(destination=dest.url, event=event, post=row.post, account=row.account,
                  occurrence=ts(row.occurrence), since=since, state=row.state,
                  title=title(config, event, extra=_(": {post} on {account}").format(post=row.post, account=row.account)),
                  body=describe(config, row, event))


def problem_notices(config: Config, rows: Iterable[Publication], now: datetime) -> list[Notice]:
    start = now - config.alert_window
    out = []
    for row in rows:
        c = classify(row, now)
        if c is None or c[2] < start:
            continue
        event, since, _ = c
        out += [_notice(config, d, event, row, since) for d in config.notify if event in d.events]
    return out


def recovered_notices(config: Config, ledger: Ledger, explicit: Sequence[Publication], now: datetime) -> list[Notice]:
    """``recovered``: a publication some destination was alerted about is now
    published (to that destination); rows the caller names go to every
    destination that wants ``recovered``."""
    want = {d.url: d for d in config.notify if "recovered" in d.events}
    if not want:
        return []
    out: list[Notice] = []
    seen: dict = {}
    for dest_url, key in ledger.notify_subjects(PROBLEM_EVENTS, now - RECOVERY_LOOKBACK):
        if dest_url not in want:
            continue
        if key not in seen:
            seen[key] = ledger.get(key)
        row = seen[key]
        if row is not None and row.state == "published":
            out.append(_notice(config, want[dest_url], "recovered", row, ts(row.published_at) or ""))
    for row in explicit:
        if row.state == "published":
            out += [_notice(config, d, "recovered", row, ts(row.published_at) or "") for d in want.values()]
    return out


def token_notices(config: Config, warnings: Iterable[TokenWarning]) -> list[Notice]:
    tz = config.timezone
    out = []
    for w in warnings:
        when = human(w.expires_at, tz) if w.expires_at else _("soon")
        body = "\n".join([_("account: {account}").format(account=w.account),
                          _("token expires: {when}").format(when=when)] + ([w.detail] if w.detail else [])
                         + [_("Renew it, then check with: spi accounts check {account}").format(account=w.account)])
        for d in config.notify:
            if "token_expiring" in d.events:
                out.append(Notice(destination=d.url, event="token_expiring", account=w.account,
                                  occurrence=ts(w.expires_at) or "", title=title(config, "token_expiring",
                                                                                  extra=f": {w.account}"),
                                  body=body))
    return out


def digest_notices(config: Config, ledger: Ledger, now: datetime) -> list[Notice]:
    """Today's digest (campaign timezone), once ``digest_at`` has passed and
    if it was not recorded yet."""
    want = [d for d in config.notify if "digest" in d.events]
    local = now.astimezone(config.timezone)
    if not want or local.time().replace(tzinfo=None) < config.digest_at:
        return []
    day = local.date().isoformat()
    if ledger.meta(DIGEST_META) == day:
        return []
    # Only the rows the digest can mention: occurrences since a day plus the
    # catch-up window ago (published, failed, missed in the last 24 hours), the
    # open ones and the next 24 hours.
    recent = {r.key: r for r in ledger.iter_rows(since=now - timedelta(days=1) - config.catch_up)}
    for r in ledger.open_rows():
        recent.setdefault(r.key, r)
    body = digest_body(config, list(recent.values()), now)
    return [Notice(destination=d.url, event="digest", occurrence=day, title=title(config, "digest", extra=f" {day}"),
                   body=body) for d in want]


def digest_body(config: Config, rows: list[Publication], now: datetime) -> str:
    tz = config.timezone
    since, until = now - timedelta(days=1), now + timedelta(days=1)

    def line(r: Publication, extra: str = "") -> str:
        return f"  {human(r.occurrence, tz)}  {r.post} -> {r.account}{extra}"

    def section(name: str, items: list[Publication], fmt) -> list[str]:
        if not items:
            return [f"{name}: 0"]
        out = [f"{name}: {len(items)}"] + [fmt(r) for r in items[:MAX_LINES]]
        if len(items) > MAX_LINES:
            out.append(_("  ... and {n} more (spi post status)").format(n=len(items) - MAX_LINES))
        return out

    published = [r for r in rows if r.state == "published" and r.published_at and r.published_at >= since]
    failed = [r for r in rows if r.state == "failed" and (r.claimed_at or r.updated_at or now) >= since]
    missed = [r for r in rows if r.state == "missed" and (r.updated_at or r.occurrence) >= since]
    unknown = [r for r in rows if r.state == "unknown"]
    held = [r for r in rows if r.state == "pending" and r.hold and r.occurrence <= now]
    upcoming = sorted((r for r in rows if r.state == "pending" and not r.hold and now < r.due_at <= until),
                      key=lambda r: r.due_at)
    out = [_("Last 24 hours, up to {when}:").format(when=human(now, tz))]
    out += section(_("published"), published, lambda r: line(r, f" {r.url}" if r.url else ""))
    out += section(_("failed"), failed, lambda r: line(r, f": {r.error}" if r.error else ""))
    out += section(_("missed"), missed, line)
    out.append(_("Needs a person now:"))
    out += section(_("unknown outcome (may be live)"), unknown, line)
    out += section(_("held back"), held, lambda r: line(r, f": {r.hold}"))
    out.append(_("Next 24 hours:"))
    out += section(_("scheduled"), upcoming, line)
    return "\n".join(out)
