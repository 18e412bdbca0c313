"""Printing for ``spi queue``: the queue table and reshuffle's moves."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from spi_campaign.i18n import _
from spi_campaign.models import Config
from spi_campaign.timeutil import human

STATE_STYLES = {"published": "green", "pending": "", "publishing": "cyan", "failed": "red", "unknown": "magenta",
                "missed": "red", "skipped": "dim"}


def _when(entry: dict[str, Any], config: Config) -> Text:
    if entry["_slot"] is None:
        return Text("-", style="red")
    t = Text(human(entry["_slot"], config.timezone))
    if not entry["assigned"]:
        t.append("\n" + _("(next run)"), style="yellow")
    return t


def _state(entry: dict[str, Any]) -> Text:
    states = entry["states"]
    known = {s for s in states.values() if s}
    if not known:
        return Text(_("placed") if entry["assigned"] else (_("not placed") if entry["_slot"] is None else _("to place")),
                    style="" if entry["_slot"] is not None else "red")
    if len(known) == 1 and all(states.values()):
        s = known.pop()
        return Text(s, style=STATE_STYLES.get(s, ""))
    out = Text()
    for i, (acc, s) in enumerate(states.items()):
        if i:
            out.append("\n")
        out.append(f"{acc}: {s or '-'}", style=STATE_STYLES.get(s or "", ""))
    return out


def queue_table(console: Console, entries: list[dict[str, Any]], config: Config) -> None:
    from spi_campaign.layout import Record, show

    if not config.slots:
        console.print(_("No queues: give an account (or a group) slots: in config.yaml (README, \"Time slots\")."))
        return
    by_queue: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        by_queue.setdefault(e["queue"], []).append(e)
    for name, slots in config.slots.items():
        by_queue.setdefault(name, [])
    for name in sorted(by_queue):
        rows = by_queue[name]
        slots = config.slots.get(name)
        head = Text(_("Queue {name}").format(name=name), style="bold")
        head.append(f" — {slots.describe() if slots else _('no slots')} ({config.timezone_name})", style="dim")
        console.print(head)
        if not rows:
            console.print(_("  no queued posts"))
            continue
        records = []
        for e in rows:
            ident = Text(e["post"], style="cyan")
            if e["priority"]:
                ident.append(_(" (priority {n})").format(n=e["priority"]), style="dim")
            detail = []
            if e["reason"]:
                detail.append(Text(e["reason"], style="red"))
            fields = [(_("slot"), _when(e, config)), (_("state"), _state(e)), (_("file"), Text(e["file"]))]
            if e["reason"]:
                fields.append((_("why"), Text(e["reason"], style="red")))
            records.append(Record(cells=[_when(e, config), _state(e), ident], title=Text(e["post"], style="bold cyan"),
                                  fields=fields, detail=detail))
        show(console, [_("slot"), _("state"), _("post")], records)
        console.print()


def moves(console: Console, config: Config, before: dict, plan, *, done: bool = False) -> int:
    """What reshuffle changes; returns how many posts move."""
    tz = config.timezone
    changed = 0
    kept = 0
    for pid, row in sorted(plan.slots.items(), key=lambda kv: (kv[1].target, kv[1].slot, kv[0])):
        old = before.get(pid)
        if old is not None and old.slot == row.slot:
            kept += 1
            continue
        changed += 1
        t = Text(f"{pid}", style="cyan")
        t.append(f" ({row.target}): {human(old.slot, tz) if old else _('no slot')} -> {human(row.slot, tz)}")
        console.print(t, soft_wrap=True)
    for pid, why in sorted(plan.unplaced.items()):
        console.print(Text(_("{post}: not placed: {why}").format(post=pid, why=why), style="red"), soft_wrap=True)
    summary = _("{n} post(s) moved, {kept} keep their slot") if done else \
        _("{n} post(s) would move, {kept} keep their slot")
    console.print(summary.format(n=changed, kept=kept) + ("" if done or not changed else _(" (nothing changed yet)")))
    return changed
