"""Post files -> ``Campaign``: every post that can be read, and every problem.

Contract: ``load_campaign`` never raises for anything inside a post file. A
broken file becomes a problem (and lands in ``Campaign.broken_files``); a bad
key becomes a problem on its post. Only an unreadable posts folder raises.

Checks run in two layers:
- structure (this module): keys, types, values, dates, cron, ids;
- targets (``validate.py``): accounts, limits, media, per account.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable

from spi_campaign.i18n import N_, _
from spi_campaign.postfiles import find_post_files
from spi_campaign.safeio import realpath
from spi_campaign.models import CONTENT_KEYS, STATUSES, Campaign, Config, Content, Media, Post, Problem, suggest
from spi_campaign.timeutil import parse_datetime, short_repr, type_name
from spi_campaign.yamlio import LineDict, YamlProblem, load_file

# reload.py recognises this problem (in either language): see i18n.message_pattern
DUPLICATE_ID = N_("duplicate post id '{post}' (first defined in {where})")

POST_KEYS = ("id", "title", "topic", "status", "publish_at", "repeat", "until", "accounts",
             "text", "link", "hashtags", "media", "variants", "thread", "queue", "priority", "not_before")
MEDIA_KEYS = ("path", "url", "alt")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_HASHTAG = re.compile(r"^#?(\w+)$", re.UNICODE)
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
# Lone surrogates (YAML allows "\ud800" escapes) cannot be sent to any platform.
_BAD_CHARS = re.compile("[\ud800-\udfff\ufffe\uffff]")
# Longest text or thread part read (above Facebook's 63,206, the longest any
# platform takes): bounds what validating and rendering one text costs.
MAX_TEXT = 65_536


def load_campaign(config: Config, *, extra_files: Iterable[Path | str] = (), now: datetime | None = None,
                  check_targets: bool = True) -> Campaign:
    """Read every post file of the campaign (plus ``extra_files``) and check it.

    ``check_targets``: also run the per-account checks of ``validate.py``
    (limits, media, unknown accounts). ``now`` is for the time-based warnings.
    """
    unreadable: list[tuple[Path, str]] = []
    notes: list[tuple[Path, str]] = []
    files = find_post_files(config.posts_dir, unreadable, notes)
    if extra_files:
        seen = {realpath(f) for f in files}
        for extra in extra_files:
            p = Path(extra)
            if realpath(p) not in seen:
                files.append(p)
                seen.add(realpath(p))
    problems: list[Problem] = []
    posts: list[Post] = []
    broken: set[Path] = set()
    for folder, reason in unreadable:
        # Like a broken file: the posts in it are unknown, held, never skipped.
        problems.append(Problem(str(folder), None, None, None, "error", _("cannot read folder: {reason}").format(reason=reason)))
        broken.add(folder)
    for where, reason in notes:
        problems.append(Problem(str(where), None, None, None, "warning", reason))
    keys = variant_keys(config)
    stamps: dict[Path, tuple[int, int, int] | None] = {}
    for path in files:
        stamps[path] = stamp(path)
        file_posts, file_problems, ok = read_post_file(path, config, keys)
        posts.extend(file_posts)
        problems.extend(file_problems)
        if not ok:
            broken.add(path)
    campaign = Campaign(config=config, posts=posts, problems=problems, files=len(files), broken_files=broken,
                        stamps=stamps)
    _check_duplicate_ids(campaign)
    if check_targets:
        from spi_campaign.validate import check_campaign

        check_campaign(campaign, now=now)
    campaign.invalid_posts = {p.post for p in campaign.problems if p.severity == "error" and p.post}
    return campaign


def stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def fresh_post(campaign: Campaign, post: Post) -> Post | None:
    """``post`` as its file says now: the same object when the file did not
    change since ``campaign`` was read (one ``stat``), else read again; None
    when the post is gone. A file that cannot be read now keeps ``post``
    (the next sync holds it)."""
    old = campaign.stamps.get(post.file, False)
    if old is False or stamp(post.file) == old:
        return post
    posts, _problems, ok = read_post_file(post.file, campaign.config)
    if not ok:
        return post
    return next((p for p in posts if p.id == post.id), None)


def _check_duplicate_ids(campaign: Campaign) -> None:
    first: dict[str, Post] = {}
    for post in campaign.posts:
        prev = first.get(post.id)
        if prev is None:
            first[post.id] = post
            continue
        campaign.problems.append(Problem(
            str(post.file), post.line_of("id"), post.id, None, "error",
            _(DUPLICATE_ID).format(post=post.id, where=f"{prev.file}:{prev.line}")))


def read_post_file(path: Path, config: Config, keys: set[str] | None = None
                   ) -> tuple[list[Post], list[Problem], bool]:
    """Posts and problems of one file; ``ok`` is False when the file itself is
    unreadable. ``keys``: ``variant_keys(config)``, computed once by the caller."""
    if keys is None:
        keys = variant_keys(config)
    fname = str(path)
    try:
        docs = load_file(path)
    except YamlProblem as exc:
        return [], [Problem(fname, exc.line, None, None, "error", exc.message)], False
    items: list[Any] = []
    item_lines: list[int | None] = []
    for doc in docs:
        if doc is None:
            continue
        if isinstance(doc, list):
            items.extend(doc)
            item_lines.extend(getattr(doc, "item_lines", [None] * len(doc)))
        else:
            items.append(doc)
            item_lines.append(getattr(doc, "line", 1))
    if not items:
        return [], [Problem(fname, 1, None, None, "warning", _("file holds no posts (empty)"))], True
    single = len(items) == 1
    posts: list[Post] = []
    problems: list[Problem] = []
    for index, item in enumerate(items):
        post = _read_post(item, index, item_lines[index], single, path, config, keys, problems)
        if post is not None:
            posts.append(post)
    return posts, problems, True


def _read_post(raw: Any, index: int, line: int | None, single: bool, path: Path, config: Config,
               keys: set[str], problems: list[Problem]) -> Post | None:
    fname = str(path)
    if not isinstance(raw, dict):
        problems.append(Problem(fname, line, None, None, "error",
                                _("post #{n} must be a mapping (key: value), got {type}").format(
                                    n=index + 1, type=type_name(raw))))
        return None
    lines: dict[str, int] = raw.key_lines if isinstance(raw, LineDict) else {}
    line = getattr(raw, "line", None)

    raw_id = raw.get("id")
    if raw_id is None:
        post_id = path.stem if single else None
        if post_id is None:
            problems.append(Problem(fname, line, None, None, "error",
                                    _("post #{n} needs an 'id' (required when a file holds several posts)").format(
                                        n=index + 1)))
            post_id = f"{path.stem}#{index + 1}"
        elif not _ID.match(post_id):
            problems.append(Problem(fname, line, post_id, None, "error",
                                    _("file name '{name}' is not a valid post id; add an explicit 'id'").format(
                                        name=path.stem)))
    elif not isinstance(raw_id, str) or not _ID.match(raw_id):
        problems.append(Problem(fname, lines.get("id", line), None, None, "error",
                                _("id {id} must be letters, digits, '.', '_' or '-' (max 128)").format(
                                    id=short_repr(raw_id))))
        post_id = f"{path.stem}#{index + 1}"
    else:
        post_id = raw_id

    def err(key: str | None, message: str, severity: str = "error", at: int | None = None) -> None:
        where = at or (lines.get(key, line) if key else line)
        problems.append(Problem(fname, where, post_id, None, severity, message))

    for key, dline in getattr(raw, "dupes", None) or ():
        problems.append(Problem(fname, dline, post_id, None, "error", _("key '{key}' appears twice").format(key=key)))
    for key in raw:
        if key not in POST_KEYS:
            err(key, _("unknown key '{key}'{hint}").format(key=key, hint=suggest(key, POST_KEYS)))

    tz = config.timezone
    title = _opt_str(raw, "title", err)
    topic = _opt_str(raw, "topic", err)
    status = raw.get("status", "draft")
    if status not in STATUSES:
        err("status", _("status must be one of {choices}, got {value}").format(choices=", ".join(STATUSES),
                                                                                value=short_repr(status)))
        status = "draft"

    publish_at = None
    if raw.get("publish_at") is not None:
        notes: list[str] = []
        try:
            publish_at = parse_datetime(raw["publish_at"], tz, field="publish_at", notes=notes)
        except ValueError as exc:
            err("publish_at", str(exc))
        if raw.get("repeat") is None:    # a one-off time in a DST gap or overlap: say which instant is used
            for note in notes:
                err("publish_at", note, "warning")
    elif status == "approved" and raw.get("queue") is None:
        err("publish_at" if "publish_at" in raw else None,
            _("an approved post needs publish_at (or queue: ACCOUNT|@GROUP to take the next free time slot)"))

    repeat = raw.get("repeat")
    if repeat is not None:
        if not isinstance(repeat, str):
            err("repeat", _("repeat must be a cron expression in quotes, e.g. \"0 9 * * FRI\", got {type}")
                .format(type=type_name(repeat)))
            repeat = None
        else:
            from spi_campaign.recurrence import cron_warnings

            try:
                for warning in cron_warnings(repeat):
                    err("repeat", warning, "warning")
            except ValueError as exc:
                err("repeat", str(exc))
                repeat = None

    until = None
    if raw.get("until") is not None:
        try:
            until = parse_datetime(raw["until"], tz, field="until", allow_date=True, end_of_day=True)
        except ValueError as exc:
            err("until", str(exc))
        else:
            if raw.get("repeat") is None:
                err("until", _("until only applies to a repeating post (add repeat)"), "warning")
            elif publish_at is not None and until < publish_at:
                err("until", _("until is before publish_at: the post would never be published"))

    accounts: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    acc = raw.get("accounts")
    if isinstance(acc, str):
        acc = [acc]
    if acc is None:
        if status == "approved" and raw.get("queue") is None:
            err(None, _("an approved post needs accounts: [account, ...]"))
    elif not isinstance(acc, list) or not all(isinstance(a, str) for a in acc):
        err("accounts", _("accounts must be a list of account names from config.yaml"))
    else:
        if len(set(acc)) != len(acc):
            err("accounts", _("an account is listed twice"), "warning")
        targets = accounts = tuple(dict.fromkeys(acc))
        if any(a.startswith("@") for a in accounts):   # groups: docs/templates.md
            from spi_campaign.groups import expand_accounts

            accounts, bad = expand_accounts(accounts, config.groups)
            for message in bad:
                err("accounts", message)

    queue = priority = not_before = None
    if any(k in raw for k in ("queue", "priority", "not_before")):
        from spi_campaign.queue import read_post_queue    # README, "Time slots"

        queue, priority, not_before, accounts = read_post_queue(raw, config, accounts, publish_at, err)

    base_dir = path.parent
    content_values = _read_content(raw, lines, base_dir, err, "", top=True, root=config.root)
    text = content_values.get("text")
    if text is None:
        if "text" not in raw:
            err(None, _("post needs 'text'"))
        text = ""
    content = Content(
        text=text,
        link=content_values.get("link"),
        hashtags=tuple(content_values.get("hashtags", ())),
        media=tuple(content_values.get("media", ())),
        thread=tuple(content_values.get("thread", ())),
    )

    variants: dict[str, dict[str, Any]] = {}
    variant_lines: dict[str, int] = {}
    raw_variants = raw.get("variants")
    if raw_variants is not None:
        if not isinstance(raw_variants, dict):
            err("variants", _("variants must be a mapping of platform or account name to overrides, got {type}")
                .format(type=type_name(raw_variants)))
        else:
            vlines = raw_variants.key_lines if isinstance(raw_variants, LineDict) else {}
            for vkey, over in raw_variants.items():
                vline = vlines.get(vkey, lines.get("variants", line))

                def verr(key, message, severity="error", at=None, _over=over, _vline=vline):
                    olines = _over.key_lines if isinstance(_over, LineDict) else {}
                    where = at or (olines.get(key, _vline) if key else _vline)
                    problems.append(Problem(fname, where, post_id, None, severity, message))

                if not isinstance(vkey, str):
                    verr(None, _("variant key {key} must be a platform or account name").format(key=short_repr(vkey)))
                    continue
                if vkey not in keys:
                    verr(None, _("variant '{key}' is neither a platform nor an account in config.yaml{hint}").format(
                        key=vkey, hint=suggest(vkey, keys)))
                if not isinstance(over, dict):
                    verr(None, _("variant '{key}' must be a mapping of {keys}, got {type}").format(
                        key=vkey, keys=", ".join(CONTENT_KEYS), type=type_name(over)))
                    continue
                olines = over.key_lines if isinstance(over, LineDict) else {}
                variants[vkey] = _read_content(over, olines, base_dir, verr, f"variants.{vkey}.", top=False,
                                               root=config.root)
                for k in over:
                    variant_lines[f"variants.{vkey}.{k}"] = olines.get(k, vline)

    return Post(id=post_id, title=title, topic=topic, status=status, publish_at=publish_at, repeat=repeat,
                until=until, accounts=accounts, content=content, variants=variants, file=path, line=line,
                key_lines={**lines, **variant_lines}, queue=queue, priority=priority or 0, not_before=not_before,
                targets=targets)


def variant_keys(config: Config) -> set[str]:
    """What ``variants:`` may be keyed by: account names and platform names."""
    from spi_campaign.adapters import registry

    return set(config.accounts) | {a.platform for a in config.accounts.values()} | set(registry.available())


def _opt_str(raw: dict, key: str, err: Callable) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        err(key, _("{key} must be text, got {type}").format(key=key, type=type_name(value)))
        return None
    return value


def _read_content(raw: dict, lines: dict, base_dir: Path, err: Callable, prefix: str, *, top: bool,
                  root: Path) -> dict[str, Any]:
    """Type-check text/link/hashtags/media/thread of a post or of a variant.
    Returns only the keys present and valid. ``root``: the campaign folder."""
    out: dict[str, Any] = {}
    if not top:
        for key in raw:
            if key not in CONTENT_KEYS:
                err(key, _("unknown key '{key}' (a variant may set {keys}){hint}").format(
                    key=prefix + str(key), keys=", ".join(CONTENT_KEYS), hint=suggest(key, CONTENT_KEYS)))
    if "text" in raw:
        text = raw["text"]
        if not isinstance(text, str):
            err("text", prefix + _("text must be text, got {type}").format(type=type_name(text)))
        else:
            # Published exactly as written; the only change is dropping the final
            # newline a YAML block scalar (`text: |`) adds.
            if text.endswith("\n"):
                text = text[:-1]
            bad = _BAD_CHARS.search(text)
            if not text.strip():
                err("text", prefix + _("text is empty"))
            elif len(text) > MAX_TEXT:
                err("text", prefix + _("text is {n} characters; spi reads at most {most} "
                                       "(no platform takes more than 63,206)").format(n=f"{len(text):,}",
                                                                                     most=f"{MAX_TEXT:,}"))
            elif bad:
                err("text", prefix + _("text contains an invalid character {char}").format(
                    char=f"U+{ord(bad.group()):04X}"))
            else:
                out["text"] = text
    if "link" in raw and raw["link"] is not None:
        link = raw["link"]
        if not isinstance(link, str) or not (_URL.match(link.strip()) or "{{" in link):   # checked once rendered
            err("link", prefix + _("link must be an http(s) URL, got {value}").format(value=short_repr(link)))
        else:
            out["link"] = link.strip()
    if "hashtags" in raw and raw["hashtags"] is not None:
        tags = raw["hashtags"]
        if isinstance(tags, str):
            tags = tags.split()
        if not isinstance(tags, list):
            err("hashtags", prefix + _("hashtags must be a list such as [TolakGratifikasi, SPI2026], got {type}")
                .format(type=type_name(tags)))
        else:
            clean = []
            for tag in tags:
                if isinstance(tag, str) and ("{{" in tag or "{%" in tag):   # a template: checked once rendered
                    clean.append(tag.strip())
                    continue
                m = _HASHTAG.match(tag) if isinstance(tag, str) else None
                if m is None or m.group(1).isdigit():
                    err("hashtags", prefix + _("hashtag {tag} must be one word of letters, digits or _ "
                                               "(not only digits), without spaces").format(tag=short_repr(tag)))
                    continue
                clean.append(m.group(1))
            out["hashtags"] = tuple(clean)
    if "media" in raw and raw["media"] is not None:
        media = raw["media"]
        if isinstance(media, dict):
            media = [media]
        if not isinstance(media, list):
            err("media", prefix + _("media must be a list of {items} items, got {type}").format(
                items="{path, alt}", type=type_name(media)))
        else:
            items = []
            item_lines = getattr(media, "item_lines", None) or [lines.get("media")] * len(media)
            for i, item in enumerate(media):
                m = _read_media(item, i, base_dir, item_lines[i], err, prefix, root)
                if m is not None:
                    items.append(m)
            out["media"] = tuple(items)
    if "thread" in raw and raw["thread"] is not None:
        thread = raw["thread"]
        if not isinstance(thread, list) or not all(isinstance(t, str) for t in thread):
            err("thread", prefix + _("thread must be a list of texts, one per part"))
        elif len(thread) < 2:
            err("thread", prefix + _("thread needs at least 2 parts (use text for a single post)"))
        else:
            parts = tuple(t[:-1] if t.endswith("\n") else t for t in thread)
            ok = True
            for i, part in enumerate(parts):
                if not part.strip():
                    err("thread", prefix + _("thread part {n} is empty").format(n=i + 1))
                    ok = False
                elif len(part) > MAX_TEXT:
                    err("thread", prefix + _("thread part {n} is {length} characters; spi reads at most "
                                             "{most}").format(n=i + 1, length=f"{len(part):,}", most=f"{MAX_TEXT:,}"))
                    ok = False
                elif _BAD_CHARS.search(part):
                    err("thread", prefix + _("thread part {n} contains an invalid character").format(n=i + 1))
                    ok = False
            if ok:
                out["thread"] = parts
    return out


def _read_media(item: Any, index: int, base_dir: Path, line: int | None, err: Callable, prefix: str,
                root: Path) -> Media | None:
    if isinstance(item, str):
        item = {"path": item}
    if not isinstance(item, dict):
        err("media", prefix + _("media item {n} must be a mapping with path or url, got {type}").format(
            n=index + 1, type=type_name(item)), at=line)
        return None
    item_line = getattr(item, "line", line)
    ok = True
    for key in item:
        if key not in MEDIA_KEYS:
            err("media", prefix + _("media item {n}: unknown key '{key}'{hint}").format(
                n=index + 1, key=key, hint=suggest(key, MEDIA_KEYS)), at=item_line)
            ok = False
    path, url, alt = item.get("path"), item.get("url"), item.get("alt")
    if path is None and url is None:
        err("media", prefix + _("media item {n} needs 'path' (a file) or 'url'").format(n=index + 1), at=item_line)
        return None
    if path is not None and (not isinstance(path, str) or not path.strip() or "\0" in path):
        err("media", prefix + _("media item {n}: path must be a file name, got {value}").format(
            n=index + 1, value=short_repr(path)), at=item_line)
        ok = False
    if url is not None and (not isinstance(url, str) or not _URL.match(url.strip())):
        err("media", prefix + _("media item {n}: url must be an http(s) URL, got {value}").format(
            n=index + 1, value=short_repr(url)), at=item_line)
        ok = False
    if alt is not None and not isinstance(alt, str):
        err("media", prefix + _("media item {n}: alt must be text").format(n=index + 1), at=item_line)
        ok = False
    if not ok:
        return None
    resolved = realpath(base_dir / path) if path else None
    rel = None
    if resolved is not None:
        rel = os.path.relpath(resolved, root)
        if rel == ".." or rel.startswith(".." + os.sep):
            err("media", prefix + _("media item {n}: {path} is outside the campaign folder ({resolved}); "
                                    "keep images in the campaign so every reviewer sees them").format(
                n=index + 1, path=path, resolved=resolved), "warning", at=item_line)

    return Media(path=resolved, url=url.strip() if url else None, alt=alt.strip() if alt else None, line=item_line,
                 rel=rel)
