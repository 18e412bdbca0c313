"""Terminal and JSON output of ``spi doctor`` (pure: a ``DoctorReport`` in,
text out; the table through ``layout`` so long details are never cut)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from spi_campaign.i18n import N_, _, ngettext


if TYPE_CHECKING:
    from spi_campaign.doctor import DoctorReport

STYLE = {"ok": "green", "warning": "yellow", "problem": "bold red", "skipped": "dim"}
LABEL = {"ok": N_("ok"), "warning": N_("WARNING"), "problem": N_("PROBLEM"), "skipped": N_("skipped")}


def doctor_table(console, rep: DoctorReport) -> None:
    from rich.text import Text

    from spi_campaign.layout import Record, show

    records = []
    for f in rep.findings:
        status = Text(_(LABEL[f.status]), style=STYLE[f.status])
        detail = Text(f.detail, style="red" if f.status == "problem" else "dim" if f.status == "skipped" else "")
        records.append(Record(cells=[Text(f.section, style="cyan"), Text(f.check), status],
                              title=Text(f"{f.section}: {f.check}", style="bold cyan"),
                              fields=[(_("status"), status), (_("detail"), detail)], detail=[detail] if f.detail else []))
    show(console, [_("Section"), _("Check"), _("Status")], records)
    problems, warnings = rep.count("problem"), rep.count("warning")
    console.print(Text(ngettext("{n} problem", "{n} problems", problems).format(n=problems) + ", "
                       + ngettext("{n} warning", "{n} warnings", warnings).format(n=warnings)
                       + ("" if rep.online else _(" (local checks only; --online also asks the platforms)")),
                       style="bold red" if problems else "yellow" if warnings else "green"))


def doctor_json(rep: DoctorReport) -> str:
    return json.dumps(rep.as_dict(), ensure_ascii=False, indent=2)
