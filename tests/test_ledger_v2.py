"""Ledger schema v2: the in-place migration of a ledger written by the
previous release, the flat-cost queries, campaign binding and identity."""

from __future__ import annotations

import os
import shutil
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from spi_campaign.errors import LedgerError
from spi_campaign.ledger import SCHEMA_VERSION, Change, Owner, Publication, SqliteLedger

DATA = Path(__file__).parent / "data" / "ledger"
NOW = datetime(2026, 12, 9, 3, 0, tzinfo=timezone.utc)


def test_a_ledger_written_by_the_previous_release_is_migrated_in_place(tmp_path):
    # tests/data/ledger/v1-state.db was written by spi at commit c359636 (schema 1).
    path = tmp_path / "state.db"
    shutil.copy(DATA / "v1-state.db", path)
    before = sqlite3.connect(path).execute(
        "SELECT post, account, occurrence, state, url FROM publications ORDER BY 1, 2").fetchall()
    assert sqlite3.connect(path).execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("1",)
    led = SqliteLedger.open(path)
    try:
        assert led.meta("schema_version") == SCHEMA_VERSION
        after = [(r.post, r.account, r.occurrence.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), r.state, r.url)
                 for r in sorted(led.rows(), key=lambda r: (r.post, r.account))]
        assert after == before and len(after) == 5
        assert led.counts() == {"missed": 1, "pending": 2, "published": 2}
        # the indexes every hot query needs are there
        names = {r[0] for r in led._read("SELECT name FROM sqlite_master WHERE type='index'")}
        assert {"publications_claim", "publications_newest", "publications_state"} <= names
        plan = " ".join(str(r) for r in led._read(
            "EXPLAIN QUERY PLAN SELECT post FROM publications WHERE account = 'a' AND state = 'pending' AND "
            "hold IS NULL AND COALESCE(next_attempt, occurrence) <= 'z' ORDER BY COALESCE(next_attempt, occurrence), "
            "occurrence, post LIMIT 1"))
        assert "publications_claim" in plan and "TEMP B-TREE" not in plan
        plan = " ".join(str(r) for r in led._read(
            "EXPLAIN QUERY PLAN SELECT post FROM publications ORDER BY occurrence DESC, post, account LIMIT 20"))
        assert "publications_newest" in plan and "TEMP B-TREE" not in plan
    finally:
        led.close()
    # opened again: nothing to migrate, same rows
    led = SqliteLedger.open(path)
    assert len(led.rows()) == 5
    led.close()


def test_state_counts_follow_every_change(tmp_path):
    led = SqliteLedger.open(tmp_path / "s.db")
    rows = [Publication(f"p{i}", "a", NOW + timedelta(minutes=i)) for i in range(5)]
    led.insert(rows, NOW)
    led.update([Change(rows[0].key, ("pending",), {"state": "skipped"})], NOW)
    claim = led.claim_next("a", Owner.me(), NOW + timedelta(hours=1), lease_until=NOW + timedelta(hours=2),
                           miss_cutoff=None)
    assert led.counts() == {"pending": 3, "skipped": 1, "publishing": 1}
    assert led.finish(claim.row.claim_token, {"state": "published"}, NOW, "ok")
    assert not led.finish(claim.row.claim_token + "x", {"state": "failed"}, NOW, "not mine")
    direct = dict(led._read("SELECT state, COUNT(*) FROM publications GROUP BY state"))
    assert led.counts() == direct == {"pending": 3, "skipped": 1, "published": 1}
    led.close()


def test_a_ledger_belongs_to_one_campaign(tmp_path):
    led = SqliteLedger.open(tmp_path / "s.db")
    led.bind("kota-denpasar")
    led.bind("kota-denpasar")
    with pytest.raises(LedgerError, match="belongs to campaign 'kota-denpasar', not 'kab-badung'"):
        led.bind("kab-badung")
    led.close()


@pytest.mark.parametrize("victim", ["", "-wal", "-shm"])
def test_a_removed_or_replaced_ledger_file_is_noticed(tmp_path, victim):
    path = tmp_path / "s.db"
    led = SqliteLedger.open(path)
    led.check_identity()
    os.unlink(f"{path}{victim}")
    with pytest.raises(LedgerError, match="was removed while spi was running"):
        led.check_identity()
    led.close()
    led = SqliteLedger.open(path)
    path.rename(tmp_path / "old.db")
    (tmp_path / "old.db").rename(path)       # same file back: fine
    led.check_identity()
    shutil.copy(path, tmp_path / "copy.db")
    os.replace(tmp_path / "copy.db", path)  # another file under the same name
    with pytest.raises(LedgerError, match="was replaced"):
        led.check_identity()
    led.close()


def test_an_empty_ledger_file_is_a_new_ledger_with_its_creation_time(tmp_path):
    path = tmp_path / "s.db"
    path.write_bytes(b"")
    before = datetime.now(timezone.utc)
    led = SqliteLedger.open(path)
    assert led.new and led.created_at >= before - timedelta(seconds=1)
    led.close()
    led = SqliteLedger.open(path)
    assert not led.new
    led.close()


def test_status_reads_a_read_only_ledger(tmp_path):
    path = tmp_path / "s.db"
    led = SqliteLedger.open(path)
    led.insert([Publication("p", "a", NOW)], NOW)
    led._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    led.close()
    ro = SqliteLedger.open(path, readonly=True)
    assert [r.post for r in ro.iter_rows()] == ["p"] and ro.counts() == {"pending": 1}
    with pytest.raises(LedgerError, match="read-only"):
        ro.insert([Publication("q", "a", NOW)], NOW)
    ro.close()


def test_full_disk_is_a_clear_error_not_a_traceback(tmp_path):
    # A real full disk: the ledger on a 1 MiB file system is not available to
    # every test runner, so SQLite's own limit stands in (max_page_count makes
    # it answer SQLITE_FULL exactly as a full disk does).
    led = SqliteLedger.open(tmp_path / "s.db")
    pages = led._read("PRAGMA page_count")[0][0]
    led._conn.execute(f"PRAGMA max_page_count = {pages + 1}")
    big = [Publication(f"p{i}", "a" * 200, NOW, error="x" * 2000) for i in range(200)]
    with pytest.raises(LedgerError, match="the disk is full|database or disk is full"):
        led.insert(big, NOW)
    # and the connection is still usable afterwards (the rollback did not blow up)
    assert led.counts() == {}
    led.close()
