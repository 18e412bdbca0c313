"""Terminal and JSON output of ``spi accounts list`` and ``spi accounts check``.

Pure: every function takes rows from ``spi_campaign.accounts`` (and the
render functions a ``rich.console.Console``, so tests render into
``StringIO``). Rows carry environment variable names, never their values.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spi_campaign.accounts import AccountRow, CheckRow


def accounts_table(console, rows: list[AccountRow]) -> None:
    from rich.table import Table
    from rich.text import Text

    if not rows:
        console.print("No accounts in config.yaml.")
        return
    table = Table(header_style="bold")
    for col in ("Account", "Platform", "Credentials (environment variables)", "Posts"):
        table.add_column(col, overflow="fold")
    for r in rows:
        creds = Text()
        if not r.credentials:
            creds.append("none needed", style="green")
        for i, (name, is_set) in enumerate(r.credentials):
            if i:
                creds.append("\n")
            creds.append("set      " if is_set else "MISSING  ", style="green" if is_set else "bold red")
            creds.append(name)
        for name, is_set in r.optional_credentials:
            if len(creds):
                creds.append("\n")
            creds.append("set      " if is_set else "optional ", style="green" if is_set else "dim")
            creds.append(name, style=None if is_set else "dim")
        if r.posts is None:
            posts = Text("?")
        else:
            posts = Text(f"{r.posts}" + (f" ({r.approved} approved)" if r.posts else ""))
        target = Text(r.name, style="cyan")
        for key, value in r.options.items():
            target.append(f"\n{key}: {value}", style="dim")
        table.add_row(target, Text(f"{r.platform}\n{r.label}" if r.label != r.platform else r.platform),
                      creds, posts)
    console.print(table)
    missing = [r for r in rows if not r.ready]
    if missing:
        console.print(Text(f"{len(missing)} account(s) cannot publish until the missing variables are set; "
                           f"then run 'spi accounts check'.", style="yellow"))


def accounts_json(rows: list[AccountRow]) -> str:
    return json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=2)


def checks_table(console, rows: list[CheckRow]) -> None:
    from rich.table import Table
    from rich.text import Text

    if not rows:
        console.print("No accounts to check.")
        return
    table = Table(header_style="bold")
    for col in ("Account", "Platform", "Result", "Posts as / problem"):
        table.add_column(col, overflow="fold")
    for r in rows:
        if r.ok:
            who = Text(r.posts_as or r.identity_id or "-", style="bold")
            if r.url:
                who.append(f"  {r.url}")
            if r.detail:
                who.append(f"\n{r.detail}", style="dim")
            if r.expires_at and not r.warnings:
                who.append(f"\ntoken valid until {r.expires_at:%Y-%m-%d}", style="dim")
            for note in r.notes:
                who.append(f"\n{note}", style="dim")
            for warning in r.warnings:
                who.append(f"\nwarning: {warning}", style="yellow")
            result = Text("ok, but see warning" if r.warnings else "ok", style="yellow" if r.warnings else "green")
        else:
            who = Text(r.error or "failed", style="red")
            result = Text(f"FAILED ({r.kind})" if r.kind else "FAILED", style="bold red")
        table.add_row(Text(r.name, style="cyan"), Text(r.platform), result, who)
    console.print(table)
    bad = sum(1 for r in rows if not r.ok)
    warned = sum(1 for r in rows if r.ok and r.warnings)
    console.print(Text(f"{len(rows) - bad} ok, {bad} failed" + (f", {warned} with a warning" if warned else ""),
                       style="bold red" if bad else "yellow" if warned else "green"))


def checks_json(rows: list[CheckRow]) -> str:
    return json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=2)
