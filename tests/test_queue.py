"""Time slots ("queue" posting), README "Time slots": the slot grammar, the
order posts take free slots in, stability under edits, cancellation freeing a
slot, reshuffle, concurrent assignment, and real ``spi post publish-due``
processes (under Debian's ``faketime``) publishing a queued post at its slot
through the ``file`` platform."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import textwrap
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from _support import load_plugin

from spi_campaign.ledger import SqliteLedger
from spi_campaign.slotspec import iter_slots, parse_rule, parse_slots

kit = load_plugin("spi_testkit")
UTC = kit.UTC
WITA = ZoneInfo("Asia/Makassar")
needs_faketime = pytest.mark.skipif(shutil.which("faketime") is None,
                                    reason="needs Debian's faketime (apt-get install faketime)")

# Monday 7 December 2026, 08:00 WITA: the clock of most tests.
MONDAY_0800 = "2026-12-07 00:00:00"

CONFIG = """\
    timezone: Asia/Makassar
    posts_dir: posts
    state: .spi/state.db
    accounts:
      arsip:
        platform: file
        path: outbox/arsip.jsonl
        slots: ["MON-FRI 09:00", "SAT 10.00"]
      kominfo:
        platform: file
        path: outbox/kominfo.jsonl
    """


def wita(*args) -> str:
    """A WITA wall time as the UTC ISO text the helpers compare."""
    return datetime(*args, tzinfo=WITA).astimezone(UTC).isoformat()


def setup(root, config: str = CONFIG) -> None:
    (root / "posts").mkdir(exist_ok=True)
    (root / "config.yaml").write_text(textwrap.dedent(config), encoding="utf-8")
    kit.init_ledger(root, "2026-01-01T00:00:00.000000Z")


def queued(root, pid: str, *, queue: str = "arsip", status: str = "approved", extra: str = "",
           name: str | None = None) -> None:
    path = root / "posts" / f"{name or pid}.yaml"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"id: {pid}\nstatus: {status}\nqueue: {queue}\n"
                   f"text: \"Tolak gratifikasi, laporkan ke KPK ({pid}).\"\n{extra}", encoding="utf-8")
    os.replace(tmp, path)


def spi_at(root, when_utc: str, *args: str) -> subprocess.CompletedProcess:
    """``spi ARGS`` in a real process whose clock starts at ``when_utc``."""
    env = kit.env()
    env["TZ"] = "UTC"           # faketime reads '@...' in the process's local zone
    cmd = ["faketime", "-f", f"@{when_utc}", kit.SPI, "--config", str(root / "config.yaml"), *args]
    return subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=120)


def slots(root) -> dict[str, str]:
    """post -> slot (UTC ISO) straight from the ledger's queue_slots table."""
    con = sqlite3.connect(root / ".spi" / "state.db")
    try:
        rows = con.execute("SELECT post, slot FROM queue_slots").fetchall()
    finally:
        con.close()
    return {p: datetime.fromisoformat(s).isoformat() for p, s in rows}


def queue_json(root, when_utc: str = MONDAY_0800, *args: str) -> list[dict]:
    r = spi_at(root, when_utc, "queue", "--format", "json", *args)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


# ----- grammar ---------------------------------------------------------------------------------

def test_slot_grammar_days_ranges_lists_indonesian_names_and_dotted_times():
    assert parse_rule("MON-FRI 09:00").days == frozenset(range(5))
    assert parse_rule("sat 10.00").times[0].hour == 10                     # 10.00: the Indonesian 10:00
    assert parse_rule("DAILY 16.30").days == frozenset(range(7))
    assert parse_rule("08:15").days == frozenset(range(7))
    assert parse_rule("SEN-JUM 09.00").days == parse_rule("MON-FRI 09:00").days
    assert parse_rule("MON, WED,FRI 08:00 13:00").days == frozenset({0, 2, 4})
    assert len(parse_rule("MON, WED,FRI 08:00 13:00").times) == 2
    assert parse_rule("FRI-MON 20:00").days == frozenset({4, 5, 6, 0})     # wraps over the weekend
    for bad, words in (("MON-FRY 09:00", "'FRY' is not a day"), ("MON-FRI", "needs a time of day"),
                       ("MON 25:00", "needs a time of day"), ("MON 09:00 09.00", "twice"), (9, "must be text")):
        with pytest.raises(ValueError, match=words):
            parse_rule(bad)


def test_slots_follow_the_wall_clock_and_skip_a_time_the_clocks_skip():
    berlin = ZoneInfo("Europe/Berlin")
    s = parse_slots("arsip", ["DAILY 02:30", "SUN 09:00"])
    start = datetime(2030, 3, 30, 0, 0, tzinfo=berlin)           # 31 Mar 2030: 02:00-03:00 does not exist
    got = [t.astimezone(berlin).strftime("%a %d %H:%M %Z") for t in iter_slots(s, berlin, start, timedelta(days=2))]
    assert got == ["Sat 30 02:30 CET", "Sun 31 09:00 CEST", "Mon 01 02:30 CEST"]


# ----- validate ------------------------------------------------------------------------------

def test_validate_names_file_line_and_post_for_queue_mistakes(tmp_path):
    setup(tmp_path, textwrap.dedent(CONFIG) + "slots:\n  \"@bali\": [\"MON 09:00\"]\n  arsip: [\"TUE 10:00\"]\n"
                             "  kominfo: [\"MON-FRY 09:00\"]\n")
    queued(tmp_path, "dua-waktu", extra="publish_at: 2026-12-09 09:00\n")
    queued(tmp_path, "tanpa-slot", queue="kominfo")
    queued(tmp_path, "salah-akun", queue="arsp")
    queued(tmp_path, "prioritas", extra="priority: tinggi\n")
    r = kit.spi(tmp_path, "post", "validate", "--format", "json")
    assert r.returncode == 1, r.stdout + r.stderr
    problems = [(os.path.basename(p["file"]), p["line"], p["post"], p["message"])
                for p in json.loads(r.stdout)["problems"] if p["severity"] == "error"]
    text = "\n".join(map(str, problems))
    assert ("config.yaml", 13, None, "slots: unknown group '@bali' (define it under groups:)") in problems, text
    assert ("config.yaml", 14, None, "slots: 'arsip' already has slots under accounts:; keep one of the two") \
        in problems, text
    assert any(f == "config.yaml" and line == 15 and "'FRY' is not a day" in m for f, line, _, m in problems), text
    assert ("dua-waktu.yaml", 3, "dua-waktu", "a post has either publish_at (an exact time) or queue (the next "
            "free slot), not both") in problems, text
    assert any(p == "salah-akun" and line == 3 and "unknown account 'arsp' (did you mean 'arsip'?)" in m
               for _, line, p, m in problems), text
    assert any(p == "prioritas" and line == 5 and "priority must be a whole number" in m
               for _, line, p, m in problems), text


def test_a_queue_without_slots_is_an_error_naming_where_to_add_them(tmp_path):
    setup(tmp_path)
    queued(tmp_path, "tanpa-slot", queue="kominfo")
    r = kit.spi(tmp_path, "post", "validate")
    assert r.returncode == 1
    assert "queue 'kominfo' has no time slots; add slots: [\"MON-FRI 09:00\"] to account 'kominfo'" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


# ----- order, stability, cancellation, reshuffle (real processes, faketime) -------------------------

@needs_faketime
def test_posts_take_free_slots_by_priority_then_file_then_id_and_never_move_afterwards(tmp_path):
    setup(tmp_path)
    queued(tmp_path, "b-kedua", name="2-b")
    queued(tmp_path, "a-pertama", name="1-a")
    queued(tmp_path, "penting", name="9-penting", extra="priority: 10\n")
    queued(tmp_path, "nanti", name="0-nanti", extra="not_before: 2026-12-11\n")    # Friday
    r = spi_at(tmp_path, MONDAY_0800, "post", "publish-due")
    assert r.returncode == 0, r.stdout + r.stderr
    first = slots(tmp_path)
    assert first == {"penting": wita(2026, 12, 7, 9, 0), "a-pertama": wita(2026, 12, 8, 9, 0),
                     "b-kedua": wita(2026, 12, 9, 9, 0), "nanti": wita(2026, 12, 11, 9, 0)}

    # A new, more urgent post; an edited text; an edited priority: nothing placed moves.
    queued(tmp_path, "mendesak", name="0-mendesak", extra="priority: 99\n")
    (tmp_path / "posts" / "2-b.yaml").write_text(
        "id: b-kedua\nstatus: approved\nqueue: arsip\npriority: 50\ntext: Teks yang diperbaiki.\n", encoding="utf-8")
    r = spi_at(tmp_path, "2026-12-07 00:10:00", "post", "publish-due")
    assert r.returncode == 0, r.stdout + r.stderr
    second = slots(tmp_path)
    assert {k: second[k] for k in first} == first
    assert second["mendesak"] == wita(2026, 12, 10, 9, 0)        # the first free slot: Thursday
    rows = {(r.post, r.occurrence.isoformat()): r.state for r in kit.ledger_rows(tmp_path)}
    assert rows == {(p, s): "pending" for p, s in second.items()}

    # `spi queue` shows the same, in slot order, as assigned.
    shown = queue_json(tmp_path, "2026-12-07 00:11:00")
    assert [(e["post"], e["assigned"]) for e in shown] == [
        ("penting", True), ("a-pertama", True), ("b-kedua", True), ("mendesak", True), ("nanti", True)]
    assert shown[0]["slot"] == "2026-12-07T09:00:00+08:00" and shown[0]["states"] == {"arsip": "pending"}


@needs_faketime
def test_publish_due_publishes_a_queued_post_at_its_slot_and_list_and_status_show_the_slot(tmp_path):
    setup(tmp_path)
    queued(tmp_path, "antre")
    r = spi_at(tmp_path, MONDAY_0800, "post", "publish-due")
    assert r.returncode == 0 and kit.outbox(tmp_path, "arsip") == [], r.stdout + r.stderr
    listed = json.loads(spi_at(tmp_path, MONDAY_0800, "post", "list", "--format", "json").stdout)
    assert [(x["id"], x["next_publish_at"], x["queue"], x["slot_assigned"]) for x in listed] == [
        ("antre", "2026-12-07T09:00:00+08:00", "arsip", True)]
    # calendar and plan show the slot too
    cal = json.loads(spi_at(tmp_path, MONDAY_0800, "calendar", "--month", "2026-12", "--format", "json").stdout)
    assert [(c["post"], c["at"], c["state"]) for c in cal] == [("antre", "2026-12-07T09:00:00+08:00", "pending")]
    plan = json.loads(spi_at(tmp_path, MONDAY_0800, "plan", "--days", "3", "--format", "json").stdout)
    assert [p["post"] for p in plan["publications"]] == ["antre"]

    r = spi_at(tmp_path, "2026-12-07 00:59:30", "post", "publish-due")       # 08:59:30: not yet
    assert r.returncode == 0 and kit.outbox(tmp_path, "arsip") == [], r.stdout + r.stderr
    r = spi_at(tmp_path, "2026-12-07 01:00:20", "post", "publish-due")       # 09:00:20
    assert r.returncode == 0, r.stdout + r.stderr
    out = kit.outbox(tmp_path, "arsip")
    assert kit.keys(out) == [("antre", "arsip", wita(2026, 12, 7, 9, 0))]
    assert "Tolak gratifikasi" in out[0]["text"]
    r = spi_at(tmp_path, "2026-12-07 01:05:00", "post", "publish-due")       # never twice
    assert r.returncode == 0 and len(kit.outbox(tmp_path, "arsip")) == 1

    status = json.loads(spi_at(tmp_path, "2026-12-07 01:06:00", "post", "status", "antre", "--format", "json").stdout)
    assert [(s["occurrence"], s["state"], s["queue"]) for s in status] == [
        ("2026-12-07T09:00:00+08:00", "published", "arsip")]
    table = spi_at(tmp_path, "2026-12-07 01:06:00", "post", "status", "antre").stdout
    assert "slot of queue arsip" in table


@needs_faketime
def test_cancelling_or_deleting_a_queued_post_frees_its_slot_for_the_next_post(tmp_path):
    setup(tmp_path)
    for n, pid in enumerate(("satu", "dua", "tiga")):
        queued(tmp_path, pid, name=f"{n}-{pid}")
    assert spi_at(tmp_path, MONDAY_0800, "post", "publish-due").returncode == 0
    before = slots(tmp_path)
    assert before == {"satu": wita(2026, 12, 7, 9, 0), "dua": wita(2026, 12, 8, 9, 0),
                      "tiga": wita(2026, 12, 9, 9, 0)}

    queued(tmp_path, "satu", name="0-satu", status="cancelled")
    (tmp_path / "posts" / "1-dua.yaml").unlink()
    queued(tmp_path, "empat", name="4-empat")
    queued(tmp_path, "lima", name="5-lima")
    r = spi_at(tmp_path, "2026-12-07 00:05:00", "post", "publish-due")
    assert r.returncode == 0, r.stdout + r.stderr
    after = slots(tmp_path)
    # tiga keeps its slot; the two freed slots go to the next posts placed, in order.
    assert after == {"tiga": wita(2026, 12, 9, 9, 0), "empat": wita(2026, 12, 7, 9, 0),
                     "lima": wita(2026, 12, 8, 9, 0)}
    states = {(r.post, r.occurrence.isoformat()): r.state for r in kit.ledger_rows(tmp_path)}
    assert states[("satu", wita(2026, 12, 7, 9, 0))] == "skipped"
    assert states[("dua", wita(2026, 12, 8, 9, 0))] == "skipped"
    assert states[("empat", wita(2026, 12, 7, 9, 0))] == "pending"

    # At 09:00 only the post now holding the slot goes out.
    assert spi_at(tmp_path, "2026-12-07 01:00:10", "post", "publish-due").returncode == 0
    assert kit.keys(kit.outbox(tmp_path, "arsip")) == [("empat", "arsip", wita(2026, 12, 7, 9, 0))]


@needs_faketime
def test_reshuffle_replans_on_purpose_and_keeps_what_went_out(tmp_path):
    setup(tmp_path)
    for n, pid in enumerate(("awal", "tengah", "akhir")):
        queued(tmp_path, pid, name=f"{n}-{pid}")
    assert spi_at(tmp_path, MONDAY_0800, "post", "publish-due").returncode == 0
    assert spi_at(tmp_path, "2026-12-07 01:00:10", "post", "publish-due").returncode == 0      # awal goes out
    # Tuesday 08:00: a new top-priority post queues after the others (stable)...
    queued(tmp_path, "darurat", name="9-darurat", extra="priority: 100\n")
    assert spi_at(tmp_path, "2026-12-08 00:00:00", "post", "publish-due").returncode == 0
    assert slots(tmp_path)["darurat"] == wita(2026, 12, 10, 9, 0)

    # ...unless the queue is re-planned on purpose; off a terminal that needs --yes.
    r = spi_at(tmp_path, "2026-12-08 00:01:00", "queue", "reshuffle")
    assert r.returncode == 2 and "add --yes" in r.stderr, r.stdout + r.stderr
    assert slots(tmp_path)["darurat"] == wita(2026, 12, 10, 9, 0)
    r = spi_at(tmp_path, "2026-12-08 00:01:00", "queue", "reshuffle", "--dry-run")
    assert r.returncode == 0 and "3 post(s) would move" in r.stdout, r.stdout + r.stderr
    assert slots(tmp_path)["darurat"] == wita(2026, 12, 10, 9, 0)
    r = spi_at(tmp_path, "2026-12-08 00:01:00", "queue", "reshuffle", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "darurat (arsip): 2026-12-10 09:00 +08:00 -> 2026-12-08 09:00 +08:00" in r.stdout
    assert slots(tmp_path) == {"awal": wita(2026, 12, 7, 9, 0), "darurat": wita(2026, 12, 8, 9, 0),
                               "tengah": wita(2026, 12, 9, 9, 0), "akhir": wita(2026, 12, 10, 9, 0)}
    # The next run follows the new plan: the old pending rows are skipped, nothing is published twice.
    assert spi_at(tmp_path, "2026-12-08 01:00:10", "post", "publish-due").returncode == 0
    assert kit.keys(kit.outbox(tmp_path, "arsip")) == [("awal", "arsip", wita(2026, 12, 7, 9, 0)),
                                                         ("darurat", "arsip", wita(2026, 12, 8, 9, 0))]
    skipped = [r for r in kit.ledger_rows(tmp_path) if r.state == "skipped"]
    assert sorted(r.post for r in skipped) == ["akhir", "darurat", "tengah"]
    assert all("slot in queue 'arsip' moved" in r.error for r in skipped)


# ----- concurrency ---------------------------------------------------------------------------------

@needs_faketime
def test_two_runs_assigning_at_once_never_give_two_posts_one_slot(tmp_path):
    setup(tmp_path)
    for i in range(30):
        queued(tmp_path, f"p{i:02d}")
    env = kit.env()
    env["TZ"] = "UTC"
    cmd = ["faketime", "-f", f"@{MONDAY_0800}", kit.SPI, "--config", str(tmp_path / "config.yaml"),
           "post", "publish-due"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, out + err
    got = slots(tmp_path)
    assert len(got) == 30 and len(set(got.values())) == 30
    # in the documented order: file path, so p00 first, every weekday and Saturday in turn
    assert [p for p, _ in sorted(got.items(), key=lambda kv: kv[1])] == [f"p{i:02d}" for i in range(30)]
    pending = [r for r in kit.ledger_rows(tmp_path) if r.state == "pending"]
    assert len(pending) == 30 and len({r.occurrence for r in pending}) == 30


def test_an_insert_that_loses_the_race_takes_the_next_candidate_and_the_index_forbids_doubles(tmp_path):
    db = tmp_path / "state.db"
    one, two = SqliteLedger.open(db), SqliteLedger.open(db)      # two connections, as two processes have
    try:
        now = kit.utc(2026, 12, 7, 0, 0)
        s1, s2 = kit.utc(2026, 12, 7, 1, 0), kit.utc(2026, 12, 8, 1, 0)
        assert one.queue_assign("arsip", [("a", None)], [s1, s2], now)["a"].slot == s1
        # `two` read the queue before `one` wrote: it offers s1 first, loses it, takes s2
        assert two.queue_assign("arsip", [("n", None), ("a", None)], [s1, s2], now) == {
            "n": two.queue_slots(posts=["n"])[0], "a": one.queue_slots(posts=["a"])[0]}
        assert two.queue_slots(posts=["n"])[0].slot == s2
        assert two.queue_assign("arsip", [("m", None)], [s1, s2], now) == {}          # nothing left: not placed
        assert one.queue_assign("@bali", [("m", None)], [s1], now)["m"].slot == s1    # another queue: free
    finally:
        one.close()
        two.close()
    con = sqlite3.connect(db)
    try:
        with pytest.raises(sqlite3.IntegrityError):
            con.execute("INSERT INTO queue_slots VALUES ('x', 'arsip', ?, '')",
                        (s1.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),))
    finally:
        con.close()
