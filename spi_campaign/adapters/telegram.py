"""The ``telegram`` platform: posts in a Telegram channel through the Bot API.

Credentials: the bot token from @BotFather in ``SPI_<ACCOUNT>_BOT_TOKEN``; the
bot is an administrator of the channel with the right to post messages.
Account key ``chat_id``: ``@channelname`` or the numeric id (``-100...``).

What is sent (method and field names from the Bot API spec, see
tests/data/platform/telegram/SOURCE.md):

- text: ``sendMessage`` (``text``, ``link_preview_options`` with the post's
  link, so the preview shows the campaign link; at most 4,096 characters);
- one image: ``sendPhoto`` (``photo``: the uploaded file or its URL,
  ``caption``: at most 1,024 characters);
- 2 to 10 images: ``sendMediaGroup`` (``media``: ``InputMediaPhoto`` items,
  the caption on the first);
- thread parts after the first: ``sendMessage`` with ``reply_parameters``
  answering the previous part, one checkpoint after every part.

The bot token is part of every request's *path*
(``https://api.telegram.org/bot<token>/sendMessage``): it is registered for
redaction before the first request, and no message here contains a URL.
requests is imported inside methods only (``_transport.new_session``).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any, Callable

from spi_campaign import redact
from spi_campaign.adapters._content import read_image
from spi_campaign.adapters._transport import new_session, option_float, transport_error
from spi_campaign.adapters.base import (Adapter, Identity, Limits, Option, PublicationRef, PublishResult,
                                        ReconcileResult)
from spi_campaign.errors import (AdapterError, AuthError, PermanentError, TransientError,
                                 UnknownOutcomeError)
from spi_campaign.i18n import _
from spi_campaign.models import Account, Media, Rendered
from spi_campaign.timeutil import now_utc

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
_CHAT_ID = re.compile(r"^(@[A-Za-z][A-Za-z0-9_]{3,31}|-?\d{1,20})$")


class TelegramAdapter(Adapter):
    platform = "telegram"
    label = "Telegram"
    style = "cyan"
    limits = Limits(
        text=TEXT_LIMIT, max_media=10,
        media_types=frozenset({"image/jpeg", "image/png", "image/webp"}),
        max_media_bytes=10 * 1024 * 1024, thread=True,
    )
    options = {
        "chat_id": Option(str, required=True, help="the channel: @channelname or its numeric id (-100...)"),
        "timeout": Option(float, default=30.0, help="seconds to wait for Telegram to answer one request"),
    }
    credentials = ("BOT_TOKEN",)
    api_base = "https://api.telegram.org"

    def __init__(self, account, env=None, *, tz=None):
        super().__init__(account, env, tz=tz)
        self._session = None

    # ----- class side -----------------------------------------------------------

    @classmethod
    def measure(cls, text: str) -> int:
        """UTF-16 code units, the unit Telegram counts text and entities in
        (an emoji outside the Basic Multilingual Plane counts 2)."""
        return len(text.encode("utf-16-le")) // 2

    @classmethod
    def fits(cls, text: str) -> bool:
        return cls.measure(text) <= TEXT_LIMIT

    @classmethod
    def part_limits(cls, rendered: Rendered, account: Account | None = None) -> tuple[int | None, ...]:
        """A post with images is a caption (1,024); every other part is a message (4,096)."""
        first = CAPTION_LIMIT if rendered.media else TEXT_LIMIT
        return (first,) + tuple(TEXT_LIMIT for _ in rendered.parts[1:])

    @classmethod
    def compose(cls, post_id: str, account: str, content) -> Rendered:
        """The default composition; the post's link is kept for the link preview."""
        from dataclasses import replace

        return replace(super().compose(post_id, account, content), post_link=content.link)

    # ----- plumbing ---------------------------------------------------------------

    @property
    def token_env(self) -> str:
        return self.account.env_prefix + "BOT_TOKEN"

    @property
    def chat_id(self) -> str:
        value = str(self.account.options.get("chat_id") or "").strip()
        if not _CHAT_ID.match(value):
            raise PermanentError(_("{who}: chat_id must be @channelname or a numeric id like -1001234567890, "
                                   "got {value}").format(who=self.who, value=repr(value)))
        return value

    def _call(self, method: str, *, live: bool, what: str, data: dict[str, Any] | None = None,
              files: dict[str, Any] | None = None) -> Any:
        """POST ``method``; the ``result`` of an ``ok`` answer, or an errors class."""
        import requests

        token = self.secret("BOT_TOKEN")
        redact.register(f"bot{token}")        # as it stands in the path (-vv lines): glued to "bot"
        if self._session is None:
            self._session = new_session(option_float(self.account.options, "timeout", 30.0))
        url = f"{self.api_base}/bot{token}/{method}"
        try:
            if files:
                form = {k: (json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else str(v))
                        for k, v in (data or {}).items()}
                resp = self._session.post(url, data=form, files=files)
            else:
                resp = self._session.post(url, json=data or {})
        except requests.RequestException as exc:
            raise transport_error(exc, who=self.who, what=what, live=live) from None
        try:
            body = resp.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("ok") is True and "result" in body:
            return body["result"]
        raise self._error(resp.status_code, body, resp.headers, what=what, live=live)

    def _error(self, status: int, body: Any, headers, *, what: str, live: bool) -> AdapterError:
        body = body if isinstance(body, dict) else {}
        code = body.get("error_code") if isinstance(body.get("error_code"), int) else status
        desc = redact.scrub(str(body.get("description") or f"HTTP {status}"))[:300]
        params = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
        if code == 429:
            wait = params.get("retry_after")
            if not isinstance(wait, int):
                wait = int(headers.get("retry-after")) if str(headers.get("retry-after") or "").isdigit() else 30
            return TransientError(_("{who}: {what}: Telegram asks to wait {wait} s (429 Too Many Requests); "
                                    "nothing was published").format(who=self.who, what=what, wait=wait),
                                  retry_after=now_utc() + timedelta(seconds=wait))
        if code in (401, 404):
            return AuthError(_("{who}: {what}: Telegram refused the bot token in {env} "
                               "({reason}); get the token from @BotFather").format(
                who=self.who, what=what, env=self.token_env, reason=desc))
        if code == 403:
            return AuthError(_("{who}: {what}: the bot may not post in {chat} "
                               "({reason}); make it an administrator of the channel with 'Post messages'").format(
                who=self.who, what=what, chat=self.account.options.get("chat_id"), reason=desc))
        if params.get("migrate_to_chat_id"):
            return PermanentError(_("{who}: {what}: the group became a supergroup; set chat_id: "
                                    "\"{chat}\" in config.yaml").format(
                who=self.who, what=what, chat=params["migrate_to_chat_id"]))
        if status >= 500 or code >= 500:
            return TransientError(_("{who}: {what}: Telegram failed ({reason}); try again later").format(
                who=self.who, what=what, reason=desc))
        if not body:
            if live and 200 <= status < 300:
                return UnknownOutcomeError(_("{who}: {what}: Telegram's answer could not be read; "
                                             "the message may be live. Check the channel").format(
                    who=self.who, what=what))
            return PermanentError(_("{who}: {what}: Telegram answered HTTP {status} without a usable body").format(
                who=self.who, what=what, status=status))
        return PermanentError(_("{who}: {what}: Telegram refused it ({code}: {reason})").format(
            who=self.who, what=what, code=code, reason=desc))

    # ----- publish ----------------------------------------------------------------

    def publish(self, post: Rendered, *, progress: dict[str, Any] | None = None,
                checkpoint: Callable[[dict[str, Any]], None] | None = None) -> PublishResult:
        state: dict[str, Any] = dict(progress or {})
        ids: list[int] = [int(i) for i in state.get("message_ids") or ()]
        parts = post.parts
        chat = self.chat_id
        for n, limit in enumerate(self.part_limits(post)):
            if self.measure(parts[n]) > (limit or TEXT_LIMIT):
                raise PermanentError(_("{who}: part {n} is {length} characters; Telegram accepts {limit} here").format(
                    who=self.who, n=n + 1, length=self.measure(parts[n]), limit=limit))
        images = self._check_media(post.media) if not ids else []
        for n in range(len(ids), len(parts)):
            where = (_("part {n} of {total}").format(n=n + 1, total=len(parts)) if len(parts) > 1
                     else _("the message"))
            reply = {"reply_parameters": {"message_id": ids[-1]}} if ids else {}
            if n == 0 and len(images) == 1:
                m, upload = images[0]
                data = {"chat_id": chat, "caption": parts[0], **({"photo": m.url} if upload is None else {})}
                result = self._call("sendPhoto", live=True, what=_("sending the photo (sendPhoto, {where})").format(where=where),
                                    data=data, files={"photo": upload} if upload is not None else None)
            elif n == 0 and images:
                media, files = [], {}
                for i, (m, upload) in enumerate(images):
                    item: dict[str, Any] = {"type": "photo", "media": m.url if upload is None else f"attach://photo{i}"}
                    if upload is not None:
                        files[f"photo{i}"] = upload
                    if i == 0:
                        item["caption"] = parts[0]
                    media.append(item)
                result = self._call("sendMediaGroup", live=True, what=_("sending the album (sendMediaGroup, {where})").format(
                                        where=where),
                                    data={"chat_id": chat, "media": media}, files=files or None)
                result = result[0] if isinstance(result, list) and result else result
            else:
                data = {"chat_id": chat, "text": parts[n], **reply,
                        "link_preview_options": self._preview(post, parts[n])}
                result = self._call("sendMessage", live=True, what=_("sending {where} (sendMessage)").format(where=where),
                                    data=data)
            mid = result.get("message_id") if isinstance(result, dict) else None
            if not isinstance(mid, int):
                raise UnknownOutcomeError(_("{who}: sending {where}: Telegram answered without a message_id; "
                                            "it may be live. Check the channel").format(who=self.who, where=where))
            ids.append(mid)
            chat_info = result.get("chat") if isinstance(result.get("chat"), dict) else {}
            state.update(message_ids=list(ids), chat_username=chat_info.get("username") or state.get("chat_username"),
                         chat_numeric=chat_info.get("id") or state.get("chat_numeric"))
            if checkpoint:
                checkpoint(dict(state))
        return PublishResult(remote_id=str(ids[0]), url=self._url(state, ids[0]), extra=dict(state))

    @staticmethod
    def _preview(post: Rendered, text: str) -> dict[str, Any]:
        """Link preview on; for the post's link when this part carries it."""
        link = post.post_link or post.link
        return {"is_disabled": False, "url": link} if link and link in text else {"is_disabled": False}

    def _url(self, state: dict[str, Any], mid: int) -> str | None:
        name = state.get("chat_username") or (self.account.options.get("chat_id") or "").lstrip("@")
        if name and not str(name).lstrip("-").isdigit():
            return f"https://t.me/{name}/{mid}"
        numeric = str(state.get("chat_numeric") or name or "")
        if numeric.startswith("-100"):
            return f"https://t.me/c/{numeric[4:]}/{mid}"          # a private channel: members only
        return None

    def _check_media(self, media: tuple[Media, ...]) -> list[tuple[Media, Any]]:
        if len(media) > self.limits.max_media:
            raise PermanentError(_("{who}: {count} images; Telegram takes at most {max}").format(
                who=self.who, count=len(media), max=self.limits.max_media))
        out: list[tuple[Media, Any]] = []
        for n, m in enumerate(media, 1):
            if m.path is not None:
                data, mime = read_image(m.path, who=self.who, platform="Telegram", types=self.limits.media_types,
                                        max_bytes=self.limits.max_media_bytes)
                out.append((m, (m.path.name, data, mime)))
            elif m.url:
                out.append((m, None))
            else:
                raise PermanentError(_("{who}: image {n} has neither a file (path:) nor a url:").format(
                    who=self.who, n=n))
        return out

    # ----- check ------------------------------------------------------------------

    def check(self) -> Identity:
        me = self._call("getMe", live=False, what=_("reading the bot (getMe)"))
        chat = self._call("getChat", live=False, what=_("reading the channel (getChat)"), data={"chat_id": self.chat_id})
        if not isinstance(me, dict) or not isinstance(chat, dict):
            raise PermanentError(_("{who}: Telegram answered getMe/getChat without an object").format(who=self.who))
        member = self._call("getChatMember", live=False, what=_("reading the bot's rights in the channel (getChatMember)"),
                            data={"chat_id": self.chat_id, "user_id": me.get("id")})
        status = member.get("status") if isinstance(member, dict) else None
        if status not in ("creator", "administrator") or (chat.get("type") == "channel" and status == "administrator"
                                                          and member.get("can_post_messages") is False):
            raise AuthError(_("{who}: bot @{bot} may not post in {chat} (status: {status}); make it an "
                              "administrator of the channel with 'Post messages'").format(
                who=self.who, bot=me.get("username"), chat=self.chat_id, status=status))
        username = chat.get("username")
        state = {"chat_username": username, "chat_numeric": chat.get("id")}
        url = f"https://t.me/{username}" if username else None
        name = str(chat.get("title") or (f"@{username}" if username else chat.get("id")))
        return Identity(id=str(chat.get("id") or self.chat_id), name=name, url=url,
                        detail=_("posting as bot @{bot}").format(bot=me.get("username")),
                        notes=() if state["chat_username"] else (_("a private channel: links open for members only"),))

    # ----- reconcile --------------------------------------------------------------

    def reconcile(self, pub: PublicationRef) -> ReconcileResult:
        """The Bot API cannot read a channel's history: only progress recorded
        before the loss can tell that a post is out."""
        prog = pub.progress or {}
        ids = prog.get("message_ids") or []
        parts = len(pub.rendered.parts) if pub.rendered is not None else None
        if ids and parts is not None and len(ids) >= parts:
            return ReconcileResult("published", url=self._url(prog, int(ids[0])), remote_id=str(ids[0]))
        return ReconcileResult.cannot_tell(_("the Telegram Bot API cannot read a channel's history; "
                                             "look at the channel"))

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
