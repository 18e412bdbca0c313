"""The campaign as plain data. No I/O here; ``config.py`` and ``loader.py``
build these objects from YAML, and everything else reads them.

Why not pydantic: validation must report *every* problem with its file and
line and keep going, and must stay within 2x of a bare libyaml parse on
10,000 posts; a small table-driven checker over line-annotated mappings does
both (see loader.py).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from spi_campaign.errors import NotFoundError
from spi_campaign.i18n import _

STATUSES = ("draft", "approved", "cancelled")
# States of a publication in the ledger (see ledger.py and docs/engine.md).
PUBLICATION_STATES = ("pending", "publishing", "published", "failed", "unknown", "missed", "skipped")
CONTENT_KEYS = ("text", "link", "hashtags", "media", "thread")

_ENV_SAFE = re.compile(r"[^A-Za-z0-9]")


def suggest(word: object, choices) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or ``""``."""
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return _(" (did you mean '{word}'?)").format(word=close[0]) if close else ""


def env_prefix(account_name: str) -> str:
    """``diskominfos-bali-x`` -> ``SPI_DISKOMINFOS_BALI_X_``."""
    return "SPI_" + _ENV_SAFE.sub("_", account_name).upper() + "_"


@dataclass(slots=True)
class Problem:
    """One finding of ``validate``. ``severity`` is ``error`` or ``warning``."""

    file: str | None
    line: int | None
    post: str | None
    account: str | None
    severity: str
    message: str

    def __post_init__(self) -> None:
        # One line, always (JSON readers and `file:line: message` output rely on
        # it): a value quoted from the file ("repeat: '\\n'") is escaped, not echoed.
        from spi_campaign.redact import printable

        self.message = printable(self.message)

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "post": self.post, "account": self.account,
                "severity": self.severity, "message": self.message}


@dataclass(slots=True)
class Account:
    """A configured account. ``options`` holds the platform-specific keys
    (``page_id``, ``path``, ``ig_user_id``, ``graph_version`` ...), already
    checked against the adapter's declared options."""

    name: str
    platform: str
    options: dict[str, Any] = field(default_factory=dict)
    max_per_day: int | None = None
    line: int | None = None
    # Template names (docs/templates.md): the campaign's ``vars:`` overridden by the account's.
    vars: dict[str, Any] = field(default_factory=dict)

    @property
    def env_prefix(self) -> str:
        return env_prefix(self.name)


@dataclass(slots=True, frozen=True)
class Destination:
    """One ``notify:`` entry (docs/alerts.md). ``url`` is the apprise URL as
    written in config.yaml: secrets in it are ``${SPI_NOTIFY_...}``
    references, expanded only when sending, so ``url`` is safe to show and
    store. ``events``: the events it wants (notify.model.EVENTS)."""

    url: str
    events: tuple[str, ...]
    line: int | None = None


@dataclass(slots=True, frozen=True)
class TopicTarget:
    """A ``topics:`` entry: a target ``share`` (0..1) of the publications,
    or a minimum number of posts per week."""

    topic: str
    share: float | None = None
    min_per_week: int | None = None
    line: int | None = None

    def describe(self) -> str:
        if self.share is not None:
            return _("{share} of publications").format(share=f"{self.share:.0%}")
        return _("{n} per week").format(n=self.min_per_week)


@dataclass(slots=True)
class Config:
    path: Path                       # the config file (may not exist: embedded defaults)
    root: Path                       # directory every relative path is resolved against
    timezone_name: str
    timezone: tzinfo
    posts_dir: Path
    state: Path
    catch_up: timedelta
    max_attempts: int
    retry_backoff: timedelta
    accounts: dict[str, Account]
    # The campaign's identity: its ledger belongs to it (default: the config folder's name).
    name: str = "campaign"
    # A postgresql:// ledger (then ``state`` is unused); None: SQLite at ``state``.
    state_url: str | None = None
    # Failed/unknown/missed/held publications this recent keep every run exiting 1.
    # Alerts (docs/alerts.md): destinations; how old a problem may be and
    # still be alerted (and how long an unsendable alert is retried); when
    # the daily digest goes out, in the campaign timezone.
    notify: tuple[Destination, ...] = ()
    alert_window: timedelta = timedelta(days=7)
    digest_at: time = time(8, 0)
    # Queues (README, "Time slots"): account name or "@group" -> slotspec.Slots.
    slots: dict[str, Any] = field(default_factory=dict)
    # spi plan / calendar / topic balance (plan_settings.py): X prices in USD,
    # each topic's target, and how long a configured topic may go without a post.
    pricing: dict[str, float] = field(default_factory=lambda: {"x_post_usd": 0.015, "x_post_with_url_usd": 0.20})
    topics: dict[str, "TopicTarget"] = field(default_factory=dict)
    topic_gap_days: int = 14
    topics_line: int | None = None
    # Templates (docs/templates.md): campaign-wide ``vars:``; ``groups:`` with
    # groups of groups already expanded to account names.
    vars: dict[str, Any] = field(default_factory=dict)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def unknown_account(self, name: str) -> str:
        """The one message for an account name that is not in config.yaml."""
        return _("unknown account '{name}'{hint}; accounts in config.yaml: {known}").format(
            name=name, hint=suggest(name, self.accounts), known=", ".join(self.accounts) or _("(none)"))

    def account(self, name: str) -> Account:
        """The account ``name``; NotFoundError (naming the known ones) if there is none."""
        acc = self.accounts.get(name)
        if acc is None:
            raise NotFoundError(self.unknown_account(name))
        return acc

    def rel(self, path: Path | str) -> str:
        """A path as the user should see it: relative to the config's folder when possible."""
        p = Path(path)
        try:
            return str(p.resolve().relative_to(self.root.resolve()))
        except (ValueError, RuntimeError, OSError):   # RuntimeError: a symbolic link loop (Python 3.11)
            return str(p)


@dataclass(slots=True, frozen=True)
class Media:
    """An image. ``path`` is absolute (resolved against the post file), ``url``
    is a public URL (Instagram fetches images from URLs)."""

    path: Path | None
    url: str | None
    alt: str | None
    line: int | None = None
    rel: str | None = field(default=None, compare=False)   # ``path`` relative to the campaign folder


    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path) if self.path else None, "url": self.url, "alt": self.alt}


@dataclass(slots=True, frozen=True)
class Content:
    """What gets published, before platform composition (link/hashtag joining)."""

    text: str
    link: str | None = None
    hashtags: tuple[str, ...] = ()
    media: tuple[Media, ...] = ()
    thread: tuple[str, ...] = ()     # X only: parts after composition of the first


@dataclass(slots=True)
class Post:
    id: str
    title: str | None
    topic: str | None
    status: str
    publish_at: datetime | None          # aware
    repeat: str | None
    until: datetime | None               # aware
    accounts: tuple[str, ...]
    content: Content
    variants: dict[str, dict[str, Any]]  # key -> raw override values, already type-checked
    file: Path
    line: int | None
    key_lines: dict[str, int] = field(default_factory=dict)
    # Queued instead of publish_at (README, "Time slots"): the queue (an
    # account or "@group"), its order key, and the earliest slot it may take.
    queue: str | None = None
    priority: int = 0
    not_before: datetime | None = None
    # ``accounts`` as written (``@group`` references kept); ``accounts`` is expanded.
    targets: tuple[str, ...] = ()

    def content_for(self, account: Account) -> Content:
        """Base content, overridden by the platform variant, then by the account variant."""
        c = self.content
        for key in (account.platform, account.name):
            over = self.variants.get(key)
            if over:
                c = Content(
                    text=over.get("text", c.text),
                    link=over.get("link", c.link),
                    hashtags=tuple(over.get("hashtags", c.hashtags)),
                    media=tuple(over.get("media", c.media)),
                    thread=tuple(over.get("thread", c.thread)),
                )
        return c

    def line_of(self, key: str) -> int | None:
        return self.key_lines.get(key, self.line)


@dataclass(slots=True, frozen=True)
class Rendered:
    """A post composed for one account: exactly what the platform will get.

    ``text`` is the final text of the (first) post; ``link`` is set only when
    the platform takes the link as a separate field (Facebook's link card);
    ``thread`` holds every part of an X thread (``thread[0] == text``).
    """

    post_id: str
    account: str
    platform: str
    text: str
    link: str | None
    hashtags: tuple[str, ...]
    media: tuple[Media, ...]
    thread: tuple[str, ...] = ()
    occurrence: datetime | None = None   # UTC; set by the engine, not part of the hash
    post_link: str | None = None         # the post's link as written (in ``text`` or not); not part of the hash

    @property
    def parts(self) -> tuple[str, ...]:
        return self.thread or (self.text,)

    def content_hash(self) -> str:
        """Stable hash of what is published; the ledger stores it to notice
        edits after publication."""
        payload = json.dumps({
            "text": self.text, "link": self.link, "thread": list(self.thread),
            "media": [[str(m.path) if m.path else None, m.url, m.alt] for m in self.media],
        }, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


@dataclass(slots=True)
class Campaign:
    """Everything read from the campaign folder.

    posts:         every post whose structure could be read (drafts and posts
                   with content errors included; check ``invalid_posts``)
    problems:      every error and warning, config included
    files:         number of post files read
    broken_files:  post files that could not be read at all (YAML syntax,
                   encoding...). The engine must treat their posts as
                   *unknown*, never as deleted: a typo must not cancel posts.
    invalid_posts: ids of posts with at least one error; never published
    """

    config: Config
    posts: list[Post]
    problems: list[Problem]
    files: int
    broken_files: set[Path] = field(default_factory=set)
    invalid_posts: set[str] = field(default_factory=set)
    # post file -> (mtime_ns, size, inode) taken before it was read: tells
    # whether a file changed since (a reload, the check before publishing)
    stamps: dict[Path, tuple[int, int, int] | None] = field(default_factory=dict)
    _by_id: dict[str, Post] | None = field(default=None, repr=False)

    def post(self, post_id: str) -> Post | None:
        """The first post with this id (ids are unique once the campaign validates)."""
        if self._by_id is None or len(self._by_id) > len(self.posts):
            by_id: dict[str, Post] = {}
            for p in self.posts:
                by_id.setdefault(p.id, p)
            self._by_id = by_id
        return self._by_id.get(post_id)

    def require_post(self, post_id: str) -> Post:
        """The post ``post_id``; NotFoundError with a suggestion (and a hint
        when unreadable files may hold it) if there is none."""
        post = self.post(post_id)
        if post is None:
            broken = (_("; {n} post file(s) cannot be read and may hold it (run 'spi post validate')")
                      .format(n=len(self.broken_files)) if self.broken_files else "")
            raise NotFoundError(_("unknown post id '{post}'{hint}{broken}").format(
                post=post_id, hint=suggest(post_id, [p.id for p in self.posts]), broken=broken))
        return post
