"""Readiness and held publications, through real ``spi`` processes sharing a
real SQLite ledger. The ``flakykey`` test platform (tests/plugins) needs the
credential SPI_<ACCOUNT>_TOKEN; a missing one holds the publication (not
failed) until the variable is set."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import timedelta

from _support import load_plugin

kit = load_plugin("spi_testkit")


def spi(root, *args, env=None, timeout=60):
    e = kit.env()
    e.update(env or {})
    return subprocess.run([kit.SPI, "--config", str(root / "config.yaml"), *args], cwd=root, env=e,
                          capture_output=True, text=True, timeout=timeout)


def setup(root, *, catch_up="6h", ago=timedelta(minutes=5)):
    kit.write_config(root, {"kominfo": {"platform": "flakykey", "path": "outbox/kominfo.jsonl"},
                            "arsip": {"platform": "file", "path": "outbox/arsip.jsonl"}}, catch_up=catch_up)
    kit.write_post(root, "tolak-gratifikasi", kit.now().replace(microsecond=0) - ago, ["kominfo", "arsip"],
                   text="Tolak gratifikasi dalam bentuk apa pun. Laporkan ke KPK.")


def states(root):
    return {(r.post, r.account): r.state for r in kit.ledger_rows(root)}


def problems_json(root):
    r = spi(root, "post", "status", "--problems", "--format", "json")
    return json.loads(r.stdout)


def test_missing_credential_holds_until_the_variable_is_set(tmp_path):
    setup(tmp_path)
    for run in range(2):                        # every run while held exits 1 and says so
        r = spi(tmp_path, "post", "publish-due")
        out = r.stdout + r.stderr
        assert r.returncode == 1, out
        assert "not ready: account 'kominfo': credentials not set: SPI_KOMINFO_TOKEN" in out
        assert "1 publication needs attention (1 held): spi post status --problems" in out, out
        # the warning again, right before the account's first publication (the first run;
        # the second does not try the held publication: it waits for the variable)
        warned = "account kominfo is about to publish but is not ready: credentials not set: SPI_KOMINFO_TOKEN"
        assert (warned in out) is (run == 0), out
    assert "tok-SECRET" not in out
    assert states(tmp_path) == {("tolak-gratifikasi", "arsip"): "published",
                                ("tolak-gratifikasi", "kominfo"): "pending"}
    assert kit.outbox(tmp_path, "kominfo") == []
    (row,) = [p for p in problems_json(tmp_path) if p["account"] == "kominfo"]
    assert row["state"] == "held" and "SPI_KOMINFO_TOKEN" in json.dumps(row)

    r = spi(tmp_path, "post", "publish-due", env={"SPI_KOMINFO_TOKEN": "tok-SECRET-123456789"})
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "not ready" not in out and "tok-SECRET" not in out
    assert [x["post"] for x in kit.outbox(tmp_path, "kominfo")] == ["tolak-gratifikasi"]
    assert set(states(tmp_path).values()) == {"published"}
    assert problems_json(tmp_path) == []


def test_held_past_the_catch_up_window_becomes_missed_loudly(tmp_path):
    setup(tmp_path, catch_up="1h", ago=timedelta(minutes=50))
    assert spi(tmp_path, "post", "publish-due").returncode == 1
    assert states(tmp_path)[("tolak-gratifikasi", "kominfo")] == "pending"
    # an hour later (faketime), the credential is set, but too late: missed, exit 1, named
    e = {"SPI_KOMINFO_TOKEN": "tok-SECRET-123456789", "FAKETIME": "+1h", "LD_PRELOAD": _libfaketime()}
    r = spi(tmp_path, "post", "publish-due", env=e)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "missed" in out and "tolak-gratifikasi" in out, out
    assert states(tmp_path)[("tolak-gratifikasi", "kominfo")] == "missed"
    assert kit.outbox(tmp_path, "kominfo") == []


def _libfaketime() -> str:
    for d in ("/usr/lib/x86_64-linux-gnu/faketime", "/usr/lib/aarch64-linux-gnu/faketime", "/usr/lib/faketime"):
        p = os.path.join(d, "libfaketime.so.1")
        if os.path.exists(p):
            return p
    raise AssertionError("libfaketime not found (apt-get install faketime)")


def test_strict_publish_due_exits_1_and_publishes_nothing(tmp_path):
    setup(tmp_path)
    r = spi(tmp_path, "post", "publish-due", "--strict")
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "1 readiness problem(s); nothing was published (--strict)" in out
    assert kit.outbox(tmp_path, "arsip") == [] and kit.outbox(tmp_path, "kominfo") == []
    assert all(s != "published" for s in states(tmp_path).values())


def test_strict_schedule_does_not_start(tmp_path):
    setup(tmp_path)
    r = spi(tmp_path, "post", "schedule", "--strict", "--no-watch", timeout=60)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "not ready: account 'kominfo': credentials not set: SPI_KOMINFO_TOKEN" in out
    assert "--strict: not starting until these are fixed" in out
    assert kit.outbox(tmp_path, "arsip") == [] and kit.outbox(tmp_path, "kominfo") == []


def test_schedule_rechecks_readiness_after_a_reload(tmp_path):
    kit.write_config(tmp_path, {"kominfo": {"platform": "flakykey", "path": "outbox/kominfo.jsonl"},
                                "arsip": {"platform": "file", "path": "outbox/arsip.jsonl"}})
    kit.write_post(tmp_path, "arsip-saja", kit.now() + timedelta(days=3), ["arsip"])
    proc = kit.spawn(tmp_path, "post", "schedule")
    log = tmp_path / "schedule.log"
    try:
        assert kit.wait_for(lambda: "spi schedule:" in log.read_text(), 30), log.read_text()
        assert "not ready" not in log.read_text()
        kit.write_post(tmp_path, "tolak-gratifikasi", kit.now() + timedelta(hours=2), ["kominfo"])
        assert kit.wait_for(lambda: "not ready: account 'kominfo'" in log.read_text(), 30), log.read_text()
        text = log.read_text()
        assert "credentials not set: SPI_KOMINFO_TOKEN" in text
        assert text.index("reloaded:") < text.index("not ready: account 'kominfo'")
    finally:
        assert kit.stop(proc) == 0
