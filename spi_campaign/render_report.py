"""``spi report`` output: JSON, CSV, Markdown and HTML (docs/metrics.md).

Every writer streams: JSON and CSV write each publication as it comes (the
totals are counted before, ``report.publications``); Markdown and HTML,
whose charts and failure list come before the table, spool the rows to a
temporary file first, so memory stays bounded at any ledger size.
HTML is one self-contained file (inline CSS, inline SVG charts, no network
fetch) that prints on A4; labels are Indonesian, dates ``9 Desember 2026``.
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
from datetime import date, datetime
from functools import lru_cache
from typing import IO, Any, Iterator

from spi_campaign.adapters.base import COMMON_METRICS
from spi_campaign.report import PROBLEM_STATES, TOTAL_STATES, Summary

SPOOL = 8 * 1024 * 1024
STATE_ID = {"published": "terbit", "failed": "gagal", "missed": "terlewat", "unknown": "tidak pasti",
            "pending": "menunggu"}
METRIC_ID = {"views": "Tayangan", "reach": "Jangkauan", "likes": "Suka", "comments": "Komentar",
             "shares": "Dibagikan"}
CSV_COLUMNS = ("at", "post", "title", "topic", "account", "platform", "state", "url", *COMMON_METRICS,
               "metrics_at", "error")
_MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
           "November", "Desember")


@lru_cache(maxsize=4096)
def tanggal(d: date) -> str:
    """``9 Desember 2026`` (Babel's Indonesian locale; a month table if Babel is missing)."""
    try:
        from babel.dates import format_date
    except ImportError:          # pragma: no cover - babel is a dependency
        return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"
    return format_date(d, "d MMMM y", locale="id")


def _when(at: str | None) -> str:
    if not at:
        return "-"
    dt = datetime.fromisoformat(at)
    return f"{tanggal(dt.date())} {dt:%H.%M}"


def _spool() -> IO[str]:
    return tempfile.SpooledTemporaryFile(max_size=SPOOL, mode="w+", encoding="utf-8", newline="")


def _copy(spool: IO[str], out: IO[str]) -> None:
    spool.seek(0)
    shutil.copyfileobj(spool, out, 1 << 20)
    spool.close()


# ----- JSON -----------------------------------------------------------------------

def write_json(summary: Summary, rows: Iterator[dict], out: IO[str]) -> None:
    """Totals are known before the rows (``report.publications``): the rows
    go straight to ``out``, in the contract's key order."""
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    head = summary.as_json()
    out.write("{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in head.items()))
    out.write(', "publications": [')
    sep, batch = "\n", []
    for pub in rows:
        batch.append(pub)
        if len(batch) == 500:          # one encoder call per 500 rows: a third of the encoding cost
            out.write(sep + dumps(batch)[1:-1])
            sep, batch = ",\n", []
    if batch:
        out.write(sep + dumps(batch)[1:-1])
    out.write('\n], "topics": ' + json.dumps(summary.topics, ensure_ascii=False) + "}\n")


# ----- CSV ------------------------------------------------------------------------

def write_csv(summary: Summary, rows: Iterator[dict], out: IO[str]) -> None:
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for p in rows:
        m = p["metrics"] or {}
        w.writerow([p["at"], p["post"], p["title"] or "", p["topic"] or "", p["account"], p["platform"] or "",
                    p["state"], p["url"] or "", *("" if m.get(k) is None else m[k] for k in COMMON_METRICS),
                    p["metrics_at"] or "", p["error"] or ""])


# ----- Markdown -------------------------------------------------------------------

def _md(text: Any) -> str:
    return str(text if text is not None else "-").replace("|", "\\|").replace("\n", " ")


def _period(summary: Summary) -> str:
    from datetime import timedelta

    last = (summary.end - timedelta(microseconds=1)).astimezone(summary.tz).date()
    return f"{tanggal(summary.start.astimezone(summary.tz).date())} – {tanggal(last)}"


def _platforms(summary: Summary) -> list[str]:
    return sorted({p for t in summary.by_topic.values() for p in t})


def write_md(summary: Summary, rows: Iterator[dict], out: IO[str]) -> None:
    body, problems = _spool(), _spool()
    for p in rows:
        m = p["metrics"] or {}
        body.write(f"| {_when(p['at'])} | {_md(p['title'] or p['post'])} | {_md(p['topic'])} | {_md(p['account'])} "
                   f"| {_md(p['platform'])} | {STATE_ID.get(p['state'], p['state'])} | {_md(p['url'])} | "
                   + " | ".join(_md(m.get(k)) for k in COMMON_METRICS) + " |\n")
        if p["state"] in PROBLEM_STATES:
            problems.write(f"- {_when(p['at'])} **{_md(p['post'])}** ({_md(p['account'])}): "
                           f"{STATE_ID[p['state']]}{' — ' + _md(p['error']) if p['error'] else ''}\n")
    out.write(f"# Laporan kampanye\n\nPeriode: {_period(summary)}\n\n## Ringkasan status\n\n")
    out.write("| " + " | ".join(STATE_ID[s] for s in TOTAL_STATES) + " |\n|" + "---:|" * len(TOTAL_STATES) + "\n")
    out.write("| " + " | ".join(str(summary.totals[s]) for s in TOTAL_STATES) + " |\n\n")
    plats = _platforms(summary)
    out.write("## Publikasi terbit per topik dan platform\n\n")
    if plats:
        out.write("| Topik | " + " | ".join(plats) + " |\n|---|" + "---:|" * len(plats) + "\n")
        for t, c in sorted(summary.by_topic.items()):
            out.write(f"| {_md(t)} | " + " | ".join(str(c.get(p, 0)) for p in plats) + " |\n")
    else:
        out.write("Belum ada publikasi yang terbit.\n")
    out.write("\n## Keseimbangan topik\n\n| Topik | Target | Terbit | Porsi |\n|---|---:|---:|---:|\n")
    for t in summary.topics:
        out.write(f"| {_md(t['topic'])} | {_pct(t['target'])} | {t['actual']} | {_pct(t['share'])} |\n")
    out.write("\n## Gagal dan terlewat\n\n")
    if problems.tell():
        _copy(problems, out)
    else:
        out.write("Tidak ada.\n")
    out.write("\n## Daftar publikasi\n\n| Tanggal | Judul | Topik | Akun | Platform | Status | Tautan | "
              + " | ".join(METRIC_ID[k] for k in COMMON_METRICS) + " |\n|" + "---|" * 7 + "---:|" * 5 + "\n")
    _copy(body, out)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.0f}%".replace(".", ",")


def write(fmt: str, summary: Summary, rows: Iterator[dict], out: IO[str]) -> None:
    if fmt == "html":
        from spi_campaign.render_report_html import write_html

        write_html(summary, rows, out)
    else:
        {"json": write_json, "csv": write_csv, "md": write_md}[fmt](summary, rows, out)
