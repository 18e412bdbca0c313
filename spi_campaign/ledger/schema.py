"""The SQLite ledger's schema and its migrations.

Version 1 (spi 0.x before the flat-cost work): publications, events, meta.
Version 2 adds the claimer's process start time, the local wall time of an
occurrence (a timezone edit must not publish a daily post twice), the post
digest (published one-off posts are not rendered again on every sync), the
indexes every hot query uses, and per-state counts kept by triggers.
Migrations run in place, in one transaction, on first open by a newer spi.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = "2"

PUBLICATIONS = """
CREATE TABLE IF NOT EXISTS publications (
    post           TEXT NOT NULL,
    account        TEXT NOT NULL,
    occurrence     TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('pending','publishing','published','failed','unknown','missed','skipped')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_attempt   TEXT,
    hold           TEXT,
    content_hash   TEXT,
    published_hash TEXT,
    remote_id      TEXT,
    url            TEXT,
    error          TEXT,
    progress       TEXT NOT NULL DEFAULT '{}',
    file           TEXT,
    claimer_host   TEXT,
    claimer_pid    INTEGER,
    claim_token    TEXT,
    lease_until    TEXT,
    claimed_at     TEXT,
    published_at   TEXT,
    checked_at     TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    claimer_start  TEXT,
    local_at       TEXT,
    post_digest    TEXT,
    edited_hash    TEXT,
    PRIMARY KEY (post, account, occurrence)
) WITHOUT ROWID
"""

V2_COLUMNS = ("claimer_start", "local_at", "post_digest", "edited_hash")

COMMON = [
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY, at TEXT NOT NULL, post TEXT NOT NULL, account TEXT NOT NULL,
        occurrence TEXT NOT NULL, state TEXT NOT NULL, detail TEXT, host TEXT, pid INTEGER)""",
    "CREATE INDEX IF NOT EXISTS events_key ON events (post, account, occurrence)",
]

V2 = [
    # (v1's (state, account, occurrence) index: publications_state serves its queries)
    "DROP INDEX IF EXISTS publications_due",
    # engagement snapshots (spi metrics fetch, docs/metrics.md): one row per
    # metric of a snapshot; value NULL with a reason when the platform does
    # not give it. The key order matches the report's row order (newest
    # occurrence first) so the report merges the two streams in one pass.
    """CREATE TABLE IF NOT EXISTS metrics (
    occurrence TEXT NOT NULL,
    post       TEXT NOT NULL,
    account    TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    metric     TEXT NOT NULL,
    value      INTEGER,
    reason     TEXT,
    snapshot   TEXT NOT NULL DEFAULT 'manual',
    PRIMARY KEY (occurrence DESC, post, account, fetched_at DESC, metric)
) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS metrics_snapshot ON metrics (snapshot, occurrence, post, account)",
    # alerts (spi_campaign.notify, docs/alerts.md)
    """CREATE TABLE IF NOT EXISTS notifications (
    destination  TEXT NOT NULL,
    event        TEXT NOT NULL,
    post         TEXT NOT NULL DEFAULT '',
    account      TEXT NOT NULL DEFAULT '',
    occurrence   TEXT NOT NULL DEFAULT '',
    since        TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL DEFAULT '',
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending','sending','sent','expired')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt TEXT,
    error        TEXT,
    claim_token  TEXT,
    lease_until  TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    sent_at      TEXT,
    PRIMARY KEY (destination, event, post, account, occurrence, since)
) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS notifications_due ON notifications (status, next_attempt)",
    # claim_next: the first due row of one account, in due order, one index seek
    """CREATE INDEX IF NOT EXISTS publications_claim ON publications
       (account, COALESCE(next_attempt, occurrence), occurrence, post) WHERE state = 'pending' AND hold IS NULL""",
    # newest first, date ranges, problems in the alert window
    "CREATE INDEX IF NOT EXISTS publications_newest ON publications (occurrence DESC, post, account)",
    "CREATE INDEX IF NOT EXISTS publications_state ON publications (state, occurrence DESC, post, account)",
    "CREATE INDEX IF NOT EXISTS publications_token ON publications (claim_token) WHERE claim_token IS NOT NULL",
    # queues (spi_campaign.queue, README "Time slots"): the slot each queued
    # post got; one post per slot of a queue, one slot per post
    """CREATE TABLE IF NOT EXISTS queue_slots (
    post        TEXT NOT NULL PRIMARY KEY,
    target      TEXT NOT NULL,
    slot        TEXT NOT NULL,
    assigned_at TEXT NOT NULL,
    UNIQUE (target, slot)
) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS queue_slots_slot ON queue_slots (slot)",
    "CREATE TABLE IF NOT EXISTS state_counts (state TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID",
    """CREATE TRIGGER IF NOT EXISTS publications_count_ins AFTER INSERT ON publications BEGIN
         INSERT INTO state_counts VALUES (NEW.state, 1) ON CONFLICT(state) DO UPDATE SET n = n + 1;
       END""",
    """CREATE TRIGGER IF NOT EXISTS publications_count_del AFTER DELETE ON publications BEGIN
         UPDATE state_counts SET n = n - 1 WHERE state = OLD.state;
       END""",
    """CREATE TRIGGER IF NOT EXISTS publications_count_upd AFTER UPDATE OF state ON publications
       WHEN NEW.state <> OLD.state BEGIN
         UPDATE state_counts SET n = n - 1 WHERE state = OLD.state;
         INSERT INTO state_counts VALUES (NEW.state, 1) ON CONFLICT(state) DO UPDATE SET n = n + 1;
       END""",
]


def create_or_migrate(c: sqlite3.Connection, now: str) -> str | None:
    """Inside a write transaction: create a new ledger, or bring an older one
    to ``SCHEMA_VERSION``. Returns the version found (None: new ledger)."""
    c.execute(COMMON[0])
    row = c.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    found = row[0] if row else None
    if found not in (None, "1", SCHEMA_VERSION):
        return found                      # newer than us: the caller refuses it
    c.execute(PUBLICATIONS)
    if found == "1":
        have = {r[1] for r in c.execute("PRAGMA table_info(publications)")}
        for col in V2_COLUMNS:
            if col not in have:
                c.execute(f"ALTER TABLE publications ADD COLUMN {col} TEXT")
    for stmt in COMMON[1:] + V2:
        c.execute(stmt)
    if found != SCHEMA_VERSION:
        c.execute("DELETE FROM state_counts")
        c.execute("INSERT INTO state_counts SELECT state, COUNT(*) FROM publications GROUP BY state")
        c.execute("INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                  (SCHEMA_VERSION,))
    if found is None:
        c.execute("INSERT OR IGNORE INTO meta VALUES ('created_at', ?)", (now,))
    return found
