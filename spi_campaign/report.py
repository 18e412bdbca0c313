"""``spi report``: the evidence of a campaign for KPK and the SPI assessors
(docs/metrics.md, "Report and metrics").

The totals come first from one counting query (``ledger.range_counts``);
then the rows stream: ``ledger.iter_rows`` (newest first) merged with
``ledger.iter_latest_metrics`` (the same order, one indexed range scan), so
a million rows cost ten times a hundred thousand and memory stays bounded:
what is kept are counts per state, topic, platform and week, never the
rows. A sink (``render_report``) gets the summary and the row stream.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Callable, Iterator

from spi_campaign.adapters.base import COMMON_METRICS
from spi_campaign.i18n import _

#: totals in the report; ``publishing`` (in flight) counts as pending, ``skipped`` is left out
TOTAL_STATES = ("published", "failed", "missed", "unknown", "pending")
_STATE_OF = {"publishing": "pending"}
PROBLEM_STATES = ("failed", "missed", "unknown")
NO_TOPIC = "(tanpa topik)"


@dataclass
class Summary:
    start: datetime
    end: datetime                                   # exclusive
    tz: tzinfo
    totals: dict[str, int] = field(default_factory=lambda: {s: 0 for s in TOTAL_STATES})
    by_topic: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    weekly: dict[date, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    reach: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    topics: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"from": self.start.astimezone(self.tz).isoformat(timespec="seconds"),
                "to": self.end.astimezone(self.tz).isoformat(timespec="seconds"),
                "totals": dict(self.totals),
                "by_topic": {t: dict(sorted(p.items())) for t, p in sorted(self.by_topic.items())}}


def month_range(month: str, tz: tzinfo) -> tuple[datetime, datetime]:
    """``YYYY-MM`` -> [first day 00:00, first day of the next month) in ``tz``."""
    try:
        y, m = (int(x) for x in month.split("-"))
        start = datetime(y, m, 1, tzinfo=tz)
    except (ValueError, TypeError):
        raise ValueError(_("--month must look like 2026-12, got {value}").format(value=repr(month))) from None
    end = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=tz)
    return start, end


def resolve_range(tz: tzinfo, now: datetime, *, start: str | None, end: str | None,
                  month: str | None) -> tuple[datetime, datetime]:
    """The report's range: ``--month``, or ``--from``/``--to`` (dates included
    whole), default the current month in the campaign timezone."""
    from spi_campaign.timeutil import parse_datetime

    if month and (start or end):
        raise ValueError(_("give either --month or --from/--to, not both"))
    if month:
        return month_range(month, tz)
    m_start, m_end = month_range(now.astimezone(tz).strftime("%Y-%m"), tz)
    lo = parse_datetime(start, tz, field="--from", allow_date=True) if start else m_start
    hi = (parse_datetime(end, tz, field="--to", allow_date=True, end_of_day=True) + timedelta(microseconds=1)
          if end else m_end)
    if hi <= lo:
        raise ValueError(_("--to is before --from"))
    return lo, hi


def topic_targets(config) -> dict[str, float | None]:
    """``topics:`` of config.yaml (another part of spi reads it too): topic ->
    target share (0-1; a number above 1 is a percentage), None when only a
    weekly minimum is set."""
    raw = getattr(config, "topics", None) or {}
    out: dict[str, float | None] = {}
    for name, spec in dict(raw).items():
        share = getattr(spec, "share", None)
        if share is None and isinstance(spec, dict):
            share = spec.get("share")
        elif share is None and isinstance(spec, (int, float)) and not isinstance(spec, bool):
            share = spec
        if isinstance(share, (int, float)) and not isinstance(share, bool):
            out[str(name)] = float(share) / 100 if share > 1 else float(share)
        else:
            out[str(name)] = None
    return out


def publications(config, ledger, posts: dict[str, tuple[str | None, str | None]], start: datetime,
                 end: datetime) -> tuple[Summary, Iterator[dict[str, Any]]]:
    """The summary and every publication in ``[start, end)``, newest first,
    as the JSON contract's dict. Totals, ``by_topic`` and ``topics`` are
    known before the rows stream (``ledger.range_counts``); ``weekly`` and
    ``reach`` (the HTML charts) are filled in while they stream."""
    tz = config.timezone
    summary = Summary(start, end, tz)
    platform_of = {name: acc.platform for name, acc in config.accounts.items()}
    totals, by_topic = summary.totals, summary.by_topic
    for state, post, account, n in ledger.range_counts(start, end):
        state = _STATE_OF.get(state, state)
        if state not in totals:
            continue
        totals[state] += n
        if state == "published":
            by_topic[posts.get(post, (None, None))[1] or NO_TOPIC][platform_of.get(account) or "?"] += n
    _topics(summary, topic_targets(config))

    def rows() -> Iterator[dict[str, Any]]:
        metrics = ledger.iter_latest_metrics(since=start, until=end)
        m = next(metrics, None)
        weekly, reach = summary.weekly, summary.reach
        for row in ledger.iter_rows(since=start, until=end):
            state = _STATE_OF.get(row.state, row.state)
            if state not in totals:
                continue
            occ = row.occurrence
            # the metrics stream is in the same order: skip what has no row, take ours
            while m is not None and (m[0][2] > occ or (m[0][2] == occ and (m[0][0], m[0][1]) < (row.post,
                                                                                                  row.account))):
                m = next(metrics, None)
            values = at = why = None
            if m is not None and m[0] == row.key:
                got = m[2]
                values = {k: got.get(k, (None, None))[0] for k in COMMON_METRICS}
                why = {k: got[k][1] for k in COMMON_METRICS if k in got and got[k][0] is None and got[k][1]} or None
                at = m[1].astimezone(tz).isoformat(timespec="seconds")
            title, topic = posts.get(row.post, (None, None))
            local = occ.astimezone(tz)
            if state == "published":
                t = topic or NO_TOPIC
                weekly[local.date() - timedelta(days=local.weekday())][t] += 1
                if values and values.get("reach"):
                    reach[t] += values["reach"]
            yield {"post": row.post, "title": title, "topic": topic, "account": row.account,
                   "platform": platform_of.get(row.account), "at": local.isoformat(timespec="seconds"),
                   "state": state, "url": row.url, "metrics": values, "metrics_at": at, "metrics_reasons": why,
                   "error": row.error}

    return summary, rows()


def _topics(summary: Summary, targets: dict[str, float | None]) -> None:
    published = summary.totals["published"]
    counts = {t: sum(p.values()) for t, p in summary.by_topic.items()}
    names = list(targets) + sorted(t for t in counts if t not in targets)
    summary.topics = [{"topic": t, "target": targets.get(t), "actual": counts.get(t, 0),
                       "share": round(counts.get(t, 0) / published, 4) if published else None} for t in names]


def post_index(campaign) -> dict[str, tuple[str | None, str | None]]:
    return {p.id: (p.title, p.topic) for p in campaign.posts}


def run(config, ledger, posts, start: datetime, end: datetime, sink: Callable[[Summary, Iterator[dict]], None]):
    summary, rows = publications(config, ledger, posts, start, end)
    sink(summary, rows)
    return summary
