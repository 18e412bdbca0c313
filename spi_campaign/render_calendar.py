"""Output of ``spi calendar``: a month grid with a day list (or a week list
on narrow terminals), JSON, Markdown and iCalendar (ICS). Pure: data in,
text out (the table prints on a ``rich`` console).

Ids, account names and times are atoms: a line is only ever broken between
them, never inside one (a longer atom gets a line of its own, whole).
"""

from __future__ import annotations

import calendar as stdcal
import hashlib
import json
from datetime import date, datetime, timedelta, tzinfo
from itertools import groupby
from typing import Callable

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from spi_campaign.i18n import _
from spi_campaign.timeutil import UTC

MARKS = {"planned": "○", "pending": "…", "publishing": "→", "published": "✓", "failed": "✗", "unknown": "?",
         "missed": "–", "skipped": "⊘"}
MARK_STYLE = {"published": "green", "failed": "bold red", "unknown": "yellow", "missed": "red", "skipped": "dim"}
NARROW = 60            # below this many columns: the week list instead of the month grid
ICS_STATUS = {"approved": "CONFIRMED", "draft": "TENTATIVE", "cancelled": "CANCELLED"}
PRODID = "-//spi-campaign//spi calendar//ID"
UID_DOMAIN = "spi-campaign"
EVENT_LENGTH = timedelta(minutes=15)


# ----- JSON --------------------------------------------------------------------------------

def to_json(entries, tz: tzinfo) -> str:
    return json.dumps([e.as_dict(tz) for e in entries], ensure_ascii=False, indent=2)


# ----- table ----------------------------------------------------------------------------------

def _offset(dt: datetime) -> str:
    off = dt.strftime("%z")
    return f"{off[:3]}:{off[3:]}" if off else ""


def _groups(entries, tz: tzinfo):
    """(local day, [(local time, post id, first entry, [entries])...]) in order."""
    days: dict[date, list] = {}
    for (at, post), items in groupby(entries, key=lambda e: (e.at, e.post)):
        items = list(items)
        local = at.astimezone(tz)
        days.setdefault(local.date(), []).append((local, post, items[0], items))
    return days


def _fill(console: Console, tokens: list[Text], indent: int, width: int, sep: str = "  ") -> None:
    """Print ``tokens`` separated by ``sep``, wrapped only between tokens."""
    line = Text(" " * indent)
    used = indent
    for tok in tokens:
        w = cell_len(tok.plain)
        if used > indent and used + len(sep) + w > width:
            console.print(line, soft_wrap=True, highlight=False)
            line, used = Text(" " * indent), indent
        if used > indent:
            line.append(sep)
            used += len(sep)
        line.append_text(tok)
        used += w
    if used > indent:
        console.print(line, soft_wrap=True, highlight=False)


def _account_tokens(items) -> list[Text]:
    return [Text(f"{MARKS.get(e.state, '·')} {e.account}", style=MARK_STYLE.get(e.state, "")) for e in items]


def _head_tokens(local: datetime, first, show_day: bool) -> list[Text]:
    when = (f"{local:%a %d} " if show_day else "") + f"{local:%H:%M} {_offset(local)}"
    toks = [Text(when, style="bold"), Text(first.post, style="cyan")]
    if first.topic:
        toks.append(Text(f"[{first.topic}]", style="magenta"))
    if first.status and first.status != "approved":
        toks.append(Text(f"({first.status})", style="yellow"))
    return toks


def _month_grid(console: Console, year: int, month: int, counts: dict[date, int], first: date, last: date) -> None:
    console.print(Text(f"{stdcal.month_name[month]} {year}", style="bold underline"), soft_wrap=True)
    console.print(Text("".join(f"{d:<8}" for d in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")).rstrip(),
                       style="dim"), soft_wrap=True)
    for week in stdcal.Calendar().monthdatescalendar(year, month):
        line = Text()
        for d in week:
            if d.month != month:
                cell = ""
            elif not first <= d <= last:
                cell = f"{d.day:>2}"
            else:
                n = counts.get(d, 0)
                cell = f"{d.day:>2}" + (f"·{n}" if n else "")
            line.append(f"{cell:<8}", style="bold" if counts.get(d) and d.month == month else "")
        line.rstrip()
        console.print(line, soft_wrap=True, highlight=False)


def table(console: Console, entries, tz: tzinfo, zone: str, first: date, last: date) -> None:
    """The month grid (a count of publications per day) and each day's
    publications; on a narrow console a list week by week."""
    width = console.width
    days = _groups(entries, tz)
    narrow = width < NARROW
    title = _("{first} to {last}, times in {zone}: {n} publication(s)").format(
        first=f"{first:%Y-%m-%d}", last=f"{last:%Y-%m-%d}", zone=zone, n=len(entries))
    _fill(console, [Text(w, style="bold") for w in title.split(" ")], 0, width, " ")
    if narrow:
        for (year, week), ds in groupby(sorted(days), key=lambda d: d.isocalendar()[:2]):
            ds = list(ds)
            monday = ds[0] - timedelta(days=ds[0].weekday())
            console.print()
            console.print(Text(_("Week {week} {year}: {start} - {end}").format(
                week=week, year=year, start=f"{monday:%d %b}", end=f"{monday + timedelta(days=6):%d %b}"),
                               style="bold underline"), soft_wrap=True)
            for d in ds:
                for local, _post, head, items in days[d]:
                    _fill(console, _head_tokens(local, head, True), 0, width)
                    _fill(console, _account_tokens(items), 2, width)
    else:
        counts = {d: sum(len(g[3]) for g in groups) for d, groups in days.items()}
        month = date(first.year, first.month, 1)
        while month <= last:
            console.print()
            _month_grid(console, month.year, month.month, counts, first, last)
            for d in sorted(x for x in days if (x.year, x.month) == (month.year, month.month)):
                console.print()
                console.print(Text(f"{d:%a %Y-%m-%d}", style="bold"), soft_wrap=True)
                for local, _post, head, items in days[d]:
                    _fill(console, _head_tokens(local, head, False)[:], 2, width)
                    _fill(console, _account_tokens(items), 6, width)
            month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    if not entries:
        console.print(_("No publications in this range."))
        return
    console.print()
    legend = [Text(f"{m} {s}") for s, m in MARKS.items() if any(e.state == s for e in entries)]
    _fill(console, [Text("Legend:", style="dim")] + legend, 0, width)


# ----- Markdown (docs/content.md) ---------------------------------------------------------------

def _md(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def to_markdown(entries, tz: tzinfo, zone: str, first: date, last: date) -> str:
    """One table row per (time, post), the accounts listed with their state."""
    out = [f"Publications from {first:%a %Y-%m-%d} to {last:%a %Y-%m-%d}, times in {zone}.", "",
           "| Date / time | Post id | Title | Topic | Accounts | Status |", "| --- | --- | --- | --- | --- | --- |"]
    for (at, post), items in groupby(entries, key=lambda e: (e.at, e.post)):
        items = list(items)
        e = items[0]
        local = at.astimezone(tz)
        states = {i.state for i in items}
        state = ", ".join(sorted(states))
        status = e.status or "-"
        if states != {"planned"}:
            status += f" ({state})"
        accounts = ", ".join(f"{i.account}" for i in items)
        out.append(f"| {local:%a %Y-%m-%d %H:%M} | `{_md(post)}` | {_md(e.title)} | {_md(e.topic) or '-'} | "
                   f"{_md(accounts)} | {_md(status)} |")
    return "\n".join(out) + "\n"


# ----- iCalendar ------------------------------------------------------------------------------

def uid(post: str, account: str, at: datetime) -> str:
    """Stable across runs and machines: only the post id, the account and
    the occurrence (UTC) go in."""
    key = f"{post}\x00{account}\x00{at.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    return f"{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()[:32]}@{UID_DOMAIN}"


def ics_status(entry) -> str:
    if entry.status == "cancelled" or entry.state in ("skipped", "missed"):
        return "CANCELLED"
    if entry.state == "published":
        return "CONFIRMED"
    return ICS_STATUS.get(entry.status or "", "CONFIRMED")


def to_ics(entries, tz: tzinfo, zone: str, first: date, last: date, campaign: str,
           text_for: Callable[[object], str | None]) -> bytes:
    """One VEVENT per publication. ``text_for(entry)``: the final text for
    the entry's account (None when it cannot be rendered). Deterministic:
    DTSTAMP is the ledger row's last change, or the occurrence itself."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"spi: {campaign}")
    cal.add("x-wr-timezone", zone)
    for e in entries:
        ev = Event()
        ev.add("uid", uid(e.post, e.account, e.at))
        ev.add("dtstamp", (e.updated_at or e.at).astimezone(UTC))
        start = e.at.astimezone(tz)
        ev.add("dtstart", start)
        ev.add("dtend", (e.at + EVENT_LENGTH).astimezone(tz))
        ev.add("summary", e.title or e.post)
        text = text_for(e)
        if text:
            ev.add("description", text)
        if e.topic:
            ev.add("categories", [e.topic])
        ev.add("location", f"{e.account} ({e.platform})" if e.platform else e.account)
        if e.url:
            ev.add("url", e.url)
        ev.add("status", ics_status(e))
        ev.add("transp", "TRANSPARENT")
        ev.add("x-spi-post", e.post)
        ev.add("x-spi-account", e.account)
        ev.add("x-spi-state", e.state)
        cal.add_component(ev)
    lo = min([first] + [e.at.astimezone(tz).date() for e in entries[:1]])
    hi = max([last] + [e.at.astimezone(tz).date() for e in entries[-1:]])
    cal.add_missing_timezones(first_date=date(lo.year, 1, 1), last_date=date(hi.year + 1, 12, 31))
    return cal.to_ical()


def final_text(config) -> Callable[[object], str | None]:
    """``text_for`` for ``to_ics``: the text as the account will get it
    (``compose.render``, the publishing code), X thread parts and a
    separate link card included; cached per (post, account)."""
    from spi_campaign.compose import render
    from spi_campaign.errors import SpiError

    cache: dict[tuple[str, str], str | None] = {}

    def text_for(e) -> str | None:
        k = (e.post, e.account)
        if k not in cache:
            acc = config.accounts.get(e.account)
            if e.post_obj is None or acc is None:
                cache[k] = None
            else:
                try:
                    r = render(e.post_obj, acc)
                except SpiError:    # an unknown platform: validate reports it
                    cache[k] = None
                else:
                    parts = list(r.parts)
                    text = "\n\n".join(parts) if len(parts) > 1 else r.text
                    if r.link and r.link not in text:
                        text += "\n\n" + r.link
                    cache[k] = text
        return cache[k]

    return text_for
