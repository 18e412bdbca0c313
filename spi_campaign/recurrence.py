"""Recurring posts: 5-field cron expressions evaluated by APScheduler's
CronTrigger (imported lazily: only posts with ``repeat`` pay for it).

Surprise handled here: APScheduler 3.x numbers weekdays from Monday=0, while
crontab uses Sunday=0 (APScheduler issue #286). We translate the day-of-week
field to explicit day names with crontab semantics before handing it over, so
``0 9 * * 1-5`` means Monday to Friday, as every cron user expects.

Another difference we keep and document: when both day-of-month and
day-of-week are restricted, a day must match both (APScheduler), not either
(Vixie cron).
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spi_campaign.models import Post

_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


def _dow_number(token: str) -> int:
    t = token.strip().lower()
    if t in _NAMES:
        return _NAMES.index(t)
    if t[:3] in _NAMES and len(t) > 3:
        raise ValueError(f"day-of-week '{token}' is not a day name (use sun..sat or 0-7)")
    if not t.isdigit():
        raise ValueError(f"day-of-week '{token}' is not a day (use sun..sat or 0-7)")
    n = int(t)
    if n > 7:
        raise ValueError(f"day-of-week {n} is out of range 0-7")
    return n % 7


def translate_dow(field: str) -> str:
    """Crontab day-of-week field -> APScheduler day names (crontab semantics)."""
    days: set[int] = set()
    for part in field.split(","):
        if not part:
            raise ValueError("empty item in day-of-week")
        rng, _, step_s = part.partition("/")
        step = 1
        if step_s:
            if not step_s.isdigit() or int(step_s) == 0:
                raise ValueError(f"bad step '/{step_s}' in day-of-week")
            step = int(step_s)
        if rng == "*":
            lo, hi = 0, 6
        elif "-" in rng:
            a, _, b = rng.partition("-")
            lo, hi = _dow_number(a), _dow_number(b)
            if b.strip() == "7":
                hi = 7
            if hi < lo:
                raise ValueError(f"day-of-week range '{rng}' runs backwards")
        else:
            lo = _dow_number(rng)
            hi = 6 if step_s else lo
        days.update(d % 7 for d in range(lo, hi + 1, step))
    if len(days) == 7:
        return "*"
    return ",".join(_NAMES[(d) % 7] for d in sorted(days, key=lambda d: (d + 6) % 7))


@lru_cache(maxsize=1024)
def _trigger(expr: str, tz: tzinfo):
    from apscheduler.triggers.cron import CronTrigger

    values = expr.split()
    if len(values) != 5:
        raise ValueError(f"cron expression '{expr}' needs 5 fields (minute hour day month weekday), got {len(values)}")
    minute, hour, day, month, dow = values
    try:
        dow = translate_dow(dow)
        return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=dow, timezone=tz)
    except ValueError as exc:
        raise ValueError(f"invalid cron expression '{expr}': {exc}") from None


def check_cron(expr: str, tz: tzinfo) -> None:
    """Raise ValueError (user-facing) if ``expr`` is not a valid 5-field cron expression."""
    _trigger(expr, tz)


def next_after(expr: str, tz: tzinfo, start: datetime, after: datetime,
               until: datetime | None = None) -> datetime | None:
    """The first occurrence at or after ``max(start, after)`` and not after
    ``until``; None if there is none."""
    trig = _trigger(expr, tz)
    point = max(start, after).astimezone(tz)
    fire = trig.get_next_fire_time(None, point)
    if fire is None or (until is not None and fire > until):
        return None
    return fire


def occurrences(expr: str, tz: tzinfo, start: datetime, window_start: datetime,
                window_end: datetime, until: datetime | None = None,
                limit: int = 10_000) -> list[datetime]:
    """Occurrences in ``[max(start, window_start), window_end]``, at most ``limit``."""
    out: list[datetime] = []
    point = max(start, window_start)
    while len(out) < limit:
        fire = next_after(expr, tz, start, point, until)
        if fire is None or fire > window_end:
            break
        out.append(fire)
        point = fire + timedelta(seconds=1)
    return out


def next_publish(post: "Post", now: datetime, tz: tzinfo) -> datetime | None:
    """The next occurrence of ``post`` at or after ``now``; for a one-off post
    its ``publish_at`` even when past (lists show it); None when there is none.
    ``tz`` is the campaign timezone, in which ``repeat`` is evaluated."""
    if post.publish_at is None:
        return None
    if not post.repeat:
        return post.publish_at
    return next_after(post.repeat, tz, post.publish_at, now, post.until)
