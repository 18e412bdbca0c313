"""The ``threads`` platform: text, image and carousel posts, and threads of
several parts as reply chains, on Threads (``graph.threads.net``), through
the Meta family's ``GraphClient``.

Account keys: ``threads_user_id`` (required); credential
``SPI_<ACCOUNT>_ACCESS_TOKEN`` (a Threads user token with ``threads_basic``,
``threads_content_publish`` and, for threads of several parts,
``threads_manage_replies``).

Publishing (ENDPOINTS.md of the Threads API, tests/data/platform/threads/):

1. ``GET /{threads-user-id}/threads_publishing_limit`` (``quota_usage``,
   ``config``, ``reply_quota_usage``, ``reply_config``): 250 posts and 1,000
   replies per moving 24 h; a publication that does not fit raises
   ``QuotaDeferred`` before anything is made;
2. per part, a container: ``POST /{threads-user-id}/threads`` with
   ``media_type`` ``TEXT`` / ``IMAGE`` (``image_url``, ``alt_text``) /
   ``CAROUSEL`` (``children``: item containers made with
   ``is_carousel_item=true``), ``text``, and ``reply_to_id`` (the previous
   part) from the second part on;
3. ``GET /{container-id}?fields=status,error_message`` until ``FINISHED``;
4. ``POST /{threads-user-id}/threads_publish`` (``creation_id``), then
   ``GET /{media-id}?fields=permalink``.

Containers and published ids are checkpointed, so a retry reuses containers
and continues a thread after its last published part.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any, Callable

from spi_campaign.adapters.base import Identity, Limits, Option, PublicationRef, PublishResult, ReconcileResult
from spi_campaign.adapters.meta.base import GraphAdapter
from spi_campaign.errors import AdapterError, PermanentError, QuotaDeferred, TransientError, UnknownOutcomeError
from spi_campaign.i18n import N_, _
from spi_campaign.models import Rendered
from spi_campaign.timeutil import now_utc

log = logging.getLogger(__name__)

NO_CONTAINER_ID = N_("{who}: Threads answered without a container id")
# the quotas' names in messages (translated where shown)
_QUOTA_NAMES = {"posts": N_("posts"), "replies": N_("replies")}

THREADS_VERSION = "v1.0"
MAX_LINKS = 5
WINDOW = timedelta(hours=24)


def count_links(texts: list[str], link: str | None = None) -> int:
    """Unique links as Threads counts them: URLs in the text plus a different link attachment."""
    from twitter_text import extract_urls

    found = {u.rstrip("/").lower() for t in texts for u in extract_urls(t)}
    if link:
        found.add(link.rstrip("/").lower())
    return len(found)


def threads_length(text: str) -> int:
    """Threads' 500-character rule: characters, but an emoji counts as its
    number of UTF-8 bytes (a grapheme holding a pictograph or a flag counts
    all the bytes of the cluster)."""
    import regex

    n = 0
    for g in regex.findall(r"\X", text):
        if regex.search(r"[\p{Extended_Pictographic}\p{Regional_Indicator}]", g):
            n += len(g.encode("utf-8"))
        else:
            n += len(g)
    return n


class ThreadsAdapter(GraphAdapter):
    platform = "threads"
    label = "Threads"
    style = "white"
    limits = Limits(text=500, max_media=20, media_types=frozenset({"image/jpeg", "image/png"}),
                    max_media_bytes=8 * 1024 * 1024, media_needs_url=True, thread=True)
    options = {
        "threads_user_id": Option(str, required=True, help="the Threads user id (quote it)"),
        "graph_version": Option(str, default=THREADS_VERSION, help=f"Threads API version (default {THREADS_VERSION})"),
        "timeout": Option(float, default=30.0, help="seconds to wait for Threads to answer one request"),
        "poll_interval": Option(float, default=3.0, help="seconds between container status checks"),
        "max_polls": Option(int, default=20, help="container status checks before giving up (retried later)"),
    }
    credentials = ("ACCESS_TOKEN",)
    optional_credentials = ()
    product = "Threads"
    api_base = "https://graph.threads.net"
    default_version = THREADS_VERSION

    @classmethod
    def measure(cls, text: str) -> int:
        return threads_length(text)

    @classmethod
    def problems(cls, rendered: Rendered) -> list[str]:
        n = count_links(list(rendered.parts), rendered.link)
        if n > MAX_LINKS:
            return [_("{count} different links; Threads refuses a post with more than {max}").format(
                count=n, max=MAX_LINKS)]
        return []

    # ----- plumbing -----------------------------------------------------------

    @property
    def user(self) -> str:
        return self._required_option("threads_user_id")

    def _num(self, key: str, default, kind):
        v = self.account.options.get(key, default)
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and (v >= 1 if kind is int else v >= 0)
        return kind(v) if ok else default

    def quota(self) -> dict[str, tuple[int, int | None]]:
        """{"posts": (used, total), "replies": (used, total)} from ``threads_publishing_limit``."""
        res = self._client().get(self.user, "threads_publishing_limit",
                                 fields="quota_usage,config,reply_quota_usage,reply_config",
                                 what=_("reading the publishing quota (GET /{threads-user-id}/threads_publishing_limit)"))
        rows = res.get("data")
        row = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else {}
        out = {}
        for name, used_key, config_key in (("posts", "quota_usage", "config"),
                                           ("replies", "reply_quota_usage", "reply_config")):
            config = row.get(config_key) if isinstance(row.get(config_key), dict) else {}
            used, total = row.get(used_key), config.get("quota_total")
            out[name] = (int(used) if isinstance(used, (int, float)) else 0,
                         int(total) if isinstance(total, (int, float)) else None)
        return out

    def _require_quota(self, posts: int, replies: int) -> None:
        q = self.quota()
        for name, need in (("posts", posts), ("replies", replies)):
            used, total = q[name]
            if need and total is not None and used + need > total:
                raise QuotaDeferred(_("{who}: Threads' 24-hour {name} quota does not fit this publication "
                                      "({used} of {total} used, {need} needed); deferred").format(
                    who=self.who, name=_(_QUOTA_NAMES[name]), used=used, total=total, need=need),
                    retry_after=now_utc() + WINDOW)

    # ----- publish ------------------------------------------------------------

    def publish(self, post: Rendered, *, progress: dict[str, Any] | None = None,
                checkpoint: Callable[[dict[str, Any]], None] | None = None) -> PublishResult:
        state: dict[str, Any] = dict(progress or {})
        texts = list(post.parts)
        done = [str(p) for p in state.get("parts") or ()]
        if len(done) >= len(texts):
            return self._result(done)
        for problem in self.problems(post):
            raise PermanentError(f"{self.who}: {problem}")
        for n, m in enumerate(post.media, 1):
            if not m.url:
                raise PermanentError(_("{who}: image {n} has no public url:; Threads fetches images from a "
                                       "public URL").format(who=self.who, n=n))
        if len(post.media) > self.limits.max_media:
            raise PermanentError(_("{who}: {count} images; Threads accepts at most {max}").format(
                who=self.who, count=len(post.media), max=self.limits.max_media))
        self._client()
        self._require_quota(posts=0 if done else 1, replies=len(texts) - max(1, len(done)))

        def save() -> None:
            if checkpoint:
                checkpoint(dict(state))

        for i in range(len(done), len(texts)):
            container = self._container(post, i, texts[i], done, state, save)
            res = self._client().post(self.user, "threads_publish", {"creation_id": container},
                                      what=_("publishing part {n} (POST /{{threads-user-id}}/threads_publish)").format(
                                          n=i + 1),
                                      live=True)
            media_id = res.get("id")
            if not media_id:
                raise UnknownOutcomeError(_("{who}: Threads answered threads_publish without an id; the post "
                                            "may be live. Check the account").format(who=self.who))
            done.append(str(media_id))
            state.update(parts=list(done), container=None, children=None)
            save()
        return self._result(done)

    def _container(self, post: Rendered, i: int, text: str, done: list[str], state: dict[str, Any],
                   save: Callable[[], None]) -> str:
        rec = state.get("container") if isinstance(state.get("container"), dict) else None
        if rec and rec.get("index") == i and rec.get("id"):
            cid = str(rec["id"])
            if self._wait(cid, _("the container of part {n}").format(n=i + 1), reused=True):
                return cid
        data: dict[str, Any] = {"text": text}
        if i > 0:
            data.update(media_type="TEXT", reply_to_id=done[-1])
        elif len(post.media) == 1:
            data.update(media_type="IMAGE", image_url=post.media[0].url, alt_text=post.media[0].alt)
        elif post.media:
            data.update(media_type="CAROUSEL", children=",".join(self._children(post, state, save)))
        else:
            data.update(media_type="TEXT")
        res = self._client().post(self.user, "threads", data, live=False,
                                  what=_("creating the container of part {n} (POST /{{threads-user-id}}/threads)").format(
                                      n=i + 1))
        cid = res.get("id")
        if not cid:
            raise TransientError(_(NO_CONTAINER_ID).format(who=self.who))
        state["container"] = {"index": i, "id": str(cid)}
        save()
        self._wait(str(cid), _("the container of part {n}").format(n=i + 1), reused=False)
        return str(cid)

    def _children(self, post: Rendered, state: dict[str, Any], save: Callable[[], None]) -> list[str]:
        children = [str(c) for c in state.get("children") or ()][: len(post.media)]
        for n, child in enumerate(children):
            if not self._wait(child, _("carousel item {n}").format(n=n + 1), reused=True):
                children = []
                break
        for n in range(len(children), len(post.media)):
            m = post.media[n]
            res = self._client().post(self.user, "threads", {"media_type": "IMAGE", "image_url": m.url,
                                                             "is_carousel_item": True, "alt_text": m.alt},
                                      what=_("creating carousel item {n} (POST /{{threads-user-id}}/threads)").format(
                                          n=n + 1), live=False)
            if not res.get("id"):
                raise TransientError(_(NO_CONTAINER_ID).format(who=self.who))
            children.append(str(res["id"]))
            state["children"] = list(children)
            save()
            self._wait(children[-1], _("carousel item {n}").format(n=n + 1), reused=False)
        return children

    def _wait(self, cid: str, label: str, *, reused: bool) -> bool:
        """Poll ``status`` until FINISHED (True); False for a reused container that expired."""
        status = None
        interval, polls = self._num("poll_interval", 3.0, float), self._num("max_polls", 20, int)
        for n in range(polls):
            if n:
                time.sleep(interval)
            res = self._client().get(cid, fields="status,error_message",
                                     what=_("checking {label} (GET /{{container-id}}?fields=status)").format(label=label))
            status = str(res.get("status") or "").upper()
            if status == "FINISHED":
                return True
            if status == "PUBLISHED":
                raise UnknownOutcomeError(_("{who}: {label} {container} is already published; "
                                            "run reconcile instead of publishing again").format(
                    who=self.who, label=label, container=cid))
            if status == "EXPIRED" and reused:
                return False
            if status in ("ERROR", "EXPIRED"):
                why = res.get("error_message") or status
                raise PermanentError(_("{who}: Threads could not prepare {label} ({reason}); check that every "
                                       "image url: is a public JPEG or PNG").format(who=self.who, label=label, reason=why))
        raise TransientError(_("{who}: {label} {container} is still {status} after "
                               "{polls} checks; will retry (the container is kept)").format(
            who=self.who, label=label, container=cid, status=status or _("not ready"), polls=polls))

    def _result(self, done: list[str]) -> PublishResult:
        return PublishResult(remote_id=done[0], url=self._permalink(done[0]), extra={"parts": list(done)})

    def _permalink(self, media_id: str) -> str | None:
        try:
            res = self._client().get(media_id, fields="permalink", what=_("reading the post's permalink"))
        except AdapterError as exc:
            log.warning(_("{who}: published as {id} but the permalink could not be read: {error}").format(
                who=self.who, id=media_id, error=exc))
            return None
        return str(res["permalink"]) if res.get("permalink") else None

    # ----- check / reconcile --------------------------------------------------

    def check(self) -> Identity:
        me = self._client().get(self.user, fields="id,username", what=_("reading the account (GET /{threads-user-id})"))
        username = str(me.get("username") or "")
        usage, detail = None, None
        try:
            q = self.quota()
            usage = {"used": q["posts"][0], "cap": q["posts"][1], "replies_used": q["replies"][0],
                     "replies_cap": q["replies"][1]}
            detail = _("publishing quota {posts_used}/{posts_cap} posts, {replies_used}/{replies_cap} replies "
                       "in 24 h").format(posts_used=q["posts"][0], posts_cap=q["posts"][1],
                                         replies_used=q["replies"][0], replies_cap=q["replies"][1])
        except AdapterError as exc:
            log.info(_("{who}: quota not readable: {error}").format(who=self.who, error=exc))
        return Identity(id=str(me.get("id") or self.user), name=f"@{username}" if username else self.user,
                        url=f"https://www.threads.net/@{username}" if username else None, detail=detail, usage=usage)

    def reconcile(self, pub: PublicationRef) -> ReconcileResult:
        prog = pub.progress or {}
        done = [str(p) for p in prog.get("parts") or ()]
        total = len(pub.rendered.parts) if pub.rendered else None
        if done and total is not None and len(done) >= total:
            return ReconcileResult("published", url=self._permalink(done[0]), remote_id=done[0])
        if done:
            return ReconcileResult.cannot_tell(_("{done} of {total} parts are live; the last one's "
                                                 "outcome is unknown: check the thread on Threads").format(
                done=len(done), total=total or "?"))
        found = self._search_recent(pub, "threads_user_id", "threads", text_field="text", noun=_("posts"),
                                    what=_("reading recent posts (GET /{threads-user-id}/threads)"),
                                    fields="id,text,permalink,timestamp")
        if isinstance(found, ReconcileResult):
            return found
        if found is not None:
            return ReconcileResult("published", url=found.get("permalink"), remote_id=str(found.get("id")))
        return ReconcileResult("not_found", detail=_("no post with this text since the attempt started"))
