"""Per-account checks: does each post fit each platform it targets?

Runs after ``loader`` has read the structure. Needs no credentials and no
network: it uses only the adapter *classes* (limits, compose, measure).

Speed: X's exact weighted length costs ~2 ms a call, so ``Adapter.fits`` is
used (a cheap provable bound first, the exact count only when the bound says
the text might not fit), and composition is done once per (post, account).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from spi_campaign.adapters import registry
from spi_campaign.i18n import N_, _
from spi_campaign.media import sniff_image, type_names
from spi_campaign.safeio import NotRegularFile
from spi_campaign.safeio import head as read_head
from spi_campaign.models import Account, Campaign, Media, Post, Problem
from spi_campaign.recurrence import next_publish
from spi_campaign.templates_render import TemplateError, check_syntax, render_title, sources
from spi_campaign.timeutil import human, now_utc

# The "in the past" warning; views.py recognises it (in either language) to drop it for published posts.
PAST_WARNING = N_("publish time {when} is in the past")
_MENTION = re.compile(r"(?<![\w@])@(\w{1,30})")
_HASHTAG = re.compile(r"(?<![\w#&])#(\w+)")

@lru_cache(maxsize=4096)
def media_info(path: Path) -> tuple[str | None, int | None]:
    """(MIME type from the file's first bytes, size in bytes); (None, reason)
    when it cannot be read. Only a regular file is opened, never blocking (a
    FIFO or a device named as an image would hang every command)."""
    try:
        head, size = read_head(path, 16)
    except NotRegularFile as exc:
        return None, exc.strerror
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, exc.strerror or str(exc)
    except ValueError:   # a name the OS cannot take
        return None, None
    mime = sniff_image(head)
    if mime is None:
        mime = "video/mp4" if head[4:8] == b"ftyp" else "application/octet-stream"
    return mime, size


def check_campaign(campaign: Campaign, now: datetime | None = None) -> None:
    now = now or now_utc()
    # The cache only spares re-reading an image shared by many posts in this
    # check: a long-running `schedule` must see an image added or replaced since.
    media_info.cache_clear()
    cfg = campaign.config
    for post in campaign.posts:
        _check_post(post, campaign, now)
    check_topics(campaign, now)
    # An account nobody posts to is fine; a platform plugin that failed is worth a warning.
    for warning in registry.plugin_warnings():
        campaign.problems.append(Problem(str(cfg.path), None, None, None, "warning", warning))


def check_posts(campaign: Campaign, posts, now: datetime | None = None) -> None:
    """``check_campaign`` for some posts only (a reload of changed files)."""
    now = now or now_utc()
    media_info.cache_clear()
    for post in posts:
        _check_post(post, campaign, now)


def _check_post(post: Post, campaign: Campaign, now: datetime) -> None:
    cfg = campaign.config
    problems = campaign.problems
    fname = str(post.file)

    def add(line, account, severity, message):
        problems.append(Problem(fname, line, post.id, account, severity, message))

    # Time-based warnings.
    if post.publish_at is not None:
        upcoming = next_publish(post, now, cfg.timezone)
        if post.status == "approved":
            if post.repeat and upcoming is None and (post.until is None or post.until >= now):
                after = human(max(post.publish_at, now), cfg.timezone)
                add(post.line_of("repeat"), None, "warning",
                    (_("repeat '{repeat}' never happens after {after} and before until {until}: "
                       "the post is never published") if post.until else
                     _("repeat '{repeat}' never happens after {after}: the post is never published"))
                    .format(repeat=post.repeat, after=after,
                            until=human(post.until, cfg.timezone) if post.until else ""))
            elif upcoming is None or upcoming < now:
                when = human(post.publish_at, cfg.timezone)
                add(post.line_of("publish_at"), None, "warning",
                    _(PAST_WARNING).format(when=when) + (_(" and the repeat has ended") if post.repeat else ""))
        elif post.status == "draft" and upcoming is not None and now <= upcoming <= now + timedelta(hours=24):
            add(post.line_of("status"), None, "warning",
                _("still a draft but due {when} (within 24 hours); approve or move it")
                .format(when=human(upcoming, cfg.timezone)))

    # Alt text: once per distinct image of the post, whatever account uses it.
    seen_media: set[tuple] = set()
    for content_media in [post.content.media] + [tuple(v.get("media", ())) for v in post.variants.values()]:
        for m in content_media:
            key = (m.path, m.url)
            if key in seen_media:
                continue
            seen_media.add(key)
            if not m.alt:
                add(m.line or post.line_of("media"), None, "warning",
                    _("image {name} has no alt text (write what it shows, for screen-reader users)")
                    .format(name=_media_name(m)))

    templated = _template_syntax(post, add)   # None: a syntax error, already reported once
    missing: set[Path] = set()
    for name in post.accounts:
        account = cfg.accounts.get(name)
        if account is None:
            add(post.line_of("accounts"), name, "error", cfg.unknown_account(name))
            continue
        cls = registry.get(account.platform)
        if cls is None:
            continue  # the config problem already says so
        if templated is None:
            continue
        if templated:
            try:
                render_title(post, account)
                _check_target(post, account, cls, add, missing)
            except TemplateError as exc:
                add(_template_line(post, account, exc), name, "error", exc.message)
            continue
        _check_target(post, account, cls, add, missing)


def _media_name(m: Media) -> str:
    return m.path.name if m.path else (m.url or "?")


def _text_line(post: Post, account: Account, key: str = "text") -> int | None:
    for vkey in (account.name, account.platform):
        line = post.key_lines.get(f"variants.{vkey}.{key}")
        if line is not None:
            return line
    return post.line_of(key)


def _check_target(post: Post, account: Account, cls, add, missing: set[Path]) -> None:
    """``missing``: media files already reported missing for this post (reported once, not per account)."""
    from spi_campaign.compose import render

    limits = cls.limits
    rendered = render(post, account)
    name = account.name
    label = cls.label or cls.platform

    for i, (part, limit) in enumerate(zip(rendered.parts, cls.part_limits(rendered, account))):
        if limit is None or (cls.fits(part) if limit == limits.text else cls.measure(part) <= limit):
            continue
        where = _("thread part {i}").format(i=i + 1) if rendered.thread else _("text")
        if i == 0 and rendered.media and limit != limits.text:
            where += _(" (a caption, with images)")
        add(_text_line(post, account, "thread" if rendered.thread else "text"), name, "error",
            _("{where} is {n} characters on {platform}, over its limit of {limit}")
            .format(where=where, n=cls.measure(part), platform=label, limit=limit)
            + (_(" (add a shorter variant for this platform)") if not rendered.thread else ""))
    for problem in cls.problems(rendered):
        add(_text_line(post, account), name, "error", problem)
    if limits.max_hashtags is not None:
        n = len(_HASHTAG.findall(rendered.text))
        if n > limits.max_hashtags:
            add(_text_line(post, account, "hashtags"), name, "error",
                _("{n} hashtags; {platform} allows at most {limit}").format(n=n, platform=label,
                                                                             limit=limits.max_hashtags))
    if limits.max_mentions is not None:
        n = len(_MENTION.findall(rendered.text))
        if n > limits.max_mentions:
            add(_text_line(post, account), name, "error",
                _("{n} @mentions; {platform} allows at most {limit}").format(n=n, platform=label,
                                                                              limit=limits.max_mentions))

    media = rendered.media
    mline = _text_line(post, account, "media")
    if len(media) < limits.min_media:
        add(mline, name, "error", _("{platform} needs at least {n} image").format(platform=label, n=limits.min_media))
    if len(media) > limits.max_media:
        add(mline, name, "error", _("{n} images; {platform} takes at most {limit}").format(
            n=len(media), platform=label, limit=limits.max_media))
    for m in media:
        line = m.line or mline
        if limits.media_needs_url and not m.url:
            add(line, name, "error", _("image {name}: {platform} fetches images from a public URL; add url:")
                .format(name=_media_name(m), platform=label))
        if limits.media_needs_file and m.path is None:
            add(line, name, "error", _("image {name}: {platform} uploads image files and cannot fetch a URL; "
                                       "add path:").format(name=_media_name(m), platform=label))
        if m.path is None:
            continue
        mime, size = media_info(m.path)
        if mime is None:
            if m.path not in missing:
                missing.add(m.path)
                add(line, None, "error", _("media file not found: {path}").format(path=m.path) if size is None
                    else _("media file {path} cannot be used: {reason}").format(path=m.path, reason=size))
            continue
        if limits.media_types and mime not in limits.media_types:
            add(line, name, "error", _("image {name} is {mime}; {platform} accepts {types}").format(
                name=m.path.name, mime=mime, platform=label, types=type_names(limits.media_types)))
        if limits.max_media_bytes is not None and size is not None and size > limits.max_media_bytes:
            add(line, name, "error", _("image {name} is {size} MB; {platform} accepts at most {limit} MB").format(
                name=m.path.name, size=f"{size / 1_048_576:.1f}", platform=label,
                limit=f"{limits.max_media_bytes / 1_048_576:.0f}"))


def check_topics(campaign: Campaign, now: datetime) -> None:
    """Topic balance (config ``topics:``; ``spi plan`` has the full check):
    a post's topic that is not a configured one; a configured topic with no
    approved post in the next ``topic_gap_days``; a ``share`` target under
    half of what the approved posts give. One pass over the posts."""
    cfg = campaign.config
    if not cfg.topics:
        return
    from spi_campaign.models import suggest

    horizon = now + timedelta(days=cfg.topic_gap_days)
    soon: set[str] = set()
    counts: dict[str, int] = {}
    approved = 0
    for post in campaign.posts:
        if post.status != "approved":
            continue
        approved += 1
        counts[post.topic] = counts.get(post.topic, 0) + 1
        if post.topic not in cfg.topics:
            if post.topic is not None:
                campaign.problems.append(Problem(str(post.file), post.line_of("topic"), post.id, None, "warning",
                                                 _("topic '{topic}' is not one of the topics in config.yaml"
                                                   "{hint} ({topics})").format(
                                                     topic=post.topic, hint=suggest(post.topic, cfg.topics),
                                                     topics=", ".join(cfg.topics))))
            continue
        if post.topic not in soon:
            nxt = next_publish(post, now, cfg.timezone)
            if nxt is not None and now <= nxt <= horizon:
                soon.add(post.topic)
    for topic, target in cfg.topics.items():
        where = (str(cfg.path), target.line or cfg.topics_line)
        if topic not in soon:
            campaign.problems.append(Problem(*where, None, None, "warning",
                                             _("topic '{topic}' has no approved post in the next {days} "
                                               "days (topic_gap_days); see 'spi plan'").format(
                                                 topic=topic, days=cfg.topic_gap_days)))
        if target.share is not None and approved and counts.get(topic, 0) / approved < target.share / 2:
            campaign.problems.append(Problem(*where, None, None, "warning",
                                             _("topic '{topic}': {n} of {approved} approved posts "
                                               "({share}), far below its target {target}").format(
                                                 topic=topic, n=counts.get(topic, 0), approved=approved,
                                                 share=f"{counts.get(topic, 0) / approved:.0%}",
                                                 target=f"{target.share:.0%}")))


def _template_syntax(post: Post, add) -> bool | None:
    """False: ``post`` has no template. True: its templates compile. None:
    one does not; each syntax error is reported once (not per account)."""
    found, broken = False, False
    for source, field, label, vkey, media in sources(post):
        found = True
        exc = check_syntax(source, field, label)
        if exc is not None:
            broken = True
            if media is not None and media.line:
                line = media.line
            else:
                line = post.key_lines.get(f"variants.{vkey}.{field}") if vkey else post.line_of(field)
            add(_inner(post, line, exc.inner_line), None, "error", exc.message)
    return None if broken else found


def _template_line(post: Post, account: Account, exc) -> int | None:
    """The file line of a template error: the line of the field (the
    variant's, when the account's text comes from one), moved to the line
    inside a ``|`` block when the error names one."""
    if exc.media is not None and exc.media.line:
        return exc.media.line
    if exc.field == "title":
        return _inner(post, post.line_of("title"), exc.inner_line)
    return _inner(post, _text_line(post, account, exc.field), exc.inner_line)


def _inner(post: Post, line: int | None, inner: int | None) -> int | None:
    """``line`` (of a key) + ``inner`` - when the value is a literal block
    (``key: |``), whose lines are the file's next lines one for one."""
    if line is None or not inner:
        return line
    try:
        with open(post.file, encoding="utf-8", errors="replace") as fh:
            for i, text in enumerate(fh, 1):
                if i == line:
                    return line + inner if _LITERAL.search(text) else line
    except OSError:
        pass
    return line


_LITERAL = re.compile(r":\s*\|[-+0-9]*\s*(#.*)?$")
