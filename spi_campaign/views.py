"""Data for ``post list``, ``post preview`` and ``post validate``: the core
behind the thin commands. Returns plain dicts/lists; ``render.py`` prints them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

from spi_campaign.config import read_config
from spi_campaign.models import Campaign, Problem
from spi_campaign.recurrence import next_publish
from spi_campaign.timeutil import iso, now_utc


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
            problems.extend(post_problems)
    summary = {
        "files": n_files,
        "posts": n_posts,
        "errors": sum(1 for p in problems if p.severity == "error"),
        "warnings": sum(1 for p in problems if p.severity == "warning"),
    }
    return summary, problems


def list_rows(campaign: Campaign, *, topic: str | None = None, status: str | None = None,
              account: str | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
    """Posts sorted by next publish time (posts without one last)."""

    now = now or now_utc()
    tz = campaign.config.timezone
    if account is not None:
        campaign.config.account(account)
    rows = []
    for post in campaign.posts:
        if topic and post.topic != topic:
            continue
        if status and post.status != status:
            continue
        if account and account not in post.accounts:
            continue
        nxt = next_publish(post, now, tz)
        rows.append({
            "id": post.id, "title": post.title, "topic": post.topic, "status": post.status,
            "accounts": list(post.accounts), "next_publish_at": iso(nxt, tz), "repeat": post.repeat,
            "file": campaign.config.rel(post.file), "_next": nxt,
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
                base["error"] = "account not in config.yaml" if acc is None else f"unknown platform '{acc.platform}'"
                items.append(base)
                continue
            rendered = render(post, acc)
            lengths = [cls.measure(p) for p in rendered.parts]
            limit = cls.limits.text
            fits = limit is None or all(n <= limit for n in lengths)
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
