"""``spi plan``: what the next N days will publish and cost, and what to
fix first (in the spirit of ``terraform plan``). No Click here.

The publications are the calendar's (``calendar.collect``: the planner's
occurrence code merged with the ledger): approved posts, ``planned`` or
``pending``. Warnings:

- ``instagram_quota``: more than 50 Instagram posts in a rolling 24 h (the
  content publishing limit), publications of the previous 24 h counted;
- ``x_quota``: more than X's per-user limits, 100 posts in 15 minutes
  (``POST /2/tweets``) or 2,400 in 24 h (``x-user-limit-24hour``); every
  part of a thread is a post;
- ``max_per_day``: more than the account's ``max_per_day`` on a local day
  (the engine defers the rest to the next day);
- ``topic_gap``: a topic of ``topics:`` without a post for more than
  ``topic_gap_days`` (published history counted);
- ``topic_below_target``: a topic under half its ``share`` of the window's
  posts, or under its ``min_per_week`` (scaled to the window);
- ``draft``: a draft due in the window (it will not go out unless approved);
- ``render``: a publication whose text cannot be composed.

X cost: each X post costs ``pricing.x_post_usd``, or
``pricing.x_post_with_url_usd`` when it carries a URL (twitter-text's URL
extraction, the one X uses); the saving is what link-free variants of the
posts with URLs would spare.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from spi_campaign.calendar import Entry, collect
from spi_campaign.i18n import _
from spi_campaign.models import Campaign
from spi_campaign.timeutil import UTC

IG_PER_24H = 50
X_PER_15MIN = 100
X_PER_24H = 2400
WILL_PUBLISH = ("planned", "pending")
NO_TOPIC = "(no topic)"
DAY = timedelta(days=1)


def _x_parts(entry: Entry, config, cache: dict) -> tuple[int, int] | None:
    """(posts, posts with a URL) of an X publication; None when it cannot be composed."""
    k = (entry.post, entry.account)
    if k not in cache:
        from twitter_text import extract_urls   # lazy: ~0.3 s

        from spi_campaign.compose import render
        from spi_campaign.errors import SpiError

        try:
            r = render(entry.post_obj, config.accounts[entry.account])
        except (SpiError, KeyError, AttributeError):
            cache[k] = None
        else:
            parts = r.parts
            cache[k] = (len(parts), sum(1 for p in parts if extract_urls(p)))
    return cache[k]


def build(campaign: Campaign, now: datetime, days: int) -> dict[str, Any]:
    """The plan of ``[now, now + days)``: the JSON contract (README)."""
    cfg = campaign.config
    tz = cfg.timezone
    start = now.astimezone(UTC)
    end = start + days * DAY
    lookback = max(DAY, cfg.topic_gap_days * DAY)
    everything = collect(campaign, start - lookback, end)
    window = [e for e in everything if e.at >= start]
    pubs = [e for e in window if e.status == "approved" and e.state in WILL_PUBLISH]
    warnings: list[dict[str, Any]] = []

    def warn(kind, message, at=None, account=None, topic=None):
        day = at.astimezone(tz).date().isoformat() if at is not None else None
        warnings.append({"kind": kind, "message": message, "day": day, "account": account, "topic": topic})

    # X posts and cost
    price, price_url = cfg.pricing["x_post_usd"], cfg.pricing["x_post_with_url_usd"]
    cache: dict = {}
    x_posts = x_url = 0
    weight: dict[tuple[str, str, datetime], int] = {}
    rows = []
    for e in pubs:
        row = e.as_dict(tz)
        row["cost_usd"] = None
        if e.platform == "x":
            n = _x_parts(e, cfg, cache)
            if n is None:
                warn("render", _("post '{post}' cannot be composed for {account}; run 'spi post validate'")
                     .format(post=e.post, account=e.account),
                     e.at, e.account, e.topic)
                n = (1, 0)
            x_posts += n[0]
            x_url += n[1]
            weight[(e.post, e.account, e.at)] = n[0]
            row["cost_usd"] = round((n[0] - n[1]) * price + n[1] * price_url, 4)
        rows.append(row)
    cost = (x_posts - x_url) * price + x_url * price_url

    # drafts that fall due
    for e in window:
        if e.status == "draft" and e.state == "planned":
            warn("draft", _("post '{post}' is a draft due {when} on {account}: it will not be published unless its "
                            "status becomes approved").format(post=e.post, when=f"{e.at.astimezone(tz):%Y-%m-%d %H:%M}",
                                                              account=e.account), e.at, e.account, e.topic)

    # quotas
    live = ("published", "publishing", "unknown")
    history = [e for e in everything if e.at < start and e.at >= start - DAY and e.state in live]
    by_account: dict[str, list[Entry]] = defaultdict(list)
    for e in history + pubs:
        by_account[e.account].append(e)
    for name, items in sorted(by_account.items()):
        items.sort(key=lambda e: e.at)
        acc = cfg.accounts.get(name)
        if acc is None:
            continue
        if acc.platform == "instagram":
            _rolling(items, DAY, IG_PER_24H, start, lambda e: 1, lambda at, n: warn(
                "instagram_quota", _("{n} Instagram posts on {account} in the 24 h up to {when}: Instagram allows "
                                     "{limit}").format(n=n, account=name, when=f"{at.astimezone(tz):%Y-%m-%d %H:%M}",
                                                       limit=IG_PER_24H), at, name))
        if acc.platform == "x":
            w = (lambda e: weight.get((e.post, e.account, e.at), 1))
            for span, limit, words in ((timedelta(minutes=15), X_PER_15MIN, _("15 minutes")), (DAY, X_PER_24H, _("24 h"))):
                _rolling(items, span, limit, start, w, lambda at, n, words=words, limit=limit: warn(
                    "x_quota", _("{n} X posts on {account} in the {span} up to {when}: X allows {limit} per user").format(
                        n=n, account=name, span=words, when=f"{at.astimezone(tz):%Y-%m-%d %H:%M}", limit=limit),
                    at, name))
        if acc.max_per_day:
            per_day = Counter(e.at.astimezone(tz).date() for e in items)
            for d, n in sorted(per_day.items()):
                if n > acc.max_per_day and d >= start.astimezone(tz).date():
                    first = next(e.at for e in items if e.at.astimezone(tz).date() == d)
                    warn("max_per_day", _("{n} publications on {account} on {day}: max_per_day is {limit}, "
                                          "{wait} will wait for the next day").format(
                                              n=n, account=name, day=d, limit=acc.max_per_day,
                                              wait=n - acc.max_per_day), max(first, start), name)

    _topics(cfg, everything, pubs, start, end, days, warn)
    warnings.sort(key=lambda w: (w["day"] or "", w["kind"], w["account"] or "", w["topic"] or ""))
    return {
        "from": start.astimezone(tz).isoformat(timespec="seconds"),
        "to": end.astimezone(tz).isoformat(timespec="seconds"),
        "publications": rows,
        "by_platform": dict(sorted(Counter(e.platform or "?" for e in pubs).items())),
        "by_topic": dict(sorted(Counter(e.topic or NO_TOPIC for e in pubs).items())),
        "x": {"posts": x_posts, "with_url": x_url, "cost_usd": round(cost, 4),
              "link_free_cost_usd": round(x_posts * price, 4),
              "link_free_saving_usd": round(x_url * (price_url - price), 4),
              "price_usd": price, "price_with_url_usd": price_url},
        "warnings": warnings,
    }


def _rolling(items: list[Entry], span: timedelta, limit: int, start: datetime, weight, report) -> None:
    """``report(at, n)`` once per local day at the first instant where the
    posts in ``(at - span, at]`` exceed ``limit``."""
    times = [e.at for e in items]
    cum = [0]
    for e in items:
        cum.append(cum[-1] + weight(e))
    reported: set = set()
    for i, at in enumerate(times):
        if at < start:
            continue
        j = bisect_right(times, at)
        k = bisect_right(times, at - span)
        n = cum[j] - cum[k]
        day = at.date()
        if n > limit and day not in reported:
            reported.add(day)
            report(at, n)


def _topics(cfg, everything: list[Entry], pubs: list[Entry], start: datetime, end: datetime, days: int,
            warn) -> None:
    if not cfg.topics:
        return
    tz = cfg.timezone
    gap = cfg.topic_gap_days * DAY
    gone = ("failed", "missed", "skipped")
    seen: dict[str, set[datetime]] = defaultdict(set)
    for e in everything:
        if e.topic in cfg.topics and e.status == "approved" and e.state not in gone:
            seen[e.topic].add(e.at)
    window_posts = {(e.post, e.at): e.topic for e in pubs}
    total = len(window_posts)
    counts = Counter(window_posts.values())
    for topic, target in cfg.topics.items():
        points = sorted(seen.get(topic, ()))
        marks = [start - gap] + points[bisect_left(points, start - gap):] + [end]
        for a, b in zip(marks, marks[1:]):
            if b - a > gap and a + gap < end:
                last = _("the end of this plan") if b == end else f"{b.astimezone(tz):%Y-%m-%d}"
                warn("topic_gap", _("topic '{topic}': no post between {start} and {end}, more than topic_gap_days "
                                    "({days})").format(topic=topic, start=f"{a.astimezone(tz):%Y-%m-%d}", end=last,
                                                       days=cfg.topic_gap_days), max(a + gap, start), topic=topic)
        n = counts.get(topic, 0)
        if target.share is not None:
            if total and n / total < target.share / 2:
                warn("topic_below_target", _("topic '{topic}': {n} of {total} posts in the next {days} days "
                                             "({share}), far below its target {target}").format(
                                                 topic=topic, n=n, total=total, days=days, share=f"{n / total:.0%}",
                                                 target=f"{target.share:.0%}"), topic=topic)
        else:
            expected = int(target.min_per_week * days / 7)
            if n < expected:
                warn("topic_below_target", _("topic '{topic}': {n} posts in the next {days} days, below its minimum "
                                             "of {min} per week ({expected} for {days} days)").format(
                                                 topic=topic, n=n, days=days, min=target.min_per_week,
                                                 expected=expected),
                     topic=topic)
