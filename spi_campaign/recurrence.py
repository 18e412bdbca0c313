"""Recurring posts: crontab expressions (``cronexpr.py``) turned into
instants in the campaign timezone, with cron(8)'s DST rules.

Everything is computed on wall-clock days, resolved to UTC instants with
explicit rules, and iterated as UTC instants (never ``+ timedelta`` on a
local time, never a local comparison: two datetimes with the same ``tzinfo``
compare by wall clock and ignore ``fold``):

- a wall time that exists once is that instant;
- a wall time the clocks skip (spring forward): a *fixed-time* expression
  (neither minute nor hour starts with ``*``) runs right after the change, at
  the instant the clocks jump; a wildcard expression does not run then;
- a wall time that happens twice (fall back): a fixed-time expression runs
  the first time only; a wildcard expression runs both times.

Every returned datetime is in UTC. ``start`` (``publish_at``), ``until`` and
the windows are compared as instants. Every loop is bounded: an expression
that can never match (``0 0 30 2 *``) is known at parse time, and a search
never looks more than 400 years (the Gregorian cycle) ahead.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Iterator

from spi_campaign.cronexpr import CronError, CronExpr, parse

if TYPE_CHECKING:
    from spi_campaign.models import Post

UTC = timezone.utc
CYCLE_YEARS = 400          # the Gregorian calendar repeats; a match that exists shows up within this
_LAST_DAY = date(9999, 12, 30)
_MINUTE = timedelta(minutes=1)

__all__ = ["CronError", "check_cron", "cron_warnings", "day_instants", "is_occurrence", "iter_after",
           "last_at_or_before", "next_after", "next_publish", "occurrences", "occurrences_on"]


def check_cron(expr: str, tz: tzinfo | None = None) -> None:
    """Raise ValueError (user-facing, naming the field) if ``expr`` is not a
    valid crontab expression. ``tz`` is accepted for compatibility."""
    parse(expr)


def cron_warnings(expr: str) -> list[str]:
    """Valid but probably not what was meant (``*/90``: minute 0 only)."""
    return list(parse(expr).warnings)


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise ValueError("naive datetime")
    return dt.astimezone(UTC)


def _plain_offset(day: date, tz: tzinfo) -> timedelta | None:
    """The UTC offset of ``day`` when it is the same all day (no change
    starts, ends or happens within it); None otherwise."""
    start = datetime.combine(day, time(0))
    end = start + timedelta(days=1)
    offsets = {start.replace(tzinfo=tz, fold=f).utcoffset() for f in (0, 1)}
    offsets |= {end.replace(tzinfo=tz, fold=f).utcoffset() for f in (0, 1)}
    noon = datetime.combine(day, time(12)).replace(tzinfo=tz)
    offsets.add(noon.utcoffset())
    return offsets.pop() if len(offsets) == 1 else None


def day_instants(cron: CronExpr, tz: tzinfo, day: date) -> list[datetime]:
    """Every instant (UTC, sorted, no duplicates) at which ``cron`` fires on
    the local ``day``, with the DST rules above. Does not check the day."""
    off = _plain_offset(day, tz)
    midnight = datetime.combine(day, time(0))
    if off is not None:
        base = (midnight - off).replace(tzinfo=UTC)
        return [base + m * _MINUTE for m in cron.times]
    from spi_campaign.timeutil import resolve_wall

    out: set[datetime] = set()
    for m in cron.times:
        wall = resolve_wall(midnight + m * _MINUTE, tz)
        if wall.kind == "normal":
            out.add(wall.instants[0])
        elif wall.kind == "overlap":
            out.update(wall.instants[:1] if cron.fixed else wall.instants)
        elif cron.fixed:           # gap: fixed-time runs right after the change
            out.add(wall.instants[0])
    return sorted(out)


def _days_from(cron: CronExpr, first: date, last: date) -> Iterator[date]:
    """Matching local days in ``[first, last]``, in order (month by month)."""
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        for d in cron.days_in_month(year, month):
            day = date(year, month, d)
            if first <= day <= last:
                yield day
        month += 1
        if month == 13:
            year, month = year + 1, 1


def _local_day(instant: datetime, tz: tzinfo) -> date:
    return instant.astimezone(tz).date()


def _horizon(point: datetime, tz: tzinfo, until: datetime | None, end: datetime | None) -> date:
    day = _local_day(point, tz)
    last = min(_LAST_DAY, date(min(day.year + CYCLE_YEARS + 1, 9999), 1, 1))
    for bound in (until, end):
        if bound is not None:
            last = min(last, _local_day(bound, tz) + timedelta(days=1))
    return last


def iter_after(expr: str | CronExpr, tz: tzinfo, after: datetime, until: datetime | None = None,
               end: datetime | None = None) -> Iterator[datetime]:
    """Occurrences at or after ``after`` (UTC, increasing, no duplicates),
    not after ``until`` nor ``end``; bounded by the 400-year cycle."""
    cron = parse(expr) if isinstance(expr, str) else expr
    if cron.never:
        return
    after = _utc(after)
    stop = min((_utc(b) for b in (until, end) if b is not None), default=None)
    # Start one local day early: a day's instants can begin before its local midnight's
    # instant only through DST resolution, which stays within the day, but be safe.
    first = _local_day(after, tz) - timedelta(days=1)
    last_seen: datetime | None = None
    for day in _days_from(cron, first, _horizon(after, tz, until, end)):
        instants = day_instants(cron, tz, day)
        for instant in instants[bisect_left(instants, after):]:
            if stop is not None and instant > stop:
                return
            if last_seen is not None and instant <= last_seen:
                continue
            last_seen = instant
            yield instant


def next_after(expr: str, tz: tzinfo, start: datetime, after: datetime,
               until: datetime | None = None) -> datetime | None:
    """The first occurrence at or after ``max(start, after)`` and not after
    ``until`` (UTC); None if there is none."""
    point = max(_utc(start), _utc(after))
    return next(iter_after(expr, tz, point, until), None)


def occurrences(expr: str, tz: tzinfo, start: datetime, window_start: datetime,
                window_end: datetime, until: datetime | None = None,
                limit: int = 10_000) -> list[datetime]:
    """Occurrences in ``[max(start, window_start), window_end]`` (UTC), the
    first ``limit`` of them."""
    out: list[datetime] = []
    if limit <= 0:
        return out
    point = max(_utc(start), _utc(window_start))
    for instant in iter_after(expr, tz, point, until, window_end):
        out.append(instant)
        if len(out) >= limit:
            break
    return out


def is_occurrence(expr: str, tz: tzinfo, start: datetime, occ: datetime,
                  until: datetime | None = None) -> bool:
    """Whether the instant ``occ`` is one of the occurrences."""
    occ = _utc(occ)
    if occ < _utc(start) or (until is not None and occ > _utc(until)):
        return False
    try:
        return next_after(expr, tz, start, occ, until) == occ
    except ValueError:
        return False


def last_at_or_before(expr: str, tz: tzinfo, start: datetime, at: datetime,
                      until: datetime | None = None, not_before: datetime | None = None) -> datetime | None:
    """The latest occurrence at or before ``at`` (and at or after ``start``
    and ``not_before``, not after ``until``); None if there is none."""
    cron = parse(expr)
    if cron.never:
        return None
    at = _utc(at)
    if until is not None:
        at = min(at, _utc(until))
    floor = max(_utc(start), _utc(not_before)) if not_before is not None else _utc(start)
    if at < floor:
        return None
    day = _local_day(at, tz) + timedelta(days=1)
    first = max(_local_day(floor, tz) - timedelta(days=1), date(max(day.year - CYCLE_YEARS - 1, 1), 1, 1))
    while day >= first:
        if cron.day_matches(day):
            instants = day_instants(cron, tz, day)
            i = bisect_right(instants, at)
            if i:
                return instants[i - 1] if instants[i - 1] >= floor else None
        day -= timedelta(days=1)
    return None


def occurrences_on(expr: str, tz: tzinfo, day: date, start: datetime | None = None,
                   until: datetime | None = None) -> list[datetime]:
    """The occurrences (UTC) whose local date in ``tz`` is ``day``: what a
    local day holds, e.g. to keep one publication per local day of a daily
    post across a change of timezone."""
    cron = parse(expr)
    if cron.never or not cron.day_matches(day):
        return []
    lo = _utc(start) if start is not None else None
    hi = _utc(until) if until is not None else None
    return [i for i in day_instants(cron, tz, day)
            if (lo is None or i >= lo) and (hi is None or i <= hi)]


def next_publish(post: "Post", now: datetime, tz: tzinfo) -> datetime | None:
    """The next occurrence of ``post`` at or after ``now``; for a one-off post
    its ``publish_at`` even when past (lists show it); None when there is none.
    ``tz`` is the campaign timezone, in which ``repeat`` is evaluated."""
    if post.publish_at is None:
        return None
    if not post.repeat:
        return post.publish_at
    return next_after(post.repeat, tz, post.publish_at, now, post.until)
