"""``spi report``: all four formats from a real ledger in real processes; the
JSON contract (README, "Report and metrics"); CSV read back with the csv
module; HTML rendered by a real headless Chromium (Debian package
``chromium``; the test fails, never skips, when it is missing)."""

from __future__ import annotations

import csv
import json
import shutil
import struct
import subprocess
import zlib
from datetime import datetime, timedelta, timezone

import pytest

from _support import load_plugin
from spi_campaign.ledger import Publication, SqliteLedger

kit = load_plugin("spi_testkit")

UTC = timezone.utc
T0 = datetime(2026, 10, 9, 1, 0, tzinfo=UTC)          # 9 Oktober 2026 09.00 WITA


def post_file(root, pid, title, topic):
    (root / "posts" / f"{pid}.yaml").write_text(
        f"id: {pid}\nstatus: draft\ntitle: {json.dumps(title)}\ntopic: {topic}\n"
        f'publish_at: "2027-06-01T09:00:00+08:00"\naccounts: [x1, fb1]\ntext: "Tolak gratifikasi."\n',
        encoding="utf-8")


@pytest.fixture
def camp(tmp_path):
    kit.write_config(tmp_path, {"x1": {"platform": "file", "path": "outbox/x1.jsonl"},
                                "fb1": {"platform": "file", "path": "outbox/fb1.jsonl"}})
    post_file(tmp_path, "gratifikasi-1", "Apa itu gratifikasi – ayo lapor!", "gratifikasi")
    post_file(tmp_path, "spi-1", "Survei Penilaian Integritas", "spi")
    post_file(tmp_path, "spi-2", "SPI: kenapa penting", "spi")
    led = SqliteLedger.open(tmp_path / ".spi" / "state.db")
    rows = [
        Publication("gratifikasi-1", "x1", T0, state="published", url="https://x.com/i/status/1",
                    remote_id="1", published_at=T0),
        Publication("gratifikasi-1", "fb1", T0, state="published", url="https://www.facebook.com/1_2",
                    remote_id="1_2", published_at=T0),
        # two posts at the same instant: metrics only for the second (the merge must not shift them)
        Publication("spi-1", "x1", T0 + timedelta(days=7), state="published", url="https://x.com/i/status/3",
                    remote_id="3", published_at=T0 + timedelta(days=7)),
        Publication("spi-2", "x1", T0 + timedelta(days=7), state="published", url="https://x.com/i/status/4",
                    remote_id="4", published_at=T0 + timedelta(days=7)),
        Publication("spi-2", "fb1", T0 + timedelta(days=8), state="failed", error="Facebook menolak: token kedaluwarsa"),
        Publication("spi-1", "fb1", T0 + timedelta(days=9), state="missed"),
        Publication("spi-1", "x1", T0 + timedelta(days=40), state="pending"),          # November: outside
        Publication("gratifikasi-1", "x1", T0 - timedelta(days=30), state="published", remote_id="0"),  # September
    ]
    led.insert(rows, T0)
    rec = led.metrics_record
    rec(rows[0].key, T0 + timedelta(hours=48), "48h", {"views": (100, None), "reach": (None, "X: no reach"),
                                                      "likes": (5, None), "comments": (1, None), "shares": (2, None)})
    rec(rows[0].key, T0 + timedelta(days=7), "7d", {"views": (400, None), "reach": (None, "X: no reach"),
                                                   "likes": (9, None), "comments": (2, None), "shares": (3, None)})
    rec(rows[1].key, T0 + timedelta(days=7), "7d", {"views": (50, None), "reach": (1200, None), "likes": (7, None),
                                                   "comments": (0, None), "shares": (1, None)})
    rec(rows[3].key, T0 + timedelta(days=9), "48h", {"views": (70, None), "reach": (None, "no"), "likes": (4, None),
                                                    "comments": (0, None), "shares": (0, None)})
    rec(rows[7].key, T0, "manual", {"views": (1, None)})       # outside the month
    led.close()
    return tmp_path


def spi(root, *args):
    return subprocess.run([kit.SPI, "--config", str(root / "config.yaml"), *args], cwd=root, env=kit.env(),
                          capture_output=True, text=True, timeout=90)


def test_json_contract(camp):
    r = spi(camp, "report", "--month", "2026-10", "--format", "json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert list(rep) == ["from", "to", "totals", "by_topic", "publications", "topics"]
    assert rep["from"] == "2026-10-01T00:00:00+08:00" and rep["to"] == "2026-11-01T00:00:00+08:00"
    assert rep["totals"] == {"published": 4, "failed": 1, "missed": 1, "unknown": 0, "pending": 0}
    assert rep["by_topic"] == {"gratifikasi": {"file": 2}, "spi": {"file": 2}}
    pubs = rep["publications"]
    assert len(pubs) == 6
    for p in pubs:
        assert {"post", "title", "topic", "account", "platform", "at", "state", "url", "metrics",
                "metrics_at"} <= set(p)
    by = {(p["post"], p["account"]): p for p in pubs}
    g = by[("gratifikasi-1", "x1")]
    assert g["metrics"] == {"views": 400, "reach": None, "likes": 9, "comments": 2, "shares": 3}   # the latest
    assert g["metrics_at"] == "2026-10-16T09:00:00+08:00" and g["at"] == "2026-10-09T09:00:00+08:00"
    assert g["title"] == "Apa itu gratifikasi – ayo lapor!" and g["topic"] == "gratifikasi"
    assert g["url"] == "https://x.com/i/status/1" and g["platform"] == "file" and g["state"] == "published"
    assert by[("spi-1", "x1")]["metrics"] is None and by[("spi-1", "x1")]["metrics_at"] is None
    assert by[("spi-2", "x1")]["metrics"]["views"] == 70
    assert by[("spi-2", "fb1")]["state"] == "failed" and by[("spi-1", "fb1")]["state"] == "missed"
    assert rep["topics"] == [{"topic": "gratifikasi", "target": None, "actual": 2, "share": 0.5},
                             {"topic": "spi", "target": None, "actual": 2, "share": 0.5}]


def test_csv_opens_with_the_csv_module(camp):
    out = camp / "publikasi.csv"
    r = spi(camp, "report", "--from", "2026-10-01", "--to", "2026-10-31", "--format", "csv", "--output", str(out))
    assert r.returncode == 0 and r.stdout == "", r.stderr
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")             # BOM: spreadsheets read UTF-8
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 6
    g = next(x for x in rows if x["post"] == "gratifikasi-1" and x["account"] == "x1")
    assert g["title"] == "Apa itu gratifikasi – ayo lapor!" and g["views"] == "400" and g["reach"] == ""
    assert next(x for x in rows if x["state"] == "failed")["error"] == "Facebook menolak: token kedaluwarsa"


def test_markdown_lists_failures_and_indonesian_dates(camp):
    r = spi(camp, "report", "--month", "2026-10")
    assert r.returncode == 0, r.stderr
    md = r.stdout
    assert md.startswith("# Laporan kampanye") and "Periode: 1 Oktober 2026 – 31 Oktober 2026" in md
    problems = md.split("## Gagal dan terlewat")[1].split("##")[0]
    assert "spi-2" in problems and "gagal" in problems and "token kedaluwarsa" in problems
    assert "spi-1" in problems and "terlewat" in problems
    assert "| 9 Oktober 2026 09.00 | Apa itu gratifikasi – ayo lapor! |" in md


def test_range_options_are_usage_errors(camp):
    assert spi(camp, "report", "--month", "2026-10", "--from", "2026-10-01").returncode == 2
    assert spi(camp, "report", "--month", "Oktober").returncode == 2
    assert spi(camp, "report", "--from", "2026-10-10", "--to", "2026-10-01").returncode == 2


def test_no_ledger_is_one_clear_error(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["a"]), ledger_since=None)
    r = spi(tmp_path, "report")
    assert r.returncode == 1 and "no ledger" in r.stderr and "Traceback" not in r.stderr


# ----- HTML in a real browser ----------------------------------------------------------------

def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA PNG with the standard library: (width, height, rows)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and color in (2, 6)
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, [bytes(r[i:i + 3]) for r in rows[::8] for i in range(0, stride, bpp * 8)]


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("headless Chromium is needed to render the HTML report: apt-get install -y chromium")
    return exe


def test_html_is_self_contained_and_renders_with_charts(camp, tmp_path):
    out = camp / "laporan.html"
    r = spi(camp, "report", "--month", "2026-10", "--format", "html", "-o", str(out))
    assert r.returncode == 0, r.stderr
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html and "src=" not in html and "@import" not in html
    assert "@page { size: A4" in html and 'lang="id"' in html and "9 Oktober 2026" in html
    exe = chromium()
    common = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              f"--user-data-dir={tmp_path / 'chrome'}", "--window-size=1240,1754"]
    shot = tmp_path / "laporan.png"
    subprocess.run([*common, f"--screenshot={shot}", out.as_uri()], capture_output=True, timeout=120, check=True)
    width, height, pixels = png_pixels(shot.read_bytes())
    assert (width, height) == (1240, 1754)
    dark = sum(1 for p in pixels if sum(p) < 600)
    assert len(set(pixels)) > 20 and dark > 0.01 * len(pixels), "the screenshot is blank"
    # the bar colours of the charts are on screen
    assert any(p == bytes.fromhex("1f5fa8") for p in pixels)
    dom = subprocess.run([*common, "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    for chart in ("chart-weekly", "chart-reach"):
        svg = dom.split(f'id="{chart}"')[1].split("</svg>")[0]
        assert svg.count("<rect") >= 2, chart
    assert "Publikasi terbit per minggu menurut topik" in dom and "Jangkauan per topik" in dom


def test_topic_targets_from_config_reach_the_report(camp):
    cfg = camp / "config.yaml"
    cfg.write_text(cfg.read_text().replace("accounts:", "topics:\n  gratifikasi: {share: 0.6}\n  spi: {min_per_week: 1}\n"
                                                         "accounts:", 1))
    r = spi(camp, "report", "--month", "2026-10", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["topics"] == [{"topic": "gratifikasi", "target": 0.6, "actual": 2, "share": 0.5},
                                              {"topic": "spi", "target": None, "actual": 2, "share": 0.5}]
