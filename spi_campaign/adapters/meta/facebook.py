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
  ``attached_media[i]={"media_fbid": "<photo id>"}``;
- then ``GET /{post-id}?fields=permalink_url`` for the publication's URL.

facebook-sdk and requests are imported inside methods only (``meta.graph``).
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from spi_campaign.adapters.meta.base import DEFAULT_GRAPH_VERSION, GraphAdapter
from spi_campaign.adapters.meta.metrics import FacebookMetrics
from spi_campaign.adapters._content import read_image
from spi_campaign.adapters.base import Identity, Limits, Option, PublicationRef, PublishResult, ReconcileResult
from spi_campaign.errors import AdapterError, PermanentError, UnknownOutcomeError
from spi_campaign.i18n import _
from spi_campaign.models import Media, Rendered

log = logging.getLogger(__name__)


class FacebookAdapter(FacebookMetrics, GraphAdapter):
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
    product = "Facebook"

    # ----- plumbing -----------------------------------------------------------

    @property
    def page_id(self) -> str:
        return self._required_option("page_id")

    @staticmethod
    def post_url(post_id: str) -> str:
        return f"https://www.facebook.com/{post_id}"

    # ----- publish ------------------------------------------------------------

    def publish(self, post: Rendered, *, progress: dict[str, Any] | None = None,
                checkpoint: Callable[[dict[str, Any]], None] | None = None) -> PublishResult:
        state: dict[str, Any] = dict(progress or {})
        if state.get("post_id"):
            return PublishResult(remote_id=str(state["post_id"]), url=self.permalink(str(state["post_id"])),
                                 extra={k: v for k, v in state.items() if k != "post_id"})
        images = self._check_media(post.media)
        graph = self._client()
        page = self.page_id

        if not images:
            data = {"message": post.text, "link": post.link}
            result = graph.post(page, "feed", data, what=_("creating the Page post (POST /{page-id}/feed)"), live=True)
            post_id = self._id(result, "id", _("creating the Page post"))
        elif len(images) == 1:
            m, upload = images[0]
            data = {"caption": post.text, "alt_text_custom": m.alt, "url": None if upload else m.url}
            result = graph.post(page, "photos", data, files={"source": upload} if upload else None,
                                what=_("publishing the photo (POST /{page-id}/photos)"), live=True)
            post_id = str(result.get("post_id") or "") or self._id(result, "id", _("publishing the photo"))
            state["photo_ids"] = [str(result.get("id"))] if result.get("id") else []
        else:
            photo_ids = [str(i) for i in state.get("photo_ids") or ()][: len(images)]
            for n in range(len(photo_ids), len(images)):
                m, upload = images[n]
                what = _("uploading photo {n} of {total} (unpublished)").format(n=n + 1, total=len(images))
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
            result = graph.post(page, "feed", data, what=_("creating the Page post with the photos"), live=True)
            post_id = self._id(result, "id", _("creating the Page post with the photos"))

        state["post_id"] = post_id
        if checkpoint:
            checkpoint(dict(state))
        extra = {k: v for k, v in state.items() if k != "post_id"}
        return PublishResult(remote_id=post_id, url=self.permalink(post_id), extra=extra)

    def _id(self, result: dict, key: str, what: str) -> str:
        value = result.get(key)
        if not value:
            raise UnknownOutcomeError(_("{who}: {what}: Facebook answered without an id; "
                                        "the post may be live. Check the Page").format(who=self.who, what=what))
        return str(value)

    def _check_media(self, media: tuple[Media, ...]) -> list[tuple[Media, Any]]:
        """Every image as (media, multipart file or None to send ``url``), checked before any request."""
        if len(media) > self.limits.max_media:
            raise PermanentError(_("{who}: {count} images; spi sends at most {max} per Facebook post").format(
                who=self.who, count=len(media), max=self.limits.max_media))
        out: list[tuple[Media, Any]] = []
        for n, m in enumerate(media, 1):
            if m.path is not None:
                data, mime = read_image(m.path, who=self.who, platform="Facebook", types=self.limits.media_types,
                                        max_bytes=self.limits.max_media_bytes)
                out.append((m, (m.path.name, data, mime)))
            elif m.url:
                out.append((m, None))
            else:
                raise PermanentError(_("{who}: image {n} has neither a file (path:) nor a url:").format(
                    who=self.who, n=n))
        return out

    # ----- check --------------------------------------------------------------

    def check(self) -> Identity:
        graph = self._client()
        page = graph.get(self.page_id, what=_("reading the Page (GET /{page-id})"), fields="id,name")
        page_id = str(page.get("id") or self.page_id)
        expires, data_access, notes = self._token_expiry()
        return Identity(id=page_id, name=str(page.get("name") or page_id),
                        url=f"https://www.facebook.com/{page_id}", detail=f"Graph API {graph.version}",
                        expires_at=expires, data_access_expires_at=data_access, notes=notes)

    def permalink(self, post_id: str) -> str:
        """The post's ``permalink_url`` (``GET /{post-id}?fields=permalink_url``);
        ``https://www.facebook.com/<post-id>`` if it cannot be read (the post is
        live either way: never a failure)."""
        try:
            result = self._client().get(post_id, fields="permalink_url",
                                        what=_("reading the post's permalink (GET /{post-id})"))
        except AdapterError as exc:
            log.warning(_("{who}: published as {id} but permalink_url could not be read: {error}").format(
                who=self.who, id=post_id, error=exc))
            return self.post_url(post_id)
        link = result.get("permalink_url")
        return str(link) if isinstance(link, str) and link.startswith("https://") else self.post_url(post_id)

    # ----- reconcile ----------------------------------------------------------

    def reconcile(self, pub: PublicationRef) -> ReconcileResult:
        """Look for the post among the Page's posts since the attempt started."""
        prog = pub.progress or {}
        if prog.get("post_id"):
            pid = str(prog["post_id"])
            return ReconcileResult("published", url=self.post_url(pid), remote_id=pid)
        found = self._search_recent(pub, "page_id", "posts", text_field="message", noun=_("posts"),
                                    what=_("reading the Page's posts (GET /{page-id}/posts)"),
                                    fields="id,message,created_time,permalink_url", limit=100)
        if isinstance(found, ReconcileResult):
            return found
        if found is not None:
            pid = str(found.get("id"))
            return ReconcileResult("published", url=found.get("permalink_url") or self.post_url(pid), remote_id=pid)
        return ReconcileResult("not_found", detail=_("no Page post with this text since the attempt started"))
