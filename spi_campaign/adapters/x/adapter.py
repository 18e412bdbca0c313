"""The ``x`` platform: posts, threads and images on X through the API v2.

Credentials (OAuth 1.0a user context of an app with Read and Write
permission), from the environment: ``SPI_<ACCOUNT>_API_KEY``,
``_API_SECRET``, ``_ACCESS_TOKEN``, ``_ACCESS_TOKEN_SECRET``.

Optional: ``SPI_<ACCOUNT>_BEARER_TOKEN`` (the app's bearer token), only for
``GET /2/usage/tweets``, which accepts app-only authentication alone.

Requests (checked against X's OpenAPI document, v2.167), all to
``https://api.x.com`` (tweepy 4.17 hard-codes ``api.twitter.com``; the
session sends its calls to the documented host):

- ``POST /2/tweets`` through ``tweepy.Client.create_tweet`` (``text``,
  ``media.media_ids``, ``reply.in_reply_to_tweet_id``);
- media uploads and alt text: see ``media.py`` (tweepy 4.17's
  ``API.media_upload`` still calls the v1.1 endpoint X retired in 2025);
- ``GET /2/users/me`` (``check``, and the username for post URLs),
  ``GET /2/usage/tweets`` (``check``, with the bearer token) and
  ``GET /2/users/{id}/tweets`` (``reconcile``);
- engagement (``metrics``): see ``metrics.py``.

tweepy, requests and twitter_text are imported inside methods only.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, NamedTuple

from spi_campaign.adapters._content import normalise_text
from spi_campaign.adapters._transport import new_session, option_float, transport_error
from spi_campaign.adapters.base import (RECONCILE_MARGIN, Adapter, Identity, Limits, Option, PublicationRef,
                                        PublishResult, ReconcileResult)
from spi_campaign.adapters.x.errors import x_http_error, x_problem_detail
from spi_campaign.adapters.x.media import XMediaUploads
from spi_campaign.adapters.x.metrics import XMetrics
from spi_campaign.errors import AdapterError, AuthError, PermanentError, UnknownOutcomeError
from spi_campaign.i18n import _, ngettext
from spi_campaign.models import Rendered
from spi_campaign.textlen import x_fits, x_weighted_length

log = logging.getLogger(__name__)

API = "https://api.x.com"            # the documented host (X's OpenAPI ``servers``)
TWEEPY_HOST = "https://api.twitter.com/"   # tweepy 4.17 hard-codes it; the session sends to API instead
USAGE_URL = API + "/2/usage/tweets"
RECONCILE_PAGES = 5                 # at most 5 x 100 recent posts are read


class _Me(NamedTuple):
    id: str
    username: str
    name: str


class XAdapter(XMetrics, XMediaUploads, Adapter):
    platform = "x"
    api_base = "https://api.x.com"
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
        "max_polls": Option(int, default=20, help="media processing status checks (GIFs) before giving up"),
    }
    credentials = ("API_KEY", "API_SECRET", "ACCESS_TOKEN", "ACCESS_TOKEN_SECRET")
    optional_credentials = ("BEARER_TOKEN",)     # only for GET /2/usage/tweets (app-only auth)

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
            err = AuthError(ngettext(
                "{who}: environment variable {names} is not set (X needs all four OAuth 1.0a user "
                "credentials: API key and secret, access token and secret)",
                "{who}: environment variables {names} are not set (X needs all four OAuth 1.0a user "
                "credentials: API key and secret, access token and secret)",
                len(missing)).format(who=self.who, names=", ".join(missing)))
            err.missing_env = missing[0]
            raise err
        return [self.secret(f) for f in self.credentials]

    def _client(self):
        if self._tw is None:
            import requests
            import tweepy

            key, secret, token, token_secret = self._credentials()
            self._session = new_session(self.timeout, hosts={TWEEPY_HOST: API + "/"})
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
            detail = x_problem_detail(resp) if isinstance(body, dict) and body.get("errors") else _("no data")
            if live:
                raise UnknownOutcomeError(_("{who}: {what}: X answered {status} without the new post's id "
                                            "({detail}); it may be live. Check the account").format(
                    who=self.who, what=what, status=resp.status_code, detail=detail))
            raise PermanentError(_("{who}: {what}: X answered {status} without data ({detail})").format(
                who=self.who, what=what, status=resp.status_code, detail=detail))
        return data

    def _me_info(self) -> _Me:
        if self._me is None:
            client = self._client()
            resp = self._call(_("looking up the account (GET /2/users/me)"),
                              lambda: client.get_me(user_auth=True), live=False)
            data = self._data(resp, _("looking up the account"), live=False)
            self._me = _Me(str(data["id"]), str(data.get("username") or ""), str(data.get("name") or ""))
        return self._me

    def _username(self) -> str | None:
        configured = str(self.account.options.get("username") or "").strip().lstrip("@")
        if configured:
            return configured
        try:
            return self._me_info().username or None
        except AdapterError as exc:
            log.warning(_("{who}: could not look up the username for the post URL: {error}").format(
                who=self.who, error=exc))
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
                what = (_("creating the post") if len(parts) == 1
                        else _("creating thread part {n} of {total}").format(n=i + 1, total=len(parts)))
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
                        raise type(exc)(_("{error} (parts 1-{done} of the thread are live: {ids}; a retry "
                                          "continues with part {next})").format(
                            error=exc, done=len(done), ids=", ".join(done), next=len(done) + 1),
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
            log.info(_("{who}: {remaining} posts left in X's 24-hour window").format(who=self.who, remaining=remaining))

    # ----- check --------------------------------------------------------------

    def check(self) -> Identity:
        me = self._me_info()
        usage, notes = self._usage()
        detail = me.name or None
        if usage:
            words = _("X usage: {used} of {cap} posts read ({remaining} left)").format(
                used=f"{usage['used']:,}", cap=f"{usage['cap']:,}", remaining=f"{usage['remaining']:,}")
            if usage.get("cap_reset_day"):
                words += _(", the cap resets on day {day} of the month").format(day=usage["cap_reset_day"])
            detail = f"{detail}; {words}" if detail else words
        return Identity(id=me.id, name=f"@{me.username}", url=f"https://x.com/{me.username}",
                        detail=detail, usage=usage, notes=notes)

    def _usage(self) -> tuple[dict[str, Any] | None, tuple[str, ...]]:
        """The project's usage from ``GET /2/usage/tweets`` (app-only bearer token)."""
        name = self.account.env_prefix + "BEARER_TOKEN"
        bearer = self.optional_secret("BEARER_TOKEN")
        if not bearer:
            return None, (_("usage not shown: GET /2/usage/tweets accepts only the app's bearer token; "
                            "set {env} to see it").format(env=name),)
        self._client()
        what = _("reading usage (GET /2/usage/tweets)")
        try:
            resp = self._call(what, lambda: self._session.get(
                USAGE_URL, params={"usage.fields": "cap_reset_day,project_cap,project_usage"},
                headers={"Authorization": f"Bearer {bearer}"}), live=False)
            body = resp.json()
        except AuthError:
            return None, (_("usage not shown: X refused the bearer token in {env}").format(env=name),)
        except (AdapterError, ValueError) as exc:
            return None, (_("usage not shown: {reason}").format(
                reason=exc if isinstance(exc, AdapterError) else _("unreadable answer")),)
        data = body.get("data") if isinstance(body, dict) else None
        try:
            used, cap = int(data["project_usage"]), int(data["project_cap"])
        except (TypeError, KeyError, ValueError):
            return None, (_("usage not shown: X answered without project_usage/project_cap"),)
        usage = {"used": used, "cap": cap, "remaining": max(cap - used, 0), "unit": "posts read"}
        if isinstance(data.get("cap_reset_day"), int):
            usage["cap_reset_day"] = data["cap_reset_day"]
        return usage, ()

    # ----- reconcile ----------------------------------------------------------

    def reconcile(self, pub: PublicationRef) -> ReconcileResult:
        """Find the lost post among the account's recent posts by its text."""
        known = [str(i) for i in (pub.progress or {}).get("parts") or ()]
        if pub.rendered is None:
            if known:
                return ReconcileResult("published", url=self._safe_url(known[0]), remote_id=known[0],
                                       detail=_("the first part was recorded as live"))
            return ReconcileResult.cannot_tell(_("the post is no longer in the campaign; nothing to compare with"))
        parts = list(pub.rendered.parts)
        if len(known) >= len(parts):
            return ReconcileResult("published", url=self._safe_url(known[0]), remote_id=known[0])
        since = (pub.claimed_at or pub.occurrence) - RECONCILE_MARGIN
        try:
            me = self._me_info()
            tweets = self._recent_posts(me.id, since)
        except AdapterError as exc:
            return ReconcileResult.cannot_tell(_("X could not be asked: {error}").format(error=exc))
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
            detail = (_("thread parts 1-{done} were live; part {next} was not found").format(
                done=len(known), next=len(known) + 1)
                      if known else _("no post with this text since the attempt started"))
            return ReconcileResult("not_found", detail=detail)
        return ReconcileResult.cannot_tell(
            _("thread partly live: parts 1-{found} of {total} found ({ids}); finish the thread by hand").format(
                found=len(found), total=len(parts), ids=", ".join(found)))

    def _safe_url(self, tweet_id: str) -> str:
        try:
            return self._post_url(tweet_id)
        except AdapterError:
            return f"https://x.com/i/status/{tweet_id}"

    def _recent_posts(self, user_id: str, since) -> list[dict]:
        client = self._client()
        tweets: list[dict] = []
        token = None
        for _page in range(RECONCILE_PAGES):
            params: dict[str, Any] = {"start_time": since, "max_results": 100, "user_auth": True,
                                      "tweet_fields": ["created_at", "referenced_tweets"]}
            if token:
                params["pagination_token"] = token
            resp = self._call(_("reading recent posts (GET /2/users/{id}/tweets)"),
                              lambda: client.get_users_tweets(user_id, **params), live=False)
            try:
                body = resp.json()
            except ValueError:
                raise PermanentError(_("{who}: X answered the timeline request with a body spi cannot read").format(
                    who=self.who))
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
