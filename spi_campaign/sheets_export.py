"""``spi post export``: the campaign as a sheet (CSV or XLSX) that
``spi post import`` reads back into the same posts (README, "Spreadsheets").
Texts are exported as written (templates included), times in the campaign's
timezone (real date cells in XLSX), accounts as written (``@group`` kept).
"""

from __future__ import annotations

import csv
from datetime import datetime, time
from pathlib import Path
from typing import Any

from spi_campaign.models import Campaign
from spi_campaign.sheets import COLUMNS, THREAD_SEPARATOR, _letter, _plain


def export_rows(campaign: Campaign) -> list[dict[str, Any]]:
    """One row per post, in file order. Times are aware datetimes (the
    writer formats them); everything else is text."""
    from spi_campaign.yamlio import YamlProblem, load_file

    cfg = campaign.config
    raw_docs: dict[Path, list[Any]] = {}
    rows = []
    for post in campaign.posts:
        if post.file not in raw_docs:
            try:
                docs = load_file(post.file)
            except YamlProblem:
                docs = []
            items: list[Any] = []
            for d in docs:
                items.extend(d if isinstance(d, list) else [d])
            raw_docs[post.file] = items
        raw = next((d for d in raw_docs[post.file] if isinstance(d, dict) and d.get("id", post.id) == post.id), {})
        c = post.content
        media = [" | ".join(x for x in ((m.rel or str(m.path)) if m.path else None, m.url) if x) for m in c.media]
        rows.append({
            "id": post.id, "title": post.title or "", "topic": post.topic or "", "status": post.status,
            "publish_at": post.publish_at.astimezone(cfg.timezone) if post.publish_at else None,
            "repeat": post.repeat or "",
            "until": post.until.astimezone(cfg.timezone) if post.until else None,
            "accounts": ", ".join(post.targets or post.accounts), "text": c.text, "link": c.link or "",
            "hashtags": ", ".join(c.hashtags), "media": "\n".join(media),
            "alt": "\n".join((m.alt or "").replace("\n", " ") for m in c.media) if any(m.alt for m in c.media) else "",
            "thread": f"\n{THREAD_SEPARATOR}\n".join(c.thread),
            "variants": _dump(raw.get("variants")) if raw.get("variants") else "",
        })
    return rows


def _dump(value: Any) -> str:
    import yaml

    return yaml.safe_dump(_plain(value), allow_unicode=True, sort_keys=False, default_flow_style=False,
                          width=1000).rstrip("\n")


def _is_end_of_day(dt: datetime) -> bool:
    return dt.time() == time.max


def _time_text(dt: datetime | None, col: str) -> str:
    if dt is None:
        return ""
    if col == "until" and _is_end_of_day(dt):
        return dt.strftime("%Y-%m-%d")
    return dt.strftime("%Y-%m-%d %H:%M" + (":%S" if dt.second else ""))


def write_csv(rows: list[dict[str, Any]], out) -> None:
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow([_time_text(r[c], c) if c in ("publish_at", "until") else r[c] for c in COLUMNS])


def write_xlsx(rows: list[dict[str, Any]], path: Path) -> None:
    """Real date cells (the campaign's local time) for publish_at and until."""
    import openpyxl
    from openpyxl.styles import Alignment, Font

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "posts"
    ws.append(list(COLUMNS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        values = []
        for c in COLUMNS:
            v = r[c]
            if c in ("publish_at", "until") and v is not None:
                if c == "until" and _is_end_of_day(v):
                    v = datetime.combine(v.date(), time(0, 0))
                else:
                    v = v.replace(tzinfo=None, microsecond=0)
            values.append(v if v != "" else None)
        ws.append(values)
        n = ws.max_row
        for c in ("publish_at", "until"):
            cell = ws.cell(row=n, column=COLUMNS.index(c) + 1)
            if cell.value is not None:
                cell.number_format = "yyyy-mm-dd" if c == "until" and cell.value.time() == time(0) \
                    else "yyyy-mm-dd hh:mm"
        for c in ("text", "thread", "variants", "media", "alt"):
            ws.cell(row=n, column=COLUMNS.index(c) + 1).alignment = Alignment(wrap_text=True, vertical="top")
    widths = {"id": 28, "title": 30, "publish_at": 17, "until": 12, "accounts": 30, "text": 60, "variants": 40}
    for i, c in enumerate(COLUMNS):
        ws.column_dimensions[_letter(i)].width = widths.get(c, 16)
    ws.freeze_panes = "A2"
    wb.save(path)
