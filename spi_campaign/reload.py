"""Reading the campaign again after a change: only the files that changed.

Two ways in:

- ``paths`` given (the watcher's events): only those files are read again
  (a file that is gone drops its posts); nothing else is listed or stat'ed.
- ``paths`` None (SIGHUP, the periodic rescan, a folder moved): the folder
  is listed and a file whose (mtime, size, inode) is what it was when last
  read keeps its posts and problems; the others are read again.

Either way the result says which post ids may have changed, so the sync
that follows looks only at those (``Planner.sync(only=...)``). Used for
every reload of the daemon: saving one file costs one file.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from spi_campaign.i18n import _, message_pattern
from spi_campaign.loader import DUPLICATE_ID, _check_duplicate_ids, read_post_file, stamp, variant_keys
from spi_campaign.models import Campaign, Config, Problem
from spi_campaign.postfiles import find_post_files


def _duplicate(message: str) -> bool:
    """A "duplicate post id" problem (recomputed for the whole campaign)."""
    return message_pattern(DUPLICATE_ID).match(message) is not None


@dataclass
class Reloaded:
    campaign: Campaign
    read: int                          # files read again
    changed: frozenset[str] | None     # post ids that may have changed; None: all of them


def reload_campaign(old: Campaign, config: Config, now: datetime | None = None,
                    paths: frozenset[Path] | None = None) -> Reloaded:
    if config is not old.config:
        from spi_campaign.loader import load_campaign

        new = load_campaign(config, now=now)
        return Reloaded(new, new.files, None)
    by_file_posts = defaultdict(list)
    for p in old.posts:
        by_file_posts[p.file].append(p)
    by_file_problems = defaultdict(list)
    for prob in old.problems:
        if not _duplicate(prob.message):
            by_file_problems[prob.file].append(prob)
    if paths is None:
        unreadable: list[tuple[Path, str]] = []
        notes: list[tuple[Path, str]] = []
        files = find_post_files(config.posts_dir, unreadable, notes)
        extra = [Problem(str(f), None, None, None, "error", _("cannot read folder: {reason}").format(reason=r))
                 for f, r in unreadable]
        extra += [Problem(str(w), None, None, None, "warning", r) for w, r in notes]
        broken_dirs = {f for f, _ in unreadable}
        fresh = {p: stamp(p) for p in files}
        todo = [p for p in files if fresh[p] is None or old.stamps.get(p) != fresh[p]]
        gone = [p for p in old.stamps if p not in fresh]
    else:
        files = list(old.stamps)
        known = set(files)
        for p in sorted(paths):
            if p not in known and p.suffix in (".yaml", ".yml"):
                files.append(p)
                known.add(p)
        fresh = dict(old.stamps)
        todo, gone = [], []
        for p in paths:
            st = stamp(p)
            if st is None and not p.exists():
                gone.append(p)
                fresh.pop(p, None)
            elif p in known:
                fresh[p] = st
                todo.append(p)
        files = sorted((p for p in files if p in fresh), key=lambda p: p.parts)
        extra = [prob for prob in old.problems if prob.file and Path(prob.file) not in old.stamps
                 and prob.file != str(config.path) and not _duplicate(prob.message)]
        broken_dirs = {b for b in old.broken_files if b not in old.stamps}
    changed: set[str] = set()
    for p in list(todo) + list(gone):
        changed.update(post.id for post in by_file_posts.get(p, ()))
    keys = variant_keys(config)
    todo_set = set(todo)
    posts, problems, broken, new_posts = [], list(extra), set(broken_dirs), []
    problems.extend(by_file_problems.get(str(config.path), ()))   # config-level problems stay
    for path in files:
        if path not in todo_set:
            posts.extend(by_file_posts.get(path, ()))
            problems.extend(by_file_problems.get(str(path), ()))
            if path in old.broken_files:
                broken.add(path)
            continue
        file_posts, file_problems, ok = read_post_file(path, config, keys)
        posts.extend(file_posts)
        problems.extend(file_problems)
        new_posts.extend(file_posts)
        changed.update(p.id for p in file_posts)
        if not ok:
            broken.add(path)
    campaign = Campaign(config=config, posts=posts, problems=problems, files=len(files), broken_files=broken,
                        stamps={p: fresh.get(p) for p in files})
    _check_duplicate_ids(campaign)
    if new_posts:
        from spi_campaign.validate import check_posts

        check_posts(campaign, new_posts, now)
    campaign.invalid_posts = {p.post for p in campaign.problems if p.severity == "error" and p.post}
    # an id that appears (or stops appearing) twice changes its neighbours' validity too
    changed |= {p for p in campaign.invalid_posts ^ old.invalid_posts}
    return Reloaded(campaign, len(todo), frozenset(changed))
