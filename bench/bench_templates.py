"""`spi post validate` on N templated posts sent to 10 agencies, as a ratio of
the same N posts written out without templates (target: <= 3x at 1,000).

Both campaigns have the same 10 accounts (X and Facebook accounts of ten
regencies and cities) with the same vars, the same posts, times and
accounts; in one the agency's name, region, complaint channel, contact and
hashtag are ``{{ ... }}`` templates (title, text, link, hashtags, an X
variant), in the other they are written out. Every post is distinct (its
number is in its text), so each template is compiled once and rendered 10
times: 10,000 renderings. The written-out posts carry the first agency's
texts and go to the same 10 accounts (so both sides run the same 10,000
per-account checks). Both sides are whole processes (interpreter
start-up included), run alternately; the figure is the ratio of medians.

Templates that only substitute names (``{{ wilayah }}``, the usual case)
are rendered without a Jinja2 compile (templates_render._simple); --jinja
puts a filter in every text so each post costs one real Jinja2 compile.

Run: python bench/bench_templates.py [--posts 1000] [--runs 5] [--jinja]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import SPI, interleaved

p = argparse.ArgumentParser()
p.add_argument("--posts", type=int, default=1000)
p.add_argument("--runs", type=int, default=5)
p.add_argument("--jinja", action="store_true",
               help="templates that need Jinja2 itself (a filter in every text), not only {{ name }}")
args = p.parse_args()

AGENCIES = [("denpasar", "Kota Denpasar"), ("badung", "Kabupaten Badung"), ("gianyar", "Kabupaten Gianyar"),
            ("tabanan", "Kabupaten Tabanan"), ("bangli", "Kabupaten Bangli"), ("klungkung", "Kabupaten Klungkung"),
            ("karangasem", "Kabupaten Karangasem"), ("buleleng", "Kabupaten Buleleng"),
            ("jembrana", "Kabupaten Jembrana"), ("bali", "Provinsi Bali")]
ACCOUNTS = [(f"{slug}-{'x' if i % 2 == 0 else 'fb'}", slug, region) for i, (slug, region) in enumerate(AGENCIES)]

TEXT = """\
Sahabat {{ wilayah }}, gratifikasi yang berhubungan dengan jabatan dan berlawanan
dengan tugas dianggap suap (Pasal 12B UU 31/1999 jo. UU 20/2001). Pegawai {{ instansi }}
wajib melaporkannya kepada KPK paling lambat 30 hari kerja (Pasal 12C).
Pesan ke-{i}: laporkan melalui {{ kanal_aduan }} atau UPG {{ upg_kontak }}."""
if args.jinja:
    TEXT = TEXT.replace("{{ wilayah }}", "{{ wilayah | upper }}", 1)
X_TEXT = "Terima gratifikasi? Lapor ke UPG {{ instansi }} ({{ upg_kontak }}) paling lambat 30 hari kerja. Pesan ke-{i}."


def vars_of(slug: str, region: str) -> dict[str, str]:
    return {"instansi": f"Pemerintah {region}", "wilayah": region, "upg_kontak": f"0361-{len(slug) * 1111}",
            "tagar": slug.capitalize() + "Antikorupsi", "situs": f"{slug}.go.id"}


def config(root: Path) -> None:
    lines = ["timezone: Asia/Makassar", "vars:", "  kanal_aduan: https://gol.kpk.go.id", "accounts:"]
    for name, slug, region in ACCOUNTS:
        lines.append(f"  {name}:")
        lines.append("    platform: x" if name.endswith("-x") else "    platform: facebook\n    page_id: '1234567890'")
        lines.append("    vars:")
        lines += [f"      {k}: {v!r}" for k, v in vars_of(slug, region).items()]
    (root / "config.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def post(i: int, templated: bool, names=None) -> str:
    def fill(s: str) -> str:
        s = s.replace("{i}", str(i))
        if templated:
            return s
        for k, v in names.items():
            s = s.replace("{{ " + k + " }}", v).replace("{{ " + k + " | upper }}", v.upper())
        return s

    accounts = [a for a, _, _ in ACCOUNTS]
    body = "\n".join("  " + line for line in fill(TEXT).splitlines())
    return f"""\
id: post-{i:05d}
title: "{fill('Pesan antikorupsi {i} untuk {{ wilayah }}')}"
topic: gratifikasi
status: approved
publish_at: 2031-{1 + i % 12:02d}-{1 + i % 28:02d} {8 + i % 9:02d}:{(i * 7) % 60:02d}
accounts: [{', '.join(accounts)}]
text: |
{body}
link: "{fill('https://{{ situs }}/pelaporan/{i}')}"
hashtags: ["{fill('{{ tagar }}')}", TolakGratifikasi]
variants:
  x:
    text: "{fill(X_TEXT)}"
"""


def generate(root: Path, n: int, templated: bool) -> Path:
    (root / "posts").mkdir(parents=True)
    config(root)
    for i in range(n):
        folder = root / "posts" / f"m{i // 500:03d}"
        folder.mkdir(exist_ok=True)
        # Written out: the texts as the first agency's rendering gives them, to the same 10 accounts.
        names = {**vars_of(*ACCOUNTS[0][1:]), "kanal_aduan": "https://gol.kpk.go.id"}
        (folder / f"post-{i:05d}.yaml").write_text(post(i, templated, names), encoding="utf-8")
    return root


with tempfile.TemporaryDirectory() as tmp:
    t_root = generate(Path(tmp) / "templated", args.posts, True)
    p_root = generate(Path(tmp) / "plain", args.posts, False)
    t, plain = interleaved([SPI, "--config", str(t_root / "config.yaml"), "post", "validate"],
                           [SPI, "--config", str(p_root / "config.yaml"), "post", "validate"], args.runs)
    print(f"validate {args.posts} templated posts{' (Jinja2 filters)' if args.jinja else ''} x {len(ACCOUNTS)} agencies: {t:.2f} s   "
          f"the same posts written out: {plain:.2f} s   "
          f"ratio {t / plain:.2f}x (target <= 3x)")
