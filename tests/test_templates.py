"""Agencies and templates (docs/templates.md): vars, groups, per-account
rendering in the sandbox, and the errors, through the real ``spi`` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

SPI = str(Path(sys.executable).parent / "spi")

AGENCIES = {
    "denpasar": ("Pemerintah Kota Denpasar", "Kota Denpasar"),
    "badung": ("Pemerintah Kabupaten Badung", "Kabupaten Badung"),
    "gianyar": ("Pemerintah Kabupaten Gianyar", "Kabupaten Gianyar"),
    "tabanan": ("Pemerintah Kabupaten Tabanan", "Kabupaten Tabanan"),
    "bangli": ("Pemerintah Kabupaten Bangli", "Kabupaten Bangli"),
    "klungkung": ("Pemerintah Kabupaten Klungkung", "Kabupaten Klungkung"),
    "karangasem": ("Pemerintah Kabupaten Karangasem", "Kabupaten Karangasem"),
    "buleleng": ("Pemerintah Kabupaten Buleleng", "Kabupaten Buleleng"),
    "jembrana": ("Pemerintah Kabupaten Jembrana", "Kabupaten Jembrana"),
    "provinsi": ("Pemerintah Provinsi Bali", "Provinsi Bali"),
}


def spi(root: Path, *args: str, check: int | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPI_")}
    env["COLUMNS"] = "200"
    r = subprocess.run([SPI, "--config", str(root / "config.yaml"), *args], capture_output=True, text=True,
                       env=env, cwd=root, timeout=60)
    assert "Traceback" not in r.stderr, r.stderr
    if check is not None:
        assert r.returncode == check, r.stdout + r.stderr
    return r


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def ten_agencies(root: Path, platform: str = "file", extra: str = "") -> None:
    lines = ["timezone: Asia/Makassar", "vars:", "  kanal_aduan: https://gol.kpk.go.id", "  tagar: BaliAntikorupsi",
             "groups:", "  kabupaten: [" + ", ".join(a for a in AGENCIES if a not in ("denpasar", "provinsi")) + "]",
             "  kota: [denpasar]", '  bali: ["@kabupaten", "@kota", provinsi]', "accounts:"]
    for name, (instansi, wilayah) in AGENCIES.items():
        lines += [f"  {name}:", f"    platform: {platform}"]
        if platform == "file":
            lines.append(f"    path: outbox/{name}.jsonl")
        lines += ["    vars:", f"      instansi: {instansi}", f"      wilayah: {wilayah}"]
    lines.append("      kanal_aduan: https://jaga.id")  # provinsi (the last) overrides the campaign's value
    (root / "config.yaml").write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    (root / "posts").mkdir(exist_ok=True)


TEMPLATED = """\
    id: hakordia
    title: "Hakordia di {{ wilayah }}"
    status: approved
    publish_at: "{when}"
    accounts: ["@bali"]
    text: |
      Sahabat {{ wilayah }}, {{ instansi }} mengajak menolak gratifikasi.
      Laporkan melalui {{ kanal_aduan }} ({{ account }}, {{ platform }}).
    hashtags: ["{{ tagar }}", SPI2026]
    """


def test_one_post_gives_each_of_ten_agencies_its_own_text_in_preview_and_publication(tmp_path):
    ten_agencies(tmp_path)
    due = (datetime.now(timezone.utc) - timedelta(minutes=2)).replace(microsecond=0)
    write(tmp_path, "posts/hakordia.yaml", TEMPLATED.replace("{when}", due.isoformat()))
    spi(tmp_path, "post", "validate", check=0)

    items = json.loads(spi(tmp_path, "post", "preview", "--format", "json", check=0).stdout)
    texts = {it["account"]: it["text"] for it in items}
    # @bali = @kabupaten (8) + @kota + provinsi, in that order, each once
    assert list(texts) == [a for a in AGENCIES if a not in ("denpasar", "provinsi")] + ["denpasar", "provinsi"]
    assert texts["karangasem"] == ("Sahabat Kabupaten Karangasem, Pemerintah Kabupaten Karangasem mengajak menolak "
                                   "gratifikasi.\nLaporkan melalui https://gol.kpk.go.id (karangasem, file).\n\n"
                                   "#BaliAntikorupsi #SPI2026")
    assert "melalui https://jaga.id (provinsi, file)" in texts["provinsi"]   # the account's var wins
    assert len(set(texts.values())) == 10

    listed = json.loads(spi(tmp_path, "post", "list", "--format", "json", check=0).stdout)
    assert len(listed[0]["accounts"]) == 10 and "@bali" not in listed[0]["accounts"]

    # The engine publishes the rendered text to each account (the file platform writes it out).
    from _support import load_plugin

    load_plugin("spi_testkit").init_ledger(tmp_path, "2026-01-01T00:00:00.000000Z")
    spi(tmp_path, "post", "publish-due", check=0)
    for name, (instansi, wilayah) in AGENCIES.items():
        lines = (tmp_path / "outbox" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(lines) == 1
        assert json.loads(lines[0])["text"] == texts[name]


def test_x_length_is_checked_on_each_accounts_rendering(tmp_path):
    """Fits for "Kota Denpasar", not for "Kabupaten Karangasem": only that account is an error."""
    ten_agencies(tmp_path, platform="x")
    filler = "x" * (280 - len("Sahabat Kota Denpasar! "))
    write(tmp_path, "posts/p.yaml", f"""\
        id: p
        accounts: [denpasar, karangasem]
        text: "Sahabat {{{{ wilayah }}}}! {filler}"
        """)
    r = spi(tmp_path, "post", "validate", "--format", "json", check=1)
    errors = [p for p in json.loads(r.stdout)["problems"] if p["severity"] == "error"]
    assert [(e["account"], e["line"]) for e in errors] == [("karangasem", 3)]
    assert "287 characters on X, over its limit of 280" in errors[0]["message"]


def test_undefined_variable_names_file_line_post_and_the_account_that_lacks_it(tmp_path):
    ten_agencies(tmp_path)
    cfg = (tmp_path / "config.yaml").read_text().replace(
        "      wilayah: Kota Denpasar\n", "      wilayah: Kota Denpasar\n      upg_kontak: 0361-222\n")
    (tmp_path / "config.yaml").write_text(cfg)
    write(tmp_path, "posts/upg.yaml", """\
        id: upg
        title: Unit Pengendalian Gratifikasi
        accounts: [denpasar, badung]
        text: >-
          Hubungi UPG {{ instansi }}
          di {{ upg_kontak }}.
        """)
    r = spi(tmp_path, "post", "validate", check=1)
    assert r.stdout.splitlines()[0] == (
        f"{tmp_path}/posts/upg.yaml:4: error: post 'upg' (account badung) - text uses {{{{ upg_kontak }}}}, which "
        "account 'badung' does not define: add upg_kontak: under vars: of the account or of the campaign in "
        "config.yaml")
    assert "denpasar" not in r.stdout
    # preview still shows every account: the good one rendered, the other with the reason
    items = json.loads(spi(tmp_path, "post", "preview", "--format", "json", check=0).stdout)
    assert items[0]["text"] == "Hubungi UPG Pemerintah Kota Denpasar di 0361-222."
    assert len(items) == 1     # JSON lists what can be published
    assert "upg -> badung: text uses {{ upg_kontak }}" in spi(tmp_path, "post", "preview", check=0).stdout


def test_syntax_error_names_the_line_inside_the_field_once(tmp_path):
    ten_agencies(tmp_path)
    write(tmp_path, "posts/rusak.yaml", """\
        id: rusak
        accounts: ["@bali"]
        text: |
          Baris pertama untuk {{ wilayah }}.
          Baris kedua.
          Baris ketiga {% if wilayah %}tanpa penutup.
        variants:
          file:
            hashtags: ["{{ tagar }"]
        """)
    r = spi(tmp_path, "post", "validate", "--format", "json", check=1)
    errors = [p for p in json.loads(r.stdout)["problems"] if p["severity"] == "error"]
    assert [(e["line"], e["account"]) for e in errors] == [(6, None), (9, None)]   # once, not per account
    assert errors[0]["message"].startswith("text: template syntax error on line 3 of the text: Unexpected end")
    assert errors[1]["message"].startswith("variants.file.hashtags: template syntax error")


@pytest.mark.parametrize("expr, words", [
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "refused by the template sandbox: access to attribute "
                                                         "'__class__' of 'str' object is unsafe"),
    ("{{ cycler.__init__.__globals__.os.system('touch DIRETAS') }}", "refused by the template sandbox"),
    ("{{ 'a' * 10**9 }}", "refused by the template sandbox: repeating a text or list 1000000000 times"),
    ("{{ 9**999999 }}", "refused by the template sandbox: the power 999999 is too large (at most 64)"),
    ("{{ 'ab' * 999999 }}", "refused by the template sandbox: repeating a text or list 999999 times"),
    ("{% for i in range(10**6) %}x{% endfor %}", "range() of 1,000,000 items is too long (at most 1,000)"),
    ("{{ 1 / 0 }}", "template error for account 'denpasar': ZeroDivisionError"),
])
def test_the_sandbox_refuses_and_runs_nothing(tmp_path, expr, words):
    ten_agencies(tmp_path)
    write(tmp_path, "posts/jahat.yaml", f"""\
        id: jahat
        accounts: [denpasar]
        text: "Halo {expr}"
        """)
    r = spi(tmp_path, "post", "validate", check=1)
    assert f"jahat.yaml:3: error: post 'jahat' (account denpasar) - text: " in r.stdout
    assert words in r.stdout
    assert not (tmp_path / "DIRETAS").exists()
    assert spi(tmp_path, "post", "preview", check=0).returncode == 0


def test_rendered_hashtag_and_link_are_checked(tmp_path):
    ten_agencies(tmp_path)
    write(tmp_path, "posts/p.yaml", """\
        - id: tag
          accounts: [denpasar]
          text: Halo
          hashtags: ["{{ wilayah }}"]
        - id: tautan
          accounts: [denpasar]
          text: Halo
          link: "{{ wilayah }}"
        - id: baik
          accounts: [denpasar]
          text: Halo
          link: "https://{{ account }}.go.id/lapor"
        """)
    r = spi(tmp_path, "post", "validate", check=1)
    assert ("hashtag '{{ wilayah }}' renders to 'Kota Denpasar' for account 'denpasar'; a hashtag must be one word"
            in r.stdout)
    assert "link renders to 'Kota Denpasar' for account 'denpasar', not an http(s) URL" in r.stdout
    assert "'baik'" not in r.stdout
    items = json.loads(spi(tmp_path, "post", "preview", "baik", "--format", "json", check=0).stdout)
    assert items[0]["text"] == "Halo\n\nhttps://denpasar.go.id/lapor"


def test_variant_and_alt_text_templates_report_their_own_line(tmp_path):
    ten_agencies(tmp_path)
    (tmp_path / "posts" / "poster.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
    write(tmp_path, "posts/p.yaml", """\
        id: p
        accounts: [denpasar]
        text: Halo {{ wilayah }}
        media:
          - path: poster.png
            alt: "Poster {{ nama_poster }}"
        variants:
          denpasar:
            text: "Khusus {{ walikota }}"
        """)
    r = spi(tmp_path, "post", "validate", "--format", "json", check=1)
    errors = [(p["line"], p["message"][:30]) for p in json.loads(r.stdout)["problems"] if p["severity"] == "error"]
    assert errors == [(9, "text uses {{ walikota }}, whic")]   # the variant's text, where the account's text is
    (tmp_path / "posts" / "p.yaml").write_text((tmp_path / "posts" / "p.yaml").read_text().replace(
        "Khusus {{ walikota }}", "Khusus {{ instansi }}"))
    r = spi(tmp_path, "post", "validate", "--format", "json", check=1)
    errors = [(p["line"], p["message"][:35]) for p in json.loads(r.stdout)["problems"] if p["severity"] == "error"]
    assert errors == [(5, "alt text uses {{ nama_poster }}, wh")]


def test_group_and_vars_errors_in_config_and_posts(tmp_path):
    write(tmp_path, "config.yaml", """\
        vars:
          account: nama
          2tagar: salah
          kosong:
        groups:
          a: ["@b", denpasar]
          b: ["@a"]
          c: [badung, "@tidak-ada", a]
        accounts:
          denpasar:
            platform: file
            path: out.jsonl
            vars: [bukan, mapping]
        """)
    write(tmp_path, "posts/p.yaml", """\
        id: p
        accounts: ["@bail"]
        text: Halo
        """)
    r = spi(tmp_path, "post", "validate", check=1)
    out = r.stdout
    assert "config.yaml:2: error: vars: 'account' is given by spi to every template (the account's name)" in out
    assert "config.yaml:3: error: vars: '2tagar' cannot be used as a template name" in out
    assert "config.yaml:4: error: vars: kosong has no value" in out
    assert "config.yaml:6: error: groups form a cycle: @a -> @b -> @a" in out
    assert "config.yaml:8: error: group 'c': unknown account 'badung'" in out
    assert "config.yaml:8: error: group 'c': unknown group '@tidak-ada'" in out
    assert "config.yaml:8: error: group 'c': unknown account 'a' (a group is written '@a')" in out
    assert "config.yaml:13: error: account 'denpasar' - account 'denpasar': vars must be a mapping" in out \
        or "account 'denpasar': vars must be a mapping" in out
    assert ("posts/p.yaml:2: error: post 'p' - unknown group '@bail'; groups in config.yaml: @a, @b, @c" in out)
    assert "Traceback" not in out


def test_posts_without_templates_never_import_jinja(tmp_path):
    ten_agencies(tmp_path)
    write(tmp_path, "posts/p.yaml", """\
        id: p
        accounts: ["@bali"]
        text: "Tanpa templat: {kurung kurawal} biasa, #hashtag {x} dan }} saja."
        link: https://jaga.id
        hashtags: [SPI2026]
        """)
    code = textwrap.dedent(f"""\
        import sys
        from pathlib import Path
        from spi_campaign.config import load_config
        from spi_campaign.loader import load_campaign
        from spi_campaign.compose import render
        c = load_campaign(load_config(Path({str(tmp_path / 'config.yaml')!r})))
        assert not [p for p in c.problems if p.severity == 'error'], c.problems
        texts = {{render(c.posts[0], a).text for a in c.config.accounts.values()}}
        assert texts == {{"Tanpa templat: {{kurung kurawal}} biasa, #hashtag {{x}} dan }}}} saja.\\n\\nhttps://jaga.id\\n\\n#SPI2026"}}, texts
        print("jinja2" in sys.modules)
        """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "False", r.stdout + r.stderr


@pytest.mark.parametrize("source", [
    "{{ wilayah }}", "Sahabat {{wilayah}}, {{ instansi }}!\n", "{{ wilayah }}}", "} {{ angka }} {{ ya }}\n\n",
    "{{ daftar }} dan {{ peta }}", "{{{ wilayah }}", "{{ wilayah }}{# komentar #}", "{{ true }}",
    "{{ wilayah | upper }} {%- if ya %} ya{% endif %}",
])
def test_plain_name_templates_render_exactly_as_jinja2_does(source):
    """The no-compile path for ``{{ name }}`` gives Jinja2's own result."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    from spi_campaign.models import Account
    from spi_campaign.templates_render import names_for, render_text

    acc = Account(name="denpasar", platform="x", vars={"wilayah": "Kota Denpasar", "instansi": "Pemkot",
                                                        "angka": 3.5, "ya": True, "daftar": [1, "a"],
                                                        "peta": {"k": 1}})
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    try:
        expected = env.from_string(source).render(names_for(acc))
    except Exception as exc:   # the same source must fail in ours too
        from spi_campaign.templates_render import TemplateError

        with pytest.raises(TemplateError):
            render_text(source, names_for(acc), acc, "text", "text")
        assert type(exc).__name__ == "TemplateSyntaxError"
        return
    assert render_text(source, names_for(acc), acc, "text", "text") == expected
