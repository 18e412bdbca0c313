"""The ``bluesky`` platform: posts, images with alt text, link cards and
threads on Bluesky (or any AT Protocol PDS), through the ``atproto`` client.

Account keys: ``handle`` (required), ``service`` (the PDS, default
``https://bsky.social``); credential ``SPI_<ACCOUNT>_APP_PASSWORD`` (an app
password, never the account password).

What is sent (lexicons ``com.atproto.server.createSession``,
``com.atproto.repo.uploadBlob``, ``com.atproto.repo.createRecord``,
``app.bsky.feed.post``):

1. ``createSession`` (identifier = handle, password = app password);
2. every image of the first part: ``uploadBlob`` (raw bytes; at most 2 MB,
   four images), then ``app.bsky.embed.images`` with each image's ``alt``;
   a post with a ``link`` and no image gets an ``app.bsky.embed.external``
   card instead (the link is then not repeated in the text);
3. each part: ``createRecord`` in ``app.bsky.feed.post`` with a record key
   (``rkey``) chosen beforehand, ``text``, ``facets`` (links and #tags with
   UTF-8 byte offsets), ``langs`` and, from the second part on, ``reply``
   (root = first part, parent = previous part).

Exactly once: the chosen ``rkey`` is checkpointed *before* ``createRecord``
is sent; a retry first asks ``getRecord`` for that key and only creates the
record if it is not there. So a lost answer is a plain ``TransientError``
and ``reconcile`` can answer exactly.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from spi_campaign import redact
from spi_campaign.adapters._content import normalise_text, read_image
from spi_campaign.adapters._transport import option_float
from spi_campaign.adapters.base import (RECONCILE_MARGIN, Adapter, Identity, Limits, Option, PublicationRef,
                                        PublishResult, ReconcileResult)
from spi_campaign.adapters.bluesky.text import facets, graphemes, is_tid, new_tid
from spi_campaign.errors import AdapterError, PermanentError
from spi_campaign.i18n import _
from spi_campaign.models import Rendered

log = logging.getLogger(__name__)

POST = "app.bsky.feed.post"
DEFAULT_SERVICE = "https://bsky.social"


class BlueskyAdapter(Adapter):
    platform = "bluesky"
    label = "Bluesky"
    style = "bright_blue"
    limits = Limits(
        text=300, max_media=4, media_types=frozenset({"image/jpeg", "image/png", "image/webp"}),
        max_media_bytes=2_000_000, media_needs_file=True, thread=True,
    )
    options = {
        "handle": Option(str, required=True, help="the account's handle, e.g. kpk.bsky.social"),
        "service": Option(str, default=DEFAULT_SERVICE, help="the account's PDS (default https://bsky.social)"),
        "langs": Option(str, default="id", help="post languages, comma-separated (default id)"),
        "timeout": Option(float, default=30.0, help="seconds to wait for Bluesky to answer one request"),
    }
    credentials = ("APP_PASSWORD",)
    link_card = True
    api_base = DEFAULT_SERVICE

    def __init__(self, account, env=None, *, tz=None):
        super().__init__(account, env, tz=tz)
        self._client = None
        self._did: str | None = None

    # ----- class side -----------------------------------------------------------

    @classmethod
    def measure(cls, text: str) -> int:
        return graphemes(text)

    @classmethod
    def api_url(cls, account) -> str | None:
        return str(account.options.get("service") or DEFAULT_SERVICE).rstrip("/")

    # ----- plumbing -------------------------------------------------------------

    @property
    def handle(self) -> str:
        value = str(self.account.options.get("handle") or "").strip().lstrip("@")
        if not value:
            raise PermanentError(_("{who}: handle is not set in config.yaml").format(who=self.who))
        return value

    @property
    def password_env(self) -> str:
        return self.account.env_prefix + "APP_PASSWORD"

    @property
    def langs(self) -> list[str]:
        raw = str(self.account.options.get("langs") or "id")
        return [x.strip() for x in raw.split(",") if x.strip()][:3] or ["id"]

    def _call(self, fn: Callable[[], Any], what: str) -> Any:
        import httpx
        from atproto_core.exceptions import AtProtocolError

        from spi_campaign.adapters.bluesky.errors import bluesky_error

        try:
            return fn()
        except (AtProtocolError, httpx.HTTPError) as exc:
            raise bluesky_error(exc, who=self.who, what=what, password_env=self.password_env) from None

    def _login(self):
        if self._client is not None:
            return self._client
        password = self.secret("APP_PASSWORD")
        handle = self.handle
        service = self.api_url(self.account)
        if not service.startswith(("https://", "http://")):
            raise PermanentError(_("{who}: service must be an https:// URL, got {value}").format(
                who=self.who, value=repr(service)))
        from atproto_client import Client
        from atproto_client.request import Request

        from spi_campaign.adapters._transport import protect_library_logs

        protect_library_logs()

        client = Client(base_url=service + "/xrpc",
                        request=Request(timeout=option_float(self.account.options, "timeout", 30.0)))
        self._call(lambda: client.login(handle, password, fetch_bsky_profile=False),
                   _("logging in (com.atproto.server.createSession)"))
        session = getattr(client, "_session", None)
        for key in ("access_jwt", "refresh_jwt"):
            token = getattr(session, key, None)
            if token:
                redact.register(str(token))
        self._did = str(getattr(session, "did", "") or "")
        self._client = client
        return client

    # ----- publish --------------------------------------------------------------

    def publish(self, post: Rendered, *, progress: dict[str, Any] | None = None,
                checkpoint: Callable[[dict[str, Any]], None] | None = None) -> PublishResult:
        state: dict[str, Any] = dict(progress or {})
        texts = list(post.thread) if post.thread else [post.text]
        done: list[dict[str, str]] = [dict(p) for p in state.get("parts") or ()]
        if len(done) >= len(texts):
            return self._result(done)
        images = self._read_images(post) if not done else []
        for n, text in enumerate(texts, 1):
            if graphemes(text) > self.limits.text:
                raise PermanentError(_("{who}: part {n} has {length} graphemes; Bluesky accepts at most {limit}").format(
                    who=self.who, n=n, length=graphemes(text), limit=self.limits.text))

        def save() -> None:
            if checkpoint:
                checkpoint(dict(state))

        client = self._login()
        for i in range(len(done), len(texts)):
            part = _("part {n} of {total}").format(n=i + 1, total=len(texts)) if len(texts) > 1 else _("the post")
            pending = state.get("pending") if isinstance(state.get("pending"), dict) else None
            rkey = pending.get("rkey") if pending and pending.get("index") == i else None
            if is_tid(rkey):
                found = self._get_post(rkey, _("looking up {part} of the last attempt").format(part=part))
                if found is not None:
                    done.append(found)
                    state.update(parts=list(done), pending=None)
                    save()
                    continue
            else:
                rkey = new_tid()
                state["pending"] = {"index": i, "rkey": rkey}
                save()
            record = self._record(client, texts[i], post, images if i == 0 else [], done)
            what = _("creating {part} (com.atproto.repo.createRecord)").format(part=part)
            from atproto_client import models

            res = self._call(lambda: client.com.atproto.repo.create_record(models.ComAtprotoRepoCreateRecord.Data(
                repo=self._did, collection=POST, rkey=rkey, record=record)), what)
            done.append({"uri": str(res.uri), "cid": str(res.cid), "rkey": rkey})
            state.update(parts=list(done), pending=None)
            save()
        return self._result(done)

    def _read_images(self, post: Rendered) -> list[tuple[bytes, str, str]]:
        if len(post.media) > self.limits.max_media:
            raise PermanentError(_("{who}: {count} images; Bluesky accepts at most {max}").format(
                who=self.who, count=len(post.media), max=self.limits.max_media))
        out = []
        for n, m in enumerate(post.media, 1):
            if m.path is None:
                raise PermanentError(_("{who}: image {n} has no local path:; Bluesky uploads image files").format(
                    who=self.who, n=n))
            data, mime = read_image(m.path, who=self.who, platform="Bluesky", types=self.limits.media_types,
                                    max_bytes=self.limits.max_media_bytes)
            out.append((data, mime, m.alt or ""))
        return out

    def _record(self, client, text: str, post: Rendered, images: list[tuple[bytes, str, str]],
                done: list[dict[str, str]]):
        from atproto_client import models

        embed = None
        if images:
            items = []
            for n, (data, mime, alt) in enumerate(images, 1):
                blob = self._call(lambda: client.upload_blob(data),
                                  _("uploading image {n} (com.atproto.repo.uploadBlob)").format(n=n)).blob
                items.append(models.AppBskyEmbedImages.Image(image=blob, alt=alt))
            embed = models.AppBskyEmbedImages.Main(images=items)
        elif post.link and not done:
            embed = models.AppBskyEmbedExternal.Main(external=models.AppBskyEmbedExternal.External(
                uri=post.link, title=_card_title(post.link), description=""))
        reply = None
        if done:
            root = models.ComAtprotoRepoStrongRef.Main(uri=done[0]["uri"], cid=done[0]["cid"])
            parent = models.ComAtprotoRepoStrongRef.Main(uri=done[-1]["uri"], cid=done[-1]["cid"])
            reply = models.AppBskyFeedPost.ReplyRef(root=root, parent=parent)
        return models.AppBskyFeedPost.Record(text=text, created_at=client.get_current_time_iso(),
                                             facets=facets(text) or None, embed=embed, reply=reply,
                                             langs=self.langs)

    def _get_post(self, rkey: str, what: str) -> dict[str, str] | None:
        """The post with record key ``rkey`` in this account's repo, or None."""
        from atproto_client import exceptions as ax

        from spi_campaign.adapters.bluesky.errors import bluesky_error, xrpc_name

        client = self._login()
        try:
            res = client.com.atproto.repo.get_record({"repo": self._did, "collection": POST, "rkey": rkey})
        except ax.AtProtocolError as exc:
            if isinstance(exc, ax.BadRequestError) and xrpc_name(exc)[1] == "RecordNotFound":
                return None
            raise bluesky_error(exc, who=self.who, what=what, password_env=self.password_env) from None
        return {"uri": str(res.uri), "cid": str(res.cid or ""), "rkey": rkey}

    def _url(self, rkey: str) -> str:
        return f"https://bsky.app/profile/{self.handle}/post/{rkey}"

    def _result(self, done: list[dict[str, str]]) -> PublishResult:
        first = done[0]
        return PublishResult(remote_id=first["uri"], url=self._url(first["rkey"]),
                             extra={"parts": [p["uri"] for p in done]})

    # ----- check ----------------------------------------------------------------

    def check(self) -> Identity:
        self._login()
        password = self.secret("APP_PASSWORD")
        notes = ()
        if not _looks_like_app_password(password):
            notes = (_("{env} does not look like an app password (xxxx-xxxx-xxxx-xxxx); "
                       "use one from Settings > Privacy and security > App passwords").format(env=self.password_env),)
        session = getattr(self._client, "_session", None)
        handle = str(getattr(session, "handle", "") or self.handle)
        return Identity(id=self._did or handle, name=f"@{handle}", url=f"https://bsky.app/profile/{handle}",
                        detail=f"PDS {self.api_url(self.account)}", notes=notes)

    # ----- reconcile ------------------------------------------------------------

    def reconcile(self, pub: PublicationRef) -> ReconcileResult:
        """Exact by record key when the attempt recorded one; otherwise the
        account's recent posts (``listRecords``) compared by text."""
        prog = pub.progress or {}
        done = [dict(p) for p in prog.get("parts") or ()]
        total = len(pub.rendered.thread or (1,)) if pub.rendered else None
        pending = prog.get("pending") if isinstance(prog.get("pending"), dict) else None
        try:
            if pending and is_tid(pending.get("rkey")):
                found = self._get_post(str(pending["rkey"]), _("looking the post up (com.atproto.repo.getRecord)"))
                if found is not None:
                    done.append(found)
            elif not done:
                return self._search_recent(pub)
        except AdapterError as exc:
            return ReconcileResult.cannot_tell(_("Bluesky could not be asked: {error}").format(error=exc))
        if not done:
            return ReconcileResult("not_found", detail=_("the record key of the attempt does not exist"))
        if total is not None and len(done) < total:
            return ReconcileResult.cannot_tell(_("{done} of {total} parts are live; 'spi post retry' "
                                                 "continues the thread without reposting them").format(
                done=len(done), total=total))
        return ReconcileResult("published", url=self._url(done[0]["rkey"]), remote_id=done[0]["uri"])

    def _search_recent(self, pub: PublicationRef) -> ReconcileResult:
        if pub.rendered is None:
            return ReconcileResult.cannot_tell(_("the post is no longer in the campaign; nothing to compare with"))
        from datetime import datetime

        client = self._login()
        since = (pub.claimed_at or pub.occurrence) - RECONCILE_MARGIN
        want = normalise_text(pub.rendered.thread[0] if pub.rendered.thread else pub.rendered.text,
                              strip_urls=False)
        res = self._call(lambda: client.com.atproto.repo.list_records(
            {"repo": self._did, "collection": POST, "limit": 50}), _("reading recent posts (listRecords)"))
        for rec in res.records or ():
            value = rec.value
            text = getattr(value, "text", None) if not isinstance(value, dict) else value.get("text")
            created = getattr(value, "created_at", None) if not isinstance(value, dict) else value.get("createdAt")
            try:
                when = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
            except ValueError:
                continue
            if when >= since and normalise_text(text, strip_urls=False) == want:
                rkey = str(rec.uri).rsplit("/", 1)[-1]
                return ReconcileResult("published", url=self._url(rkey), remote_id=str(rec.uri))
        return ReconcileResult("not_found", detail=_("no post with this text since the attempt started"))

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.request.close()
            except Exception:  # pragma: no cover - closing must not fail a publication
                pass


def _card_title(link: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(link)
    return (parts.hostname or link) + (parts.path.rstrip("/") if parts.path not in ("", "/") else "")


def _looks_like_app_password(value: str) -> bool:
    groups = value.split("-")
    return len(groups) == 4 and all(len(g) == 4 and g.isalnum() for g in groups)
