"""The input side in Bahasa Indonesia (docs/i18n.md): template errors, cron
and slot grammar, spreadsheet import rows, YAML and post-file checks, through
real ``spi`` processes. Words that are data or syntax (keys such as ``text``,
cron field names, slot day tokens, Jinja2's own error text) stay as written."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SPI = str(Path(sys.executable).parent / "spi")
LANG_VARS = ("SPI_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def spi(args, cwd, lang: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPI_") and k not in LANG_VARS}
    env.update(LANG="C.UTF-8", COLUMNS="250", SPI_LANG=lang)
    return subprocess.run([SPI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


CONFIG = """\
    name: kampanye-uji
    timezone: Asia/Makassar
    posts_dir: posts
    state: .spi/state.db
    vars:
      instansi: Pemerintah Kota Denpasar
    accounts:
      arsip:
        platform: file
        path: outbox/arsip.jsonl
"""


@pytest.fixture
def kampanye(tmp_path):
    root = tmp_path / "kampanye"
    (root / "posts").mkdir(parents=True)
    (root / "config.yaml").write_text(textwrap.dedent(CONFIG), encoding="utf-8")
    return root


def post(root: Path, name: str, body: str) -> None:
    (root / "posts" / name).write_text(textwrap.dedent(body), encoding="utf-8")


def _approved(post_id: str, extra: str) -> str:
    return (f'id: {post_id}\nstatus: approved\npublish_at: "2030-01-05T09:00:00+08:00"\naccounts: [arsip]\n'
            + textwrap.dedent(extra))


def test_undefined_template_variable_in_indonesian(kampanye):
    post(kampanye, "templat.yaml", _approved("templat", 'text: "Salam dari {{ walikota }}"\n'))
    idn = spi(["post", "validate"], kampanye, "id")
    en = spi(["post", "validate"], kampanye, "en")
    assert idn.returncode == en.returncode == 1
    assert ("galat: unggahan 'templat' (akun arsip) - text menggunakan {{ walikota }}, yang tidak didefinisikan "
            "oleh akun 'arsip': tambahkan walikota: di bawah vars: pada akun tersebut atau pada kampanye di "
            "config.yaml") in idn.stdout, idn.stdout
    assert "which account" not in idn.stdout and "does not define" not in idn.stdout
    assert "text uses {{ walikota }}, which account 'arsip' does not define" in en.stdout
    # JSON: the human message in Indonesian, keys and severities unchanged
    data = json.loads(spi(["post", "validate", "--format", "json"], kampanye, "id").stdout)
    [problem] = data["problems"]
    assert problem["severity"] == "error" and "yang tidak didefinisikan oleh akun 'arsip'" in problem["message"]


def test_template_syntax_error_keeps_jinja_wording(kampanye):
    post(kampanye, "sintaks.yaml", _approved("sintaks", "text: |\n  Halo\n  {% if %}\n"))
    idn = spi(["post", "validate"], kampanye, "id")
    assert idn.returncode == 1
    # our words translated, Jinja2's own message left as Jinja2 wrote it
    assert "text: galat sintaks templat pada baris 2 dari text: Expected an expression" in idn.stdout, idn.stdout
    assert "template syntax error" not in idn.stdout


@pytest.mark.parametrize("expr, indonesian, english", [
    ("{{ 9**999999 }}", "text: ditolak oleh kotak pasir templat: pangkat 999999 terlalu besar (paling besar 64) "
                        "(tidak ada yang dijalankan)", "is too large"),
    ("{{ 'ab' * 999999 }}", "ditolak oleh kotak pasir templat: mengulang teks atau daftar sebanyak 999999 kali "
                            "terlalu panjang", "repeating a text"),
    ("{% for i in range(10**6) %}x{% endfor %}", "ditolak oleh kotak pasir templat: range() sebanyak 1,000,000 "
                                                "butir terlalu panjang (paling banyak 1,000)", "is too long"),
    # Jinja2's own refusal text stays English; our wording around it is translated
    ("{{ ''.__class__.__mro__ }}", "ditolak oleh kotak pasir templat: access to attribute '__class__'",
     "refused by the template sandbox"),
])
def test_sandbox_refusal_in_indonesian(kampanye, expr, indonesian, english):
    post(kampanye, "kotak.yaml", _approved("kotak", f'text: "Angka {expr}"\n'))
    idn = spi(["post", "validate"], kampanye, "id")
    assert idn.returncode == 1 and "Traceback" not in idn.stderr
    assert indonesian in idn.stdout, idn.stdout
    assert english not in idn.stdout and "nothing was run" not in idn.stdout
    assert "(tidak ada yang dijalankan)" in idn.stdout


def test_bad_cron_field_in_indonesian(kampanye):
    post(kampanye, "cron.yaml", _approved("cron", 'repeat: "0 9 * * FUNDAY"\ntext: Halo\n'))
    post(kampanye, "cron2.yaml", _approved("cron-langkah", 'repeat: "5/15 9 * * *"\ntext: Halo\n'))
    idn = spi(["post", "validate"], kampanye, "id")
    assert idn.returncode == 1
    # the field name (day-of-week) and the day names are cron syntax: kept
    assert ("ekspresi cron '0 9 * * FUNDAY' tidak sah: day-of-week 'FUNDAY' bukan hari "
            "(gunakan 0-7 atau sun..sat)") in idn.stdout, idn.stdout
    assert "minute '5/15': langkah memerlukan rentang atau '*' (tulis 5-59/15 atau */15)" in idn.stdout
    assert "is not a day" not in idn.stdout and "a step needs" not in idn.stdout


def test_cron_warning_in_indonesian(kampanye):
    post(kampanye, "cron.yaml", _approved("cron", 'repeat: "*/90 * * * *"\ntext: Halo\n'))
    idn = spi(["post", "validate"], kampanye, "id")
    assert ("repeat '*/90 * * * *': minute '*/90' hanya cocok dengan 0: langkah /90 lebih besar daripada "
            "rentangnya") in idn.stdout, idn.stdout
    assert "only matches" not in idn.stdout


def test_bad_slot_in_indonesian(kampanye):
    config = kampanye / "config.yaml"
    config.write_text(config.read_text(encoding="utf-8") + '    slots: ["MON-FRY 09:00", "SAT"]\n',
                      encoding="utf-8")
    idn = spi(["post", "validate"], kampanye, "id")
    assert idn.returncode == 1
    # the day tokens of the grammar (MON, FRI, DAILY...) are what people type: kept
    assert ("akun 'arsip': slots untuk 'arsip': slot 'MON-FRY 09:00': 'FRY' bukan hari; gunakan MON TUE WED THU "
            "FRI SAT SUN (atau SEN SEL RAB KAM JUM SAB MIN), rentang seperti MON-FRI, atau DAILY") in idn.stdout, \
        idn.stdout
    assert "is not a day" not in idn.stdout and "slots of" not in idn.stdout
    config.write_text(config.read_text(encoding="utf-8").replace('"MON-FRY 09:00", "SAT"', '"SAT"'),
                      encoding="utf-8")
    idn = spi(["post", "validate"], kampanye, "id")
    assert "slot 'SAT' memerlukan jam (HH:MM atau HH.MM) di bagian akhir" in idn.stdout, idn.stdout


def test_post_file_checks_in_indonesian(kampanye):
    post(kampanye, "media.yaml", _approved("media", """\
        text: Halo
        hashtags: "satu dua"
        media:
          - {path: gambar.png, ukuran: 3}
        thread: [satu]
        variants: [x]
    """))
    idn = spi(["post", "validate"], kampanye, "id")
    assert idn.returncode == 1
    for words in ("butir media 1: kunci 'ukuran' tidak dikenal",
                  "thread memerlukan sedikitnya 2 bagian (gunakan text untuk satu unggahan tunggal)",
                  "variants harus berupa pemetaan nama platform atau akun ke penggantinya, tertulis daftar"):
        assert words in idn.stdout, idn.stdout
    assert "unknown key" not in idn.stdout and "got a list" not in idn.stdout


def test_yaml_problem_in_indonesian(kampanye):
    (kampanye / "posts" / "rusak.yaml").write_text("id: rusak\ntext: !!int halo\n", encoding="utf-8")
    idn = spi(["post", "validate"], kampanye, "id")
    assert idn.returncode == 1
    assert "'halo' bukan nilai !!int yang sah" in idn.stdout, idn.stdout


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_spreadsheet_import_bad_rows_in_indonesian(kampanye):
    post(kampanye, "ada.yaml", "id: sudah-ada\nstatus: draft\naccounts: [arsip]\ntext: Sudah ada.\n")
    sheet = _write_csv(kampanye / "rencana.csv", [
        ["id", "status", "accounts", "text", "link", "alt", "repeat"],
        ["baik", "draft", "arsip", "Teks yang baik.", "", "", ""],
        ["salah", "disetujui", "arsip", "Halo {{ walikota }}", "bukan-url", "gambar", ""],
        ["baik", "draft", "arsip", "Lagi.", "", "", "0 9 * * FUNDAY"],
        ["", "draft", "arsip", "tanpa id", "", "", ""],
        ["sudah-ada", "draft", "arsip", "Dobel.", "", "", ""],
    ])
    before = sorted(p.name for p in (kampanye / "posts").iterdir())
    idn = spi(["post", "import", str(sheet)], kampanye, "id")
    en = spi(["post", "import", str(sheet)], kampanye, "en")
    assert idn.returncode == en.returncode == 1
    errors = [line for line in idn.stderr.splitlines() if line.startswith("galat: ")]
    s = f"galat: {sheet}: "
    expected = [
        s + "baris 3, kolom alt: ada teks alternatif tetapi tidak ada media",
        # validate's words, translated once at their source
        s + "baris 3, kolom status: status harus salah satu dari draft, approved, cancelled, tertulis 'disetujui'",
        s + "baris 3, kolom link: link harus berupa URL http(s), tertulis 'bukan-url'",
        s + "baris 4, kolom id: id unggahan 'baik' juga terdapat pada baris 2",
        s + "baris 4, kolom repeat: ekspresi cron '0 9 * * FUNDAY' tidak sah: day-of-week 'FUNDAY' bukan hari "
            "(gunakan 0-7 atau sun..sat)",
        s + "baris 5, kolom id: setiap baris memerlukan id (huruf, angka, '.', '_' atau '-')",
        s + "baris 6, kolom id: id unggahan 'sudah-ada' sudah ada di posts/ada.yaml; impor tidak pernah "
            "menggantikan unggahan",
    ]
    for line in expected:
        assert line in errors, "\n".join(errors)
    # sorted by row in Indonesian too (no English "row" to match)
    rows = [int(e.split(": baris ", 1)[1].split(",", 1)[0]) for e in errors]
    assert rows == sorted(rows)
    assert idn.stderr.splitlines()[-1] == f"Galat: {sheet}: {len(errors)} galat; tidak ada yang diimpor"
    assert "row " not in idn.stderr and "column " not in idn.stderr and "nothing was imported" not in idn.stderr
    assert f"error: {sheet}: row 3, column alt: there is alt text but no media" in en.stderr
    assert sorted(p.name for p in (kampanye / "posts").iterdir()) == before


def test_spreadsheet_header_problems_in_indonesian(kampanye):
    sheet = _write_csv(kampanye / "rencana.csv", [["id", "publish", "status"], ["a", "b", "draft"]])
    idn = spi(["post", "import", str(sheet)], kampanye, "id")
    assert idn.returncode == 1
    assert (f"{sheet}: baris 1, kolom B: kolom 'publish' tidak dikenal (apakah yang Anda maksud 'publish_at'?)"
            in idn.stderr), idn.stderr
    assert f"{sheet}: baris 1: lembar kerja memerlukan kolom 'text'" in idn.stderr
    assert f"Galat: {sheet}: baris judul tidak dapat digunakan; tidak ada yang diimpor" in idn.stderr
    assert "unknown column" not in idn.stderr and "the sheet needs" not in idn.stderr
