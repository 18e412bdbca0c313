"""``spi calendar``: real campaign folders, the real ``spi`` process, the
ledger written by a real ``publish-due`` (under Debian's faketime), ICS
parsed back with the icalendar library."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from _support import load_plugin

kit = load_plugin("spi_testkit")
needs_faketime = pytest.mark.skipif(shutil.which("faketime") is None, reason="needs Debian's faketime")
KEYS = ["post", "title", "topic", "status", "account", "platform", "at", "at_utc", "state", "url"]


def config(root: Path, tz: str = "Asia/Makassar", extra: str = "") -> None:
    (root / "posts").mkdir(parents=True, exist_ok=True)
    (root / "config.yaml").write_text(textwrap.dedent(f"""\
        name: kampanye-uji
        timezone: {tz}
        state: .spi/state.db
        accounts:
          arsip:
            platform: file
            path: outbox/arsip.jsonl
          kominfo-fb:
            platform: file
            path: outbox/fb.jsonl
          kominfo-x:
            platform: x
            username: kominfo_uji
        """) + extra, encoding="utf-8")


def post(root: Path, pid: str, body: str) -> None:
    (root / "posts" / f"{pid}.yaml").write_text(f"id: {pid}\n" + textwrap.dedent(body), encoding="utf-8")


def spi(root: Path, *args: str, env_extra: dict | None = None, fake: str | None = None) -> subprocess.CompletedProcess:
    env = kit.env() | (env_extra or {})
    cmd = [kit.SPI, "--config", str(root / "config.yaml"), *args]
    if fake:
        env["TZ"] = "UTC"
        cmd = ["faketime", "-f", f"@{fake}", *cmd]
    return subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=120)


def cal_json(root: Path, *args: str) -> list[dict]:
    r = spi(root, "calendar", "--format", "json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_json_contract_recurring_until_and_dst_offsets(tmp_path):
    config(tmp_path, tz="Europe/Berlin")
    post(tmp_path, "mingguan", """\
        title: Pengingat mingguan
        topic: gratifikasi
        status: approved
        publish_at: 2026-10-18 09:00
        repeat: "0 9 * * SUN"
        until: 2026-11-05 23:59
        accounts: [arsip]
        text: Tolak gratifikasi, laporkan ke KPK.
        """)
    rows = cal_json(tmp_path, "--from", "2026-10-01", "--to", "2026-11-30")
    assert all(list(r) == KEYS for r in rows)
    # 25 Oct: clocks go back at 03:00, so 09:00 that day is CET (+01:00); 8 Nov is after 'until'
    assert [(r["at"], r["at_utc"]) for r in rows] == [
        ("2026-10-18T09:00:00+02:00", "2026-10-18T07:00:00Z"),
        ("2026-10-25T09:00:00+01:00", "2026-10-25T08:00:00Z"),
        ("2026-11-01T09:00:00+01:00", "2026-11-01T08:00:00Z"),
    ]
    assert {(r["state"], r["url"], r["platform"], r["topic"], r["title"]) for r in rows} == {
        ("planned", None, "file", "gratifikasi", "Pengingat mingguan")}
    assert not (tmp_path / ".spi" / "state.db").exists()     # read-only: the ledger is never created


def test_every_post_account_occurrence_once_sorted_and_filters(tmp_path):
    config(tmp_path)
    post(tmp_path, "harian", """\
        topic: pelaporan
        status: approved
        publish_at: 2026-12-07 08:00
        repeat: "0 8 * * *"
        accounts: [arsip, kominfo-fb]
        text: Laporkan gratifikasi.
        """)
    post(tmp_path, "konsep", """\
        topic: spi
        status: draft
        publish_at: 2026-12-08 07:30
        accounts: [kominfo-x]
        text: Apa itu SPI?
        """)
    rows = cal_json(tmp_path, "--from", "2026-12-07", "--to", "2026-12-09")
    keys = [(r["post"], r["account"], r["at"]) for r in rows]
    assert len(keys) == len(set(keys)) == 3 * 2 + 1
    assert [r["at_utc"] for r in rows] == sorted(r["at_utc"] for r in rows)
    assert [r["post"] for r in rows if r["status"] == "draft"] == ["konsep"]
    assert {r["account"] for r in cal_json(tmp_path, "--from", "2026-12-07", "--to", "2026-12-09",
                                           "--account", "kominfo-fb")} == {"kominfo-fb"}
    assert {r["post"] for r in cal_json(tmp_path, "--month", "2026-12", "--topic", "spi")} == {"konsep"}
    assert {r["post"] for r in cal_json(tmp_path, "--month", "2026-12", "--status", "draft")} == {"konsep"}
    assert len(cal_json(tmp_path, "--month", "2026-12")) == 25 * 2 + 1      # 7..31 December, daily
    bad = spi(tmp_path, "calendar", "--month", "Desember")
    assert bad.returncode == 2 and "YYYY-MM" in bad.stderr
    unknown = spi(tmp_path, "calendar", "--account", "kominfo-ig")
    assert unknown.returncode == 1 and "unknown account 'kominfo-ig'" in unknown.stderr
    assert "Traceback" not in unknown.stderr


@needs_faketime
def test_published_row_is_merged_with_its_url_and_matches_the_engine(tmp_path):
    config(tmp_path)
    kit.init_ledger(tmp_path, "2026-01-01T00:00:00.000000Z")
    post(tmp_path, "harian", """\
        topic: pelaporan
        status: approved
        publish_at: 2026-12-07 08:00
        repeat: "0 8 * * *"
        accounts: [arsip]
        text: Laporkan gratifikasi.
        """)
    r = spi(tmp_path, "post", "publish-due", fake="2026-12-08 00:01:00")     # 08:01 WITA on 8 December
    assert r.returncode == 0, r.stderr
    rows = cal_json(tmp_path, "--from", "2026-12-07", "--to", "2026-12-09")
    assert [(r["at"], r["state"]) for r in rows] == [
        ("2026-12-07T08:00:00+08:00", "planned"),        # before the catch-up window: the ledger has no row
        ("2026-12-08T08:00:00+08:00", "published"),
        ("2026-12-09T08:00:00+08:00", "pending"),        # the planner's next occurrence
    ]
    published = [r for r in rows if r["state"] == "published"]
    assert len(published) == 1
    from spi_campaign.ledger import SqliteLedger

    led = SqliteLedger.open(tmp_path / ".spi" / "state.db")
    try:
        (row,) = led.rows(states=("published",))
    finally:
        led.close()
    assert published[0]["url"] == row.url and row.url.startswith("file://")
    assert published[0]["at_utc"] == row.occurrence.strftime("%Y-%m-%dT%H:%M:%SZ")
    only = cal_json(tmp_path, "--month", "2026-12", "--status", "published")
    assert [r["at"] for r in only] == ["2026-12-08T08:00:00+08:00"]


def test_ics_uid_stable_timezone_status_and_text_per_account(tmp_path):
    from icalendar import Calendar

    config(tmp_path)
    body = """\
        title: Tolak parsel
        topic: zero-gratifikasi
        status: {status}
        publish_at: 2026-12-{day} 09:00
        accounts: [arsip, kominfo-x]
        text: Tolak parsel hari raya. Laporkan gratifikasi ke KPK.
        link: https://gol.kpk.go.id
        variants:
          x:
            text: Tolak parsel! Lapor ke KPK.
        """
    for pid, status, day in (("disetujui", "approved", "10"), ("konsep", "draft", "11"), ("batal", "cancelled", "12")):
        post(tmp_path, pid, body.format(status=status, day=day))
    out = tmp_path / "kampanye.ics"
    r1 = spi(tmp_path, "calendar", "--month", "2026-12", "--format", "ics", "--output", str(out))
    assert r1.returncode == 0, r1.stderr
    first = out.read_bytes()
    r2 = spi(tmp_path, "calendar", "--month", "2026-12", "--format", "ics", "-o", str(tmp_path / "lagi.ics"))
    assert r2.returncode == 0 and (tmp_path / "lagi.ics").read_bytes() == first     # same events, byte for byte
    cal = Calendar.from_ical(first)
    tzs = [c for c in cal.walk("VTIMEZONE")]
    assert [str(t["TZID"]) for t in tzs] == ["Asia/Makassar"]
    events = cal.walk("VEVENT")
    assert len(events) == 6 and len({str(e["UID"]) for e in events}) == 6
    preview = json.loads(spi(tmp_path, "post", "preview", "--format", "json").stdout)
    texts = {(p["post"], p["account"]): p["text"] for p in preview}
    status = {"disetujui": "CONFIRMED", "konsep": "TENTATIVE", "batal": "CANCELLED"}
    for e in events:
        pid, acc = str(e["X-SPI-POST"]), str(e["X-SPI-ACCOUNT"])
        start = e["DTSTART"]
        assert start.params["TZID"] == "Asia/Makassar"
        assert start.dt.utcoffset().total_seconds() == 8 * 3600 and start.dt.hour == 9
        assert str(e["SUMMARY"]) == "Tolak parsel"
        assert str(e["STATUS"]) == status[pid]
        assert str(e["TRANSP"]) == "TRANSPARENT"
        assert e["CATEGORIES"].cats == ["zero-gratifikasi"]
        assert str(e["DESCRIPTION"]) == texts[(pid, acc)]
        assert "URL" not in e
    assert texts[("disetujui", "kominfo-x")] != texts[("disetujui", "arsip")]    # the variant, per account
    # the UID names the publication, not the run or the machine: a copy of the campaign elsewhere agrees
    other = tmp_path / "salinan"
    shutil.copytree(tmp_path / "posts", other / "posts")
    shutil.copy(tmp_path / "config.yaml", other / "config.yaml")
    r3 = spi(other, "calendar", "--month", "2026-12", "--format", "ics")
    assert {str(e["UID"]) for e in Calendar.from_ical(r3.stdout).walk("VEVENT")} == {str(e["UID"]) for e in events}


@needs_faketime
def test_ics_published_event_has_url(tmp_path):
    from icalendar import Calendar

    config(tmp_path)
    kit.init_ledger(tmp_path, "2026-01-01T00:00:00.000000Z")
    post(tmp_path, "sekali", """\
        title: Sekali saja
        status: approved
        publish_at: 2026-12-08 08:00
        accounts: [arsip]
        text: Laporkan gratifikasi.
        """)
    assert spi(tmp_path, "post", "publish-due", fake="2026-12-08 00:01:00").returncode == 0
    r = spi(tmp_path, "calendar", "--month", "2026-12", "--format", "ics")
    (ev,) = Calendar.from_ical(r.stdout).walk("VEVENT")
    assert str(ev["URL"]).startswith("file://") and str(ev["STATUS"]) == "CONFIRMED"
    assert str(ev["X-SPI-STATE"]) == "published"


LONG_ID = "pengingat-jumat-tolak-gratifikasi-dan-laporkan-ke-kpk-lewat-gol-kpk-go-id-sekarang"


@pytest.mark.parametrize("columns", ["80", "40"])
def test_table_never_breaks_ids_or_times_piped(tmp_path, columns):
    config(tmp_path, extra="".join(f"  akun-arsip-nomor-{i:02d}:\n    platform: file\n    path: outbox/{i}.jsonl\n"
                                   for i in range(12)))
    accounts = ", ".join(f"akun-arsip-nomor-{i:02d}" for i in range(12))
    post(tmp_path, LONG_ID, f"""\
        topic: zero-gratifikasi
        status: approved
        publish_at: 2026-12-11 09:00
        repeat: "0 9 * * FRI"
        until: 2026-12-25 10:00
        accounts: [{accounts}]
        text: Tolak gratifikasi.
        """)
    r = spi(tmp_path, "calendar", "--month", "2026-12", env_extra={"COLUMNS": columns})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    words = r.stdout.split()
    assert words.count(LONG_ID) == 3                          # 11, 18 and 25 December, whole
    for i in range(12):
        assert words.count(f"akun-arsip-nomor-{i:02d}") == 3
    assert sum("09:00 +08:00" in ln for ln in lines) == 3
    for ln in lines:                                          # only a single atom may be longer than the line
        assert len(ln) <= int(columns) or len(ln.split()) == 1 or LONG_ID in ln, ln
    if columns == "80":
        assert "Mon     Tue" in r.stdout and "11·12" in r.stdout     # the month grid: 12 publications on the 11th
    else:
        assert "Week 50" in r.stdout and "Mon     Tue" not in r.stdout


def test_markdown_calendar(tmp_path):
    config(tmp_path)
    post(tmp_path, "satu", """\
        title: Apa itu gratifikasi? | definisi
        topic: gratifikasi
        status: approved
        publish_at: 2026-12-07 09:00
        accounts: [arsip, kominfo-fb]
        text: Gratifikasi adalah pemberian dalam arti luas.
        """)
    r = spi(tmp_path, "calendar", "--month", "2026-12", "--format", "md")
    assert r.returncode == 0, r.stderr
    assert ("| Mon 2026-12-07 09:00 | `satu` | Apa itu gratifikasi? \\| definisi | gratifikasi | "
            "arsip, kominfo-fb | approved |") in r.stdout.splitlines()


def test_docs_content_calendar_is_what_spi_calendar_prints(tmp_path):
    """docs/content.md's calendar is generated: it must match the command's
    output on the shipped campaign (copied, so no developer ledger is read)."""
    from conftest import ROOT

    shutil.copytree(ROOT / "posts", tmp_path / "posts")
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    cmd = "spi calendar --from 2026-12-07 --to 2027-01-03 --format md"
    r = spi(tmp_path, *cmd.split()[1:])
    assert r.returncode == 0, r.stderr
    doc = (ROOT / "docs" / "content.md").read_text(encoding="utf-8")
    start = doc.index(f"<!-- {cmd} -->\n") + len(f"<!-- {cmd} -->\n")
    assert doc[start:doc.index("<!-- end of spi calendar -->")] == r.stdout
