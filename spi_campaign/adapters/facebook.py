"""The ``facebook`` platform: posts on a Facebook Page through the Graph API.

Credentials: a Page access token in ``SPI_<ACCOUNT>_PAGE_TOKEN`` (with
``pages_manage_posts``, ``pages_read_engagement``, ``pages_show_list``).

What is published where (parameter names from Meta's ``Page.json`` spec):

- text, with or without a link: ``POST /{page-id}/feed`` (``message``,
  ``link``; the link becomes a preview card, see ``link_card``);
- one image: ``POST /{page-id}/photos`` (``caption``, multipart ``source``
  or ``url``, ``alt_text_custom``); the answer's ``post_id`` is the post;
- several images: each one ``POST /{page-id}/photos`` with
  ``published=false``, then ``POST /{page-id}/feed`` with
  ``attached_media[i]={"media_fbid": "<photo id>"}``.

facebook-sdk and requests are imported inside methods only (``_http``).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Callable

from spi_campaign.adapters.base import (Adapter, Identity, Limits, Option, PublicationRef, PublishResult,
                                        ReconcileResult)
from spi_campaign.errors import AdapterError, PermanentError, UnknownOutcomeError
from spi_campaign.models import Media, Rendered

log = logging.getLogger(__name__)

DEFAULT_GRAPH_VERSION = "v27.0"     # see docs/platforms.md, "Graph API version"
RECONCILE_MARGIN = timedelta(minutes=5)


class FacebookAdapter(Adapter):
    platform = "facebook"
    label = "Facebook Page"
    style = "blue"
    limits = Limits(
        text=63206, max_media=10,
        media_types=frozenset({"image/jpeg", "image/png", "image/gif"}),
        max_media_bytes=4 * 1024 * 1024,
    )
    options = {
        "page_id": Option(str, required=True, help="numeric ID of the Facebook Page (quote it in YAML)"),
        "graph_version": Option(str, default=DEFAULT_GRAPH_VERSION,
                                help=f"Graph API version to call (default {DEFAULT_GRAPH_VERSION})"),
        "timeout": Option(float, default=30.0, help="seconds to wait for Facebook to answer one request"),
    }
    credentials = ("PAGE_TOKEN",)
    link_card = True

    def __init__(self, account, env=None, *, tz=None):
        super().__init__(account, env, tz=tz)
        self._graph = None

    # ----- plumbing -----------------------------------------------------------

    @property
    def who(self) -> str:
        return f"account '{self.account.name}'"

    @property
    def page_id(self) -> str:
        page = str(self.account.options.get("page_id") or "").strip()
        if not page:
            raise PermanentError(f"{self.who}: page_id is not set in config.yaml")
        return page

    @property
    def token_env(self) -> str:
        return self.account.env_prefix + "PAGE_TOKEN"

    def _client(self):
        if self._graph is None:
            from spi_campaign.adapters._http import GraphClient, graph_version, option_float

            token = self.secret("PAGE_TOKEN")
            try:
                version = graph_version(self.account.options.get("graph_version"), DEFAULT_GRAPH_VERSION)
            except PermanentError as exc:
                raise PermanentError(f"{self.who}: {exc}") from None
            self._graph = GraphClient(token=token, version=version,
                                      timeout=option_float(self.account.options, "timeout", 30.0),
                                      who=self.who, token_env=self.token_env, product="Facebook")
        return self._graph

    @staticmethod
    def post_url(post_id: str) -> str:
        return f"https://www.facebook.com/{post_id}"

    # ----- publish ------------------------------------------------------------

    def publish(self, post: Rendered, *, progress: dict[str, Any] | None = None,
                checkpoint: Callable[[dict[str, Any]], None] | None = None) -> PublishResult:
        state: dict[str, Any] = dict(progress or {})
        if state.get("post_id"):
            return PublishResult(remote_id=str(state["post_id"]), url=self.post_url(str(state["post_id"])),
                                 extra={k: v for k, v in state.items() if k != "post_id"})
        images = self._check_media(post.media)
        graph = self._client()
        page = self.page_id

        if not images:
            data = {"message": post.text, "link": post.link}
            result = graph.post(page, "feed", data, what="creating the Page post (POST /{page-id}/feed)", live=True)
            post_id = self._id(result, "id", "creating the Page post")
        elif len(images) == 1:
            m, upload = images[0]
            data = {"caption": post.text, "alt_text_custom": m.alt, "url": None if upload else m.url}
            result = graph.post(page, "photos", data, files={"source": upload} if upload else None,
                                what="publishing the photo (POST /{page-id}/photos)", live=True)
            post_id = str(result.get("post_id") or "") or self._id(result, "id", "publishing the photo")
            state["photo_ids"] = [str(result.get("id"))] if result.get("id") else []
        else:
            photo_ids = [str(i) for i in state.get("photo_ids") or ()][: len(images)]
            for n in range(len(photo_ids), len(images)):
                m, upload = images[n]
                what = f"uploading photo {n + 1} of {len(images)} (unpublished)"
                data = {"published": False, "alt_text_custom": m.alt, "url": None if upload else m.url}
                result = graph.post(page, "photos", data, files={"source": upload} if upload else None,
                                    what=what, live=False)
                photo_ids.append(self._id(result, "id", what))
                state["photo_ids"] = list(photo_ids)
                if checkpoint:
                    checkpoint(dict(state))
            data = {"message": post.text}
            for i, pid in enumerate(photo_ids):
                data[f"attached_media[{i}]"] = {"media_fbid": pid}
            result = graph.post(page, "feed", data, what="creating the Page post with the photos", live=True)
            post_id = self._id(result, "id", "creating the Page post with the photos")

        state["post_id"] = post_id
        if checkpoint:
            checkpoint(dict(state))
        extra = {k: v for k, v in state.items() if k != "post_id"}
        return PublishResult(remote_id=post_id, url=self.post_url(post_id), extra=extra)

    def _id(self, result: dict, key: str, what: str) -> str:
        value = result.get(key)
        if not value:
            raise UnknownOutcomeError(f"{self.who}: {what}: Facebook answered without an id; "
                                      f"the post may be live. Check the Page")
        return str(value)

    def _check_media(self, media: tuple[Media, ...]) -> list[tuple[Media, Any]]:
        """Every image as (media, multipart file or None to send ``url``), checked before any request."""
        from spi_campaign.adapters._http import read_image

        if len(media) > self.limits.max_media:
            raise PermanentError(f"{self.who}: {len(media)} images; spi sends at most "
                                 f"{self.limits.max_media} per Facebook post")
        out: list[tuple[Media, Any]] = []
        for n, m in enumerate(media, 1):
            if m.path is not None:
                data, mime = read_image(m.path, who=self.who, platform="Facebook", types=self.limits.media_types,
                                        max_bytes=self.limits.max_media_bytes)
                out.append((m, (m.path.name, data, mime)))
            elif m.url:
                out.append((m, None))
            else:
                raise PermanentError(f"{self.who}: image {n} has neither a file (path:) nor a url:")
        return out

    # ----- check --------------------------------------------------------------

    def check(self) -> Identity:
        graph = self._client()
        page = graph.get(self.page_id, what="reading the Page (GET /{page-id})", fields="id,name")
        page_id = str(page.get("id") or self.page_id)
        return Identity(id=page_id, name=str(page.get("name") or page_id),
                        url=f"https://www.facebook.com/{page_id}", detail=f"Graph API {graph.version}")

    # ----- reconcile ----------------------------------------------------------

    def reconcile(self, pub: PublicationRef) -> ReconcileResult:
        """Look for the post among the Page's posts since the attempt started."""
        from spi_campaign.adapters._http import normalise_text

        prog = pub.progress or {}
        if prog.get("post_id"):
            pid = str(prog["post_id"])
            return ReconcileResult("published", url=self.post_url(pid), remote_id=pid)
        if pub.rendered is None:
            return ReconcileResult.cannot_tell("the post is no longer in the campaign; nothing to compare with")
        since = (pub.claimed_at or pub.occurrence) - RECONCILE_MARGIN
        want = normalise_text(pub.rendered.text)
        try:
            graph = self._client()
            result = graph.get(self.page_id, "posts", what="reading the Page's posts (GET /{page-id}/posts)",
                               fields="id,message,created_time,permalink_url", since=int(since.timestamp()),
                               limit=100)
        except AdapterError as exc:
            return ReconcileResult.cannot_tell(f"Facebook could not be asked: {exc}")
        posts = result.get("data")
        if not isinstance(posts, list):
            return ReconcileResult.cannot_tell("Facebook answered without a list of posts")
        for item in posts:
            if isinstance(item, dict) and normalise_text(item.get("message")) == want:
                pid = str(item.get("id"))
                return ReconcileResult("published", url=item.get("permalink_url") or self.post_url(pid),
                                       remote_id=pid)
        return ReconcileResult("not_found", detail="no Page post with this text since the attempt started")

    def close(self) -> None:
        if self._graph is not None:
            self._graph.close()
