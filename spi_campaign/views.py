"""Data for ``post list``, ``post preview`` and ``post validate``: the core
behind the thin commands. Returns plain dicts/lists; ``render.py`` prints them."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

from spi_campaign.config import read_config
from spi_campaign.errors import SpiError
from spi_campaign.i18n import _, message_pattern
from spi_campaign.models import Campaign, Config, Problem
from spi_campaign.recurrence import next_publish
from spi_campaign.timeutil import iso, now_utc


# validate.py's time warning, which the ledger can make moot (see validate_report).
def _past_warning() -> re.Pattern:
    """The validate warning "publish time {when} is in the past" (and
    whatever follows it), as shown in the interface language."""
    from spi_campaign.validate import PAST_WARNING

    return re.compile(message_pattern(PAST_WARNING).pattern.rstrip("$"), re.S)


def published_rows(config: Config, campaign: Campaign | None = None) -> tuple[dict[str, dict[str, Any]], str | None]:
    """What the ledger says went out: post id -> account -> its published
    ``Publication``; and a problem text when the ledger exists but cannot be
    read. Read-only (a ledger that does not exist is not created), and only
    the campaign's one-off publications are looked up, by key: the cost does
    not grow with the ledger's history."""
    from spi_campaign.errors import SpiError
    from spi_campaign.ledger import open_for_reading
    from spi_campaign.timeutil import UTC

    if campaign is None:
        return {}, None
    keys = [(p.id, a, p.publish_at.astimezone(UTC)) for p in campaign.posts
            if p.publish_at is not None and not p.repeat for a in p.accounts]
    try:
        ledger = open_for_reading(config)
        if ledger is None:
            return {}, None
        try:
            rows = ledger.get_many(keys)
        finally:
            ledger.close()
    except SpiError as exc:
        return {}, str(exc)
    out: dict[str, dict[str, Any]] = {}
    for r in rows.values():
        if r.state == "published":
            out.setdefault(r.post, {}).setdefault(r.account, r)
    return out, None


def _ledger_aware(problems: list[Problem], campaign: Campaign) -> list[Problem]:
    """No "publish time is in the past" warning for a post that was published
    to every one of its accounts; one published to some says to which."""
    published, trouble = published_rows(campaign.config, campaign)
    if trouble:
        problems = problems + [Problem(str(campaign.config.state), None, None, None, "warning",
                                       _("{trouble}; published posts are not recognised").format(trouble=trouble))]
    if not published:
        return problems
    posts = {p.id: p for p in campaign.posts}
    past = _past_warning()
    out = []
    for p in problems:
        post = posts.get(p.post) if p.post else None
        if post is not None and p.severity == "warning" and past.match(p.message):
            done = [a for a in post.accounts if a in published.get(post.id, {})]
            if done and len(done) == len(post.accounts):
                continue
            if done:
                rest = [a for a in post.accounts if a not in done]
                p = Problem(p.file, p.line, p.post, p.account, p.severity,
                            p.message + _(" (published to {done}; not to {rest})").format(
                                done=", ".join(done), rest=", ".join(rest)))
        out.append(p)
    return out


def validate_report(config_path: Path, files: Iterable[str | Path] = (), now: datetime | None = None
                    ) -> tuple[dict[str, int], list[Problem]]:
    """Check the config and every post file; report *every* problem.

    ``files``: restrict the report to these post files (the whole campaign is
    still read, so duplicate ids across files are found).
    """
    from spi_campaign.loader import load_campaign
    from spi_campaign.errors import CampaignError

    config, problems = read_config(config_path)
    files = [Path(f) for f in files]
    n_files = n_posts = 0
    if config is not None:
        try:
            campaign = load_campaign(config, extra_files=files, now=now)
        except CampaignError as exc:
            problems.append(Problem(str(config_path), None, None, None, "error", str(exc)))
        else:
            post_problems = campaign.problems
            if files:
                wanted = {f.resolve() for f in files}
                post_problems = [p for p in post_problems
                                 if p.file is None or Path(p.file).resolve() in wanted or p.file == str(config_path)]
                n_files = len(wanted)
                n_posts = sum(1 for p in campaign.posts if p.file.resolve() in wanted)
            else:
                n_files, n_posts = campaign.files, len(campaign.posts)
            problems.extend(_ledger_aware(post_problems, campaign))
    summary = {
        "files": n_files,
        "posts": n_posts,
        "errors": sum(1 for p in problems if p.severity == "error"),
        "warnings": sum(1 for p in problems if p.severity == "warning"),
    }
    return summary, problems


def list_rows(campaign: Campaign, *, topic: str | None = None, status: str | None = None,
              account: str | None = None, now: datetime | None = None,
              published: dict[str, dict[str, Any]] | None = None,
              slots: Any = None) -> list[dict[str, Any]]:
    """Posts sorted by next publish time (posts without one last).

    ``slots`` (a ``queue.QueuePlan``): a queued post's next publish time is
    the slot it got (or would get at the next run: ``slot_assigned`` false).

    ``published`` (from ``published_rows``): each row lists the accounts the
    post went out to (latest publication per account); ``status="published"``
    keeps the posts published to at least one account."""

    now = now or now_utc()
    tz = campaign.config.timezone
    published = published or {}
    if account is not None:
        campaign.config.account(account)
    rows = []
    for post in campaign.posts:
        done = published.get(post.id, {})
        if topic and post.topic != topic:
            continue
        if status == "published":
            if not any(a in done for a in post.accounts):
                continue
        elif status and post.status != status:
            continue
        if account and account not in post.accounts:
            continue
        nxt = next_publish(post, now, tz)
        queued = {}
        if post.queue is not None:
            got = slots.slots.get(post.id) if slots is not None else None
            nxt = got.slot if got is not None else None
            queued = {"queue": post.queue, "slot_assigned": got is not None and post.id not in slots.new}
        rows.append({
            "id": post.id, "title": post.title, "topic": post.topic, "status": post.status,
            "accounts": list(post.accounts), "next_publish_at": iso(nxt, tz), "repeat": post.repeat,
            "file": campaign.config.rel(post.file),
            "published": [{"account": a, "occurrence": iso(done[a].occurrence, tz),
                           "published_at": iso(done[a].published_at, tz), "url": done[a].url}
                          for a in post.accounts if a in done],
            **queued,
            "_next": nxt,
        })
    rows.sort(key=lambda r: (r["_next"] is None, r["_next"] or now, r["id"]))
    return rows


def preview_items(campaign: Campaign, ids: Iterable[str] = (), *, account: str | None = None,
                  now: datetime | None = None) -> list[dict[str, Any]]:
    """Every (post, account) as it will be published, drafts and misfits included."""
    from spi_campaign.adapters import registry
    from spi_campaign.compose import render

    now = now or now_utc()
    cfg = campaign.config
    tz = cfg.timezone
    ids = list(ids)
    if account is not None:
        cfg.account(account)
    posts = [campaign.require_post(i) for i in ids] if ids else campaign.posts
    items: list[dict[str, Any]] = []
    for post in posts:
        when = next_publish(post, now, tz)
        for name in post.accounts:
            if account and name != account:
                continue
            base = {"post": post.id, "account": name, "status": post.status}
            acc = cfg.accounts.get(name)
            cls = registry.get(acc.platform) if acc else None
            if acc is None or cls is None:
                base["error"] = (_("account not in config.yaml") if acc is None
                                 else _("unknown platform '{platform}'").format(platform=acc.platform))
                items.append(base)
                continue
            try:
                rendered = render(post, acc)
            except SpiError as exc:   # a template that cannot render for this account (validate says why)
                base["error"] = str(exc)
                items.append(base)
                continue
            lengths = [cls.measure(p) for p in rendered.parts]
            part_limits = cls.part_limits(rendered, acc)
            limit = part_limits[0]
            fits = all(lim is None or n <= lim for n, lim in zip(lengths, part_limits))
            items.append({
                **base,
                "platform": acc.platform,
                "label": cls.label or acc.platform,
                "text": rendered.text,
                "thread": list(rendered.thread),
                "part_lengths": lengths,
                "length": lengths[0],
                "limit": limit,
                "fits": fits,
                "link_card": rendered.link,
                "media": [m.as_dict() for m in rendered.media],
                "publish_at": iso(when, tz),
                "repeat": post.repeat,
                "_publish_at": when,
            })
    return items
