"""``spi calendar``: every publication in a date range, planned or done.

Occurrences come from the functions the planner publishes with
(``recurrence.iter_after`` for a recurring post, ``publish_at`` for a
one-off one, ``Planner.occurrences``'s rules), so the calendar cannot
disagree with the engine. They are merged with the ledger rows in the range
(``Ledger.iter_rows(since=, until=)``): a row carries its state and URL,
an occurrence without a row is ``planned``. Ledger rows the YAML no longer
plans (a post moved or deleted after it went out) are shown too, except
``skipped`` ones: history is never hidden, a cancellation is not news.

Read-only: the ledger is opened for reading only when its file exists,
never created. No Click here; bad input raises ``ValueError`` (a usage
error for the command) or ``SpiError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Iterable, Iterator

from spi_campaign.i18n import _
from spi_campaign.models import Campaign, Post
from spi_campaign.timeutil import UTC, parse_datetime

PLANNED = "planned"
POST_STATUSES = ("draft", "approved", "cancelled")
LEDGER_STATES = ("planned", "pending", "publishing", "published", "failed", "unknown", "missed", "skipped")


@dataclass(slots=True)
class Entry:
    """One (post, account, occurrence). ``at`` is UTC; ``state`` is the
    ledger's state or ``planned``; ``post_obj`` is None for a ledger row
    whose post is no longer in the YAML."""

    post: str
    title: str | None
    topic: str | None
    status: str | None
    account: str
    platform: str | None
    at: datetime
    state: str
    url: str | None
    post_obj: Post | None = None
    updated_at: datetime | None = None

    def as_dict(self, tz: tzinfo) -> dict:
        return {"post": self.post, "title": self.title, "topic": self.topic, "status": self.status,
                "account": self.account, "platform": self.platform,
                "at": self.at.astimezone(tz).isoformat(timespec="seconds"),
                "at_utc": self.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "state": self.state, "url": self.url}


def _day_start(d: date, tz: tzinfo) -> datetime:
    return parse_datetime(d.isoformat(), tz, field="date", allow_date=True).astimezone(UTC)


def _month(text: str) -> date:
    try:
        y, m = text.strip().split("-")
        return date(int(y), int(m), 1)
    except ValueError:
        raise ValueError(_("'{value}' is not a month; write YYYY-MM, e.g. 2026-12").format(value=text)) from None


def _date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(_("{option} '{value}' is not a date; write YYYY-MM-DD, e.g. 2026-12-07").format(
            option=what, value=text)) from None


def _add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


def window(tz: tzinfo, now: datetime, *, start: str | None = None, end: str | None = None,
           month: str | None = None) -> tuple[date, date]:
    """The local days ``[first, last]`` to show: ``--month``, or ``--from``/``--to``
    (both inclusive), by default the current month and the next."""
    if month and (start or end):
        raise ValueError(_("give either --month or --from/--to, not both"))
    if month:
        first = _month(month)
        return first, _add_months(first, 1) - timedelta(days=1)
    today = now.astimezone(tz).date()
    first = _date(start, "--from") if start else today.replace(day=1)
    last = _date(end, "--to") if end else _add_months(first.replace(day=1), 2) - timedelta(days=1)
    if last < first:
        raise ValueError(_("--to {last} is before --from {first}").format(last=last, first=first))
    return first, last


def bounds(first: date, last: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The UTC instants ``[start, end)`` of the local days ``first..last``."""
    return _day_start(first, tz), _day_start(last + timedelta(days=1), tz)


def post_occurrences(post: Post, tz: tzinfo, start: datetime, end: datetime) -> Iterator[datetime]:
    """The post's occurrences (UTC) in ``[start, end)``, with the rules the
    planner publishes by: a one-off post's ``publish_at``; a recurring post's
    crontab instants from ``publish_at`` on, not after ``until``."""
    if post.publish_at is None:
        return
    if not post.repeat:
        occ = post.publish_at.astimezone(UTC)
        if start <= occ < end:
            yield occ
        return
    from spi_campaign.recurrence import iter_after

    for occ in iter_after(post.repeat, tz, max(start, post.publish_at.astimezone(UTC)), post.until,
                          end - timedelta(microseconds=1)):
        yield occ


def _ledger_rows(campaign: Campaign, start: datetime, end: datetime, account: str | None):
    from spi_campaign.ledger import open_for_reading

    ledger = open_for_reading(campaign.config)
    if ledger is None:
        return []
    try:
        return list(ledger.iter_rows(account=account, since=start, until=end))
    finally:
        ledger.close()


def collect(campaign: Campaign, start: datetime, end: datetime, *, account: str | None = None,
            topic: str | None = None, status: str | None = None, statuses: Iterable[str] | None = None,
            with_ledger: bool = True) -> list[Entry]:
    """Every publication in ``[start, end)`` (UTC), sorted by time, post, account.

    ``status``: a post status (draft, approved, cancelled) or a state
    (planned, published, failed...). ``statuses``: post statuses to expand
    (default all)."""
    cfg = campaign.config
    tz = cfg.timezone
    if account is not None:
        cfg.account(account)
    wanted_status = set(statuses) if statuses is not None else None
    entries: dict[tuple[str, str, datetime], Entry] = {}
    seen: set[str] = set()
    queued: dict[str, datetime] = {}
    if any(getattr(p, "queue", None) for p in campaign.posts):
        # queued posts: the slot each has (or would get at the next run), read only
        from spi_campaign.queue import preview
        from spi_campaign.timeutil import now_utc

        queued = preview(cfg, campaign, now_utc()).times()
    for post in campaign.posts:
        if post.id in seen:          # a duplicate id: the planner uses the first one too
            continue
        seen.add(post.id)
        if getattr(post, "queue", None):
            if post.id not in queued:
                continue             # no slot (yet): nothing to show at a time
            from dataclasses import replace

            post = replace(post, publish_at=queued[post.id])
        if topic is not None and post.topic != topic:
            continue
        if wanted_status is not None and post.status not in wanted_status:
            continue
        names = [a for a in post.accounts if a in cfg.accounts and (account is None or a == account)]
        if not names:
            continue
        for occ in post_occurrences(post, tz, start, end):
            for name in names:
                entries[(post.id, name, occ)] = Entry(post.id, post.title, post.topic, post.status, name,
                                                      cfg.accounts[name].platform, occ, PLANNED, None, post)
    if with_ledger:
        posts = {p.id: p for p in reversed(campaign.posts)}
        for row in _ledger_rows(campaign, start, end, account):
            e = entries.get(row.key)
            if e is not None:
                e.state, e.url, e.updated_at = row.state, row.url, row.updated_at
                continue
            if row.state == "skipped":
                continue
            post = posts.get(row.post)
            if topic is not None and (post is None or post.topic != topic):
                continue
            if wanted_status is not None and (post is None or post.status not in wanted_status):
                continue
            acc = cfg.accounts.get(row.account)
            entries[row.key] = Entry(row.post, post.title if post else None, post.topic if post else None,
                                     post.status if post else None, row.account, acc.platform if acc else None,
                                     row.occurrence, row.state, row.url, post, row.updated_at)
    out = list(entries.values())
    if status is not None:
        field = "status" if status in POST_STATUSES else "state"
        out = [e for e in out if getattr(e, field) == status]
    out.sort(key=lambda e: (e.at, e.post, e.account))
    return out
