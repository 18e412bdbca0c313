"""The PostgreSQL ledger's schema, created and migrated by spi
(``spi state migrate``, also run on first use). One database may hold
several campaigns: every table is keyed by the campaign's ``name``."""

from __future__ import annotations

SCHEMA_VERSION = 3

_STEPS = {
    1: [
        "CREATE TABLE IF NOT EXISTS spi_meta (campaign text NOT NULL, key text NOT NULL, value text NOT NULL, "
        "PRIMARY KEY (campaign, key))",
        """CREATE TABLE IF NOT EXISTS spi_publications (
            campaign text NOT NULL, post text NOT NULL, account text NOT NULL, occurrence text NOT NULL,
            state text NOT NULL CHECK (state IN ('pending','publishing','published','failed','unknown','missed',
                                                 'skipped')),
            attempts integer NOT NULL DEFAULT 0, next_attempt text, hold text, content_hash text,
            published_hash text, remote_id text, url text, error text, progress jsonb NOT NULL DEFAULT '{}',
            file text, claimer_host text, claimer_pid integer, claim_token text, lease_until text,
            claimed_at text, published_at text, checked_at text, created_at text NOT NULL, updated_at text NOT NULL,
            claimer_start text, local_at text, post_digest text, edited_hash text,
            PRIMARY KEY (campaign, post, account, occurrence))""",
        "CREATE INDEX IF NOT EXISTS spi_publications_claim ON spi_publications "
        "(campaign, account, (COALESCE(next_attempt, occurrence)), occurrence, post) "
        "WHERE state = 'pending' AND hold IS NULL",
        "CREATE INDEX IF NOT EXISTS spi_publications_newest ON spi_publications (campaign, occurrence DESC, post, account)",
        "CREATE INDEX IF NOT EXISTS spi_publications_state ON spi_publications "
        "(campaign, state, account, occurrence DESC)",
        "CREATE INDEX IF NOT EXISTS spi_publications_token ON spi_publications (campaign, claim_token) "
        "WHERE claim_token IS NOT NULL",
        """CREATE TABLE IF NOT EXISTS spi_events (
            id bigserial PRIMARY KEY, campaign text NOT NULL, at text NOT NULL, post text NOT NULL,
            account text NOT NULL, occurrence text NOT NULL, state text NOT NULL, detail text, host text,
            pid integer)""",
        "CREATE INDEX IF NOT EXISTS spi_events_key ON spi_events (campaign, post, account, occurrence)",
        """CREATE TABLE IF NOT EXISTS spi_notifications (
            campaign text NOT NULL, destination text NOT NULL, event text NOT NULL, post text NOT NULL DEFAULT '',
            account text NOT NULL DEFAULT '', occurrence text NOT NULL DEFAULT '', since text NOT NULL DEFAULT '',
            state text NOT NULL DEFAULT '', title text NOT NULL, body text NOT NULL,
            status text NOT NULL CHECK (status IN ('pending','sending','sent','expired')),
            attempts integer NOT NULL DEFAULT 0, next_attempt text, error text, claim_token text, lease_until text,
            created_at text NOT NULL, updated_at text NOT NULL, sent_at text,
            PRIMARY KEY (campaign, destination, event, post, account, occurrence, since))""",
        "CREATE INDEX IF NOT EXISTS spi_notifications_due ON spi_notifications (campaign, status, next_attempt)",
    ],
    2: [
        """CREATE TABLE IF NOT EXISTS spi_queue_slots (
            campaign text NOT NULL, post text NOT NULL, target text NOT NULL, slot text NOT NULL,
            assigned_at text NOT NULL, PRIMARY KEY (campaign, post), UNIQUE (campaign, target, slot))""",
        "CREATE INDEX IF NOT EXISTS spi_queue_slots_slot ON spi_queue_slots (campaign, slot)",
    ],
    3: [
        """CREATE TABLE IF NOT EXISTS spi_metrics (
            campaign text NOT NULL, occurrence text NOT NULL, post text NOT NULL, account text NOT NULL,
            fetched_at text NOT NULL, metric text NOT NULL, value bigint, reason text,
            snapshot text NOT NULL DEFAULT 'manual',
            PRIMARY KEY (campaign, occurrence, post, account, fetched_at, metric))""",
        "CREATE INDEX IF NOT EXISTS spi_metrics_snapshot ON spi_metrics (campaign, snapshot, occurrence)",
    ],
}


def migrate(c) -> int:
    """Inside a transaction: bring the schema to ``SCHEMA_VERSION``; the
    version found before (0: new). An advisory lock makes concurrent first
    runs on several machines migrate once."""
    c.execute("SELECT pg_advisory_xact_lock(7366190)")
    c.execute("CREATE TABLE IF NOT EXISTS spi_schema (version integer NOT NULL, applied_at timestamptz "
              "NOT NULL DEFAULT now())")
    c.execute("SELECT COALESCE(max(version), 0) FROM spi_schema")
    found = c.fetchone()[0]
    for version in sorted(_STEPS):
        if version > found:
            for stmt in _STEPS[version]:
                c.execute(stmt)
            c.execute("INSERT INTO spi_schema (version) VALUES (%s)", (version,))
    return found
