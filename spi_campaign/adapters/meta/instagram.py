"""The ``instagram`` platform: image and carousel posts on an Instagram
professional account (Instagram Graph API, through facebook-sdk), with either
login, chosen per account by ``login:``:

- ``facebook`` (default): an account linked to a Facebook Page, a Facebook
  user or System User token (``instagram_basic``, ``instagram_content_publish``,
  ``pages_read_engagement``), calls to ``graph.facebook.com``;
- ``instagram`` (Instagram Login): no Facebook Page needed, an Instagram user
  token (``instagram_business_basic``, ``instagram_business_content_publish``),
  calls to ``graph.instagram.com``; ``check`` reads ``GET /me`` (there is no
  ``debug_token`` there).

Credentials: ``SPI_<ACCOUNT>_ACCESS_TOKEN`` in both cases.

Publishing (parameter names from Meta's ``IGUser.json`` / ``IGMedia.json``):

1. ``GET /{ig-user-id}/content_publishing_limit?fields=quota_usage,config``:
   a used-up 24-hour quota raises ``QuotaDeferred`` before anything is made;
2. containers: ``POST /{ig-user-id}/media`` (``image_url``, ``caption``,
   ``alt_text``); for a carousel one per image with ``is_carousel_item=true``,
   then one with ``media_type=CAROUSEL``, ``children=<id>,<id>`` and the
   caption. Instagram fetches every image from its public ``url:``;
3. ``GET /{container-id}?fields=status_code`` until ``FINISHED`` (bounded);
4. ``POST /{ig-user-id}/media_publish`` (``creation_id``), then
   ``GET /{media-id}?fields=permalink`` for the URL.

Container ids and the published media id go into ``progress`` through
``checkpoint``, so a retry reuses containers and never publishes twice.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any, Callable

from spi_campaign.adapters.meta.base import DEFAULT_GRAPH_VERSION, GraphAdapter
from spi_campaign.adapters.meta.metrics import InstagramMetrics
from spi_campaign.adapters.base import Identity, Limits, Option, PublicationRef, PublishResult, ReconcileResult
from spi_campaign.errors import AdapterError, PermanentError, QuotaDeferred, TransientError, UnknownOutcomeError
from spi_campaign.i18n import _
from spi_campaign.models import Rendered
from spi_campaign.timeutil import now_utc

log = logging.getLogger(__name__)

DEFAULT_WINDOW = timedelta(hours=24)
INSTAGRAM_GRAPH = "https://graph.instagram.com"
LOGINS = ("facebook", "instagram")


class _Expired(Exception):
    """A reused container expired (containers live 24 hours): make new ones."""


class InstagramAdapter(InstagramMetrics, GraphAdapter):
    platform = "instagram"
    label = "Instagram"
    style = "magenta"
    limits = Limits(
        text=2200, max_hashtags=30, max_mentions=20, min_media=1, max_media=10,
        media_types=frozenset({"image/jpeg"}), max_media_bytes=8 * 1024 * 1024, media_needs_url=True,
    )
    options = {
        "ig_user_id": Option(str, required=True, help="Instagram professional account ID (IG user id; quote it)"),
        "graph_version": Option(str, default=DEFAULT_GRAPH_VERSION,
                                help=f"Graph API version to call (default {DEFAULT_GRAPH_VERSION})"),
        "timeout": Option(float, default=30.0, help="seconds to wait for Instagram to answer one request"),
        "poll_interval": Option(float, default=2.0, help="seconds between container status checks"),
        "max_polls": Option(int, default=10, help="container status checks before giving up (retried later)"),
        "login": Option(str, default="facebook", help="facebook (account linked to a Facebook Page) or instagram "
                                                      "(Instagram Login, graph.instagram.com)"),
    }
    credentials = ("ACCESS_TOKEN",)
    product = "Instagram"

    # ----- plumbing -----------------------------------------------------------

    @classmethod
    def login_of(cls, account) -> str:
        return str(account.options.get("login") or "facebook").strip().lower()

    @classmethod
    def api_url(cls, account) -> str | None:
        return INSTAGRAM_GRAPH if cls.login_of(account) == "instagram" else cls.api_base

    def _client(self):
        login = self.login_of(self.account)
        if login not in LOGINS:
            raise PermanentError(_("{who}: login must be 'facebook' or 'instagram', got {value}").format(
                who=self.who, value=repr(login)))
        return super()._client()

    @property
    def ig_user(self) -> str:
        return self._required_option("ig_user_id")

    @property
    def poll_interval(self) -> float:
        v = self.account.options.get("poll_interval", 2.0)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 else 2.0

    @property
    def max_polls(self) -> int:
        v = self.account.options.get("max_polls", 10)
        return v if isinstance(v, int) and not isinstance(v, bool) and v >= 1 else 10

    # ----- quota --------------------------------------------------------------

    def quota(self) -> tuple[int, int | None, int | None]:
        """(used, total, window seconds) from ``content_publishing_limit``."""
        graph = self._client()
        result = graph.get(self.ig_user, "content_publishing_limit", fields="quota_usage,config",
                           what=_("reading the publishing quota (GET /{ig-user-id}/content_publishing_limit)"))
        rows = result.get("data")
        row = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else {}
        config = row.get("config") if isinstance(row.get("config"), dict) else {}
        used = row.get("quota_usage")
        total = config.get("quota_total")
        window = config.get("quota_duration")
        return (int(used) if isinstance(used, (int, float)) else 0,
                int(total) if isinstance(total, (int, float)) else None,
                int(window) if isinstance(window, (int, float)) else None)

    def _require_quota(self) -> None:
        used, total, window = self.quota()
        if total is not None and used >= total:
            span = timedelta(seconds=window) if window else DEFAULT_WINDOW
            raise QuotaDeferred(_("{who}: Instagram's publishing quota is used up ({used} of {total} posts "
                                  "in {hours} hours); deferred").format(
                who=self.who, used=used, total=total, hours=f"{span.total_seconds() / 3600:g}"),
                retry_after=now_utc() + span)

    # ----- publish ------------------------------------------------------------

    def publish(self, post: Rendered, *, progress: dict[str, Any] | None = None,
                checkpoint: Callable[[dict[str, Any]], None] | None = None) -> PublishResult:
        state: dict[str, Any] = dict(progress or {})
        if state.get("media_id"):
            return self._result(str(state["media_id"]), state)
        urls = self._image_urls(post)
        self._client()
        self._require_quota()

        def save() -> None:
            if checkpoint:
                checkpoint(dict(state))

        for attempt in range(2):            # the second round only if reused containers expired
            try:
                container = self._containers(post, urls, state, save, reused=attempt == 0)
                break
            except _Expired:
                log.info(_("{who}: recorded containers expired; creating new ones").format(who=self.who))
                for key in ("children", "container"):
                    state.pop(key, None)
                save()
        else:  # pragma: no cover - the second round never raises _Expired
            raise TransientError(_("{who}: containers kept expiring").format(who=self.who))

        graph = self._client()
        result = graph.post(self.ig_user, "media_publish", {"creation_id": container},
                            what=_("publishing (POST /{ig-user-id}/media_publish)"), live=True)
        media_id = result.get("id")
        if not media_id:
            raise UnknownOutcomeError(_("{who}: Instagram answered media_publish without a media id; "
                                        "the post may be live. Check the account").format(who=self.who))
        state["media_id"] = str(media_id)
        save()
        return self._result(str(media_id), state)

    def _image_urls(self, post: Rendered) -> list[tuple[str, str | None]]:
        if not post.media:
            raise PermanentError(_("{who}: Instagram posts need at least one image").format(who=self.who))
        if len(post.media) > self.limits.max_media:
            raise PermanentError(_("{who}: {count} images; Instagram accepts at most {max}").format(
                who=self.who, count=len(post.media), max=self.limits.max_media))
        out = []
        for n, m in enumerate(post.media, 1):
            if not m.url:
                raise PermanentError(_("{who}: image {n} has no public url:; Instagram fetches images "
                                       "from a public URL").format(who=self.who, n=n))
            out.append((m.url, m.alt))
        return out

    def _containers(self, post: Rendered, urls: list[tuple[str, str | None]], state: dict[str, Any],
                    save: Callable[[], None], *, reused: bool) -> str:
        """The id of a FINISHED container ready for media_publish."""
        graph = self._client()
        ig = self.ig_user
        if len(urls) == 1:
            url, alt = urls[0]
            data = {"image_url": url, "caption": post.text, "alt_text": alt}
            return self._final_container(_("the media container"), data, state, save, reused=reused)

        children = [str(c) for c in state.get("children") or ()][: len(urls)]
        reused_children = len(children)
        for n in range(len(children), len(urls)):
            url, alt = urls[n]
            what = _("creating carousel item {n} of {total} (POST /{{ig-user-id}}/media)").format(
                n=n + 1, total=len(urls))
            result = graph.post(ig, "media", {"image_url": url, "is_carousel_item": True, "alt_text": alt},
                                what=what, live=False)
            children.append(self._new_id(result, what))
            state["children"] = list(children)
            save()
        for n, child in enumerate(children):
            self._wait(child, _("carousel item {n}").format(n=n + 1), reused=reused and n < reused_children)
        data = {"media_type": "CAROUSEL", "children": ",".join(children), "caption": post.text}
        return self._final_container(_("the carousel container"), data, state, save, reused=reused)

    def _final_container(self, label: str, data: dict[str, Any], state: dict[str, Any], save: Callable[[], None],
                         *, reused: bool) -> str:
        """The container recorded in ``state``, or a new one made from ``data``
        (recorded and saved); returned once it is FINISHED."""
        cid = state.get("container")
        fresh = not cid
        if fresh:
            result = self._client().post(self.ig_user, "media", data,
                                         what=_("creating {label} (POST /{{ig-user-id}}/media)").format(label=label),
                                         live=False)
            cid = self._new_id(result, _("creating {label}").format(label=label))
            state["container"] = cid
            save()
        self._wait(str(cid), label, reused=reused and not fresh)
        return str(cid)

    def _new_id(self, result: dict, what: str) -> str:
        value = result.get("id")
        if not value:
            raise TransientError(_("{who}: {what}: Instagram answered without a container id").format(
                who=self.who, what=what))
        return str(value)

    def _wait(self, container: str, label: str, *, reused: bool) -> None:
        """Poll ``status_code`` until FINISHED, at most ``max_polls`` times."""
        graph = self._client()
        status = None
        for n in range(self.max_polls):
            if n:
                time.sleep(self.poll_interval)
            result = graph.get(container, fields="status_code",
                               what=_("checking {label} (GET /{{container-id}}?fields=status_code)").format(
                                   label=label))
            status = str(result.get("status_code") or "").upper()
            if status == "FINISHED":
                return
            if status == "PUBLISHED":
                raise UnknownOutcomeError(_("{who}: {label} {container} is already published; "
                                            "run reconcile instead of publishing again").format(
                    who=self.who, label=label, container=container))
            if status == "EXPIRED" and reused:
                raise _Expired(container)
            if status in ("ERROR", "EXPIRED"):
                raise PermanentError(_("{who}: Instagram could not prepare {label} (status {status}); "
                                       "check that every image url: is a public JPEG").format(
                    who=self.who, label=label, status=status))
        raise TransientError(_("{who}: {label} {container} is still {status} after "
                               "{polls} checks; will retry (the container is kept)").format(
            who=self.who, label=label, container=container, status=status or _("not ready"), polls=self.max_polls))

    def _result(self, media_id: str, state: dict[str, Any]) -> PublishResult:
        extra = {k: v for k, v in state.items() if k != "media_id"}
        return PublishResult(remote_id=media_id, url=self._permalink(media_id), extra=extra)

    def _permalink(self, media_id: str) -> str | None:
        try:
            result = self._client().get(media_id, fields="permalink",
                                        what=_("reading the post's permalink (GET /{media-id})"))
        except AdapterError as exc:
            log.warning(_("{who}: published as {id} but the permalink could not be read: {error}").format(
                who=self.who, id=media_id, error=exc))
            return None
        link = result.get("permalink")
        return str(link) if link else None

    # ----- check --------------------------------------------------------------

    def check(self) -> Identity:
        graph = self._client()
        notes: tuple[str, ...] = ()
        if self.login_of(self.account) == "instagram":
            me = graph.get("me", fields="user_id,username", what=_("reading the account (GET /me)"))
            me = {"id": me.get("user_id") or self.ig_user, "username": me.get("username")}
            if str(me["id"]) != self.ig_user:
                notes = (_("the token in {env} belongs to Instagram account {id}, not to "
                           "ig_user_id {ig_user}").format(env=self.token_env, id=me["id"], ig_user=self.ig_user),)
        else:
            me = graph.get(self.ig_user, fields="id,username", what=_("reading the account (GET /{ig-user-id})"))
        username = str(me.get("username") or "")
        detail = None
        try:
            used, total, window = self.quota()
            hours = f"{window / 3600:g}" if window else "24"
            detail = _("publishing quota {used}/{total} in {hours} h").format(
                used=used, total=total if total is not None else "?", hours=hours)
        except AdapterError as exc:
            log.info(_("{who}: quota not readable: {error}").format(who=self.who, error=exc))
        if self.login_of(self.account) == "instagram":
            expires, data_access = None, None       # graph.instagram.com has no debug_token
            notes += (_("Instagram Login tokens last 60 days; refresh the one in {env} with "
                        "GET /refresh_access_token?grant_type=ig_refresh_token before then").format(
                env=self.token_env),)
        else:
            expires, data_access, token_notes = self._token_expiry()
            notes += token_notes
        return Identity(id=str(me.get("id") or self.ig_user), name=f"@{username}" if username else self.ig_user,
                        url=f"https://www.instagram.com/{username}/" if username else None, detail=detail,
                        expires_at=expires, data_access_expires_at=data_access, notes=notes)

    # ----- reconcile ----------------------------------------------------------

    def reconcile(self, pub: PublicationRef) -> ReconcileResult:
        """The recorded container's status first (PUBLISHED / not), then the
        account's recent media by caption."""
        prog = pub.progress or {}
        if prog.get("media_id"):
            mid = str(prog["media_id"])
            return ReconcileResult("published", url=self._permalink(mid), remote_id=mid)
        container_status = None
        try:
            graph = self._client()
            if prog.get("container"):
                res = graph.get(str(prog["container"]), fields="status_code",
                                what=_("checking the recorded container"))
                container_status = str(res.get("status_code") or "").upper()
        except AdapterError as exc:
            log.info(_("{who}: container status not readable: {error}").format(who=self.who, error=exc))
        if container_status in ("FINISHED", "EXPIRED", "ERROR", "IN_PROGRESS"):
            return ReconcileResult("not_found", detail=_("the container was never published (status "
                                                         "{status})").format(status=container_status))
        found = self._search_recent(pub, "ig_user_id", "media", text_field="caption", noun=_("media"),
                                    what=_("reading recent media (GET /{ig-user-id}/media)"),
                                    fields="id,caption,permalink,timestamp")
        if isinstance(found, ReconcileResult):
            return found
        if found is not None:
            return ReconcileResult("published", url=found.get("permalink"), remote_id=str(found.get("id")))
        if container_status == "PUBLISHED":
            return ReconcileResult.cannot_tell(_("the container is published but the post was not found by caption"))
        return ReconcileResult("not_found", detail=_("no post with this caption since the attempt started"))
