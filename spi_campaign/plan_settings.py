"""The ``pricing:``, ``topics:`` and ``topic_gap_days`` keys of config.yaml
(``spi plan``, ``spi calendar`` and validate's topic balance; README,
"Calendar and plan").

``pricing``: X's pay-per-use prices in US dollars, ``x_post_usd`` (a post
without a URL) and ``x_post_with_url_usd`` (a post with one).
``topics``: each topic's target, either ``{share: 0.3}`` (a share of the
campaign's publications, 0 < share <= 1) or ``{min_per_week: 2}`` (a whole
number of posts per week). ``topic_gap_days``: how many days a configured
topic may go without a post before ``plan`` and ``validate`` warn.
"""

from __future__ import annotations

from typing import Any, Callable

from spi_campaign.i18n import _
from spi_campaign.models import TopicTarget, suggest
from spi_campaign.timeutil import short_repr, type_name

KEYS = ("pricing", "topics", "topic_gap_days")
PRICING_DEFAULTS = {"x_post_usd": 0.015, "x_post_with_url_usd": 0.20}
TARGET_KEYS = ("share", "min_per_week")
DEFAULT_GAP_DAYS = 14


def read(raw: Any, lines: dict, err: Callable[..., None]
         ) -> tuple[dict[str, float], dict[str, TopicTarget], int]:
    """(pricing, topics, topic_gap_days) from the config mapping; every
    problem goes to ``err(line, message)`` and the default is used instead."""
    pricing = dict(PRICING_DEFAULTS)
    raw_pricing = raw.get("pricing")
    if raw_pricing is not None:
        if not isinstance(raw_pricing, dict):
            err(lines.get("pricing"), _("pricing must be a mapping (x_post_usd: 0.015, x_post_with_url_usd: 0.20), "
                                        "got {type}").format(type=type_name(raw_pricing)))
        else:
            plines = getattr(raw_pricing, "key_lines", {}) or {}
            for key, value in raw_pricing.items():
                line = plines.get(key, lines.get("pricing"))
                if key not in PRICING_DEFAULTS:
                    err(line, _("pricing: unknown key '{key}'{hint}; known keys: {keys}").format(
                        key=key, hint=suggest(key, PRICING_DEFAULTS), keys=", ".join(PRICING_DEFAULTS)))
                elif isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    err(line, _("pricing: {key} must be a price in US dollars (a number >= 0), got {value}").format(
                        key=key, value=short_repr(value)))
                else:
                    pricing[key] = float(value)

    topics: dict[str, TopicTarget] = {}
    raw_topics = raw.get("topics")
    if raw_topics is not None:
        if not isinstance(raw_topics, dict):
            err(lines.get("topics"), _("topics must be a mapping of topic to target ({{share: 0.3}} or "
                                       "{{min_per_week: 2}}), got {type}").format(type=type_name(raw_topics)))
        else:
            tlines = getattr(raw_topics, "key_lines", {}) or {}
            total = 0.0
            for name, spec in raw_topics.items():
                line = tlines.get(name, lines.get("topics"))
                target = _target(str(name), spec, line, err)
                if target is not None:
                    topics[str(name)] = target
                    total += target.share or 0.0
            if total > 1.0 + 1e-9:
                err(lines.get("topics"), _("topics: the shares add up to {total}, more than 1 (100%)").format(
                    total=f"{total:g}"))

    gap = raw.get("topic_gap_days", DEFAULT_GAP_DAYS)
    if isinstance(gap, bool) or not isinstance(gap, int) or gap < 1:
        err(lines.get("topic_gap_days"), _("topic_gap_days must be a whole number of days >= 1, got {value}").format(
            value=short_repr(gap)))
        gap = DEFAULT_GAP_DAYS
    return pricing, topics, gap


def _target(name: str, spec: Any, line: int | None, err) -> TopicTarget | None:
    if not isinstance(spec, dict) or len(spec) != 1:
        err(line, _("topics: '{topic}' needs exactly one of share (e.g. share: 0.3) or min_per_week "
                    "(e.g. min_per_week: 2), got {type}").format(topic=name, type=type_name(spec)))
        return None
    (key, value), = spec.items()
    if key not in TARGET_KEYS:
        err(line, _("topics: '{topic}': unknown key '{key}'{hint}; use share or min_per_week").format(
            topic=name, key=key, hint=suggest(key, TARGET_KEYS)))
        return None
    if key == "share":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
            err(line, _("topics: '{topic}': share must be a number above 0 and at most 1 (0.3 = 30%), "
                        "got {value}").format(topic=name, value=short_repr(value)))
            return None
        return TopicTarget(name, share=float(value), line=line)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        err(line, _("topics: '{topic}': min_per_week must be a whole number >= 1, got {value}").format(
            topic=name, value=short_repr(value)))
        return None
    return TopicTarget(name, min_per_week=value, line=line)
