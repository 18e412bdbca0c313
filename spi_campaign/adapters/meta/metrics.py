"""Engagement read back from Meta (``spi metrics fetch``, docs/metrics.md).

Current metric names, retirements and permissions: tests/data/platform/meta/
insights-excerpt.md (from Meta's insights reference pages, 2026).

- **Facebook Page post**: likes (reactions), comments and shares from the
  post's own fields, ``GET /{post-id}?fields=shares,comments.summary(true).limit(0),
  reactions.summary(true).limit(0)`` (``pages_read_engagement``); views and
  reach from insights, ``GET /{post-id}/insights?metric=post_media_view`` and
  ``post_total_media_view_unique`` (``read_insights``).
- **Instagram media**: ``GET /{media-id}/insights?metric=<m>`` for ``views,
  reach, likes, comments, shares, saved`` (``instagram_manage_insights``).

One metric per request: Meta fails a whole comma-separated request when one
name in it is retired (error #100), so a retired metric blanks that metric
only. An empty ``data`` list means "no data" (Meta returns no zero). A
missing permission (code 10 or 200-299) stops the account with one message
naming the permission.
"""

from __future__ import annotations

from typing import Any

from spi_campaign.adapters.base import MetricsRef, MetricsResult
from spi_campaign.errors import AdapterError, PermanentError
from spi_campaign.i18n import _

FB_INSIGHTS = {"views": "post_media_view", "reach": "post_total_media_view_unique"}
FB_FIELDS = "shares,comments.summary(true).limit(0),reactions.summary(true).limit(0)"
IG_INSIGHTS = {"views": "views", "reach": "reach", "likes": "likes", "comments": "comments",
               "shares": "shares", "saved": "saved"}


class MetricsPermissionError(PermanentError):
    """The token lacks an insights permission: one message for the account."""


def _insight_value(result: dict) -> int | None | str:
    """The lifetime value of one insights answer; "" when Meta has no data."""
    data = result.get("data")
    if not isinstance(data, list) or not data:
        return ""
    first = data[0] if isinstance(data[0], dict) else {}
    if "total_value" in first and isinstance(first["total_value"], dict):
        v = first["total_value"].get("value")
    else:
        vals = first.get("values") or ()
        v = vals[-1].get("value") if vals and isinstance(vals[-1], dict) else None
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _judge(exc: AdapterError, metric: str, name: str, permission: str, who: str, token_env: str,
           product: str) -> str:
    """The reason a metric is null, or raise for an account-wide failure."""
    err = getattr(exc, "graph", None) or {}
    code = err.get("code")
    message = str(err.get("message") or exc)
    if code == 100:
        return _("{platform} refused the metric '{name}' (#100: retired or not valid for this post)").format(
            platform=product, name=name)
    if code == 10 and "not enough viewers" in message.lower():
        return _("{platform}: not enough viewers to show insights").format(platform=product)
    if code == 10 or (isinstance(code, int) and 200 <= code <= 299):
        raise MetricsPermissionError(_("{who}: {platform} insights need the '{permission}' permission, which "
                                       "the token in {env} lacks; grant it to the app and get a new "
                                       "token (publishing is not affected)").format(
            who=who, platform=product, permission=permission, env=token_env))
    raise exc


class MetaMetrics:
    supports_metrics = True
    #: metric -> insights name; the permission insights need
    insights: dict[str, str] = {}
    insights_permission: str = ""

    def _insights(self, media_id: str, metric: str, name: str) -> tuple[int | None, str | None]:
        try:
            result = self._client().get(media_id, "insights", metric=name,
                                        what=_("reading the insight {name} (GET /{{id}}/insights)").format(name=name))
        except AdapterError as exc:
            return None, _judge(exc, metric, name, self.insights_permission, self.who, self.token_env,
                                self.product)
        v = _insight_value(result)
        if v == "":
            return None, _("{platform} has no data for '{name}' yet (data may lag up to 48 hours)").format(
                platform=self.product, name=name)
        return v, None if v is not None else _("{platform} answered '{name}' without a number").format(
            platform=self.product, name=name)

    def _from_insights(self, media_id: str, values: dict[str, Any], reasons: dict[str, str]) -> None:
        for metric, name in self.insights.items():
            values[metric], why = self._insights(media_id, metric, name)
            if why:
                reasons[metric] = why

    def metrics(self, refs: list[MetricsRef]) -> dict[str, MetricsResult]:
        out: dict[str, MetricsResult] = {}
        for ref in refs:
            values: dict[str, Any] = {}
            reasons: dict[str, str] = {}
            self._fields(ref.remote_id, values, reasons)
            self._from_insights(ref.remote_id, values, reasons)
            out[ref.remote_id] = MetricsResult.build(values, reasons)
        return out

    def _fields(self, media_id: str, values: dict[str, Any], reasons: dict[str, str]) -> None:
        """Counts from the object's own fields (Facebook); nothing by default."""


class FacebookMetrics(MetaMetrics):
    insights = FB_INSIGHTS
    insights_permission = "read_insights"

    def _fields(self, post_id: str, values: dict[str, Any], reasons: dict[str, str]) -> None:
        try:
            post = self._client().get(post_id, fields=FB_FIELDS,
                                      what=_("reading the post's reactions, comments and shares (GET /{post-id})"))
        except AdapterError as exc:
            err = getattr(exc, "graph", None) or {}
            code = err.get("code")
            if code == 10 or (isinstance(code, int) and 200 <= code <= 299):
                raise MetricsPermissionError(
                    _("{who}: reading the post's reactions and comments needs the 'pages_read_engagement' "
                      "permission, which the token in {env} lacks (publishing is not affected)").format(
                        who=self.who, env=self.token_env)) from None
            raise

        def total(edge: str) -> int | None:
            summary = (post.get(edge) or {}).get("summary") if isinstance(post.get(edge), dict) else None
            v = summary.get("total_count") if isinstance(summary, dict) else None
            return v if isinstance(v, int) else None

        values["likes"] = total("reactions")
        values["comments"] = total("comments")
        shares = post.get("shares")
        # Meta leaves ``shares`` out of a post nobody shared
        values["shares"] = shares.get("count") if isinstance(shares, dict) and isinstance(shares.get("count"), int) \
            else (0 if shares is None else None)
        for m in ("likes", "comments", "shares"):
            if values[m] is None:
                reasons[m] = _("Facebook did not include {metric} in the post's fields").format(metric=m)


class InstagramMetrics(MetaMetrics):
    insights = IG_INSIGHTS
    insights_permission = "instagram_manage_insights"
