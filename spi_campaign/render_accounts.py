"""Terminal and JSON output of ``spi accounts list`` and ``spi accounts check``.

Pure: every function takes rows from ``spi_campaign.accounts`` (and the
render functions a ``rich.console.Console``, so tests render into
``StringIO``). Rows carry environment variable names, never their values.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from spi_campaign.i18n import _

if TYPE_CHECKING:
    from spi_campaign.accounts import AccountRow, CheckRow


def accounts_table(console, rows: list[AccountRow]) -> None:
    """A grid (options and credential variables on lines of their own under
    each account) or, on a narrow console, one block per account: names,
    variable names and page ids are never cut (see ``layout``)."""
    from rich.text import Text

    from spi_campaign.layout import Record, show

    if not rows:
        console.print(_("No accounts in config.yaml."))
        return
    records = []
    for r in rows:
        creds = []
        if not r.credentials:
            creds.append(Text(_("credentials: none needed"), style="green"))
        for name, is_set in r.credentials:
            line = Text(_("set      ") if is_set else _("MISSING  "), style="green" if is_set else "bold red")
            creds.append(line.append(name))
        for name, is_set in r.optional_credentials:
            line = Text(_("set      ") if is_set else _("optional "), style="green" if is_set else "dim")
            creds.append(line.append(name, style=None if is_set else "dim"))
        if r.posts is None:
            posts = Text("?")
        else:
            posts = Text(f"{r.posts}" + (_(" ({n} approved)").format(n=r.approved) if r.posts else ""))
        options = [Text(f"{key}: {value}", style="dim") for key, value in r.options.items()]
        labelled = r.label != r.platform
        fields = [(_("platform"), Text(f"{r.platform} - {r.label}" if labelled else r.platform)), (_("posts"), posts)]
        fields += [(key, Text(str(value))) for key, value in r.options.items()]
        if not r.credentials:
            fields.append((_("credentials"), Text(_("none needed"), style="green")))
        for name, is_set in r.credentials:
            fields.append((_("set") if is_set else _("MISSING"), Text(name, style="" if is_set else "bold red")))
        for name, is_set in r.optional_credentials:
            fields.append((_("set") if is_set else _("optional"), Text(name, style="" if is_set else "dim")))
        platform = Text(f"{r.platform}\n{r.label}" if labelled else r.platform)
        records.append(Record(cells=[Text(r.name, style="cyan"), platform, posts],
                              title=Text(r.name, style="bold cyan"), fields=fields, detail=options + creds))
    show(console, [_("Account"), _("Platform"), _("Posts")], records, blank_between=True)
    missing = [r for r in rows if not r.ready]
    if missing:
        console.print(Text(_("{n} account(s) cannot publish until the missing variables are set; "
                             "then run 'spi accounts check'.").format(n=len(missing)), style="yellow"))


def accounts_json(rows: list[AccountRow]) -> str:
    return json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=2)


def checks_table(console, rows: list[CheckRow]) -> None:
    """A grid (who the account posts as, or the problem, on a line of its own
    under each account) or, on a narrow console, one block per account."""
    from rich.text import Text

    from spi_campaign.layout import Record, show

    if not rows:
        console.print(_("No accounts to check."))
        return
    records = []
    for r in rows:
        if r.ok:
            who = Text(r.posts_as or r.identity_id or "-", style="bold")
            if r.url:
                who.append(f"  {r.url}")
            if r.detail:
                who.append(f"\n{r.detail}", style="dim")
            if r.expires_at and not r.warnings:
                who.append(_("\ntoken valid until {date}").format(date=f"{r.expires_at:%Y-%m-%d}"), style="dim")
            for note in r.notes:
                who.append(f"\n{note}", style="dim")
            for warning in r.warnings:
                who.append(_("\nwarning: {warning}").format(warning=warning), style="yellow")
            result = Text(_("ok, but see warning") if r.warnings else _("ok"), style="yellow" if r.warnings else "green")
        else:
            who = Text(r.error or _("failed"), style="red")
            result = Text(_("FAILED ({kind})").format(kind=r.kind) if r.kind else _("FAILED"), style="bold red")
        records.append(Record(cells=[Text(r.name, style="cyan"), Text(r.platform), result],
                              title=Text(r.name, style="bold cyan"),
                              fields=[(_("platform"), Text(r.platform)), (_("result"), result),
                                      (_("posts as") if r.ok else _("problem"), who)],
                              detail=[who]))
    show(console, [_("Account"), _("Platform"), _("Result")], records)
    bad = sum(1 for r in rows if not r.ok)
    warned = sum(1 for r in rows if r.ok and r.warnings)
    console.print(Text(_("{ok} ok, {bad} failed").format(ok=len(rows) - bad, bad=bad)
                       + (_(", {n} with a warning").format(n=warned) if warned else ""),
                       style="bold red" if bad else "yellow" if warned else "green"))


def checks_json(rows: list[CheckRow]) -> str:
    return json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=2)
