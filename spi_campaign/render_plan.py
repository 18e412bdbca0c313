"""Output of ``spi plan``: the publications by day, the counts, the X cost
and the warnings. Pure: a ``rich`` console or a JSON string."""

from __future__ import annotations

import json
from datetime import datetime
from itertools import groupby
from typing import Any

from rich.console import Console
from rich.text import Text

from spi_campaign.i18n import _
from spi_campaign.render_calendar import MARKS, _fill


def to_json(plan: dict[str, Any]) -> str:
    return json.dumps(plan, ensure_ascii=False, indent=2)


def _print(console: Console, text: Text | str, style: str = "") -> None:
    console.print(text if isinstance(text, Text) else Text(text, style=style), soft_wrap=True, highlight=False)


def table(console: Console, plan: dict[str, Any], zone: str) -> None:
    width = console.width
    pubs = plan["publications"]
    _print(console, _("Plan {start} to {end} ({zone}): {n} publication(s)").format(
        start=plan["from"][:16].replace("T", " "), end=plan["to"][:16].replace("T", " "), zone=zone, n=len(pubs)),
        "bold")
    for day, items in groupby(pubs, key=lambda p: p["at"][:10]):
        items = list(items)
        _print(console, "")
        _print(console, f"{datetime.fromisoformat(day):%a %Y-%m-%d}", "bold")
        for (at, post), group in groupby(items, key=lambda p: (p["at"], p["post"])):
            group = list(group)
            head = [Text(f"{at[11:16]} {at[19:]}", style="bold"), Text(post, style="cyan")]
            if group[0]["topic"]:
                head.append(Text(f"[{group[0]['topic']}]", style="magenta"))
            _fill(console, head, 2, width)
            toks = []
            for p in group:
                t = f"{MARKS.get(p['state'], '·')} {p['account']}"
                if p["cost_usd"] is not None:
                    t += f" ${p['cost_usd']:.3f}"
                toks.append(Text(t))
            _fill(console, toks, 6, width)
    _print(console, "")
    _fill(console, [Text(_("By platform:"), style="bold")] + [Text(f"{k} {v}") for k, v in plan["by_platform"].items()],
          0, width)
    _fill(console, [Text(_("By topic:"), style="bold")] + [Text(f"{k} {v}") for k, v in plan["by_topic"].items()],
          0, width)
    x = plan["x"]
    line = _("X: {n} post(s), {with_url} with a URL: about ${cost} (${price} a post, ${price_url} with a URL)").format(
        n=x["posts"], with_url=x["with_url"], cost=f"{x['cost_usd']:.2f}", price=x["price_usd"],
        price_url=x["price_with_url_usd"])
    if x["with_url"]:
        line += _("; link-free X variants would cost ${cost}, saving ${saving}").format(
            cost=f"{x['link_free_cost_usd']:.2f}", saving=f"{x['link_free_saving_usd']:.2f}")
    _fill(console, [Text(w) for w in line.split(" ")], 0, width, " ")
    warnings = plan["warnings"]
    _print(console, "")
    if not warnings:
        _print(console, _("No warnings."), "green")
        return
    _print(console, _("{n} warning(s):").format(n=len(warnings)), "bold yellow")
    for w in warnings:
        words = [Text(f"{w['day'] or '-'}", style="bold"), Text(w["kind"], style="yellow")]
        words += [Text(t) for t in w["message"].split(" ")]
        _fill(console, words, 2, width, " ")
