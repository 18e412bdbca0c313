"""What a sync or a run tells its caller: plain data, rendered by
``render_publish`` and turned into an exit status here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from spi_campaign.ledger import Publication
from spi_campaign.models import Account, Post, Rendered


@dataclass
class Outcome:
    """What happened to one publication in this process.

    result: published | failed | unknown | retry (pending, next attempt
    scheduled) | deferred (quota or max_per_day; attempt not counted) |
    held (the account cannot publish: credentials, billing; goes out by
    itself once fixed) | released (claimed but its post changed; back to
    pending) | skipped (cancelled right before publishing) | lost (published,
    but another process took the claim over: check for a duplicate) |
    unrecorded (published, but the ledger could not record it)
    """

    post: str
    account: str
    occurrence: datetime
    result: str
    at: datetime
    url: str | None = None
    remote_id: str | None = None
    error: str | None = None
    next_attempt: datetime | None = None
    attempts: int = 0
    rendered: Rendered | None = None
    dry_run: bool = False


# Outcomes somebody must look at (exit status 1).
BAD_RESULTS = ("failed", "unknown", "held", "lost", "unrecorded")


@dataclass
class SyncReport:
    inserted: int = 0
    missed: list[Publication] = field(default_factory=list)          # new this sync
    skipped: list[tuple[Publication, str]] = field(default_factory=list)
    revived: list[Publication] = field(default_factory=list)
    held_due: list[Publication] = field(default_factory=list)       # due, but held: attention
    edited: list[Publication] = field(default_factory=list)         # published, then edited (new this change)
    # (new post id, account, occurrence, the row that moved to it): a renamed post keeps its history
    renamed: list[tuple[str, str, datetime, Publication]] = field(default_factory=list)
    accounts_renamed: list[tuple[str, str, int]] = field(default_factory=list)   # old, new, rows
    became_unknown: list[Publication] = field(default_factory=list)
    reconciled: list[tuple[Publication, str, str | None]] = field(default_factory=list)  # row, state, url
    unknown: list[Publication] = field(default_factory=list)        # still unknown after reconcile
    broken_files: list[str] = field(default_factory=list)
    invalid_posts: list[str] = field(default_factory=list)
    # broken file (as shown) or invalid post id -> its first error, "file:line: message"
    reasons: dict[str, str] = field(default_factory=dict)
    new_ledger: datetime | None = None      # the ledger was created (or found empty) by this run, at this time


@dataclass
class RunReport:
    sync: SyncReport
    outcomes: list[Outcome]
    next_due: datetime | None = None
    dry_run: bool = False
    problems: list[Publication] = field(default_factory=list)   # inside the alert window, after the run
    readiness: list[str] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)

    @property
    def exit_code(self) -> int:
        """1 while somebody should look: an outcome of this run that went
        wrong, a post file that cannot be read, or any publication inside the
        alert window that is failed, unknown, missed or held (it stays 1 on
        every run until someone resolves it)."""
        bad = any(o.result in BAD_RESULTS for o in self.outcomes)
        s = self.sync
        return 1 if (bad or s.missed or s.held_due or s.unknown or s.became_unknown or s.broken_files
                     or self.problems) else 0


@dataclass
class Target:
    """One publication ``publish ID`` would make."""

    post: Post
    account: Account
    occurrence: datetime
    row: Publication | None
