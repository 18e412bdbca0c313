"""`spi post validate` on N generated posts, as a ratio of a bare
`yaml.load(..., CSafeLoader)` of the same files (target: <= 2x at 10,000).

Each generated post has text, a link, hashtags, an X variant and two
accounts (X and Facebook), like a real campaign. Both sides are whole
processes (interpreter start-up included), run alternately.

Run: python bench/bench_validate.py [--sizes 1000 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _common import SPI, interleaved

p = argparse.ArgumentParser()
p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
p.add_argument("--runs", type=int, default=5)
args = p.parse_args()

TOPICS = ["gratifikasi", "zero-gratifikasi", "titik-rawan", "spi", "pelaporan"]
BASELINE = """
import os, sys, yaml
loader = yaml.CSafeLoader
for dirpath, _, names in os.walk(sys.argv[1]):
    for n in names:
        if n.endswith(('.yaml', '.yml')):
            with open(os.path.join(dirpath, n), 'rb') as fh:
                list(yaml.load_all(fh.read().decode('utf-8'), Loader=loader))
"""


def generate(root: Path, n: int) -> Path:
    (root / "posts").mkdir(parents=True)
    (root / "config.yaml").write_text(
        "timezone: Asia/Makassar\naccounts:\n"
        "  bali-x: {platform: x}\n  bali-fb: {platform: facebook, page_id: '1234567890'}\n")
    for i in range(n):
        day = 1 + i % 28
        folder = root / "posts" / f"m{i // 500:03d}"
        folder.mkdir(exist_ok=True)
        (folder / f"post-{i:05d}.yaml").write_text(f"""\
id: post-{i:05d}
title: Pesan antikorupsi nomor {i}
topic: {TOPICS[i % 5]}
status: approved
publish_at: 2031-{1 + i % 12:02d}-{day:02d} {8 + i % 9:02d}:{(i * 7) % 60:02d}
accounts: [bali-x, bali-fb]
text: |
  Sahabat Diskominfo, gratifikasi yang berhubungan dengan jabatan dan berlawanan
  dengan tugas dianggap suap (Pasal 12B UU 31/1999 jo. UU 20/2001). Penerima wajib
  melaporkannya kepada KPK paling lambat 30 hari kerja sejak diterima (Pasal 12C).
  Pesan ke-{i}: mari jaga pelayanan publik yang bersih, tanpa uang terima kasih.
link: https://jaga.id/pelaporan/{i}
hashtags: [TolakGratifikasi, SPI2026, BaliAntikorupsi]
variants:
  x:
    text: Terima gratifikasi terkait jabatan? Laporkan ke KPK paling lambat 30 hari kerja (Pasal 12C UU 20/2001). Pesan ke-{i}.
""", encoding="utf-8")
    return root


for n in args.sizes:
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp), n)
        spi_t, base_t = interleaved([SPI, "--config", str(root / "config.yaml"), "post", "validate"],
                                    [sys.executable, "-c", BASELINE, str(root / "posts")], args.runs)
        target = " (target <= 2x)" if n >= 10000 else ""
        print(f"validate {n:>6} posts: {spi_t:.2f} s   CSafeLoader parse: {base_t:.2f} s   "
              f"ratio {spi_t / base_t:.2f}x{target}")
