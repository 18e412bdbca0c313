"""Terminal output for validate, list and preview. Pure: every function takes
a ``rich.console.Console`` and data, so tests render into ``StringIO``.

User text is always passed as ``rich.text.Text`` (never as markup), so a post
containing ``[bold]`` is shown as written.
"""

from __future__ import annotations

import json
from datetime import tzinfo
from typing import Any, Iterable

from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from spi_campaign.models import Problem
from spi_campaign.timeutil import UTC, human

PLATFORM_STYLES = {"x": "bright_white", "facebook": "blue", "instagram": "magenta", "file": "grey50"}


def _loc(p: Problem) -> str:
    if p.file and p.line:
        return f"{p.file}:{p.line}"
    return p.file or "-"


def problems_text(console: Console, problems: Iterable[Problem], summary: dict[str, int]) -> None:
    """One line per problem, compiler style: ``file:line: severity: post 'id' (account a): message``."""
    for p in problems:
        sev_style = "bold red" if p.severity == "error" else "yellow"
        line = Text()
        line.append(_loc(p), style="bold")
        line.append(": ")
        line.append(p.severity, style=sev_style)
        line.append(": ")
        if p.post:
            line.append(f"post '{p.post}'", style="cyan")
            line.append(" ")
        if p.account:
            line.append(f"(account {p.account})", style="cyan")
            line.append(" ")
        if p.post or p.account:
            line.append("- ")
        line.append(p.message)
        console.print(line, soft_wrap=True)
    s = summary
    tail = Text(f"{s['files']} files, {s['posts']} posts: ")
    tail.append(f"{s['errors']} errors", style="bold red" if s["errors"] else "green")
    tail.append(", ")
    tail.append(f"{s['warnings']} warnings", style="yellow" if s["warnings"] else "green")
    console.print(tail, soft_wrap=True)


def problems_json(summary: dict[str, int], problems: Iterable[Problem]) -> str:
    return json.dumps({**summary, "problems": [p.as_dict() for p in problems]}, ensure_ascii=False, indent=2)


def post_table(console: Console, rows: list[dict[str, Any]], tz: tzinfo) -> None:
    """``rows`` as produced by ``views.list_rows``: a grid, or stacked
    records when the console is too narrow (see ``layout``)."""
    from spi_campaign.layout import Record, show

    if not rows:
        console.print("No posts match.")
        return
    status_style = {"approved": "green", "draft": "yellow", "cancelled": "red"}
    records = []
    for r in rows:
        when = Text(human(r["_next"], tz) if r["_next"] else "-")
        if r["repeat"]:
            when.append(f"\n↻ {r['repeat']}", style="dim")
        if r.get("queue"):
            when.append(f"\nqueue {r['queue']}" + ("" if r["slot_assigned"] or not r["_next"] else " (next run)"),
                        style="dim")
        done = {p["account"] for p in r.get("published", ())}
        status = Text(r["status"], style=status_style.get(r["status"], ""))
        mark = ""
        if done:
            mark = "published" if done >= set(r["accounts"]) else f"published {len(done)}/{len(r['accounts'])}"
            status.append(f"\n{mark}", style="green")
        ident = Text(r["id"], style="cyan")
        if r["topic"]:
            ident.append(f"\n{r['topic']}", style="dim")
        accounts = Text()
        for i, name in enumerate(r["accounts"]):
            if i:
                accounts.append(", ")
            accounts.append(f"✓{name}" if name in done else name, style="green" if name in done else "")
        stacked_status = Text(r["status"], style=status_style.get(r["status"], ""))
        if mark:
            stacked_status.append(f", {mark}", style="green")
        fields = [("next", Text(human(r["_next"], tz) if r["_next"] else "-")), ("status", stacked_status)]
        if r["repeat"]:
            fields.append(("repeat", Text(r["repeat"])))
        if r.get("queue"):
            fields.append(("queue", Text(r["queue"] + ("" if r["slot_assigned"] or not r["_next"] else
                                                       " (slot given at the next run)"))))
        if r["topic"]:
            fields.append(("topic", Text(r["topic"])))
        fields.append(("accounts", accounts))
        records.append(Record(cells=[when, status, ident], title=Text(r["id"], style="bold cyan"), fields=fields,
                              detail=[Text("accounts: ", style="dim").append_text(accounts)]))
    show(console, ["Next publish", "Status", "Post / topic"], records, blank_between=True)


def preview_panels(console: Console, items: list[dict[str, Any]], tz: tzinfo) -> None:
    """One panel per (post, account), styled per platform. ``items`` as from ``views.preview_items``."""
    if not items:
        console.print("No posts match.")
        return
    for it in items:
        if it.get("error"):
            console.print(Text(f"{it['post']} -> {it['account']}: {it['error']}", style="bold red"), soft_wrap=True)
            continue
        style = PLATFORM_STYLES.get(it["platform"], "white")
        body: list[Any] = []
        parts = it.get("thread") or [it["text"]]
        for i, part in enumerate(parts):
            if len(parts) > 1:
                body.append(Text(f"── part {i + 1}/{len(parts)} ({it['part_lengths'][i]}) ──", style="dim"))
            body.append(Text(part))
        if it.get("link_card"):
            body.append(Text(f"\n[link card] {it['link_card']}", style="underline"))
        for m in it.get("media", []):
            alt = m.get("alt")
            label = m.get("path") or m.get("url")
            body.append(Text(f"\n[image] {label}", style="dim"))
            body.append(Text(f"  alt: {alt}" if alt else "  alt: (missing)", style="dim" if alt else "yellow"))
        when = it["_publish_at"]
        time_line = Text("\n")
        if when is not None:
            time_line.append(f"next: {human(when, tz)}  ({when.astimezone(UTC):%Y-%m-%d %H:%M} UTC)", style="dim")
        else:
            time_line.append("next: not scheduled", style="dim")
        if it.get("repeat"):
            time_line.append(f"  repeat: {it['repeat']}", style="dim")
        body.append(time_line)
        limit = it["limit"]
        count = Text(f"{it['length']}" + (f"/{limit}" if limit is not None else " chars"),
                     style="bold" if it["fits"] else "bold red")
        if not it["fits"]:
            count.append(" over the limit", style="bold red")
        title = Text()
        title.append(it["post"], style="bold cyan")
        title.append(f" → {it['account']} ({it['label']})")
        if it.get("status") and it["status"] != "approved":
            title.append(f" [{it['status']}]", style="yellow")
        console.print(Panel(Group(*body), title=title, title_align="left", subtitle=count,
                            subtitle_align="right", border_style=style if it["fits"] else "red"))


def preview_json(items: list[dict[str, Any]]) -> str:
    out = []
    for it in items:
        if it.get("error"):
            continue
        row = {k: it[k] for k in ("post", "account", "platform", "text", "length", "limit", "fits", "publish_at")}
        if it.get("thread"):
            row["thread"] = it["thread"]
        out.append(row)
    return json.dumps(out, ensure_ascii=False, indent=2)


def list_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows],
                      ensure_ascii=False, indent=2)
