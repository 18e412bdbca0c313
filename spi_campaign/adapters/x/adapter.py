"""The ``x`` platform: posts, threads and images on X through the API v2.

Credentials (OAuth 1.0a user context of an app with Read and Write
permission), from the environment: ``SPI_<ACCOUNT>_API_KEY``,
``_API_SECRET``, ``_ACCESS_TOKEN``, ``_ACCESS_TOKEN_SECRET``.

Requests (checked against X's OpenAPI document, v2.167):

- ``POST /2/tweets`` through ``tweepy.Client.create_tweet`` (``text``,
  ``media.media_ids``, ``reply.in_reply_to_tweet_id``);
- ``POST https://api.x.com/2/media/upload`` (multipart ``media`` +
  ``media_category=tweet_image``; the id is ``data.id``) and
  ``POST https://api.x.com/2/media/metadata`` (``{"id", "metadata":
  {"alt_text": {"text"}}}``), signed with tweepy's ``OAuth1UserHandler``.
  tweepy 4.17's ``API.media_upload`` still calls the v1.1 endpoint X retired
  in 2025, so uploads do not go through tweepy;
- ``GET /2/users/me`` (``check``, and the username for post URLs) and
  ``GET /2/users/{id}/tweets`` (``reconcile``).

tweepy, requests and twitter_text are imported inside methods only.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, NamedTuple

from spi_campaign.adapters._content import normalise_text, read_image
from spi_campaign.adapters._transport import new_session, option_float, transport_error
from spi_campaign.adapters.base import (RECONCILE_MARGIN, Adapter, Identity, Limits, Option, PublicationRef,
                                        PublishResult, ReconcileResult)
from spi_campaign.adapters.x.errors import x_http_error, x_problem_detail
from spi_campaign.errors import AdapterError, AuthError, PermanentError, UnknownOutcomeError
from spi_campaign.models import Media, Rendered
from spi_campaign.textlen import x_fits, x_weighted_length
from spi_campaign.timeutil import now_utc

log = logging.getLogger(__name__)

API = "https://api.x.com"
MEDIA_UPLOAD_URL = API + "/2/media/upload"
MEDIA_METADATA_URL = API + "/2/media/metadata"
ALT_TEXT_MAX = 1000                 # CreateMediaMetadataMetadataAltText.text maxLength
RECONCILE_PAGES = 5                 # at most 5 x 100 recent posts are read


class _Me(NamedTuple):
    id: str
    username: str
    name: str


class XAdapter(Adapter):
    platform = "x"
    label = "X"
    style = "bright_white"
    limits = Limits(
        text=280, max_media=4,
        media_types=frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"}),
        max_media_bytes=5 * 1024 * 1024, media_needs_file=True, thread=True,
    )
    options = {
        "username": Option(str, help="the account's @username (saves one API read per run when building post URLs)"),
        "timeout": Option(float, default=30.0, help="seconds to wait for X to answer one request"),
    }
    credentials = ("API_KEY", "API_SECRET", "ACCESS_TOKEN", "ACCESS_TOKEN_SECRET")

    def __init__(self, account, env=None, *, tz=None):
        super().__init__(account, env, tz=tz)
        self._tw = None          # tweepy.Client
        self._auth = None        # requests auth for api.x.com (OAuth 1.0a)
        self._session = None
        self._me: _Me | None = None

    # ----- class side ---------------------------------------------------------

    @classmethod
    def measure(cls, text: str) -> int:
        """twitter-text weighted length (URLs count 23, CJK and emoji 2)."""
        return x_weighted_length(text)

    @classmethod
    def fits(cls, text: str) -> bool:
        return x_fits(text, cls.limits.text or 280)

    # ----- plumbing -----------------------------------------------------------

    @property
    def timeout(self) -> float:
        return option_float(self.account.options, "timeout", 30.0)

    def _credentials(self) -> list[str]:
        missing = [n for n in self.env_names(self.account) if not self.env.get(n, "").strip()]
        if missing:
            raise AuthError(f"{self.who}: environment variable{'s' if len(missing) > 1 else ''} "
                            f"{', '.join(missing)} {'are' if len(missing) > 1 else 'is'} not set "
                            f"(X needs all four OAuth 1.0a user credentials: API key and secret, "
                            f"access token and secret)")
        return [self.secret(f) for f in self.credentials]

    def _client(self):
        if self._tw is None:
            import requests
            import tweepy

            key, secret, token, token_secret = self._credentials()
            self._session = new_session(self.timeout)
            client = tweepy.Client(consumer_key=key, consumer_secret=secret, access_token=token,
                                   access_token_secret=token_secret, return_type=requests.Response)
            client.session.close()
            client.session = self._session      # tweepy.Client has no timeout parameter
            self._auth = tweepy.OAuth1UserHandler(key, secret, token, token_secret).apply_auth()
            self._tw = client
        return self._tw

    def _call(self, what: str, fn: Callable[[], Any], *, live: bool):
        """Run a tweepy call or a request; return the ``requests.Response``."""
        import requests
        import tweepy

        try:
            resp = fn()
        except tweepy.HTTPException as exc:
            raise x_http_error(exc.response, who=self.who, what=what,
                               env_names=self.env_names(self.account)) from None
        except requests.RequestException as exc:
            raise transport_error(exc, who=self.who, what=what, live=live) from None
        if not 200 <= resp.status_code < 300:
            raise x_http_error(resp, who=self.who, what=what, env_names=self.env_names(self.account))
        return resp

    def _data(self, resp, what: str, *, live: bool) -> Any:
        """``data`` of a 2xx X answer."""
        try:
            body = resp.json()
        except ValueError:
            body = None
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, (dict, list)) or (isinstance(data, dict) and "id" not in data):
            detail = x_problem_detail(resp) if isinstance(body, dict) and body.get("errors") else "no data"
            if live:
                raise UnknownOutcomeError(f"{self.who}: {what}: X answered {resp.status_code} without the "
                                          f"new post's id ({detail}); it may be live. Check the account")
            raise PermanentError(f"{self.who}: {what}: X answered {resp.status_code} without data ({detail})")
        return data

    def _me_info(self) -> _Me:
        if self._me is None:
            client = self._client()
            resp = self._call("looking up the account (GET /2/users/me)",
                              lambda: client.get_me(user_auth=True), live=False)
            data = self._data(resp, "looking up the account", live=False)
            self._me = _Me(str(data["id"]), str(data.get("username") or ""), str(data.get("name") or ""))
        return self._me

    def _username(self) -> str | None:
        configured = str(self.account.options.get("username") or "").strip().lstrip("@")
        if configured:
            return configured
        try:
            return self._me_info().username or None
        except AdapterError as exc:
            log.warning("%s: could not look up the username for the post URL: %s", self.who, exc)
            return None

    def _post_url(self, tweet_id: str) -> str:
        username = self._username()
        if username:
            return f"https://x.com/{username}/status/{tweet_id}"
        return f"https://x.com/i/status/{tweet_id}"

    # ----- publish ------------------------------------------------------------

    def publish(self, post: Rendered, *, progress: dict[str, Any] | None = None,
                checkpoint: Callable[[dict[str, Any]], None] | None = None) -> PublishResult:
        parts = list(post.parts)
        state: dict[str, Any] = dict(progress or {})
        done = [str(i) for i in state.get("parts") or ()]
        if len(done) < len(parts):
            images = self._check_media(post.media) if not done else []
            client = self._client()
            media_ids = self._upload_media(images, state, checkpoint) if images else []
            for i in range(len(done), len(parts)):
                what = "creating the post" if len(parts) == 1 else f"creating thread part {i + 1} of {len(parts)}"
                kwargs: dict[str, Any] = {"text": parts[i], "user_auth": True}
                if i == 0 and media_ids:
                    kwargs["media_ids"] = media_ids
                if i > 0:
                    kwargs["in_reply_to_tweet_id"] = done[-1]
                try:
                    resp = self._call(what, lambda: client.create_tweet(**kwargs), live=True)
                    tweet_id = str(self._data(resp, what, live=True)["id"])
                except AdapterError as exc:
                    if done:
                        raise type(exc)(f"{exc} (parts 1-{len(done)} of the thread are live: "
                                        f"{', '.join(done)}; a retry continues with part {len(done) + 1})",
                                        retry_after=exc.retry_after) from None
                    raise
                done.append(tweet_id)
                state["parts"] = list(done)
                self._log_daily_limit(resp)
                if checkpoint:
                    checkpoint(dict(state))
        extra: dict[str, Any] = {"parts": list(done)}
        if state.get("media_ids"):
            extra["media_ids"] = list(state["media_ids"])
        return PublishResult(remote_id=done[0], url=self._post_url(done[0]), extra=extra)

    def _log_daily_limit(self, resp) -> None:
        remaining = resp.headers.get("x-user-limit-24hour-remaining")
        if remaining is not None:
            log.info("%s: %s posts left in X's 24-hour window", self.who, remaining)

    def _check_media(self, media: tuple[Media, ...]) -> list[tuple[Media, bytes, str]]:
        """Read and check every image before anything is uploaded."""
        if len(media) > self.limits.max_media:
            raise PermanentError(f"{self.who}: {len(media)} images; X accepts at most {self.limits.max_media}")
        out = []
        for n, m in enumerate(media, 1):
            if m.path is None:
                raise PermanentError(f"{self.who}: image {n} has no local file (path:); X uploads files "
                                     f"and cannot fetch a url:")
            data, mime = read_image(m.path, who=self.who, platform="X", types=self.limits.media_types,
                                    max_bytes=self.limits.max_media_bytes)
            out.append((m, data, mime))
        return out

    def _upload_media(self, images: list[tuple[Media, bytes, str]], state: dict[str, Any],
                      checkpoint: Callable[[dict[str, Any]], None] | None) -> list[str]:
        """Upload images (reusing ids recorded in ``state`` that have not expired)."""
        ids = [str(i) for i in state.get("media_ids") or ()][: len(images)]
        expires = state.get("media_expires_at")
        if ids and isinstance(expires, (int, float)) and now_utc().timestamp() > expires - 600:
            ids = []                      # uploads expire (expires_after_secs); upload again
        for n in range(len(ids), len(images)):
            m, data, mime = images[n]
            media_id, ttl = self._upload_one(m, data, mime, n + 1, len(images))
            if m.alt:
                self._set_alt_text(media_id, m.alt, n + 1)
            ids.append(media_id)
            state["media_ids"] = list(ids)
            if ttl:
                deadline = now_utc().timestamp() + ttl
                old = state.get("media_expires_at")
                state["media_expires_at"] = min(deadline, old) if isinstance(old, (int, float)) and n else deadline
            if checkpoint:
                checkpoint(dict(state))
        return ids

    def _upload_one(self, m: Media, data: bytes, mime: str, n: int, total: int) -> tuple[str, int | None]:
        self._client()
        what = f"uploading image {n} of {total} ({m.path.name if m.path else 'image'})"
        resp = self._call(what, lambda: self._session.post(
            MEDIA_UPLOAD_URL, files={"media": (m.path.name if m.path else "image", data, mime)},
            data={"media_category": "tweet_image"}, auth=self._auth), live=False)
        info = self._data(resp, what, live=False)
        state = ((info.get("processing_info") or {}).get("state") or "").lower()
        if state == "failed":
            raise PermanentError(f"{self.who}: {what}: X could not process the image")
        ttl = info.get("expires_after_secs")
        return str(info["id"]), ttl if isinstance(ttl, int) else None

    def _set_alt_text(self, media_id: str, alt: str, n: int) -> None:
        what = f"setting the alt text of image {n}"
        body = {"id": media_id, "metadata": {"alt_text": {"text": alt[:ALT_TEXT_MAX]}}}
        self._call(what, lambda: self._session.post(MEDIA_METADATA_URL, json=body, auth=self._auth), live=False)

    # ----- check --------------------------------------------------------------

    def check(self) -> Identity:
        me = self._me_info()
        return Identity(id=me.id, name=f"@{me.username}", url=f"https://x.com/{me.username}",
                        detail=me.name or None)

    # ----- reconcile ----------------------------------------------------------

    def reconcile(self, pub: PublicationRef) -> ReconcileResult:
        """Find the lost post among the account's recent posts by its text."""
        known = [str(i) for i in (pub.progress or {}).get("parts") or ()]
        if pub.rendered is None:
            if known:
                return ReconcileResult("published", url=self._safe_url(known[0]), remote_id=known[0],
                                       detail="the first part was recorded as live")
            return ReconcileResult.cannot_tell("the post is no longer in the campaign; nothing to compare with")
        parts = list(pub.rendered.parts)
        if len(known) >= len(parts):
            return ReconcileResult("published", url=self._safe_url(known[0]), remote_id=known[0])
        since = (pub.claimed_at or pub.occurrence) - RECONCILE_MARGIN
        try:
            me = self._me_info()
            tweets = self._recent_posts(me.id, since)
        except AdapterError as exc:
            return ReconcileResult.cannot_tell(f"X could not be asked: {exc}")
        found = list(known)
        for i in range(len(known), len(parts)):
            want = normalise_text(parts[i])
            match = None
            for t in reversed(tweets):          # oldest first: the first post with this text
                if normalise_text(t.get("text")) != want:
                    continue
                if i > 0 and not _replies_to(t, found[-1]):
                    continue
                match = str(t["id"])
                break
            if match is None:
                break
            found.append(match)
        if len(found) == len(parts):
            return ReconcileResult("published", url=self._safe_url(found[0]), remote_id=found[0])
        if len(found) == len(known):
            detail = (f"thread parts 1-{len(known)} were live; part {len(known) + 1} was not found"
                      if known else "no post with this text since the attempt started")
            return ReconcileResult("not_found", detail=detail)
        return ReconcileResult.cannot_tell(
            f"thread partly live: parts 1-{len(found)} of {len(parts)} found ({', '.join(found)}); "
            f"finish the thread by hand")

    def _safe_url(self, tweet_id: str) -> str:
        try:
            return self._post_url(tweet_id)
        except AdapterError:
            return f"https://x.com/i/status/{tweet_id}"

    def _recent_posts(self, user_id: str, since) -> list[dict]:
        client = self._client()
        tweets: list[dict] = []
        token = None
        for _ in range(RECONCILE_PAGES):
            params: dict[str, Any] = {"start_time": since, "max_results": 100, "user_auth": True,
                                      "tweet_fields": ["created_at", "referenced_tweets"]}
            if token:
                params["pagination_token"] = token
            resp = self._call("reading recent posts (GET /2/users/{id}/tweets)",
                              lambda: client.get_users_tweets(user_id, **params), live=False)
            try:
                body = resp.json()
            except ValueError:
                raise PermanentError(f"{self.who}: X answered the timeline request with a body spi cannot read")
            tweets.extend(t for t in body.get("data") or () if isinstance(t, dict) and "id" in t)
            token = (body.get("meta") or {}).get("next_token")
            if not token:
                break
        return tweets

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


def _replies_to(tweet: dict, parent_id: str) -> bool:
    refs = tweet.get("referenced_tweets") or ()
    return any(isinstance(r, dict) and r.get("type") == "replied_to" and str(r.get("id")) == parent_id
               for r in refs)
