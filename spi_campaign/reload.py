"""Reading the campaign again after a change: only the files that changed.

A file whose (mtime, size, inode) is what it was when last read keeps its
posts and problems; the others are read and checked again. Used by the
daemon for every reload (a file event, SIGHUP, the periodic rescan), so
saving one file costs one file, not the whole campaign.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from pathlib import Path

from spi_campaign.loader import _check_duplicate_ids, find_post_files, read_post_file, stamp, variant_keys
from spi_campaign.models import Campaign, Config, Problem

_DUPLICATE = "duplicate post id"


def reload_campaign(old: Campaign, config: Config, now: datetime | None = None) -> tuple[Campaign, int]:
    """The campaign as the files say now, and how many files were read."""
    if config is not old.config:
        from spi_campaign.loader import load_campaign

        new = load_campaign(config, now=now)
        return new, new.files
    unreadable: list[tuple[Path, str]] = []
    files = find_post_files(config.posts_dir, unreadable)
    by_file_posts = defaultdict(list)
    for p in old.posts:
        by_file_posts[p.file].append(p)
    by_file_problems = defaultdict(list)
    for prob in old.problems:
        if not prob.message.startswith(_DUPLICATE):
            by_file_problems[prob.file].append(prob)
    keys = variant_keys(config)
    posts, problems, broken, stamps, changed = [], [], set(), {}, []
    for folder, reason in unreadable:
        problems.append(Problem(str(folder), None, None, None, "error", f"cannot read folder: {reason}"))
        broken.add(folder)
    problems.extend(by_file_problems.get(str(config.path), ()))   # config-level problems stay
    for path in files:
        st = stamp(path)
        stamps[path] = st
        if st is not None and old.stamps.get(path) == st:
            posts.extend(by_file_posts.get(path, ()))
            problems.extend(by_file_problems.get(str(path), ()))
            if path in old.broken_files:
                broken.add(path)
            continue
        file_posts, file_problems, ok = read_post_file(path, config, keys)
        posts.extend(file_posts)
        problems.extend(file_problems)
        changed.extend(file_posts)
        if not ok:
            broken.add(path)
    campaign = Campaign(config=config, posts=posts, problems=problems, files=len(files), broken_files=broken,
                        stamps=stamps)
    _check_duplicate_ids(campaign)
    if changed:
        from spi_campaign.validate import check_posts

        check_posts(campaign, changed, now)
    campaign.invalid_posts = {p.post for p in campaign.problems if p.severity == "error" and p.post}
    return campaign, len([p for p in files if stamps[p] is None or old.stamps.get(p) != stamps[p]])
