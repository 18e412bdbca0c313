"""Plumbing shared by the network adapters (X, Facebook Page, Instagram).

Nothing here is imported by ``spi --help`` or ``spi post validate``: the
adapter modules import it, and it imports ``requests`` (and ``facebook``)
only inside functions.

What lives here and why:

- ``new_session``: a ``requests.Session`` that always sets a timeout (neither
  tweepy 4.17 nor facebook-sdk 3.1.0 sets one by default, so a dead
  connection would hang ``spi`` forever), remembers the last response (so an
  error raised by an SDK can still be classified by its HTTP status), and
  keeps secrets out of the two places the HTTP stack can print them (see
  ``protect_library_logs``).
- ``transport_error``: requests exceptions -> the ``errors`` classes. The one
  rule that matters: if the request may have reached the platform and may
  have made something public, the answer is ``UnknownOutcomeError``, never
  ``TransientError`` (a retry could post twice).
- ``x_http_error``: an X API v2 error response -> ``errors`` class.
- ``GraphClient`` and ``graph_error``: facebook-sdk's ``GraphAPI`` with a
  current Graph API version, a timeout, and Meta's error codes mapped to
  ``errors`` classes. Shared by the Facebook Page and Instagram adapters.
- ``read_image``, ``normalise_text``: the last media check before an upload,
  and finding a lost post by its text for ``reconcile``.

Secrets: no function here puts a credential, a request URL (Graph API GETs
carry ``access_token`` in the query string) or the text of a requests
exception (which contains that URL) into an error message. Exceptions are
raised ``from None`` so a logged traceback does not carry the original
exception either.
"""

from __future__ import annotations

import functools
import html
import json
import logging
import re
import unicodedata
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Mapping

from spi_campaign import redact
from spi_campaign.media import sniff_image, type_names
from spi_campaign.timeutil import now_utc
from spi_campaign.errors import (AdapterError, AuthError, PermanentError, QuotaDeferred, TransientError,
                                 UnknownOutcomeError)

log = logging.getLogger("spi_campaign.adapters")

DEFAULT_TIMEOUT = 30.0

# ---------------------------------------------------------------------------
# Keeping secrets out of library debug output
# ---------------------------------------------------------------------------

# Loggers (exact names: a logging.Filter only sees records created on its own
# logger) that write request URLs, OAuth headers or OAuth base strings at DEBUG.
# ``redact.configure_logging`` caps them at WARNING for the CLI; the filter makes
# the rule hold for anyone who embeds spi or turns a library logger on again.
GUARDED_LOGGERS = (
    "requests", "urllib3", "urllib3.connectionpool", "urllib3.connection", "urllib3.response",
    "urllib3.poolmanager", "urllib3.util.retry",
    "requests_oauthlib", "requests_oauthlib.oauth1_auth", "requests_oauthlib.oauth1_session",
    "oauthlib", "oauthlib.oauth1.rfc5849", "oauthlib.oauth1.rfc5849.signature",
    "tweepy", "tweepy.client", "tweepy.auth", "facebook",
)


def protect_library_logs() -> None:
    """Attach ``redact.RedactFilter`` to every logger in ``GUARDED_LOGGERS`` (once)."""
    for name in GUARDED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, redact.RedactFilter) for f in logger.filters):
            logger.addFilter(redact.RedactFilter())


def _quiet_http_client() -> None:
    """``http.client`` prints every request line and header with ``print`` when
    ``HTTPConnection.debuglevel > 0``: OAuth headers and ``access_token=`` query
    strings would reach stdout with no logging filter in between. Sessions made
    here switch it off before every request."""
    import http.client

    classes = [http.client.HTTPConnection]
    try:
        import urllib3.connection

        classes.append(urllib3.connection.HTTPConnection)
    except ImportError:  # pragma: no cover - urllib3 always comes with requests
        pass
    for cls in classes:
        if cls.__dict__.get("debuglevel", 0):
            cls.debuglevel = 0
            log.warning("http.client debug output switched off: it would print credentials")


@functools.cache
def _session_class():
    import requests

    class SpiSession(requests.Session):
        """A Session with a default timeout that remembers its last response."""

        def __init__(self, timeout: float):
            super().__init__()
            self.default_timeout = timeout
            self.last_response = None
            self.hooks["response"].append(self._remember)

        def _remember(self, response, *args, **kwargs):
            self.last_response = response
            return response

        def request(self, method, url, *args, **kwargs):  # type: ignore[override]
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = self.default_timeout
            _quiet_http_client()
            return super().request(method, url, *args, **kwargs)

    return SpiSession


def new_session(timeout: float | None = None):
    """A ``requests.Session`` that always sends with ``timeout`` seconds."""
    protect_library_logs()
    return _session_class()(float(timeout or DEFAULT_TIMEOUT))


def option_float(options: Mapping[str, Any], key: str, default: float) -> float:
    value = options.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    return default


# ---------------------------------------------------------------------------
# Transport errors
# ---------------------------------------------------------------------------

def transport_error(exc: BaseException, *, who: str, what: str, live: bool) -> AdapterError:
    """Classify a ``requests`` exception raised while doing ``what``.

    ``live``: the request can make something public (create a post, publish a
    container). For those, any failure after the request may have been sent is
    ``UnknownOutcomeError``. For reads and invisible writes (uploads, unpublished
    photos, containers) every transport failure is ``TransientError``.

    The message never includes ``str(exc)``: it contains the request URL.
    """
    import requests

    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema)):
        return PermanentError(f"{who}: {what}: the request URL is invalid ({type(exc).__name__})")
    reason = _transport_reason(exc)
    before_send = isinstance(exc, (requests.ConnectTimeout, requests.exceptions.SSLError,
                                   requests.exceptions.ProxyError))
    if isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.ConnectTimeout):
        before_send = before_send or _connect_failure(exc)
    if before_send or not live:
        return TransientError(f"{who}: {what} failed: {reason}; nothing was published, try again later")
    return UnknownOutcomeError(
        f"{who}: {what}: {reason} after the request was sent; the post may be live. "
        f"Check the account before retrying")


def _transport_reason(exc: BaseException) -> str:
    import requests

    if isinstance(exc, requests.ConnectTimeout):
        return "timed out connecting"
    if isinstance(exc, requests.ReadTimeout):
        return "no answer before the timeout"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake failed"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed" if _connect_failure(exc) else "connection dropped"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the answer was cut off"
    return f"network error ({type(exc).__name__})"


def _connect_failure(exc: BaseException) -> bool:
    """True if a ``requests.ConnectionError`` happened before anything was sent.

    requests wraps urllib3's ``MaxRetryError`` (new connection refused, DNS
    failure, connect timeout) for failures while connecting, and the bare
    ``ProtocolError`` ("Connection aborted", RemoteDisconnected) for a
    connection that broke after the request went out."""
    try:
        from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError
    except ImportError:  # pragma: no cover
        return True
    cause = exc.args[0] if exc.args else None
    if isinstance(cause, MaxRetryError):
        return not isinstance(cause.reason, ProtocolError)
    if isinstance(cause, NewConnectionError):
        return True
    if isinstance(cause, (ProtocolError, ConnectionResetError, BrokenPipeError)):
        return False
    if isinstance(cause, OSError):
        return False
    # A plain message (e.g. from a mock) or something unknown: the classic
    # "connection refused" case of requests.ConnectionError is connect-time.
    text = str(cause or "").lower()
    return not any(word in text for word in ("aborted", "reset", "remote end closed", "broken pipe"))


# ---------------------------------------------------------------------------
# Times
# ---------------------------------------------------------------------------

def from_epoch(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(str(value).strip()), timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _when(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC") if dt else "later"


# ---------------------------------------------------------------------------
# X API v2 errors
# ---------------------------------------------------------------------------

def x_problem_detail(response) -> str:
    """The human part of an X error body (``detail``, ``errors[].message`` or ``title``)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    parts: list[str] = []
    if isinstance(body, dict):
        if isinstance(body.get("detail"), str):
            parts.append(body["detail"])
        for err in body.get("errors") or ():
            if isinstance(err, dict):
                msg = err.get("detail") or err.get("message")
                if isinstance(msg, str) and msg not in parts:
                    parts.append(msg)
            elif isinstance(err, str):
                parts.append(err)
        if not parts and isinstance(body.get("title"), str):
            parts.append(body["title"])
        if not parts and isinstance(body.get("error"), str):
            parts.append(body["error"])
    if not parts:
        parts.append(f"HTTP {response.status_code} {getattr(response, 'reason', '') or ''}".strip())
    return redact.scrub("; ".join(p.strip() for p in parts if p))


def x_retry_after(headers: Mapping[str, str]) -> tuple[datetime | None, bool]:
    """(retry time, daily limit exhausted) from X's rate-limit headers.

    ``x-rate-limit-reset`` is the end of the endpoint's window (epoch seconds);
    ``x-user-limit-24hour-reset`` the end of the per-user 24-hour posting window,
    which is what counts when ``x-user-limit-24hour-remaining`` is 0."""
    reset = from_epoch(headers.get("x-rate-limit-reset"))
    daily = str(headers.get("x-user-limit-24hour-remaining", "")).strip() == "0"
    if daily:
        daily_reset = from_epoch(headers.get("x-user-limit-24hour-reset"))
        if daily_reset and (reset is None or daily_reset > reset):
            reset = daily_reset
    return reset or _retry_after_header(headers), daily


def _retry_after_header(headers: Mapping[str, str]) -> datetime | None:
    """The standard ``Retry-After`` header, in seconds."""
    retry = str(headers.get("retry-after") or "").strip()
    return now_utc() + timedelta(seconds=int(retry)) if retry.isdigit() else None


def x_http_error(response, *, who: str, what: str, env_names: Iterable[str]) -> AdapterError:
    """Map an X API error response to an ``errors`` class."""
    status = response.status_code
    detail = x_problem_detail(response)
    if status == 429:
        when, daily = x_retry_after(response.headers)
        if daily:
            msg = (f"{who}: {what}: the account's 24-hour post limit on X is used up "
                   f"(x-user-limit-24hour-remaining: 0); it resets at {_when(when)}")
        else:
            msg = f"{who}: {what}: X rate limit reached (429); retry after {_when(when)}"
        return TransientError(msg, retry_after=when)
    if status >= 500:
        when, _ = x_retry_after(response.headers)
        return TransientError(f"{who}: {what}: X answered {status} ({detail}); will retry", retry_after=when)
    if status == 401:
        names = ", ".join(env_names)
        return AuthError(f"{who}: X rejected the credentials (401 {detail}); check {names} "
                         f"(OAuth 1.0a user tokens of an app with Read and Write permission)")
    if status == 403 and "duplicate content" in detail.lower():
        return PermanentError(f"{who}: {what}: X refused a duplicate post: {detail}")
    return PermanentError(f"{who}: {what}: X refused the request ({status}): {detail}")


# ---------------------------------------------------------------------------
# Graph API (Facebook Page, Instagram)
# ---------------------------------------------------------------------------

# https://developers.facebook.com/docs/graph-api/guides/error-handling
GRAPH_TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 341, 613, 80001, 80002, 80005, 80006, 80008, 80014})
GRAPH_AUTH_SUBCODES = {
    458: "the app is not installed for the user",
    459: "the user's account is checkpointed; they must log in to facebook.com",
    460: "the password changed",
    463: "the token has expired",
    464: "the user is not confirmed",
    467: "the token is invalid",
    492: "the session is invalid",
}
IG_QUOTA_SUBCODE = 2207042          # "reached the maximum number of posts in 24 hours"
IG_NOT_READY = frozenset({9007})    # "media is not ready for publishing"
_PERMISSION = re.compile(r"\b((?:pages|instagram|publish|business|ads|read|manage)_[a-z_]+)\b")
_GRAPH_VERSION = re.compile(r"^v\d{1,3}\.\d{1,2}$")


def graph_version(value: Any, default: str) -> str:
    """``v27.0`` from ``v27.0`` / ``27.0`` / ``27``; PermanentError if it is not a version."""
    text = str(value if value not in (None, "") else default).strip()
    if not text.startswith("v"):
        text = "v" + text
    if re.fullmatch(r"v\d{1,3}", text):
        text += ".0"
    if not _GRAPH_VERSION.match(text):
        raise PermanentError(f"graph_version must look like v27.0, got {text!r}")
    return text


def graph_retry_after(headers: Mapping[str, str] | None) -> datetime | None:
    """Meta's throttling headers carry ``estimated_time_to_regain_access`` (minutes)."""
    if not headers:
        return None
    minutes = 0
    for name in ("x-business-use-case-usage", "x-ad-account-usage", "x-app-usage"):
        raw = headers.get(name)
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        for item in _walk_dicts(data):
            val = item.get("estimated_time_to_regain_access")
            if isinstance(val, (int, float)) and val > minutes:
                minutes = val
    if minutes:
        return now_utc() + timedelta(minutes=minutes)
    return _retry_after_header(headers)


def _walk_dicts(data: Any):
    if isinstance(data, dict):
        yield data
        for v in data.values():
            yield from _walk_dicts(v)
    elif isinstance(data, list):
        for v in data:
            yield from _walk_dicts(v)


def graph_error(result: Any, *, status: int | None, headers: Mapping[str, str] | None, who: str,
                what: str, token_env: str, live: bool, product: str = "Facebook") -> AdapterError:
    """Map a Graph API error (the JSON body, or whatever facebook-sdk raised) to an ``errors`` class."""
    err = result.get("error") if isinstance(result, dict) else None
    if not isinstance(err, dict):
        # Not a Graph error body: an HTML error page, an empty answer...
        if status is None or status >= 500 or status == 429:
            return TransientError(f"{who}: {what}: {product} answered "
                                  f"{status or 'with no usable response'}; will retry",
                                  retry_after=graph_retry_after(headers))
        if 200 <= status < 300:
            if live:
                return UnknownOutcomeError(f"{who}: {what}: {product} answered {status} with a body spi "
                                           f"cannot read; the post may be live. Check the account")
            return TransientError(f"{who}: {what}: {product} answered {status} with a body spi cannot read")
        return PermanentError(f"{who}: {what}: {product} refused the request (HTTP {status})")

    code = _int(err.get("code"))
    sub = _int(err.get("error_subcode"))
    message = redact.scrub(str(err.get("error_user_msg") or err.get("message") or "no message").strip())
    trace = err.get("fbtrace_id")
    tail = f" [code {code}" + (f", subcode {sub}" if sub else "") + (f", fbtrace_id {trace}" if trace else "") + "]"

    if code == 190 or code == 102 or (err.get("type") == "OAuthException" and code in (None, 190)):
        why = GRAPH_AUTH_SUBCODES.get(sub or 0, "the token is invalid or expired")
        return AuthError(f"{who}: {product} rejected the access token in {token_env} "
                         f"(code {code}" + (f", subcode {sub}" if sub else "") + f": {why}): {message}. "
                         f"Get a new token and set {token_env}")
    if sub == IG_QUOTA_SUBCODE:
        return QuotaDeferred(f"{who}: {what}: the 24-hour publishing limit is reached: {message}{tail}",
                             retry_after=now_utc() + timedelta(hours=24))
    if code in GRAPH_TRANSIENT_CODES or err.get("is_transient") is True or code in IG_NOT_READY:
        return TransientError(f"{who}: {what}: {product} asks to retry later: {message}{tail}",
                              retry_after=graph_retry_after(headers))
    if code == 506:
        return PermanentError(f"{who}: {what}: {product} refused a duplicate post: {message}{tail}")
    if code == 368:
        return PermanentError(f"{who}: {what}: {product} blocked the post for a policy reason "
                              f"(the account may be temporarily restricted): {message}{tail}")
    if code == 10 or (code is not None and 200 <= code <= 299):
        perms = sorted(set(_PERMISSION.findall(message)))
        need = (f"the token lacks the {', '.join(perms)} permission" if perms
                else "the token lacks a needed permission")
        return PermanentError(f"{who}: {what}: permission denied: {need} "
                              f"(token from {token_env}): {message}{tail}")
    if status is not None and status >= 500 and code is None:
        return TransientError(f"{who}: {what}: {product} answered {status}: {message}",
                              retry_after=graph_retry_after(headers))
    return PermanentError(f"{who}: {what}: {product} refused the request: {message}{tail}")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class GraphClient:
    """facebook-sdk's ``GraphAPI`` as the adapters need it.

    - facebook-sdk 3.1.0's constructor accepts only versions 2.8-3.1, long
      retired (Meta silently upgrades calls to a retired version), so the
      configured version is set on the object after construction; every path
      is built from ``graph.version``.
    - It sends with no timeout unless given one; ours always has one.
    - It catches only ``requests.HTTPError`` (which a Session never raises), so
      connection errors and timeouts arrive here as requests exceptions, and it
      raises ``GraphAPIError`` for error bodies (losing the HTTP status, which
      the session remembers for us) and ``KeyError``/``ValueError`` for
      answers without a usable content type or body.
    - Lists and booleans are encoded by the callers (see ``form``): facebook-sdk
      hands ``post_args`` to requests, which would send ``False`` and repeat a
      list's key.
    """

    def __init__(self, *, token: str, version: str, timeout: float, who: str, token_env: str,
                 product: str = "Facebook"):
        import facebook

        self.session = new_session(timeout)
        self.graph = facebook.GraphAPI(access_token=token, timeout=timeout, session=self.session)
        self.graph.version = version
        self.who = who
        self.token_env = token_env
        self.product = product

    @property
    def version(self) -> str:
        return self.graph.version

    def get(self, node: str, edge: str | None = None, *, what: str, **params: Any) -> dict:
        if edge:
            return self._call(lambda: self.graph.get_connections(node, edge, **params), what=what, live=False)
        return self._call(lambda: self.graph.get_object(node, **params), what=what, live=False)

    def post(self, node: str, edge: str, data: Mapping[str, Any], *, what: str, live: bool,
             files: Mapping[str, Any] | None = None) -> dict:
        args = form(data)
        if files:
            return self._call(lambda: self.graph.put_photo(files["source"], album_path=f"{node}/{edge}", **args),
                              what=what, live=live)
        return self._call(lambda: self.graph.put_object(node, edge, **args), what=what, live=live)

    def _call(self, fn: Callable[[], Any], *, what: str, live: bool) -> dict:
        import facebook
        import requests

        self.session.last_response = None
        try:
            result = fn()
        except facebook.GraphAPIError as exc:
            raise self._error(exc.result, what=what, live=live) from None
        except requests.exceptions.JSONDecodeError:
            raise self._error(None, what=what, live=live) from None
        except requests.RequestException as exc:
            raise transport_error(exc, who=self.who, what=what, live=live) from None
        except (KeyError, ValueError):
            # facebook-sdk reads headers["content-type"] and response.json() unguarded
            raise self._error(None, what=what, live=live) from None
        if not isinstance(result, dict):
            raise self._error(None, what=what, live=live)
        return result

    def _error(self, result: Any, *, what: str, live: bool) -> AdapterError:
        resp = self.session.last_response
        status = resp.status_code if resp is not None else None
        headers = resp.headers if resp is not None else None
        return graph_error(result, status=status, headers=headers, who=self.who, what=what,
                           token_env=self.token_env, live=live, product=self.product)

    def close(self) -> None:
        self.session.close()


def form(data: Mapping[str, Any]) -> dict[str, str]:
    """Graph API form values: booleans as ``true``/``false``, lists and dicts as
    JSON, None dropped. Keys such as ``attached_media[0]`` pass through."""
    out: dict[str, str] = {}
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, (list, tuple, dict)):
            out[key] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        else:
            out[key] = str(value)
    return out


# ---------------------------------------------------------------------------
# Media and text helpers
# ---------------------------------------------------------------------------

def read_image(path, *, who: str, platform: str, types: Iterable[str], max_bytes: int | None) -> tuple[bytes, str]:
    """Bytes and MIME type of a local image, checked before any upload."""
    from spi_campaign.safeio import FileTooLarge, read_regular

    types = frozenset(types)
    try:
        # Only a regular file, opened without blocking (a FIFO would hang the publisher).
        data = read_regular(path, max_bytes if max_bytes is not None else 1 << 40)
    except FileTooLarge as exc:
        raise PermanentError(f"{who}: image {path.name} is {exc.size / 1048576:.1f} MB; "
                             f"{platform} accepts at most {max_bytes / 1048576:.0f} MB") from None
    except (OSError, ValueError) as exc:
        raise PermanentError(f"{who}: cannot read image {path}: {getattr(exc, 'strerror', None) or exc}") from None
    mime = sniff_image(data[:16])
    if mime not in types:
        what = mime or "not a recognised image"
        raise PermanentError(f"{who}: image {path.name} is {what}; {platform} accepts {type_names(types)}")
    return data, mime


_WS = re.compile(r"\s+")
_URLISH = re.compile(r"https?://\S+|\bt\.co/\S+", re.IGNORECASE)
_LEADING_MENTIONS = re.compile(r"^(?:@\w+\s+)+")


def normalise_text(text: str | None, *, strip_urls: bool = True) -> str:
    """Text as platforms give it back, for comparing with what was sent:
    HTML entities decoded, NFC, URLs removed (X and Meta rewrite them),
    leading @mentions of replies removed, whitespace collapsed."""
    if not text:
        return ""
    s = unicodedata.normalize("NFC", html.unescape(text))
    if strip_urls:
        s = _strip_urls(s)
    s = _LEADING_MENTIONS.sub("", s.strip())
    return _WS.sub(" ", s).strip()


def _strip_urls(s: str) -> str:
    try:
        from twitter_text import extract_urls_with_indices
    except ImportError:  # pragma: no cover - a dependency of spi
        return _URLISH.sub(" ", s)
    try:
        found = extract_urls_with_indices(s)
    except Exception:  # pragma: no cover - a third-party regex must not break reconcile
        found = []
    for item in sorted(found, key=lambda d: d["indices"][0], reverse=True):
        start, end = item["indices"]
        s = s[:start] + " " + s[end:]
    return _URLISH.sub(" ", s)
