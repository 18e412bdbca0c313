"""Parsing and showing times. Every datetime that leaves this module is aware.

Decisions (documented in README "Times"):
- A time written without an offset is in the campaign timezone.
- ``publish_at`` must carry a time of day: a bare date would silently mean
  midnight, which nobody intends for a social-media post.
- A bare date in ``until`` means "up to the end of that day".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache

from spi_campaign.i18n import _

UTC = timezone.utc

_DURATION = re.compile(r"(\d+)\s*(d|h|m|s)", re.IGNORECASE)
_DURATION_FULL = re.compile(r"^\s*(?:\d+\s*[dhms]\s*)+$", re.IGNORECASE)
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
# Longer durations are typos, and would overflow date arithmetic (now - catch_up).
MAX_DURATION = timedelta(days=3650)
# Dates outside these years are typos, and years 1 and 9999 overflow as soon as
# they are shown in another offset.
MIN_YEAR, MAX_YEAR = 1970, 9998


def parse_duration(value: object) -> timedelta:
    """Parse ``6h``, ``90m``, ``1h30m``, ``2d``, ``45s`` (or a number of seconds).

    Raises ValueError with a user-facing message."""
    if isinstance(value, bool):
        raise ValueError(_("expected a duration such as 6h, 30m or 1d"))
    if isinstance(value, (int, float)):
        if value != value:  # NaN
            raise ValueError(_("expected a duration such as 6h, 30m or 1d, got {value}").format(value=short_repr(value)))
        if value < 0:
            raise ValueError(_("a duration cannot be negative"))
        seconds = value
    elif not isinstance(value, str) or not _DURATION_FULL.match(value):
        raise ValueError(_("expected a duration such as 6h, 30m or 1d, got {value}").format(value=short_repr(value)))
    else:
        seconds = sum(int(n) * _UNITS[u.lower()] for n, u in _DURATION.findall(value))
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(_("duration {value} is too long (at most {days}d)").format(value=short_repr(value),
                                                                                  days=MAX_DURATION.days))
    return timedelta(seconds=seconds)


def get_zone(name: str) -> tzinfo:
    """Return the IANA zone ``name``; raises ValueError for unknown names."""
    if not isinstance(name, str) or not name or name.startswith(("/", ".")) or ".." in name:
        raise ValueError(_("unknown timezone {name}").format(name=short_repr(name)))
    return _zone(name)


@lru_cache(maxsize=256)
def _zone(name: str) -> tzinfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(_("unknown timezone {name} (use an IANA name such as Asia/Makassar)")
                         .format(name=short_repr(name))) from None


def parse_datetime(value: object, tz: tzinfo, *, field: str, end_of_day: bool = False,
                   allow_date: bool = False, notes: list[str] | None = None) -> datetime:
    """Parse an ISO-8601 date-time written in YAML. Naive values are in ``tz``.

    ``allow_date``: a bare date is accepted (as its start, or as the end of the
    day when ``end_of_day``). Clock times may be written the Indonesian way,
    ``09.30`` (and ``09.30.15``), meaning 09:30; a fraction of an hour or of a
    minute (``09:30.5``) is refused, never read as seconds. A local time that
    the clocks skip (DST gap) is the instant they jump; one that happens twice
    is the first; either case appends a sentence to ``notes`` naming the
    instant used. Raises ValueError with a user-facing message.
    """
    naive_text = False
    if isinstance(value, datetime):  # only if a caller bypassed our loader
        dt = value
    elif isinstance(value, date):
        if not allow_date:
            raise ValueError(_("{field} {text} has no time of day; write e.g. {text} 09:00")
                             .format(field=field, text=value.isoformat()))
        dt = datetime.combine(value, time.max if end_of_day else time.min)
    elif isinstance(value, str):
        text = value.strip()
        if _is_bare_date(text):
            if not allow_date:
                raise ValueError(_("{field} '{text}' has no time of day; write e.g. {text} 09:00")
                                 .format(field=field, text=text))
            try:
                d = date.fromisoformat(text)
            except ValueError as exc:
                raise ValueError(_("{field} '{text}' is not a real date ({reason})")
                                 .format(field=field, text=text, reason=exc)) from None
            dt = datetime.combine(d, time.max if end_of_day else time.min)
        else:
            dt = _parse_text(text, field)
            naive_text = True
    else:
        raise ValueError(_("{field} must be a date-time such as 2026-12-09 09:00, got {type}")
                         .format(field=field, type=type_name(value)))
    if not MIN_YEAR <= dt.year <= MAX_YEAR:
        shown = value.isoformat() if isinstance(value, date) else str(value).strip()
        raise ValueError(_("{field} '{text}' is out of range (the year must be {min} to {max})")
                         .format(field=field, text=shown, min=MIN_YEAR, max=MAX_YEAR))
    if dt.tzinfo is None:
        local = dt.replace(tzinfo=tz)
        if local.utcoffset() == dt.replace(tzinfo=tz, fold=1).utcoffset():    # the usual case, cheaply
            return local
        wall = resolve_wall(dt, tz)
        if wall.kind == "normal":
            dt = local
        else:
            when = wall.instants[0].astimezone(tz)
            if notes is not None and naive_text:
                zone = getattr(tz, "key", str(tz))
                if wall.kind == "gap":
                    notes.append(_("{field} {time} does not exist in {zone}: the clocks jump "
                                   "{shift} forward then; {used} is used").format(
                        field=field, time=f"{dt:%Y-%m-%d %H:%M}", zone=zone, shift=_hm(wall.shift),
                        used=human(when)))
                else:
                    later = wall.instants[1].astimezone(tz)
                    notes.append(_("{field} {time} happens twice in {zone} (the clocks go back "
                                   "{shift}); the first, {used}, is used (write {second} for the second)").format(
                        field=field, time=f"{dt:%Y-%m-%d %H:%M}", zone=zone, shift=_hm(wall.shift),
                        used=human(when), second=later.isoformat(timespec='minutes')))
            dt = when
    return dt


# A date, 'T' or spaces, then a time written with dots (the Indonesian way: 09.30, 09.30.15).
_DOT_TIME = re.compile(r"^([0-9]{4}-[0-9]{1,2}-[0-9]{1,2})(?:T|\s+)([0-9]{1,2})\.([0-9]{2})(?:\.([0-9]{2}))?"
                       r"(\s*(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?))?$", re.ASCII)
# A fraction right after the hour or the minutes: Python would read it as seconds.
_FRACTION_OF_MINUTE = re.compile(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:T|\s+)[0-9]{1,2}(?::?[0-9]{2})?[.,]",
                                 re.ASCII)


def _example() -> str:
    # Translated only when an error is shown: this is on every post's path.
    return _("e.g. 2026-12-09 09:00 or 2026-12-09T09:00+08:00")


def _parse_text(text: str, field: str) -> datetime:
    if not text.isascii():
        raise ValueError(_("{field} '{text}' is not an ISO-8601 date-time ({example}; digits 0-9 only)")
                         .format(field=field, text=text, example=_example()))
    m = _DOT_TIME.match(text) if "." in text or "," in text else None
    if m is not None:
        day, hh, mm, ss, off = m.groups()
        text = f"{day}T{hh.zfill(2)}:{mm}" + (f":{ss}" if ss else "") + (off or "").strip()
    elif ("." in text or "," in text) and _FRACTION_OF_MINUTE.match(text):
        raise ValueError(_("{field} '{text}' is not a clock time: write 09:30 or 09.30 (hours and minutes), "
                           "{example}").format(field=field, text=text, example=_example()))
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError as exc:
        reason = str(exc)
        if "out of range" in reason or "must be in" in reason:
            raise ValueError(_("{field} '{text}' is not a real date or time ({reason})")
                             .format(field=field, text=text, reason=reason)) from None
        raise ValueError(_("{field} '{text}' is not an ISO-8601 date-time ({example})")
                         .format(field=field, text=text, example=_example())) from None


def _hm(td: timedelta) -> str:
    minutes = int(abs(td).total_seconds()) // 60
    return f"{minutes // 60}h{minutes % 60:02d}" if minutes % 60 else f"{minutes // 60}h"


@dataclass(frozen=True, slots=True)
class Wall:
    """What a wall-clock time is in a zone.

    kind:     ``normal`` (one instant), ``gap`` (the clocks skip it) or
              ``overlap`` (it happens twice).
    instants: UTC; ``normal``: the instant; ``overlap``: (first, second);
              ``gap``: (the instant the clocks jump, i.e. right after the change,).
    shift:    the size of the jump (zero when normal).
    """

    kind: str
    instants: tuple[datetime, ...]
    shift: timedelta = timedelta(0)


def resolve_wall(naive: datetime, tz: tzinfo) -> Wall:
    """Resolve a naive local time with explicit DST rules (never with
    ``fold`` arithmetic on local times)."""
    naive = naive.replace(tzinfo=None)
    a = naive.replace(tzinfo=tz, fold=0)
    b = naive.replace(tzinfo=tz, fold=1)
    oa, ob = a.utcoffset(), b.utcoffset()
    if oa == ob:
        return Wall("normal", ((naive - oa).replace(tzinfo=UTC),))
    ua = (naive - oa).replace(tzinfo=UTC)      # zoneinfo: fold=0 takes the offset before the change
    ub = (naive - ob).replace(tzinfo=UTC)
    if ua.astimezone(tz).replace(tzinfo=None) == naive and ub.astimezone(tz).replace(tzinfo=None) == naive:
        return Wall("overlap", tuple(sorted((ua, ub))), abs(oa - ob))
    return Wall("gap", (_transition(tz, min(ua, ub), max(ua, ub)),), abs(oa - ob))


def _transition(tz: tzinfo, lo: datetime, hi: datetime) -> datetime:
    """The first instant in (lo, hi] with hi's UTC offset (a bisection on
    whole seconds: tzdata changes happen on whole seconds)."""
    target = hi.astimezone(tz).utcoffset()
    lo_s, hi_s = 0, int((hi - lo).total_seconds())
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        if (lo + timedelta(seconds=mid)).astimezone(tz).utcoffset() == target:
            hi_s = mid
        else:
            lo_s = mid
    return lo + timedelta(seconds=hi_s)


_BARE_DATE = re.compile(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$")


def _is_bare_date(text: str) -> bool:
    return bool(_BARE_DATE.match(text))


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime | None, tz: tzinfo | None = None) -> str | None:
    """ISO-8601 with offset, to the second (``2026-12-09T09:00:00+08:00``)."""
    if dt is None:
        return None
    if tz is not None:
        dt = dt.astimezone(tz)
    return dt.isoformat(timespec="seconds")


def human(dt: datetime | None, tz: tzinfo | None = None) -> str:
    """``2026-12-09 09:00 +08:00`` (WITA shown with its offset)."""
    if dt is None:
        return "-"
    if tz is not None:
        dt = dt.astimezone(tz)
    off = dt.strftime("%z")
    off = f"{off[:3]}:{off[3:]}" if off else ""
    return f"{dt:%Y-%m-%d %H:%M} {off}".rstrip()


def type_name(value: object) -> str:
    """Describe a YAML value's type in user terms (never its content)."""
    if value is None:
        return _("nothing (null)")
    if isinstance(value, bool):
        return _("a boolean")
    if isinstance(value, int):
        return _("a number")
    if isinstance(value, float):
        return _("a number")
    if isinstance(value, str):
        return _("a string")
    if isinstance(value, list):
        return _("a list")
    if isinstance(value, dict):
        return _("a mapping")

    return type(value).__name__


def short_repr(value: object, limit: int = 40) -> str:
    """A bounded repr for messages. Only scalars are shown; containers are
    described, never expanded (they may be alias bombs)."""
    if isinstance(value, str):
        text = value if len(value) <= limit else value[: limit - 1] + "…"
        return repr(text)
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)[:limit]
    return type_name(value)
