"""Bahasa Indonesia from the publishing engine, the ledger, the daemon's
messages and the alerts (docs/i18n.md), through real ``spi`` processes; and
the error text stored in the ledger is recognised whatever the language of
the process that wrote it."""

from __future__ import annotations

import http.server
import json
import subprocess
import threading
from pathlib import Path

import pytest
from _support import load_plugin

kit = load_plugin("spi_testkit")


def spi(root: Path, lang: str, *args: str) -> subprocess.CompletedProcess:
    env = kit.env() | {"SPI_LANG": lang}
    return subprocess.run([kit.SPI, "--config", str(root / "config.yaml"), *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=90)


def campaign(root: Path, *, notify: str = "", init: bool = True) -> None:
    """``arsip`` works; ``rusak`` is a file account whose path is a folder
    (every publication to it fails); ``flaky`` follows its control script."""
    (root / "posts").mkdir(parents=True, exist_ok=True)
    (root / "outbox" / "rusak.jsonl").mkdir(parents=True, exist_ok=True)
    (root / "config.yaml").write_text(
        "name: kampanye-uji\ntimezone: Asia/Makassar\nstate: .spi/state.db\ncatch_up: 6h\naccounts:\n"
        "  arsip:\n    platform: file\n    path: outbox/arsip.jsonl\n"
        "  rusak:\n    platform: file\n    path: outbox/rusak.jsonl\n"
        "  flaky:\n    platform: flaky\n    path: outbox/flaky.jsonl\n" + notify, encoding="utf-8")
    if init:
        kit.init_ledger(root, "2026-01-01T00:00:00.000000Z")


def test_ledger_of_another_campaign_in_both_languages(tmp_path):
    campaign(tmp_path)
    kit.write_post(tmp_path, "tolak-gratifikasi", kit.later(3600), ["arsip"])
    assert spi(tmp_path, "id", "post", "publish-due").returncode == 0
    cfg = tmp_path / "config.yaml"
    cfg.write_text(cfg.read_text().replace("name: kampanye-uji", "name: kampanye-lain"))
    en = spi(tmp_path, "en", "post", "publish-due")
    idn = spi(tmp_path, "id", "post", "publish-due")
    assert en.returncode != 0 and idn.returncode != 0
    assert "belongs to campaign 'kampanye-uji', not 'kampanye-lain'" in en.stderr + en.stdout
    out = idn.stderr + idn.stdout
    assert "milik kampanye 'kampanye-uji', bukan 'kampanye-lain'" in out
    assert "arahkan 'state:' di config.yaml ke buku catatan kampanye ini sendiri" in out
    assert "belongs to campaign" not in out and "Traceback" not in out


def test_failures_readiness_and_problems_summary_in_indonesian(tmp_path):
    campaign(tmp_path)
    kit.write_post(tmp_path, "tolak-gratifikasi", kit.later(-600), ["rusak", "flaky"])
    (tmp_path / "outbox" / "flaky.jsonl.control.json").write_text(json.dumps({"default": ["transient"]}))
    run = spi(tmp_path, "id", "post", "publish-due")
    assert run.returncode == 1, run.stderr
    out = run.stdout + run.stderr
    # readiness (a file account whose path is a folder), the retry of a transient error, the summary
    assert "belum siap: akun 'rusak': " in out and "(publikasi pertama yang terdampak " in out
    assert "akun rusak akan menerbitkan tetapi belum siap: " in out            # the engine's log line
    assert "sementara: " in out and "(percobaan 1 dari 5)" in out
    assert "1 publikasi memerlukan perhatian (1 gagal): spi post status --problems" in out
    for english in ("not ready:", "first affected publication", "is about to publish", "transient:",
                    "(attempt 1 of 5)", "need attention", "needs attention"):
        assert english not in out, english
    status = spi(tmp_path, "id", "post", "status", "--all")
    assert status.returncode == 0, status.stderr
    assert "sementara: " in status.stdout and "(percobaan 1 dari 5)" in status.stdout
    # the same row read by an English process: stored text stays as written, the frame is English
    assert "ledger: " in spi(tmp_path, "en", "post", "status").stdout


def test_missed_publication_explained_in_indonesian(tmp_path):
    campaign(tmp_path)
    kit.write_post(tmp_path, "hari-antikorupsi", kit.later(-2 * 86400), ["arsip"])
    spi(tmp_path, "id", "post", "publish-due")
    status = spi(tmp_path, "id", "post", "status", "--all")
    assert "lebih lama dari jendela susulan (" in status.stdout
    assert "saat pertama kali terlihat" in status.stdout
    assert "older than the catch-up window" not in status.stdout
    assert kit.ledger_rows(tmp_path)[0].state == "missed"


@pytest.mark.parametrize("writer, reader", [("id", "en"), ("en", "id")])
def test_a_new_ledger_missed_row_is_caught_up_whatever_language_wrote_it(tmp_path, writer, reader):
    """The planner recognises its own stored error text ("fell due before this
    ledger was created") in any language, not only in its own."""
    campaign(tmp_path, init=False)            # the ledger is created by the first run: after the post fell due
    kit.write_post(tmp_path, "tolak-gratifikasi", kit.later(-1800), ["arsip"])
    first = spi(tmp_path, writer, "post", "publish-due")
    assert first.returncode == 1, first.stderr
    (row,) = kit.ledger_rows(tmp_path)
    assert row.state == "missed"
    assert ("jatuh tempo sebelum buku catatan ini dibuat" if writer == "id"
            else "fell due before this ledger was created") in row.error
    again = spi(tmp_path, reader, "post", "publish-due", "--catch-up-from-new-ledger")
    assert again.returncode == 0, again.stdout + again.stderr
    assert [r.state for r in kit.ledger_rows(tmp_path)] == ["published"]
    assert len(kit.outbox(tmp_path, "arsip")) == 1


class _Hook:
    def __init__(self) -> None:
        self.payloads: list[dict] = []
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.payloads.append(json.loads(data))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_alert_title_and_body_in_indonesian(tmp_path):
    hook = _Hook()
    try:
        campaign(tmp_path, notify=f"notify:\n  - url: \"{hook.url}\"\n    events: [failed]\n")
        kit.write_post(tmp_path, "tolak-gratifikasi", kit.later(-600), ["rusak"])
        run = spi(tmp_path, "id", "post", "publish-due")
        assert run.returncode == 1, run.stderr
    finally:
        hook.close()
    assert len(hook.payloads) == 1, run.stderr
    p = hook.payloads[0]
    assert p["type"] == "failure"                                 # data: not translated
    assert p["title"] == f"[spi {tmp_path.name}] 1 publikasi gagal: tolak-gratifikasi di rusak"
    body = p["message"]
    for part in ("unggahan: tolak-gratifikasi", "akun: rusak", "jadwal: ", "keadaan: failed setelah 1 percobaan",
                 "galat: ", "Perbaiki penyebabnya, lalu: spi post retry tolak-gratifikasi --account rusak"):
        assert part in body, part
    for english in ("post: ", "account: rusak\n", "occurrence: ", "state: ", "Fix the cause", "a publication failed"):
        assert english not in body and english not in p["title"], english
