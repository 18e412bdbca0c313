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

from spi_campaign.i18n import _
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
        line.append(_("error") if p.severity == "error" else _("warning"), style=sev_style)
        line.append(": ")
        if p.post:
            line.append(_("post '{post}'").format(post=p.post), style="cyan")
            line.append(" ")
        if p.account:
            line.append(_("(account {account})").format(account=p.account), style="cyan")
            line.append(" ")
        if p.post or p.account:
            line.append("- ")
        line.append(p.message)
        console.print(line, soft_wrap=True)
    s = summary
    tail = Text(_("{files} files, {posts} posts: ").format(files=s["files"], posts=s["posts"]))
    tail.append(_("{n} errors").format(n=s["errors"]), style="bold red" if s["errors"] else "green")
    tail.append(", ")
    tail.append(_("{n} warnings").format(n=s["warnings"]), style="yellow" if s["warnings"] else "green")
    console.print(tail, soft_wrap=True)


def problems_json(summary: dict[str, int], problems: Iterable[Problem]) -> str:
    return json.dumps({**summary, "problems": [p.as_dict() for p in problems]}, ensure_ascii=False, indent=2)


def post_table(console: Console, rows: list[dict[str, Any]], tz: tzinfo) -> None:
    """``rows`` as produced by ``views.list_rows``: a grid, or stacked
    records when the console is too narrow (see ``layout``)."""
    from spi_campaign.layout import Record, show

    if not rows:
        console.print(_("No posts match."))
        return
    status_style = {"approved": "green", "draft": "yellow", "cancelled": "red"}
    records = []
    for r in rows:
        when = Text(human(r["_next"], tz) if r["_next"] else "-")
        if r["repeat"]:
            when.append(f"\n↻ {r['repeat']}", style="dim")
        if r.get("queue"):
            when.append(_("\nqueue {queue}").format(queue=r["queue"])
                        + ("" if r["slot_assigned"] or not r["_next"] else _(" (next run)")),
                        style="dim")
        done = {p["account"] for p in r.get("published", ())}
        status = Text(r["status"], style=status_style.get(r["status"], ""))
        mark = ""
        if done:
            mark = (_("published") if done >= set(r["accounts"])
                    else _("published {done}/{total}").format(done=len(done), total=len(r["accounts"])))
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
        fields = [(_("next"), Text(human(r["_next"], tz) if r["_next"] else "-")), (_("status"), stacked_status)]
        if r["repeat"]:
            fields.append((_("repeat"), Text(r["repeat"])))
        if r.get("queue"):
            fields.append((_("queue"), Text(r["queue"] + ("" if r["slot_assigned"] or not r["_next"] else
                                                          _(" (slot given at the next run)")))))
        if r["topic"]:
            fields.append((_("topic"), Text(r["topic"])))
        fields.append((_("accounts"), accounts))
        records.append(Record(cells=[when, status, ident], title=Text(r["id"], style="bold cyan"), fields=fields,
                              detail=[Text(_("accounts: "), style="dim").append_text(accounts)]))
    show(console, [_("Next publish"), _("Status"), _("Post / topic")], records, blank_between=True)


def preview_panels(console: Console, items: list[dict[str, Any]], tz: tzinfo) -> None:
    """One panel per (post, account), styled per platform. ``items`` as from ``views.preview_items``."""
    if not items:
        console.print(_("No posts match."))
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
                body.append(Text(_("── part {i}/{n} ({length}) ──").format(i=i + 1, n=len(parts), length=it["part_lengths"][i]),
                                 style="dim"))
            body.append(Text(part))
        if it.get("link_card"):
            body.append(Text(_("\n[link card] {url}").format(url=it["link_card"]), style="underline"))
        for m in it.get("media", []):
            alt = m.get("alt")
            label = m.get("path") or m.get("url")
            body.append(Text(_("\n[image] {label}").format(label=label), style="dim"))
            body.append(Text(_("  alt: {alt}").format(alt=alt) if alt else _("  alt: (missing)"), style="dim" if alt else "yellow"))
        when = it["_publish_at"]
        time_line = Text("\n")
        if when is not None:
            time_line.append(_("next: {local}  ({utc} UTC)").format(local=human(when, tz),
                                                                      utc=f"{when.astimezone(UTC):%Y-%m-%d %H:%M}"),
                             style="dim")
        else:
            time_line.append(_("next: not scheduled"), style="dim")
        if it.get("repeat"):
            time_line.append(_("  repeat: {repeat}").format(repeat=it["repeat"]), style="dim")
        body.append(time_line)
        limit = it["limit"]
        count = Text(f"{it['length']}" + (f"/{limit}" if limit is not None else _(" chars")),
                     style="bold" if it["fits"] else "bold red")
        if not it["fits"]:
            count.append(_(" over the limit"), style="bold red")
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
