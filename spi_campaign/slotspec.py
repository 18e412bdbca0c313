"""Time slots of a queue: the grammar of ``slots:`` and the instants it names.

A slot line is ``DAYS TIME [TIME ...]`` in the campaign timezone (README,
"Time slots"):

    MON-FRI 09:00          weekdays at 09:00
    SAT 10:00              Saturdays
    DAILY 16.30            every day at 16:30 (``09.30`` is the Indonesian 09:30)
    MON,WED,FRI 08:00 13:00
    SEN-JUM 09:00          Indonesian day names work too (SENIN..MINGGU, HARIAN)
    09:00                  no days: every day

Pure: no I/O, no ledger. ``config.py`` calls ``read`` to turn the YAML into
``Config.slots``; ``queue.py`` walks the instants with ``iter_slots``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Callable, Iterator

from spi_campaign.i18n import _
from spi_campaign.timeutil import UTC, short_repr, type_name

_DAYS = {
    "MON": 0, "MONDAY": 0, "SEN": 0, "SENIN": 0,
    "TUE": 1, "TUESDAY": 1, "SEL": 1, "SELASA": 1,
    "WED": 2, "WEDNESDAY": 2, "RAB": 2, "RABU": 2,
    "THU": 3, "THURSDAY": 3, "KAM": 3, "KAMIS": 3,
    "FRI": 4, "FRIDAY": 4, "JUM": 4, "JUMAT": 4, "JUM'AT": 4,
    "SAT": 5, "SATURDAY": 5, "SAB": 5, "SABTU": 5,
    "SUN": 6, "SUNDAY": 6, "MIN": 6, "MINGGU": 6, "AHAD": 6,
}
_EVERY_DAY = ("DAILY", "EVERYDAY", "HARIAN", "SETIAPHARI", "SETIAP-HARI")
_TIME = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")
# How far ahead a free slot is looked for before the queue is called full.
HORIZON = timedelta(days=3 * 366)
MAX_SLOT_LINES = 100


@dataclass(frozen=True, slots=True)
class SlotRule:
    """One slot line: the weekdays it applies to (0 = Monday) and its times."""

    text: str
    days: frozenset[int]
    times: tuple[time, ...]


@dataclass(frozen=True, slots=True)
class Slots:
    """The slots of one queue (an account, or ``@group``)."""

    target: str
    rules: tuple[SlotRule, ...]
    line: int | None = None

    def describe(self) -> str:
        return ", ".join(r.text for r in self.rules)


def parse_rule(text: object) -> SlotRule:
    """One slot line -> ``SlotRule``; ``ValueError`` with a message for people."""
    if not isinstance(text, str):
        raise ValueError(_("a slot must be text such as \"MON-FRI 09:00\", got {type}").format(type=type_name(text)))
    words = text.replace(",", " , ").split()
    if not words:
        raise ValueError(_("a slot is empty; write it like \"MON-FRI 09:00\""))
    times: list[time] = []
    while words and _TIME.match(words[-1]):
        m = _TIME.match(words.pop())
        times.insert(0, time(int(m.group(1)), int(m.group(2))))
    if not times:
        raise ValueError(_("slot {slot} needs a time of day (HH:MM or HH.MM) at the end, "
                           "e.g. \"MON-FRI 09:00\"").format(slot=short_repr(text)))
    spec = "".join(words).upper()
    days: set[int] = set()
    if not spec or spec in _EVERY_DAY:
        days = set(range(7))
    else:
        for part in spec.split(","):
            if not part:
                raise ValueError(_("slot {slot}: an empty day between commas").format(slot=short_repr(text)))
            lo, sep, hi = part.partition("-")
            if lo not in _DAYS or (sep and hi not in _DAYS):
                bad = lo if lo not in _DAYS else hi
                raise ValueError(_("slot {slot}: '{day}' is not a day; use MON TUE WED THU FRI SAT SUN "
                                   "(or SEN SEL RAB KAM JUM SAB MIN), a range such as MON-FRI, or DAILY").format(
                    slot=short_repr(text), day=bad))
            a, b = _DAYS[lo], _DAYS[hi] if sep else _DAYS[lo]
            d = a
            while True:             # FRI-MON wraps over the weekend
                days.add(d)
                if d == b:
                    break
                d = (d + 1) % 7
    if len(set(times)) != len(times):
        raise ValueError(_("slot {slot} names a time twice").format(slot=short_repr(text)))
    return SlotRule(text=" ".join(text.split()), days=frozenset(days), times=tuple(times))


def parse_slots(target: str, value: Any, line: int | None = None) -> Slots:
    """A ``slots:`` value (a list of slot lines, or one line) -> ``Slots``."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ValueError(_("slots of '{target}' must be a list such as [\"MON-FRI 09:00\", \"SAT 10:00\"], "
                           "got {type}").format(target=target, type=type_name(value) if not isinstance(value, list)
                                                else _("an empty list")))
    if len(value) > MAX_SLOT_LINES:
        raise ValueError(_("slots of '{target}': {n} lines; at most {most}").format(
            target=target, n=len(value), most=MAX_SLOT_LINES))
    rules = []
    for item in value:
        try:
            rules.append(parse_rule(item))
        except ValueError as exc:
            raise ValueError(_("slots of '{target}': {problem}").format(target=target, problem=exc)) from None
    return Slots(target=target, rules=tuple(rules), line=line)


def _wall(day: date, t: time, tz: tzinfo) -> datetime | None:
    """The instant of a wall time, None in a DST gap (that slot does not
    exist that day); in an overlap the first instant."""
    naive = datetime.combine(day, t)
    aware = naive.replace(tzinfo=tz, fold=0)
    back = aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if back != naive:
        return None
    return aware.astimezone(UTC)


def iter_slots(slots: Slots, tz: tzinfo, start: datetime, horizon: timedelta = HORIZON) -> Iterator[datetime]:
    """Every slot instant (UTC, ascending, no duplicates) at or after ``start``,
    for ``horizon``."""
    local = start.astimezone(tz)
    day = local.date()
    last = (start + horizon).astimezone(tz).date()
    seen_prev: set[datetime] = set()
    while day <= last:
        wd = day.weekday()
        todays: set[datetime] = set()
        for rule in slots.rules:
            if wd in rule.days:
                for t in rule.times:
                    inst = _wall(day, t, tz)
                    if inst is not None and inst >= start:
                        todays.add(inst)
        for inst in sorted(todays - seen_prev):
            yield inst
        seen_prev = todays
        day += timedelta(days=1)


def read(raw: dict, lines: dict, accounts_raw: Any, err: Callable) -> dict[str, Slots]:
    """``slots:`` of config.yaml: on each account (``accounts.NAME.slots``) and
    top-level (``slots: {"@group": [...], account: [...]}``). Problems go to
    ``err(line, message, account=None)``."""
    out: dict[str, Slots] = {}
    if isinstance(accounts_raw, dict):
        for name, spec in accounts_raw.items():
            if isinstance(spec, dict) and "slots" in spec:
                kl = getattr(spec, "key_lines", {}) or {}
                line = kl.get("slots", getattr(spec, "line", None))
                try:
                    out[str(name)] = parse_slots(str(name), spec["slots"], line)
                except ValueError as exc:
                    err(line, _("account '{account}': {problem}").format(account=name, problem=exc), str(name))
    top = raw.get("slots")
    if top is None:
        return out
    tline = lines.get("slots")
    if not isinstance(top, dict):
        err(tline, _("slots must be a mapping of \"@group\" or account name to slot lines, got {type}").format(
            type=type_name(top)))
        return out
    klines = getattr(top, "key_lines", {}) or {}
    for name, value in top.items():
        line = klines.get(name, tline)
        if not isinstance(name, str) or not name.strip():
            err(line, _("slots: {name} must be an account name or \"@group\"").format(name=short_repr(name)))
            continue
        if name in out:
            err(line, _("slots: '{name}' already has slots under accounts:; keep one of the two").format(name=name))
            continue
        try:
            out[name] = parse_slots(name, value, line)
        except ValueError as exc:
            err(line, str(exc))
    return out


def check_targets(slots: dict[str, Slots], accounts: dict, groups: dict, err: Callable) -> None:
    """Top-level slot keys must name an account or a group (``@name``)."""
    for name, s in slots.items():
        if name.startswith("@"):
            if name[1:] not in groups:
                if groups:
                    err(s.line, _("slots: unknown group '{name}'; groups in config.yaml: {groups}").format(
                        name=name, groups=", ".join("@" + g for g in groups)))
                else:
                    err(s.line, _("slots: unknown group '{name}' (define it under groups:)").format(name=name))
        elif name not in accounts:
            err(s.line, _("slots: unknown account '{name}'; accounts in config.yaml: {accounts}").format(
                name=name, accounts=", ".join(accounts) or _("(none)")))



def group_members(groups: dict, name: str, _seen: frozenset[str] = frozenset()) -> list[str] | None:
    """The accounts of group ``name`` (without '@'), groups of groups
    flattened, in order; None when there is no such group. Tolerates the
    shapes a group may have: a list of names, or a mapping with ``accounts``."""
    spec = groups.get(name)
    if spec is None or name in _seen:
        return None if spec is None else []
    if isinstance(spec, dict):
        spec = spec.get("accounts", ())
    elif hasattr(spec, "accounts"):
        spec = spec.accounts
    out: list[str] = []
    for member in spec or ():
        member = str(member)
        sub = member[1:] if member.startswith("@") else None
        if sub is not None:
            out += group_members(groups, sub, _seen | {name}) or []
        else:
            out.append(member)
    return list(dict.fromkeys(out))


def queue_accounts(config: Any, target: str) -> list[str] | None:
    """The accounts a queue publishes to: the account itself, or the group's
    members; None when the target names nothing in config.yaml."""
    if target.startswith("@"):
        return group_members(getattr(config, "groups", None) or {}, target[1:])
    return [target] if target in config.accounts else None
