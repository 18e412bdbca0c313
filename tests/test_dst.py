"""Daylight-saving time end to end: real ``spi`` processes under Debian's
``faketime`` around the 2026-10-25 fall-back in Europe/Berlin, and what
``validate``/``list`` say about local times that are skipped, repeated or
written the Indonesian way (``09.30``)."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from collections import Counter

import pytest
from _support import load_plugin

kit = load_plugin("spi_testkit")

BERLIN_CONFIG = """\
    timezone: Europe/Berlin
    posts_dir: posts
    state: .spi/state.db
    accounts:
      arsip:
        platform: file
        path: outbox/arsip.jsonl
    """


def post(pid: str, publish_at: str, extra: str = "") -> str:
    return textwrap.dedent(f"""\
        id: {pid}
        status: approved
        publish_at: {publish_at}
        accounts: [arsip]
        text: Tolak gratifikasi, laporkan ke KPK.
        """) + extra


def validate(run_cli) -> list[dict]:
    result = run_cli("post", "validate", "--format", "json")
    return json.loads(result.output)["problems"]


def publish_due_at(root, when_utc: str) -> subprocess.CompletedProcess:
    """``spi post publish-due`` in a real process whose clock starts at ``when_utc``."""
    env = kit.env()
    env["TZ"] = "UTC"           # faketime reads '@...' in the process's local zone
    cmd = ["faketime", "-f", f"@{when_utc}", kit.SPI, "--config", str(root / "config.yaml"), "post", "publish-due"]
    return subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(shutil.which("faketime") is None, reason="needs Debian's faketime (apt-get install faketime)")
def test_daily_post_publishes_once_across_the_fall_back_and_half_hourly_follows_the_wall_clock(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["arsip"]), timezone_name="Europe/Berlin")
    kit.write_post(tmp_path, "harian", "2026-10-20 02:30", ["arsip"], repeat="30 2 * * *")
    kit.write_post(tmp_path, "setengah-jam", "2026-10-25T02:00:00+02:00", ["arsip"], repeat="*/30 * * * *")
    # 02:20 CEST, 02:31 CEST, 02:01 CET, 02:31 CET, 03:05 CET
    for when in ("2026-10-25 00:20:00", "2026-10-25 00:31:00", "2026-10-25 01:01:00", "2026-10-25 01:31:00",
                 "2026-10-25 02:05:00"):
        r = publish_due_at(tmp_path, when)
        assert r.returncode == 0, f"{when}: {r.stdout}{r.stderr}"
    lines = kit.outbox(tmp_path, "arsip")
    by_post = Counter(p for p, _, _ in kit.keys(lines))
    daily = [occ for p, _, occ in kit.keys(lines) if p == "harian"]
    assert daily == ["2026-10-25T00:30:00+00:00"], daily                   # 02:30 CEST only, never 02:30 CET
    half = [occ for p, _, occ in kit.keys(lines) if p == "setengah-jam"]
    assert half == [f"2026-10-25T{t}:00+00:00" for t in ("00:00", "00:30", "01:00", "01:30", "02:00")], half
    assert by_post == {"harian": 1, "setengah-jam": 5}
    rows = kit.ledger_rows(tmp_path)
    assert not [r for r in rows if r.state in ("skipped", "missed", "failed", "unknown")], rows


def test_publish_at_in_a_gap_or_an_overlap_is_a_warning_naming_the_instant(camp, run_cli):
    camp.write_config(BERLIN_CONFIG)     # 2030: clocks skip 31 Mar 02:00-03:00, repeat 27 Oct 02:00-03:00
    camp.post("gap.yaml", post("lompat", "2030-03-31 02:30"))
    camp.post("overlap.yaml", post("dua-kali", "2030-10-27 02.30"))
    camp.post("offset.yaml", post("jelas", "2030-10-27T02:30+01:00"))          # explicit: no warning
    camp.post("repeat.yaml", post("harian", "2030-03-31 02:30", "repeat: '30 2 * * *'\n"))
    warnings = [(p["post"], p["line"], p["message"]) for p in validate(run_cli) if p["severity"] == "warning"]
    assert sorted(warnings) == [
        ("dua-kali", 3, "publish_at 2030-10-27 02:30 happens twice in Europe/Berlin (the clocks go back 1h); the "
                        "first, 2030-10-27 02:30 +02:00, is used (write 2030-10-27T02:30+01:00 for the second)"),
        ("lompat", 3, "publish_at 2030-03-31 02:30 does not exist in Europe/Berlin: the clocks jump 1h forward "
                      "then; 2030-03-31 03:00 +02:00 is used"),
    ]
    rows = {r["id"]: r["next_publish_at"] for r in json.loads(run_cli("post", "list", "--format", "json").output)}
    assert rows["lompat"] == "2030-03-31T03:00:00+02:00"
    assert rows["dua-kali"] == "2030-10-27T02:30:00+02:00"
    assert rows["jelas"] == "2030-10-27T02:30:00+01:00"
    assert rows["harian"] == "2030-03-31T03:00:00+02:00"


def test_indonesian_clock_times_are_read_as_times_never_as_fractions(camp, run_cli):
    camp.post("titik.yaml", post("titik", "2030-12-07 09.30"))
    camp.post("detik.yaml", post("detik", "2030-12-07 09.30.15"))
    camp.post("pecahan.yaml", post("pecahan", "2030-12-07 09:30.5"))
    camp.post("satu-digit.yaml", post("satu-digit", "2030-12-07 09.3"))
    errors = {p["post"]: p["message"] for p in validate(run_cli) if p["severity"] == "error"}
    assert set(errors) == {"pecahan", "satu-digit"}
    assert errors["pecahan"].startswith("publish_at '2030-12-07 09:30.5' is not a clock time: write 09:30 or 09.30")
    assert errors["satu-digit"].startswith("publish_at '2030-12-07 09.3' is not a clock time")
    rows = {r["id"]: r["next_publish_at"] for r in json.loads(run_cli("post", "list", "--format", "json").output)}
    assert rows["titik"] == "2030-12-07T09:30:00+08:00"
    assert rows["detik"] == "2030-12-07T09:30:15+08:00"


def test_repeat_problems_name_the_field_and_an_unquoted_star_gets_the_quote_hint(camp, run_cli):
    camp.post("a.yaml", post("a", "2030-12-07 09:00", "repeat: '0 9 ٩ * *'\n"))
    camp.post("b.yaml", post("b", "2030-12-07 09:00", "repeat: '*/90 * * * *'\n"))
    camp.post("c.yaml", post("c", "2030-12-07 09:00", "repeat: */15 * * * *\n"))
    camp.post("d.yaml", post("d", "2030-12-07 09:00", "repeat: '30 4 1,15 * last'\n"))
    probs = validate(run_cli)
    got = {(p["file"].rsplit("/", 1)[-1], p["line"], p["severity"]): p["message"] for p in probs}
    assert got == {
        ("a.yaml", 6, "error"): "invalid cron expression '0 9 ٩ * *': day-of-month '٩' contains '٩' (U+0669), "
                                "which is not an ASCII digit; write digits 0-9",
        ("b.yaml", 6, "warning"): "repeat '*/90 * * * *': minute '*/90' only matches 0: the step /90 is larger than "
                                  "the range (cron cannot repeat across a longer period)",
        ("c.yaml", 6, "error"): "YAML syntax error: did not find expected alphabetic or numeric character (a value "
                                "starting with '*' must be quoted: repeat: \"*/15 * * * *\")",
        ("d.yaml", 6, "error"): "invalid cron expression '30 4 1,15 * last': day-of-week 'last' is not crontab "
                                "syntax (cron has no 'last' or 'weekday' days)",
    }
