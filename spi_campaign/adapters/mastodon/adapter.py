"""The ``mastodon`` platform: statuses on a Mastodon account through Mastodon.py.

Credentials: an access token in ``SPI_<ACCOUNT>_ACCESS_TOKEN`` (Preferences →
Development → New application, scopes ``write:statuses``, ``write:media``,
``read:accounts``). Account key ``instance``: the instance's https URL.

What is sent (operations of the Mastodon OpenAPI description, see
tests/data/platform/mastodon/SOURCE.md):

- each image: ``POST /api/v2/media`` (``file``, ``description`` = the alt
  text), then ``GET /api/v1/media/{id}`` while the instance still processes it
  (answer 206), at most ``max_polls`` times;
- each part: ``POST /api/v1/statuses`` (``status``, ``media_ids`` on the
  first part, ``in_reply_to_id`` for the next parts of a thread,
  ``visibility``, ``language``) with an ``Idempotency-Key`` header made from
  the account, post, occurrence and part: a retried request within the hour
  Mastodon keeps keys gets the same status back instead of a second one.

The instance's character limit is read from ``GET /api/v2/instance`` and
cached (``mastodon.instance``). Mastodon.py and requests are imported inside
methods only.
"""

from __future__ import annotations

import hashlib
import html
import io
import logging
import re
import time
from typing import Any, Callable

from spi_campaign.adapters._content import normalise_text, read_image
from spi_campaign.adapters._transport import new_session, option_float, transport_error
from spi_campaign.adapters.base import (RECONCILE_MARGIN, Adapter, Identity, Limits, Option, PublicationRef,
                                        PublishResult, ReconcileResult)
from spi_campaign.adapters.mastodon import instance as inst
from spi_campaign.adapters.mastodon.errors import mastodon_error
from spi_campaign.errors import AdapterError, PermanentError, TransientError, UnknownOutcomeError
from spi_campaign.i18n import _, ngettext
from spi_campaign.models import Account, Media, Rendered

log = logging.getLogger(__name__)

# Told to Mastodon.py so it never asks the instance for its version (with no
# version it would, before every upload, and fall back to the retired
# /api/v1/media when the instance does not answer): every supported Mastodon
# (4.x) has /api/v2/media. ``version_check_mode="created"`` is the mode in
# which Mastodon.py uses a version it is given.
ASSUMED_VERSION = "4.0.0"
VISIBILITIES = ("public", "unlisted", "private", "direct")


class MastodonAdapter(Adapter):
    platform = "mastodon"
    label = "Mastodon"
    style = "magenta"
    limits = Limits(
        text=inst.DEFAULT_MAX_CHARACTERS, max_media=4,
        media_types=frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"}),
        max_media_bytes=16 * 1024 * 1024, media_needs_file=True, thread=True,
    )
    options = {
        "instance": Option(str, required=True, help="the instance's https URL, e.g. https://mastodon.social"),
        "visibility": Option(str, default="public", help="public, unlisted, private (followers only) or direct"),
        "language": Option(str, default="id", help="ISO 639 language code of the statuses (default id)"),
        "max_characters": Option(int, help="override the character limit read from the instance"),
        "timeout": Option(float, default=30.0, help="seconds to wait for the instance to answer one request"),
        "poll_interval": Option(float, default=1.0, help="seconds between checks of an image still processing"),
        "max_polls": Option(int, default=30, help="checks of an image still processing before giving up"),
    }
    credentials = ("ACCESS_TOKEN",)

    def __init__(self, account, env=None, *, tz=None):
        super().__init__(account, env, tz=tz)
        self._api = None
        self._session = None

    # ----- class side -----------------------------------------------------------

    @classmethod
    def measure(cls, text: str) -> int:
        """Mastodon's count: a URL is 23 characters, ``@user@domain`` counts as ``@user``."""
        return inst.measure(text)

    @classmethod
    def part_limits(cls, rendered: Rendered, account: Account | None = None) -> tuple[int | None, ...]:
        limit = inst.max_characters(account.options if account is not None else {})
        return tuple(limit for _ in rendered.parts)

    @classmethod
    def api_url(cls, account: Account) -> str | None:
        return inst.normal_instance(account.options.get("instance")) or None

    # ----- plumbing ---------------------------------------------------------------

    @property
    def token_env(self) -> str:
        return self.account.env_prefix + "ACCESS_TOKEN"

    @property
    def instance(self) -> str:
        url = inst.normal_instance(self.account.options.get("instance"))
        if not url:
            raise PermanentError(_("{who}: instance must be the instance's https URL, like "
                                   "https://mastodon.social, got {value}").format(
                who=self.who, value=repr(self.account.options.get("instance"))))
        return url

    def _client(self):
        if self._api is None:
            from mastodon import Mastodon

            token = self.secret("ACCESS_TOKEN")
            base = self.instance
            timeout = option_float(self.account.options, "timeout", 30.0)
            self._session = new_session(timeout)
            self._api = Mastodon(access_token=token, api_base_url=base, session=self._session,
                                 request_timeout=timeout, ratelimit_method="throw", version_check_mode="created",
                                 mastodon_version=ASSUMED_VERSION)
        return self._api

    def _do(self, fn: Callable[[], Any], *, what: str, live: bool) -> Any:
        import mastodon

        self._client()
        self._session.last_response = None
        try:
            return fn()
        except mastodon.MastodonError as exc:
            resp = self._session.last_response
            raise mastodon_error(exc, who=self.who, what=what, live=live, token_env=self.token_env,
                                 headers=resp.headers if resp is not None else None) from None

    def _limit(self) -> int:
        """The instance's limit, read again when the cached one is older than a day (best effort)."""
        if not self.account.options.get("max_characters") and not inst.is_fresh(inst.cached(self.instance)):
            try:
                self.refresh_instance()
            except AdapterError as exc:
                log.warning(_("{who}: the instance's character limit could not be read: {error}").format(
                    who=self.who, error=exc))
        return self.part_limits(Rendered("", "", "", "", None, (), ()), self.account)[0] or inst.DEFAULT_MAX_CHARACTERS

    def refresh_instance(self) -> dict:
        """``GET /api/v2/instance`` (public; asked directly: Mastodon.py adds a trailing slash) -> the cache."""
        import requests

        what = _("reading the instance (GET /api/v2/instance)")
        self._client()
        try:
            resp = self._session.get(self.instance + "/api/v2/instance")
            info = resp.json() if resp.status_code == 200 else None
        except requests.RequestException as exc:
            raise transport_error(exc, who=self.who, what=what, live=False) from None
        except ValueError:
            info = None
        config = info.get("configuration") if isinstance(info, dict) else None
        if not isinstance(config, dict):
            cls = TransientError if resp.status_code >= 500 or resp.status_code == 429 else PermanentError
            raise cls(_("{who}: {what}: HTTP {status} without the instance's configuration").format(
                who=self.who, what=what, status=resp.status_code))
        return inst.store(self.instance, config)

    def _visibility(self) -> str:
        vis = str(self.account.options.get("visibility") or "public")
        if vis not in VISIBILITIES:
            raise PermanentError(_("{who}: visibility must be one of {choices}, got {value}").format(
                who=self.who, choices=", ".join(VISIBILITIES), value=repr(vis)))
        return vis

    def idempotency_key(self, post: Rendered, part: int) -> str:
        when = post.occurrence.isoformat() if post.occurrence else ""
        raw = f"{self.account.name}\n{post.post_id}\n{when}\n{part}\n{post.content_hash()}"
        return "spi-" + hashlib.sha256(raw.encode("utf-8")).hexdigest()[:40]

    # ----- publish ----------------------------------------------------------------

    def publish(self, post: Rendered, *, progress: dict[str, Any] | None = None,
                checkpoint: Callable[[dict[str, Any]], None] | None = None) -> PublishResult:
        state: dict[str, Any] = dict(progress or {})
        ids: list[str] = [str(i) for i in state.get("status_ids") or ()]
        urls: list[str | None] = list(state.get("urls") or [None] * len(ids))
        vis = self._visibility()
        parts = post.parts
        uploads = self._check_media(post.media) if not ids else []
        self._client()
        limit = self._limit()
        for n, part in enumerate(parts):
            if self.measure(part) > limit:
                raise PermanentError(_("{who}: part {n} is {length} characters; {instance} accepts {limit}").format(
                    who=self.who, n=n + 1, length=self.measure(part), instance=self.instance, limit=limit))
        media_ids = [str(i) for i in state.get("media_ids") or ()][: len(uploads)]
        for n in range(len(media_ids), len(uploads)):
            media_ids.append(self._upload(uploads[n], n + 1, len(uploads)))
            state["media_ids"] = list(media_ids)
            if checkpoint:
                checkpoint(dict(state))
        for n in range(len(ids), len(parts)):
            where = (_("part {n} of {total}").format(n=n + 1, total=len(parts)) if len(parts) > 1
                     else _("the status"))
            kwargs = dict(status=parts[n], visibility=vis, language=self.account.options.get("language") or None,
                          in_reply_to_id=ids[-1] if ids else None, media_ids=(media_ids or None) if n == 0 else None,
                          idempotency_key=self.idempotency_key(post, n))
            status = self._do(lambda: self._client().status_post(**kwargs),
                              what=_("posting {where} (POST /api/v1/statuses)").format(where=where), live=True)
            sid = status.get("id") if hasattr(status, "get") else None
            if not sid:
                raise UnknownOutcomeError(_("{who}: posting {where}: the instance answered without an id; "
                                            "it may be live. Check the account").format(who=self.who, where=where))
            ids.append(str(sid))
            urls.append(status.get("url") or None)
            state.update(status_ids=list(ids), urls=list(urls))
            if checkpoint:
                checkpoint(dict(state))
        return PublishResult(remote_id=ids[0], url=urls[0] if urls else None, extra=dict(state))

    def _check_media(self, media: tuple[Media, ...]) -> list[tuple[Media, bytes, str]]:
        if len(media) > self.limits.max_media:
            raise PermanentError(_("{who}: {count} images; Mastodon takes at most {max}").format(
                who=self.who, count=len(media), max=self.limits.max_media))
        out = []
        for n, m in enumerate(media, 1):
            if m.path is None:
                raise PermanentError(_("{who}: image {n}: Mastodon uploads image files and cannot fetch a URL; "
                                       "add path:").format(who=self.who, n=n))
            data, mime = read_image(m.path, who=self.who, platform="Mastodon", types=self.limits.media_types,
                                    max_bytes=self.limits.max_media_bytes)
            out.append((m, data, mime))
        return out

    def _upload(self, item: tuple[Media, bytes, str], n: int, total: int) -> str:
        m, data, mime = item
        what = _("uploading image {n} of {total} (POST /api/v2/media)").format(n=n, total=total)
        media = self._do(lambda: self._client().media_post(io.BytesIO(data), mime_type=mime, description=m.alt or None,
                                                           file_name=m.path.name), what=what, live=False)
        mid = media.get("id") if hasattr(media, "get") else None
        if not mid:
            raise PermanentError(_("{who}: {what}: the instance answered without an id").format(who=self.who, what=what))
        polls = int(self.account.options.get("max_polls") or 30)
        interval = option_float(self.account.options, "poll_interval", 1.0)
        while not media.get("url"):
            if polls <= 0:
                raise PermanentError(_("{who}: image {n} is still being processed by the instance; "
                                       "try again later").format(who=self.who, n=n))
            polls -= 1
            time.sleep(interval)
            media = self._do(lambda: self._client().media(mid), what=_("checking image {n} (GET /api/v1/media/{{id}})").format(n=n),
                             live=False)
        return str(mid)

    # ----- check ------------------------------------------------------------------

    def check(self) -> Identity:
        self._visibility()
        me = self._do(lambda: self._client().account_verify_credentials(),
                      what=_("reading the account (GET /api/v1/accounts/verify_credentials)"), live=False)
        entry = self.refresh_instance()
        host = self.instance.removeprefix("https://")
        limit = self.account.options.get("max_characters") or entry.get("max_characters") or inst.DEFAULT_MAX_CHARACTERS
        notes = ()
        if self.account.options.get("max_characters") and entry.get("max_characters") not in (None, limit):
            notes = (_("max_characters {limit} set in config.yaml; the instance says {instance_limit}").format(
                limit=limit, instance_limit=entry["max_characters"]),)
        return Identity(id=str(me.get("id")), name=f"@{me.get('username')}@{host}", url=me.get("url"),
                        detail=_("{limit} characters, visibility {visibility}").format(
                            limit=limit, visibility=self._visibility()),
                        usage={"max_characters": limit}, notes=notes)

    # ----- reconcile --------------------------------------------------------------

    def reconcile(self, pub: PublicationRef) -> ReconcileResult:
        """Completed progress, else the account's recent statuses compared by text."""
        prog = pub.progress or {}
        ids = prog.get("status_ids") or []
        if pub.rendered is not None and ids and len(ids) >= len(pub.rendered.parts):
            return ReconcileResult("published", url=(prog.get("urls") or [None])[0], remote_id=str(ids[0]))
        if pub.rendered is None:
            return ReconcileResult.cannot_tell(_("the post is no longer in the campaign; nothing to compare with"))
        if ids:
            return ReconcileResult.cannot_tell(ngettext(
                "{count} part of the thread is out; publishing again continues after it",
                "{count} parts of the thread are out; publishing again continues after them",
                len(ids)).format(count=len(ids)))
        since = (pub.claimed_at or pub.occurrence) - RECONCILE_MARGIN
        want = normalise_text(pub.rendered.text)
        try:
            me = self._do(lambda: self._client().account_verify_credentials(), what=_("reading the account"), live=False)
            statuses = self._do(lambda: self._client().account_statuses(me["id"], limit=40, exclude_reblogs=True),
                                what=_("reading the account's statuses"), live=False)
        except AdapterError as exc:
            return ReconcileResult.cannot_tell(_("Mastodon could not be asked: {error}").format(error=exc))
        for s in statuses or ():
            created = s.get("created_at")
            if created is not None and hasattr(created, "tzinfo") and created < since:
                continue
            if normalise_text(html_text(s.get("content"))) == want:
                return ReconcileResult("published", url=s.get("url"), remote_id=str(s.get("id")))
        return ReconcileResult("not_found", detail=_("no status with this text since the attempt started"))

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


_BREAK = re.compile(r"<br\s*/?>|</p>\s*<p>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def html_text(content: Any) -> str:
    """A status's HTML ``content`` as plain text."""
    return html.unescape(_TAG.sub("", _BREAK.sub(" ", str(content or ""))))
