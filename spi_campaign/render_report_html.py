"""``spi report --format html``: one self-contained file (inline CSS, inline
SVG charts, no network fetch) that prints cleanly on A4, in Indonesian."""

from __future__ import annotations

from html import escape
from typing import IO, Iterator

from spi_campaign.adapters.base import COMMON_METRICS
from spi_campaign.render_report import (METRIC_ID, STATE_ID, _copy, _pct, _period, _platforms, _spool, _when,
                                        tanggal)
from spi_campaign.report import PROBLEM_STATES, TOTAL_STATES, Summary

COLORS = ("#1f5fa8", "#c0392b", "#27ae60", "#d68910", "#8e44ad", "#16a085", "#7f8c8d", "#2c3e50", "#e84393",
          "#6d4c41")

CSS = """
@page { size: A4; margin: 15mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; font-size: 10pt; color: #1a1a1a;
       margin: 0 auto; max-width: 186mm; padding: 8mm 0; background: #fff; }
h1 { font-size: 18pt; margin: 0 0 2mm; color: #12355b; }
h2 { font-size: 12.5pt; margin: 7mm 0 2mm; color: #12355b; border-bottom: 0.6mm solid #12355b;
     padding-bottom: 1mm; break-after: avoid; }
p.meta { color: #555; margin: 0 0 4mm; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0; }
th, td { border: 0.2mm solid #b8c2cc; padding: 1.2mm 1.6mm; text-align: left; vertical-align: top; }
th { background: #e8eef5; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr { break-inside: avoid; }
thead { display: table-header-group; }
.totals td { font-size: 14pt; font-weight: bold; text-align: center; }
.totals th { text-align: center; }
.pubs { font-size: 8pt; }
.pubs td.url { word-break: break-all; max-width: 40mm; }
.state-failed, .state-missed, .state-unknown { color: #b03a2e; font-weight: bold; }
figure { margin: 2mm 0; break-inside: avoid; }
figcaption { font-weight: bold; margin-bottom: 1mm; }
svg text { font-family: inherit; font-size: 9px; fill: #333; }
ul.problems li { margin-bottom: 1mm; }
"""


def _weekly_svg(summary: Summary, topics: list[str]) -> str:
    weeks = sorted(summary.weekly)
    w, h, left, bottom, top = 680, 220, 36, 34, 10
    peak = max((sum(summary.weekly[k].values()) for k in weeks), default=0) or 1
    step = (w - left - 10) / max(len(weeks), 1)
    bar = max(min(step * 0.7, 48), 2)
    out = [f'<svg id="chart-weekly" role="img" aria-label="Publikasi per minggu menurut topik" '
           f'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%">',
           f'<line x1="{left}" y1="{h - bottom}" x2="{w - 5}" y2="{h - bottom}" stroke="#333"/>',
           f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{peak}</text>',
           f'<text x="{left - 4}" y="{h - bottom}" text-anchor="end">0</text>']
    scale = (h - bottom - top) / peak
    for i, wk in enumerate(weeks):
        x = left + i * step + (step - bar) / 2
        y = h - bottom
        for j, t in enumerate(topics):
            n = summary.weekly[wk].get(t, 0)
            if n:
                hh = n * scale
                y -= hh
                out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{hh:.1f}" '
                           f'fill="{COLORS[j % len(COLORS)]}"><title>{escape(t)}: {n}</title></rect>')
        if len(weeks) <= 16 or i % ((len(weeks) + 15) // 16) == 0:
            label = f"{wk.day} {tanggal(wk).split()[1][:3]}"
            out.append(f'<text x="{x + bar / 2:.1f}" y="{h - bottom + 12}" text-anchor="middle">{label}</text>')
    lx = left
    for j, t in enumerate(topics[:10]):
        out.append(f'<rect x="{lx}" y="{h - 12}" width="8" height="8" fill="{COLORS[j % len(COLORS)]}"/>'
                   f'<text x="{lx + 11}" y="{h - 4}">{escape(t[:24])}</text>')
        lx += 14 + 6 * min(len(t), 24)
    if not weeks:
        out.append(f'<text x="{w / 2}" y="{h / 2}" text-anchor="middle">Belum ada publikasi yang terbit</text>')
    out.append("</svg>")
    return "".join(out)


def _reach_svg(summary: Summary, topics: list[str]) -> str:
    rows = [(t, summary.reach.get(t, 0)) for t in topics]
    w, row_h, left = 680, 22, 150
    h = max(len(rows), 1) * row_h + 10
    peak = max((v for _, v in rows), default=0) or 1
    out = [f'<svg id="chart-reach" role="img" aria-label="Jangkauan per topik" xmlns="http://www.w3.org/2000/svg" '
           f'viewBox="0 0 {w} {h}" width="100%">']
    for i, (t, v) in enumerate(rows):
        y = 5 + i * row_h
        bw = (w - left - 80) * v / peak
        out.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{escape(t[:28])}</text>'
                   f'<rect x="{left}" y="{y + 3}" width="{max(bw, 1):.1f}" height="{row_h - 8}" '
                   f'fill="{COLORS[i % len(COLORS)]}"/>'
                   f'<text x="{left + bw + 5:.1f}" y="{y + 14}">{f"{v:,}".replace(",", ".")}</text>')
    if not rows:
        out.append(f'<text x="{w / 2}" y="20" text-anchor="middle">Belum ada data jangkauan</text>')
    out.append("</svg>")
    return "".join(out)


def _e(x) -> str:
    return "-" if x is None else escape(str(x))


def write_html(summary: Summary, rows: Iterator[dict], out: IO[str]) -> None:
    body, problems = _spool(), _spool()
    for p in rows:
        m = p["metrics"] or {}
        state = p["state"]
        url = f'<a href="{escape(p["url"])}">{escape(p["url"])}</a>' if p["url"] else "-"
        body.write(f'<tr><td>{_when(p["at"])}</td><td>{_e(p["title"] or p["post"])}</td><td>{_e(p["topic"])}</td>'
                   f'<td>{_e(p["account"])}</td><td>{_e(p["platform"])}</td>'
                   f'<td class="state-{state}">{STATE_ID.get(state, state)}</td><td class="url">{url}</td>'
                   + "".join(f'<td class="n">{_e(m.get(k))}</td>' for k in COMMON_METRICS) + "</tr>\n")
        if state in PROBLEM_STATES:
            problems.write(f'<li><b>{_e(p["post"])}</b> ({_e(p["account"])}), {_when(p["at"])}: '
                           f'<span class="state-{state}">{STATE_ID[state]}</span>'
                           f'{" — " + escape(p["error"]) if p["error"] else ""}</li>\n')
    topics = [t["topic"] for t in summary.topics]
    plats = _platforms(summary)
    w = out.write
    w('<!DOCTYPE html>\n<html lang="id"><head><meta charset="utf-8">'
      '<meta name="viewport" content="width=device-width, initial-scale=1">'
      f'<title>Laporan kampanye {escape(_period(summary))}</title><style>{CSS}</style></head><body>\n')
    w(f'<h1>Laporan kampanye</h1><p class="meta">Periode: {escape(_period(summary))}</p>\n')
    w('<h2>Ringkasan status</h2><table class="totals"><tr>'
      + "".join(f"<th>{STATE_ID[s]}</th>" for s in TOTAL_STATES) + "</tr><tr>"
      + "".join(f"<td>{summary.totals[s]}</td>" for s in TOTAL_STATES) + "</tr></table>\n")
    w('<h2>Grafik</h2><figure><figcaption>Publikasi terbit per minggu menurut topik</figcaption>'
      + _weekly_svg(summary, topics) + "</figure>\n")
    w('<figure><figcaption>Jangkauan per topik (metrik terakhir)</figcaption>' + _reach_svg(summary, topics)
      + "</figure>\n")
    w("<h2>Publikasi terbit per topik dan platform</h2>")
    if plats:
        w("<table><thead><tr><th>Topik</th>" + "".join(f'<th class="n">{escape(p)}</th>' for p in plats)
          + "</tr></thead><tbody>")
        for t, c in sorted(summary.by_topic.items()):
            w(f"<tr><td>{escape(t)}</td>" + "".join(f'<td class="n">{c.get(p, 0)}</td>' for p in plats) + "</tr>")
        w("</tbody></table>\n")
    else:
        w("<p>Belum ada publikasi yang terbit.</p>\n")
    w('<h2>Keseimbangan topik</h2><table><thead><tr><th>Topik</th><th class="n">Target</th>'
      '<th class="n">Terbit</th><th class="n">Porsi</th></tr></thead><tbody>')
    for t in summary.topics:
        w(f'<tr><td>{escape(t["topic"])}</td><td class="n">{_pct(t["target"])}</td><td class="n">{t["actual"]}</td>'
          f'<td class="n">{_pct(t["share"])}</td></tr>')
    w("</tbody></table>\n<h2>Gagal dan terlewat</h2>")
    if problems.tell():
        w('<ul class="problems">')
        _copy(problems, out)
        w("</ul>\n")
    else:
        w("<p>Tidak ada.</p>\n")
    w('<h2>Daftar publikasi</h2><table class="pubs"><thead><tr><th>Tanggal</th><th>Judul</th><th>Topik</th>'
      '<th>Akun</th><th>Platform</th><th>Status</th><th>Tautan</th>'
      + "".join(f'<th class="n">{METRIC_ID[k]}</th>' for k in COMMON_METRICS) + "</tr></thead><tbody>\n")
    _copy(body, out)
    w("</tbody></table>\n</body></html>\n")
