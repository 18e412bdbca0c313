"""Engagement read back from X (``spi metrics fetch``, docs/metrics.md).

``public_metrics`` of the account's own posts, per X's OpenAPI document
v2.167 (tests/data/platform/x/metrics-excerpt.json):

1. **Owned reads first**: ``GET /2/users/{id}/tweets`` (the account's own
   timeline, which X bills at about a fifth of a plain post read) over the
   time span of the posts asked for, 100 posts a page, at most
   ``OWNED_PAGES`` pages;
2. posts not found there (older, or past the pages read):
   ``GET /2/tweets?ids=...``, up to 100 ids a call.

v2.167 names the fields parameter ``post.fields`` (it was ``tweet.fields``)
and the repost count ``repost_count`` (it was ``retweet_count``); both
spellings of the count are read. Requests go through tweepy's signed
``Client.request`` (tweepy's own helpers still send ``tweet.fields``).

Mapping: views = ``impression_count``, likes = ``like_count``, comments =
``reply_count``, shares = ``repost_count`` + ``quote_count``; reach is not
given by X (null with that reason). Extra: ``quotes``, ``bookmarks``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from spi_campaign.adapters.base import MetricsRef, MetricsResult
from spi_campaign.errors import PermanentError
from spi_campaign.i18n import N_, _

log = logging.getLogger(__name__)

FIELDS_PARAM = "post.fields"        # /components/parameters/PostFieldsParameter/name (v2.167)
BATCH = 100                         # /paths/~12~1tweets/get/parameters/0 maxItems
OWNED_PAGES = 5
OWNED_MARGIN = timedelta(minutes=5)
NO_REACH = N_("X does not report reach (unique accounts) in public_metrics")


def x_metrics(pm: dict[str, Any]) -> MetricsResult:
    def num(*names: str) -> int | None:
        for n in names:
            v = pm.get(n)
            if isinstance(v, int) and not isinstance(v, bool):
                return v
        return None

    reposts, quotes = num("repost_count", "retweet_count"), num("quote_count")
    shares = None if reposts is None else reposts + (quotes or 0)
    values = {"views": num("impression_count"), "reach": None, "likes": num("like_count"),
              "comments": num("reply_count"), "shares": shares, "quotes": quotes,
              "bookmarks": num("bookmark_count")}
    return MetricsResult.build(values, {"reach": _(NO_REACH)}, _("X did not include it in public_metrics"))


class XMetrics:
    supports_metrics = True

    def metrics(self, refs: list[MetricsRef]) -> dict[str, MetricsResult]:
        want = {r.remote_id: r for r in refs if r.remote_id}
        out: dict[str, MetricsResult] = {}
        if not want:
            return out
        times = [r.published_at for r in want.values() if r.published_at is not None]
        if times:
            # X refuses an end_time that is not some seconds in the past
            start = min(times) - OWNED_MARGIN
            end = min(max(times) + OWNED_MARGIN, datetime.now(timezone.utc) - timedelta(seconds=30))
            try:
                if start < end:
                    out.update(self._owned(set(want), start, end))
            except PermanentError as exc:      # not an account problem: read the posts by id instead
                log.info(_("{who}: owned read failed, reading posts by id: {error}").format(who=self.who, error=exc))
        rest = [i for i in want if i not in out]
        for i in range(0, len(rest), BATCH):
            out.update(self._by_ids(rest[i:i + BATCH]))
        for i in want:
            if i not in out:
                out[i] = MetricsResult.unsupported(_("X did not return this post (deleted, or not visible)"))
        return out

    def _json(self, resp, what: str) -> dict:
        try:
            body = resp.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise PermanentError(_("{who}: {what}: X answered with a body spi cannot read").format(
                who=self.who, what=what))
        return body

    def _owned(self, ids: set[str], start, end) -> dict[str, MetricsResult]:
        client = self._client()
        me = self._me_info()
        out: dict[str, MetricsResult] = {}
        token = None
        what = _("reading the account's posts (GET /2/users/{id}/tweets)")
        for _page in range(OWNED_PAGES):
            params: dict[str, Any] = {"max_results": 100, FIELDS_PARAM: "public_metrics",
                                      "start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                      "end_time": end.strftime("%Y-%m-%dT%H:%M:%SZ")}
            if token:
                params["pagination_token"] = token
            resp = self._call(what, lambda: client.request("GET", f"/2/users/{me.id}/tweets", params=params,
                                                           user_auth=True), live=False)
            body = self._json(resp, what)
            for post in body.get("data") or ():
                if isinstance(post, dict) and str(post.get("id")) in ids and \
                        isinstance(post.get("public_metrics"), dict):
                    out[str(post["id"])] = x_metrics(post["public_metrics"])
            token = (body.get("meta") or {}).get("next_token")
            if not token or len(out) == len(ids):
                break
        return out

    def _by_ids(self, ids: list[str]) -> dict[str, MetricsResult]:
        client = self._client()
        what = _("reading post metrics (GET /2/tweets)")
        params = {"ids": ",".join(ids), FIELDS_PARAM: "public_metrics"}
        resp = self._call(what, lambda: client.request("GET", "/2/tweets", params=params, user_auth=True),
                          live=False)
        body = self._json(resp, what)
        out: dict[str, MetricsResult] = {}
        for post in body.get("data") or ():
            if isinstance(post, dict) and isinstance(post.get("public_metrics"), dict):
                out[str(post.get("id"))] = x_metrics(post["public_metrics"])
        for err in body.get("errors") or ():       # partial failures: a deleted post
            if not isinstance(err, dict):
                continue
            rid = str(err.get("resource_id") or err.get("value") or "")
            if rid in ids and rid not in out:
                detail = err.get("detail") or err.get("title") or _("not returned")
                out[rid] = MetricsResult.unsupported(f"X: {detail}")
        return out
