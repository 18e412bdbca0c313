"""``spi post import`` / ``spi post export`` through the real command, on
real CSV and XLSX files (openpyxl writes and reads them)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

SPI = str(Path(sys.executable).parent / "spi")
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "kampanye-kabupaten"
HEADER = ["id", "title", "topic", "status", "publish_at", "repeat", "until", "accounts", "text", "link", "hashtags",
          "media", "alt"]


def spi(root: Path, *args: str, check: int | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPI_")}
    env["COLUMNS"] = "200"
    r = subprocess.run([SPI, "--config", str(root / "config.yaml"), *args], capture_output=True, text=True,
                       env=env, cwd=root, timeout=60)
    assert "Traceback" not in r.stderr, r.stderr
    if check is not None:
        assert r.returncode == check, r.stdout + r.stderr
    return r


@pytest.fixture
def kab(tmp_path) -> Path:
    """The example campaign of examples/kampanye-kabupaten (four agencies, groups, vars)."""
    root = tmp_path / "kab"
    shutil.copytree(EXAMPLE, root)
    return root


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in (root / "posts").rglob("*.yaml"))


def write_csv(path: Path, rows: list[list[str]], header=HEADER) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header] + rows)
    return path


def test_example_sheet_imports_as_reviewed_yaml_and_renders_per_agency(kab):
    before = files(kab)
    r = spi(kab, "post", "import", "rencana-posting.csv", "--dry-run", check=0)
    assert "would write posts/hakordia-2026.yaml (row 2, post 'hakordia-2026')" in r.stdout
    assert files(kab) == before                                   # --dry-run writes nothing

    spi(kab, "post", "import", "rencana-posting.csv", check=0)
    assert files(kab) == sorted(before + ["posts/hakordia-2026.yaml", "posts/pengingat-jumat.yaml",
                                          "posts/poster-tolak-gratifikasi.yaml"])
    # Written as a person would: key order, quoted times, a | block, flow lists, @group kept.
    assert (kab / "posts" / "hakordia-2026.yaml").read_text(encoding="utf-8") == textwrap.dedent("""\
        id: hakordia-2026
        title: Hakordia di {{ wilayah }}
        topic: hakordia
        status: draft
        publish_at: "2026-12-09 09.00"
        accounts: ["@bali"]
        text: |
          Selamat Hari Antikorupsi Sedunia!

          {{ instansi }} mengajak seluruh pegawai dan masyarakat {{ wilayah }} menolak gratifikasi.
          Laporkan melalui {{ kanal_aduan }}.
        link: https://www.kpk.go.id
        hashtags: ["{{ tagar }}", SPI2026]
        """)
    poster = (kab / "posts" / "poster-tolak-gratifikasi.yaml").read_text(encoding="utf-8")
    assert "media:\n  - path: media/poster-tolak-gratifikasi.png\n    alt: Poster ajakan" in poster
    spi(kab, "post", "validate", check=0)

    listed = {p["id"]: p for p in json.loads(spi(kab, "post", "list", "--format", "json", check=0).stdout)}
    assert listed["hakordia-2026"]["next_publish_at"] == "2026-12-09T09:00:00+08:00"   # 09/12/2026 09.00
    assert listed["pengingat-jumat"]["accounts"] == ["badung-arsip", "karangasem-arsip"]
    items = json.loads(spi(kab, "post", "preview", "hakordia-2026", "--format", "json", check=0).stdout)
    assert [i["account"] for i in items] == ["badung-arsip", "karangasem-arsip", "denpasar-arsip", "provinsi-arsip"]
    assert items[1]["text"].startswith("Selamat Hari Antikorupsi Sedunia!\n\nPemerintah Kabupaten Karangasem "
                                       "mengajak seluruh pegawai dan masyarakat Kabupaten Karangasem")
    assert items[1]["text"].endswith("#KarangasemBersih #SPI2026")

    # Importing again: every id exists now; nothing is written or replaced.
    mtimes = {f: (kab / f).stat().st_mtime_ns for f in files(kab)}
    r = spi(kab, "post", "import", "rencana-posting.csv", check=1)
    assert ("row 2, column id: post id 'hakordia-2026' already exists in posts/hakordia-2026.yaml; an import "
            "never replaces a post") in r.stderr
    assert "row 2, column id: posts/hakordia-2026.yaml already exists; an import never overwrites a file" in r.stderr
    assert {f: (kab / f).stat().st_mtime_ns for f in files(kab)} == mtimes


def test_any_error_writes_nothing_and_each_is_named_by_row_and_column(kab):
    sheet = write_csv(kab / "rencana.csv", [
        ["baik", "", "", "draft", "2026-12-09 09:00", "", "", "@bali", "Teks yang baik.", "", "", "", ""],
        ["status-salah", "", "", "disetujui", "2026-12-09 09:00", "", "", "@bali", "Teks.", "", "", "", ""],
        ["jam-salah", "", "", "approved", "2026-12-09 25.00", "", "", "@bali", "Teks.", "", "", "", ""],
        ["akun-salah", "", "", "draft", "", "", "", "@bal, denpasar", "Teks.", "", "", "", ""],
        ["templat-salah", "", "", "draft", "", "", "", "@kota", "Halo {{ walikota }}", "", "", "", ""],
        ["baik", "", "", "draft", "", "", "", "@kota", "Halo", "bukan-url", "", "", "x"],
        ["", "", "", "draft", "", "", "", "", "tanpa id", "", "", "", ""],
        ["wajib-lapor", "", "", "draft", "", "", "", "@kota", "Sudah ada.", "", "", "", ""],
    ])
    before = files(kab)
    r = spi(kab, "post", "import", str(sheet), check=1)
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    s = f"error: {sheet}: "
    assert errors == [
        s + "row 3, column status: status must be one of draft, approved, cancelled, got 'disetujui'",
        s + "row 4, column publish_at: publish_at '2026-12-09T25:00' is not a real date or time (hour must be in "
            "0..23)",
        s + "row 5, column accounts: unknown group '@bal' (did you mean '@bali'?); groups in config.yaml: @kabupaten, "
            "@kota, @bali",
        s + "row 5, column accounts (account denpasar): unknown account 'denpasar' (did you mean 'denpasar-arsip'?); "
            "accounts in config.yaml: provinsi-arsip, denpasar-arsip, badung-arsip, karangasem-arsip",
        s + "row 6, column text (account denpasar-arsip): text uses {{ walikota }}, which account 'denpasar-arsip' "
            "does not define: add walikota: under vars: of the account or of the campaign in config.yaml",
        s + "row 7, column alt: there is alt text but no media",
        s + "row 7, column id: post id 'baik' is also on row 2",
        s + "row 7, column link: link must be an http(s) URL, got 'bukan-url'",
        s + "row 8, column id: every row needs an id (letters, digits, '.', '_' or '-')",
        s + "row 9, column id: post id 'wajib-lapor' already exists in posts/wajib-lapor.yaml; an import never "
            "replaces a post",
        s + "row 9, column id: posts/wajib-lapor.yaml already exists; an import never overwrites a file",
    ], "\n".join(errors)
    assert r.stderr.splitlines()[-1] == f"Error: {sheet}: 11 errors; nothing was imported"
    assert files(kab) == before


def test_validate_and_import_use_the_same_words(kab):
    """The message of a bad value is validate's, word for word."""
    (kab / "posts" / "salah.yaml").write_text("id: salah\nstatus: disetujui\ntext: Halo\n", encoding="utf-8")
    validate = spi(kab, "post", "validate", check=1).stdout
    (kab / "posts" / "salah.yaml").unlink()
    sheet = write_csv(kab / "s.csv", [["lain", "", "", "disetujui", "", "", "", "", "Halo", "", "", "", ""]])
    imported = spi(kab, "post", "import", str(sheet), check=1).stderr
    word = "status must be one of draft, approved, cancelled, got 'disetujui'"
    assert word in validate and word in imported


def test_xlsx_real_date_cells_and_dotted_times(kab):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(["sel-tanggal", None, None, "approved", datetime(2026, 12, 9, 9, 30), "0 9 * * MON",
               datetime(2027, 1, 31), "@kota", "Tanggal sebagai sel tanggal.", None, None, None, None])
    ws.append(["teks-titik", None, None, "approved", "2026-12-10 09.30", None, None, "@kota",
               "Jam ditulis 09.30.", None, "#SPI2026 #TolakGratifikasi", None, None])
    ws.append([12345, 2026, None, None, None, None, None, None, "Id dan judul berupa angka.", None, None, None, None])
    wb.save(kab / "rencana.xlsx")
    spi(kab, "post", "import", "rencana.xlsx", check=0)
    assert 'publish_at: "2026-12-09 09:30"\nrepeat: "0 9 * * MON"\nuntil: "2027-01-31"\n' in \
        (kab / "posts" / "sel-tanggal.yaml").read_text()
    assert (kab / "posts" / "12345.yaml").read_text().startswith('id: "12345"\ntitle: "2026"\n')
    listed = {p["id"]: p for p in json.loads(spi(kab, "post", "list", "--format", "json", check=0).stdout)}
    assert listed["teks-titik"]["next_publish_at"] == "2026-12-10T09:30:00+08:00"
    assert listed["sel-tanggal"]["repeat"] == "0 9 * * MON"
    assert json.loads(spi(kab, "post", "preview", "teks-titik", "--format", "json", check=0).stdout)[0]["text"] \
        == "Jam ditulis 09.30.\n\n#SPI2026 #TolakGratifikasi"


ROUND_TRIP_POSTS = {
    "a.yaml": """\
        - id: templat
          title: "Untuk {{ wilayah }}: ayo lapor"
          topic: hakordia
          status: approved
          publish_at: 2026-12-09T10:00+07:00
          accounts: ["@bali", provinsi-arsip]
          text: |
            Baris satu: "kutip", #tagar, @sebutan, {{ instansi }}.
              baris menjorok
            Baris terakhir dengan spasi di akhir   
          link: https://jaga.id/{{ account }}
          hashtags: ["{{ tagar }}", SPI2026]
          media:
            - path: media/poster-tolak-gratifikasi.png
              alt: "Poster {{ wilayah }}"
            - url: https://example.org/poster.png
        - id: ulang
          status: draft
          publish_at: "2026-12-11 16:00"
          repeat: "0 16 * * FRI"
          until: 2027-01-29
          accounts: [denpasar-arsip]
          text: "- dimulai dengan tanda hubung: dan titik dua"
          thread:
            - Bagian pertama.
            - |
              Bagian kedua
              dua baris.
          variants:
            file:
              text: Versi arsip {{ wilayah }}
              hashtags: [Arsip]
        """,
    "b.yaml": """\
        id: polos
        text: "  spasi di depan"
        """,
}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_round_trip_import_of_an_export_gives_the_same_posts(kab, tmp_path, fmt):
    for name, text in ROUND_TRIP_POSTS.items():
        (kab / "posts" / name).write_text(textwrap.dedent(text), encoding="utf-8")
    spi(kab, "post", "validate", check=0)
    sheet = tmp_path / f"kampanye.{fmt}"
    spi(kab, "post", "export", "--output", str(sheet), check=0)
    assert spi(kab, "post", "export", "--output", str(sheet), check=1).stderr.strip().endswith(
        "already exists; choose another name or add --force to replace it")
    if fmt == "xlsx":
        ws = openpyxl.load_workbook(sheet).active
        cells = {ws.cell(1, c).value: ws.cell(2, c) for c in range(1, ws.max_column + 1)}
        assert cells["publish_at"].is_date and cells["publish_at"].value == datetime(2026, 12, 9, 11, 0)

    other = tmp_path / "baru"
    shutil.copytree(kab, other)
    for f in (other / "posts").glob("*.yaml"):
        f.unlink()
    spi(other, "post", "import", str(sheet), check=0)
    spi(other, "post", "validate", check=0)
    assert _posts(kab) == _posts(other)
    assert len(_posts(kab)) == 4


def _posts(root: Path) -> dict:
    code = textwrap.dedent("""\
        import json, sys
        from pathlib import Path
        from spi_campaign.config import load_config
        from spi_campaign.loader import load_campaign
        c = load_campaign(load_config(Path(sys.argv[1])))
        def media(ms):
            return [[m.rel, m.url, m.alt] for m in ms]
        out = {}
        for p in c.posts:
            out[p.id] = [p.title, p.topic, p.status, p.publish_at and p.publish_at.timestamp(), p.repeat,
                         p.until and p.until.timestamp(), list(p.accounts), list(p.targets), p.content.text,
                         p.content.link, list(p.content.hashtags), media(p.content.media), list(p.content.thread),
                         {k: {kk: media(vv) if kk == "media" else vv for kk, vv in v.items()}
                          for k, v in p.variants.items()}]
        print(json.dumps(out, sort_keys=True))
        """)
    r = subprocess.run([sys.executable, "-c", code, str(root / "config.yaml")], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_export_csv_to_stdout_and_usage_errors(kab):
    r = spi(kab, "post", "export", check=0)
    rows = list(csv.DictReader(r.stdout.splitlines()))
    assert rows[0]["id"] == "wajib-lapor" and rows[0]["accounts"] == "@bali"
    assert rows[0]["publish_at"] == "2026-12-08 09:00"
    assert spi(kab, "post", "export", "--format", "xlsx", check=2).stderr.strip().endswith(
        "an XLSX sheet needs --output FILE.xlsx (it is not text)")
    (kab / "kolom.csv").write_text("id,publish,status\nx,Halo,draft\n", encoding="utf-8")
    r = spi(kab, "post", "import", "kolom.csv", check=1)
    assert "row 1, column B: unknown column 'publish' (did you mean 'publish_at'?)" in r.stderr
    assert "row 1: the sheet needs a column 'text'" in r.stderr
    (kab / "bukan.xlsx").write_bytes(b"bukan zip")
    assert "not a readable .xlsx workbook" in spi(kab, "post", "import", "bukan.xlsx", check=1).stderr
