"""Crontab expressions, parsed the way cron(8) reads them (``man 5 crontab``,
cronie/Vixie cron's ``entry.c``). Only *which wall-clock minutes match*
lives here; turning them into instants (DST) is ``recurrence.py``.

Grammar, per field: ``list = range {"," range}``,
``range = "*" ["/" step] | value ["-" value ["/" step]]``; ``value`` is an
ASCII number, or a three-letter name in the month and day-of-week fields
(case does not matter; cron also takes names in ranges, so ``MON-FRI``
works). The nicknames ``@yearly @annually @monthly @weekly @daily
@midnight @hourly`` stand for their 5-field equivalents.

Rules kept from cron (documented in docs/recurrence.md):
- day-of-week 0 and 7 are Sunday; ``*`` there is ``0-7``; ``7-7`` is Sunday;
- day-of-month and day-of-week: when *both* are restricted a day matching
  either is enough (``30 4 1,15 * 5``: the 1st, the 15th and every Friday);
  a field is unrestricted when it *starts* with ``*`` (so ``*/2`` counts as
  unrestricted, as in cron's ``DOM_STAR``/``DOW_STAR``);
- a step larger than its range is valid and keeps the first value only
  (``0-10/20`` is minute 0); a single value with a step (``5/15``) is an
  error, as in cron;
- "fixed-time" (cron(8)'s DST rule) means neither minute nor hour starts
  with ``*`` (``@hourly`` is not fixed-time).
Rejected, never read loosely: non-ASCII digits (``٩``, ``７``), ``last``/``L``,
``W``, ``#``, ``?``, names longer than three letters, empty items.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from spi_campaign.i18n import _

FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
NICKNAMES = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}
MAX_LENGTH = 1000
_VALUE = re.compile(r"[0-9]+|[A-Za-z]+")
_SEPARATOR = re.compile(r"[ \t]+")


class CronError(ValueError):
    """A user-facing message about an invalid expression."""


@dataclass(frozen=True, slots=True)
class CronExpr:
    expr: str                       # as written (stripped)
    minutes: tuple[int, ...]        # sorted
    hours: tuple[int, ...]
    doms: frozenset[int]
    months: frozenset[int]
    dows: frozenset[int]            # 0 (Sunday) .. 6
    dom_star: bool                  # the field starts with '*'
    dow_star: bool
    fixed: bool                     # neither minute nor hour starts with '*' (cron(8)'s DST rule)
    warnings: tuple[str, ...] = ()

    @property
    def times(self) -> tuple[int, ...]:
        """Minutes of the day that match, sorted."""
        return _times(self.hours, self.minutes)

    def day_matches(self, d: date) -> bool:
        if d.month not in self.months:
            return False
        dom_ok = d.day in self.doms
        dow_ok = (d.weekday() + 1) % 7 in self.dows
        if self.dom_star or self.dow_star:
            return dom_ok and dow_ok
        return dom_ok or dow_ok

    def days_in_month(self, year: int, month: int) -> list[int]:
        """The matching days of one month, in order."""
        if month not in self.months:
            return []
        first_wd, ndays = calendar.monthrange(year, month)     # Monday = 0
        out = []
        for day in range(1, ndays + 1):
            dom_ok = day in self.doms
            dow_ok = (first_wd + day) % 7 in self.dows         # (weekday + 1) % 7, Sunday = 0
            if (dom_ok and dow_ok) if (self.dom_star or self.dow_star) else (dom_ok or dow_ok):
                out.append(day)
        return out

    @property
    def never(self) -> bool:
        """True when no day can ever match (``0 0 30 2 *``: February 30th)."""
        return _never(self)


@lru_cache(maxsize=1024)
def _times(hours: tuple[int, ...], minutes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(h * 60 + m for h in hours for m in minutes)


def _never(c: CronExpr) -> bool:
    if not (c.dom_star or c.dow_star):
        return False          # either field may match: every weekday comes round
    # Both must match. Every real (month, day) falls on every weekday within
    # the 400-year Gregorian cycle, so only an impossible date can never match.
    longest = {m: (29 if m == 2 else calendar.monthrange(2001, m)[1]) for m in c.months}
    return not any(d <= longest[m] for m in c.months for d in c.doms) or not c.dows


@lru_cache(maxsize=2048)
def parse(expr: str) -> CronExpr:
    """Parse a crontab expression; raises CronError naming the field."""
    if not isinstance(expr, str):
        raise CronError(_("a cron expression must be text such as \"0 9 * * FRI\""))
    text = expr.strip(" \t")
    if len(text) > MAX_LENGTH:
        raise CronError(_("cron expression is too long ({n} characters)").format(n=len(text)))
    if not text:
        raise CronError(_("cron expression is empty; write e.g. \"0 9 * * FRI\" (minute hour day-of-month month "
                          "day-of-week)"))
    shown = text
    if text.startswith("@"):
        equivalent = NICKNAMES.get(text)
        if equivalent is None:
            hint = _(" (did you mean '{word}'?)").format(word=text.lower()) if text.lower() in NICKNAMES else ""
            if text == "@reboot":
                hint = _(" (a post has no reboot; use a time)")
            raise CronError(_("unknown cron nickname '{text}'{hint}; use one of {names}").format(
                text=text, hint=hint, names=", ".join(NICKNAMES)))
        text = equivalent
    values = _SEPARATOR.split(text)
    if len(values) != 5:
        extra = _(" (crontab has no seconds or years field)") if len(values) in (6, 7) else ""
        raise CronError(_("cron expression '{text}' needs 5 fields (minute hour day-of-month month day-of-week), "
                          "got {n}{extra}").format(text=shown, n=len(values), extra=extra))
    sets: list[set[int]] = []
    warnings: list[str] = []
    for i, value in enumerate(values):
        try:
            sets.append(_field(value, i, warnings))
        except CronError as exc:
            raise CronError(_("invalid cron expression '{text}': {reason}").format(text=shown, reason=exc)) from None
    minutes, hours, doms, months, dows = sets
    if 7 in dows:
        dows = (dows - {7}) | {0}
    return CronExpr(expr=shown, minutes=tuple(sorted(minutes)), hours=tuple(sorted(hours)),
                    doms=frozenset(doms), months=frozenset(months), dows=frozenset(dows),
                    dom_star=values[2].startswith("*"), dow_star=values[4].startswith("*"),
                    fixed=not (values[0].startswith("*") or values[1].startswith("*")),
                    warnings=tuple(_("repeat '{text}': {warning}").format(text=shown, warning=w) for w in warnings))


def _field(value: str, index: int, warnings: list[str]) -> set[int]:
    name = FIELDS[index]
    lo, hi = _BOUNDS[index]
    names = MONTHS if index == 3 else DAYS if index == 4 else None
    out: set[int] = set()
    for item in value.split(","):
        if not item:
            raise CronError(_("{field} '{value}' has an empty item (two commas, or a comma at an end)").format(
                field=name, value=value))
        rng, slash, step_s = item.partition("/")
        if rng == "*":
            a, b = lo, hi
        else:
            first, dash, last = rng.partition("-")
            a = _value(first, item, name, lo, hi, names)
            if not dash:
                if slash:
                    raise CronError(_("{field} '{item}': a step needs a range or '*' (write {range} or {star})").format(
                        field=name, item=item, range=f"{first}-{hi}/{step_s or 'N'}", star=f"*/{step_s or 'N'}"))
                out.add(a)
                continue
            b = _value(last, item, name, lo, hi, names)
            if b < a:
                raise CronError(_("{field} range '{range}' runs backwards (cron does not wrap around; "
                                  "write {fix})").format(field=name, range=rng, fix=f"{first}-{hi},{lo}-{last}"))
        step = 1
        if slash:
            if not step_s or not step_s.isascii() or not step_s.isdigit():
                raise CronError(_("{field} '{item}': the step after '/' must be a number such as /15").format(
                    field=name, item=item))
            if len(step_s) > 4 or int(step_s) == 0:
                raise CronError(_("{field} '{item}': the step must be a whole number from 1 to 9999").format(
                    field=name, item=item))
            step = int(step_s)
            if step > b - a and b > a:
                warnings.append(_("{field} '{item}' only matches {first}: the step /{step} is larger than the range "
                                  "(cron cannot repeat across a longer period)").format(
                    field=name, item=item, first=a, step=step))
        out.update(range(a, b + 1, step))
    return out


def _value(token: str, item: str, name: str, lo: int, hi: int, names) -> int:
    if not token:
        raise CronError(_("{field} '{item}' is missing a value").format(field=name, item=item))
    if not _VALUE.fullmatch(token):
        bad = next((ch for ch in token if not (ch.isascii() and ch.isalnum())), None)
        if bad is not None and bad.isdigit():
            raise CronError(_("{field} '{item}' contains '{char}' ({code}), which is not an ASCII digit; "
                              "write digits 0-9").format(field=name, item=item, char=bad, code=f"U+{ord(bad):04X}"))
        if bad is None:
            raise CronError(_("{field} '{token}' is neither a number nor a name").format(field=name, token=token))
        if bad in ("?", "#"):
            raise CronError(_("{field} '{item}': '{char}' is not crontab syntax (use * or a list such as 1,15)")
                            .format(field=name, item=item, char=bad))
        shown = f"'{bad}'" if bad.isprintable() else f"U+{ord(bad):04X}"
        if names:
            raise CronError(_("{field} '{item}' contains {char}, which is not allowed here "
                              "(use numbers {lo}-{hi}, names, *, -, / and ,)").format(
                field=name, item=item, char=shown, lo=lo, hi=hi))
        raise CronError(_("{field} '{item}' contains {char}, which is not allowed here "
                          "(use numbers {lo}-{hi}, *, -, / and ,)").format(field=name, item=item, char=shown,
                                                                          lo=lo, hi=hi))
    if token.isdigit():
        n = int(token) if len(token) <= 4 else hi + 1
        if not lo <= n <= hi:
            raise CronError(_("{field} {token} is out of range ({lo}-{hi})").format(
                field=name, token=token, lo=lo, hi=hi))
        return n
    low = token.lower()
    if names is not None and low in names:
        return names.index(low) + (1 if names is MONTHS else 0)
    if low in ("l", "last", "w", "lw"):
        raise CronError(_("{field} '{token}' is not crontab syntax (cron has no 'last' or 'weekday' days)").format(
            field=name, token=token))
    if names is None:
        raise CronError(_("{field} '{token}' is not a number ({lo}-{hi})").format(
            field=name, token=token, lo=lo, hi=hi))
    if low[:3] in names:
        if names is MONTHS:
            msg = _("{field} '{token}' is not a month name; cron takes the first three letters ('{short}')")
        else:
            msg = _("{field} '{token}' is not a day name; cron takes the first three letters ('{short}')")
        raise CronError(msg.format(field=name, token=token, short=low[:3]))
    if names is MONTHS:
        msg = _("{field} '{token}' is not a month (use {lo}-{hi} or {first}..{last})")
    else:
        msg = _("{field} '{token}' is not a day (use {lo}-{hi} or {first}..{last})")
    raise CronError(msg.format(field=name, token=token, lo=lo, hi=hi, first=names[0], last=names[-1]))

