"""The Bahasa Indonesia interface (docs/i18n.md): language choice, complete
and compiled catalogs, and the main paths through real ``spi`` processes in
both languages."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from spi_campaign.i18n import LOCALE_DIR, current_language

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "spi_campaign"
SPI = str(Path(sys.executable).parent / "spi")
CLICK_DIR = Path(click.__file__).parent
LANG_VARS = ("SPI_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


# ----- language choice ------------------------------------------------------------------

@pytest.mark.parametrize("environ, expected", [
    ({}, "en"),
    ({"SPI_LANG": "id"}, "id"),
    ({"SPI_LANG": "id_ID.UTF-8"}, "id"),
    ({"SPI_LANG": "en", "LANG": "id_ID.UTF-8"}, "en"),        # SPI_LANG wins
    ({"SPI_LANG": "fr"}, "en"),
    ({"LANG": "id_ID.UTF-8"}, "id"),
    ({"LC_MESSAGES": "id_ID", "LANG": "en_US.UTF-8"}, "id"),
    ({"LC_ALL": "en_US.UTF-8", "LANG": "id_ID.UTF-8"}, "en"),  # LC_ALL before LANG
    ({"LANGUAGE": "id:en", "LC_ALL": "C.UTF-8"}, "id"),
    ({"LANG": "C.UTF-8"}, "en"),
])
def test_language_choice(environ, expected):
    assert current_language(environ) == expected


# ----- catalogs -------------------------------------------------------------------------

def _read_po(domain: str):
    with open(LOCALE_DIR / "id" / "LC_MESSAGES" / f"{domain}.po", "rb") as fh:
        return read_po(fh)


def _extract_spi(source: Path) -> set:
    with open(ROOT / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    return {msg for _f, _l, msg, _c, _ctx in
            extract_from_dir(str(source), method_map, options_map, keywords=keywords)}


def _extract_click() -> set:
    keywords = {"_": None, "ngettext": (1, 2)}
    return {msg for _f, _l, msg, _c, _ctx in
            extract_from_dir(str(CLICK_DIR), [("**.py", "python")], {}, keywords=keywords)}


def _untranslated(messages: set, catalog) -> list:
    out = []
    for msg in messages:
        key = msg[0] if isinstance(msg, tuple) else msg
        entry = catalog.get(key)
        strings = () if entry is None else (entry.string if isinstance(entry.string, tuple) else (entry.string,))
        if entry is None or entry.fuzzy or not strings or not all(strings):
            out.append(key)
    return sorted(out)


def test_every_spi_message_has_an_indonesian_translation():
    """Fails when a message wrapped in _() (or a Click help text) is new or
    changed and the catalog was not updated and translated (docs/i18n.md)."""
    missing = _untranslated(_extract_spi(PACKAGE), _read_po("spi"))
    assert not missing, f"{len(missing)} message(s) without a translation in spi.po, e.g. {missing[:5]}"


def test_every_click_message_has_an_indonesian_translation():
    """Click's own messages of the installed Click: a Click upgrade that adds
    one fails here until click.po is updated."""
    missing = _untranslated(_extract_click(), _read_po("click"))
    assert not missing, f"{len(missing)} Click message(s) without a translation in click.po, e.g. {missing[:5]}"


def test_the_check_catches_a_new_untranslated_message(tmp_path):
    """The completeness check above is not vacuous: a new wrapped message,
    a new help option and a new command docstring are all reported."""
    (tmp_path / "baru.py").write_text(textwrap.dedent('''
        import click
        from spi_campaign.i18n import _

        @click.command()
        @click.option("--ringkas", help="Print a shorter summary.")
        def ringkas():
            """Summarise the campaign in one line."""
            raise SystemExit(_("nothing to summarise"))
    '''), encoding="utf-8")
    missing = _untranslated(_extract_spi(tmp_path), _read_po("spi"))
    assert missing == ["Print a shorter summary.", "Summarise the campaign in one line.", "nothing to summarise"]


_FIELD = re.compile(r"\{[^{}]*\}")


def _fields(text: str) -> set[str]:
    return {re.sub(r"\s+", " ", f) for f in _FIELD.findall(text)}


@pytest.mark.parametrize("domain", ["spi", "click"])
def test_translations_keep_every_placeholder(domain):
    """A translation that drops or renames {post} would raise KeyError or
    lose the post's name at run time."""
    bad = []
    for m in _read_po(domain):
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        wanted = set().union(*(_fields(i) for i in ids))
        for s in strings:
            got = _fields(s)
            # a plural translation (Indonesian has one form) may use the fields of either English form
            if not got <= wanted or (len(ids) == 1 and got != wanted):
                bad.append((ids[0], s))
            if "%(" in ids[0] and set(re.findall(r"%\(\w+\)s", ids[0])) != set(re.findall(r"%\(\w+\)s", s)):
                bad.append((ids[0], s))
    assert not bad, bad[:5]


@pytest.mark.parametrize("domain", ["spi", "click"])
def test_compiled_catalog_matches_the_po(domain):
    """The shipped .mo is what `pybabel compile` makes of the committed .po."""
    po = _read_po(domain)
    with open(LOCALE_DIR / "id" / "LC_MESSAGES" / f"{domain}.mo", "rb") as fh:
        mo = read_mo(fh)
    def norm(v):
        return tuple(v) if isinstance(v, (list, tuple)) else v

    want = {norm(m.id): norm(m.string) for m in po if m.id and m.string and not m.fuzzy}
    have = {norm(m.id): norm(m.string) for m in mo if m.id}
    assert have == want, "run: pybabel compile -d spi_campaign/locale -D spi (and -D click)"


def test_the_catalogs_are_package_data():
    """`pip install` alone ships the compiled catalogs."""
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["spi_campaign"]
    assert "locale/*/LC_MESSAGES/*.mo" in data
    for domain in ("spi", "click"):
        assert (PACKAGE / "locale" / "id" / "LC_MESSAGES" / f"{domain}.mo").is_file()


# ----- real processes, both languages ----------------------------------------------------

def _env(lang: str | None, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPI_") and k not in LANG_VARS}
    env["LANG"] = "C.UTF-8"
    env["COLUMNS"] = "200"
    if lang is not None:
        env["SPI_LANG"] = lang
    env.update(extra)
    return env


def spi(args, cwd, lang: str | None, **extra) -> subprocess.CompletedProcess:
    return subprocess.run([SPI, *args], cwd=cwd, env=_env(lang, **extra), capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def kampanye(tmp_path):
    root = tmp_path / "kampanye"
    (root / "posts").mkdir(parents=True)
    (root / "config.yaml").write_text(textwrap.dedent("""\
        name: kampanye-uji
        timezone: Asia/Makassar
        posts_dir: posts
        state: .spi/state.db
        accounts:
          arsip:
            platform: file
            path: outbox/arsip.jsonl
    """), encoding="utf-8")
    (root / "posts" / "gratifikasi.yaml").write_text(textwrap.dedent("""\
        id: tolak-gratifikasi
        status: approved
        publish_at: "2026-01-05T09:00:00+08:00"
        accounts: [arsip]
        text: Tolak gratifikasi! Laporkan ke KPK melalui gol.kpk.go.id.
    """), encoding="utf-8")
    (root / "posts" / "rusak.yaml").write_text(textwrap.dedent("""\
        id: laporan-rusak
        status: approved
        publish_at: "2030-01-05T09:00:00+08:00"
        accounts: [arsip, humas-x]
        text: Laporkan dugaan korupsi.
    """), encoding="utf-8")
    return root


def test_usage_errors_both_languages(tmp_path):
    en = spi(["post", "--nope"], tmp_path, None)
    idn = spi(["post", "--nope"], tmp_path, "id")
    assert en.returncode == idn.returncode == 2
    assert "Usage: spi post" in en.stderr and "No such option" in en.stderr and "Error:" in en.stderr
    assert "Penggunaan: spi post" in idn.stderr
    assert "Galat: Opsi '--nope' tidak dikenal." in idn.stderr
    assert "Gunakan 'spi post --help' untuk bantuan." in idn.stderr
    idn = spi(["post", "valdate"], tmp_path, "id")
    assert idn.returncode == 2 and "Perintah 'valdate' tidak dikenal. Apakah yang Anda maksud: 'validate'?" in idn.stderr
    idn = spi(["post", "publish"], tmp_path, "id")
    assert idn.returncode == 2 and "Argumen belum diberikan" in idn.stderr and "Traceback" not in idn.stderr


def test_help_both_languages(tmp_path):
    en = spi(["post", "validate", "--help"], tmp_path, None)
    idn = spi(["post", "validate", "--help"], tmp_path, "id")
    assert en.returncode == idn.returncode == 0
    assert "Check config.yaml and every post file" in en.stdout and "Show this message and exit." in en.stdout
    assert "Memeriksa config.yaml dan setiap berkas unggahan" in idn.stdout
    assert "Tampilkan pesan ini lalu keluar." in idn.stdout and "Format keluaran." in idn.stdout
    assert "Contoh:" in idn.stdout and "spi post validate posts/2026-12/*.yaml --format json" in idn.stdout
    assert "Check config.yaml" not in idn.stdout and "Show this message" not in idn.stdout
    # LANG alone chooses too; SPI_LANG=en overrides it
    by_lang = spi(["--help"], tmp_path, None, LANG="id_ID.UTF-8")
    assert "Penggunaan:" in by_lang.stdout and "Perintah:" in by_lang.stdout
    assert "Usage:" in spi(["--help"], tmp_path, "en", LANG="id_ID.UTF-8").stdout


def test_missing_config_both_languages(tmp_path):
    en = spi(["post", "list"], tmp_path, None)
    idn = spi(["post", "list"], tmp_path, "id")
    assert en.returncode == idn.returncode == 1
    assert "Error:" in en.stderr and "config file not found" in en.stderr
    assert idn.stderr.startswith("Galat: ") and "berkas konfigurasi tidak ditemukan" in idn.stderr
    assert "(buat dengan 'spi init', atau berikan --config PATH)" in idn.stderr
    assert "Traceback" not in idn.stderr


def test_validate_both_languages(kampanye):
    en = spi(["post", "validate"], kampanye, None)
    idn = spi(["post", "validate"], kampanye, "id")
    assert en.returncode == idn.returncode == 1
    assert "error: post 'laporan-rusak' (account humas-x) - unknown account 'humas-x'" in en.stdout
    assert "warning: post 'tolak-gratifikasi' - publish time" in en.stdout and "is in the past" in en.stdout
    assert "2 files, 2 posts: 1 errors, 1 warnings" in en.stdout
    assert ("galat: unggahan 'laporan-rusak' (akun humas-x) - akun 'humas-x' tidak dikenal; "
            "akun di config.yaml: arsip") in idn.stdout
    assert "peringatan: unggahan 'tolak-gratifikasi' - waktu terbit" in idn.stdout and "sudah lewat" in idn.stdout
    assert "2 berkas, 2 unggahan: 1 galat, 1 peringatan" in idn.stdout
    # JSON: keys and data values stay as they are (a contract); only the human message is translated
    data = json.loads(spi(["post", "validate", "--format", "json"], kampanye, "id").stdout)
    assert {"files", "posts", "errors", "warnings", "problems"} <= set(data)
    assert {p["severity"] for p in data["problems"]} == {"error", "warning"}


def test_unknown_post_both_languages(kampanye):
    (kampanye / "posts" / "rusak.yaml").unlink()
    en = spi(["post", "publish", "tolak-gratifikas", "--yes"], kampanye, None)
    idn = spi(["post", "publish", "tolak-gratifikas", "--yes"], kampanye, "id")
    assert en.returncode == idn.returncode == 1
    assert "unknown post id 'tolak-gratifikas' (did you mean 'tolak-gratifikasi'?)" in en.stderr
    assert ("Galat: id unggahan 'tolak-gratifikas' tidak dikenal "
            "(apakah yang Anda maksud 'tolak-gratifikasi'?)") in idn.stderr


def test_publish_due_and_status_both_languages(kampanye):
    """The summary line of publish-due and the head of status, in Indonesian;
    status JSON keeps its English states."""
    (kampanye / "posts" / "rusak.yaml").unlink()
    (kampanye / "posts" / "gratifikasi.yaml").write_text(textwrap.dedent("""\
        id: tolak-gratifikasi
        status: approved
        publish_at: "2030-01-05T09:00:00+08:00"
        repeat: "0 9 * * *"
        accounts: [arsip]
        text: Tolak gratifikasi! Laporkan ke KPK melalui gol.kpk.go.id.
    """), encoding="utf-8")
    dry = spi(["post", "publish-due", "--dry-run"], kampanye, "id")
    assert dry.returncode == 0, dry.stderr
    assert "uji coba: 0 akan terbit" in dry.stdout and "Tidak ada yang ditulis." in dry.stdout
    st = spi(["post", "status"], kampanye, "id")
    assert st.returncode == 0, st.stderr
    assert "Belum ada publikasi di buku catatan" in st.stdout
    lst = spi(["post", "list"], kampanye, "id")
    assert lst.returncode == 0 and "Terbit berikutnya" in lst.stdout and "Unggahan / topik" in lst.stdout
    rows = json.loads(spi(["post", "list", "--format", "json"], kampanye, "id").stdout)
    assert rows[0]["status"] == "approved" and "accounts" in rows[0]


def test_click_choice_error_in_indonesian(tmp_path):
    """Plural and placeholder messages of Click format without error in Indonesian."""
    r = spi(["post", "list", "--status", "entah"], tmp_path, "id")
    assert r.returncode == 2
    assert "Nilai tidak sah untuk '--status': 'entah' bukan salah satu dari" in r.stderr


# ----- messages the code itself recognises -------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "id"])
def test_reload_drops_a_fixed_duplicate_id_in_both_languages(tmp_path, monkeypatch, lang):
    """The daemon's reload recognises its own "duplicate post id" problem to
    recompute it; in Indonesian too, so a fixed duplicate does not linger."""
    from spi_campaign.config import load_config
    from spi_campaign.loader import load_campaign
    from spi_campaign.reload import reload_campaign

    monkeypatch.setenv("SPI_LANG", lang)
    (tmp_path / "posts").mkdir()
    (tmp_path / "config.yaml").write_text("timezone: Asia/Makassar\nposts_dir: posts\naccounts:\n"
                                          "  arsip:\n    platform: file\n    path: outbox/arsip.jsonl\n")
    post = "id: {id}\nstatus: draft\npublish_at: \"2030-01-05T09:00:00+08:00\"\naccounts: [arsip]\ntext: Tolak suap.\n"
    a, b = tmp_path / "posts" / "a.yaml", tmp_path / "posts" / "b.yaml"
    a.write_text(post.format(id="tolak-suap"))
    b.write_text(post.format(id="tolak-suap"))
    cfg = load_config(tmp_path / "config.yaml")
    old = load_campaign(cfg)
    word = "ganda" if lang == "id" else "duplicate post id"
    assert [p.message for p in old.problems if word in p.message]
    # the problem is on b (the second file); renaming a's post leaves b unread
    a.write_text(post.format(id="tolak-suap-2"))
    new = reload_campaign(old, cfg, paths=frozenset({a})).campaign
    assert not [p.message for p in new.problems if word in p.message]


def test_validate_drops_the_past_warning_of_a_published_post_in_indonesian(kampanye):
    """validate recognises its own "publish time ... is in the past" warning
    to drop it for a post the ledger says went out: in Indonesian too."""
    (kampanye / "posts" / "rusak.yaml").unlink()
    pub = spi(["post", "publish", "tolak-gratifikasi", "--yes"], kampanye, "id")
    assert pub.returncode == 0, pub.stdout + pub.stderr
    for lang, warning in ((None, "is in the past"), ("id", "sudah lewat")):
        out = spi(["post", "validate"], kampanye, lang)
        assert out.returncode == 0 and warning not in out.stdout, out.stdout


def test_prompts_in_indonesian(kampanye):
    """The confirmation before publishing twice, and Click's "Aborted!"."""
    (kampanye / "posts" / "rusak.yaml").unlink()
    assert spi(["post", "publish", "tolak-gratifikasi", "--yes"], kampanye, "id").returncode == 0
    again = subprocess.run([SPI, "post", "publish", "tolak-gratifikasi", "--force"], cwd=kampanye,
                           env=_env("id"), input="n\n", capture_output=True, text=True, timeout=60)
    assert again.returncode == 1
    assert "Terbitkan 'tolak-gratifikasi' sekali lagi ke arsip? Pengikut akan melihatnya dua kali" in again.stdout
    assert "Dibatalkan." in again.stderr
    both = spi(["post", "resolve", "tolak-gratifikasi", "--account", "arsip"], kampanye, "id")
    assert both.returncode == 2
    assert "berikan tepat salah satu dari --published URL atau --not-published" in both.stderr
