"""Transport helpers shared by every network adapter family (``x/``, ``meta/``).

Nothing here imports ``requests`` at module level: adapter modules import
this one when their *class* is looked up (``validate``, ``preview``).

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
- ``where``, ``describe_network_error``: what ``-vv`` shows about each
  request (method, host and path; never the query string or a header) and
  about a network failure (exception class and reason: DNS, refused, TLS,
  timeout), so a person can diagnose it without seeing a token.
- ``from_epoch``, ``retry_after_header``, ``when_text``: times in answers.

Secrets: no function here puts a credential, a request URL (Graph API GETs
carry ``access_token`` in the query string) or the text of a requests
exception (which contains that URL) into an error message. Exceptions are
raised ``from None`` so a logged traceback does not carry the original
exception either.
"""

from __future__ import annotations

import functools
import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from spi_campaign import redact
from spi_campaign.errors import AdapterError, PermanentError, TransientError, UnknownOutcomeError
from spi_campaign.i18n import _
from spi_campaign.timeutil import now_utc

log = logging.getLogger("spi_campaign.adapters")
net_log = logging.getLogger("spi_campaign.adapters.net")     # -vv: one line per request

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
    "httpx", "httpcore", "httpcore.http11", "httpcore.connection", "atproto_client",     # Bluesky (atproto)
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
            log.warning(_("http.client debug output switched off: it would print credentials"))


@functools.cache
def _session_class():
    import requests

    class SpiSession(requests.Session):
        """A Session with a default timeout that remembers its last response,
        sends requests for a retired host to its documented one (``hosts``),
        and logs every request at DEBUG (``-vv``) as method, host and path only."""

        def __init__(self, timeout: float, hosts: Mapping[str, str]):
            super().__init__()
            self.default_timeout = timeout
            self.hosts = dict(hosts)
            self.last_response = None
            self.hooks["response"].append(self._remember)

        def _remember(self, response, *args, **kwargs):
            self.last_response = response
            return response

        def request(self, method, url, *args, **kwargs):  # type: ignore[override]
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = self.default_timeout
            for old, new in self.hosts.items():
                if url.startswith(old):
                    url = new + url[len(old):]
            _quiet_http_client()
            started = time.monotonic()
            try:
                response = super().request(method, url, *args, **kwargs)
            except requests.RequestException as exc:
                net_log.debug("%s %s failed after %.1fs: %s", method, where(url), time.monotonic() - started,
                              describe_network_error(exc))
                raise
            net_log.debug("%s %s -> %s in %.1fs", method, where(url), response.status_code,
                          time.monotonic() - started)
            return response

    return SpiSession


def new_session(timeout: float | None = None, *, hosts: Mapping[str, str] | None = None):
    """A ``requests.Session`` that always sends with ``timeout`` seconds.
    ``hosts``: URL prefix -> replacement (e.g. tweepy's hard-coded
    ``https://api.twitter.com`` -> ``https://api.x.com``)."""
    protect_library_logs()
    return _session_class()(float(timeout or DEFAULT_TIMEOUT), hosts or {})


def where(url: str) -> str:
    """``https://host/path`` of a URL: no query string (Graph API requests carry
    ``access_token`` there), no fragment, no user info."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return f"{parts.scheme}://{host}{parts.path}"
    except ValueError:
        return _("(unparsable URL)")


def describe_network_error(exc: BaseException) -> str:
    """``RequestsClass (InnerClass): reason`` for a network failure, for -vv and
    error messages. Built from exception *types* and errno values only: the
    text of a requests/urllib3 exception contains the URL and its query string."""
    inner = _innermost(exc)
    name = type(exc).__name__
    if inner is not exc and type(inner).__name__ != name:
        name += f" ({type(inner).__name__})"
    return f"{name}: {_reason(exc)}"


def _chain(exc: BaseException):
    """``exc`` and everything it wraps: args[0], urllib3's ``reason``, causes."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen or not isinstance(e, BaseException):
            continue
        seen.add(id(e))
        yield e
        todo.extend([getattr(e, "reason", None), e.__cause__, e.__context__,
                     *(a for a in e.args if isinstance(a, BaseException))])


def _innermost(exc: BaseException) -> BaseException:
    found = exc
    for e in _chain(exc):
        found = e
    return found


def _reason(exc: BaseException) -> str:
    import errno
    import socket
    import ssl

    import requests

    chain = list(_chain(exc))
    names = {type(e).__name__ for e in chain}
    errnos = {getattr(e, "errno", None) for e in chain}
    proxied = isinstance(exc, requests.exceptions.ProxyError) or "ProxyError" in names

    def proxy(reason: str) -> str:
        return _("proxy: {reason}").format(reason=reason) if proxied else reason

    if any(isinstance(e, socket.gaierror) for e in chain) or "NameResolutionError" in names:
        return proxy(_("DNS lookup failed (no such host, or no DNS server reachable)"))
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or errno.ECONNREFUSED in errnos:
        return proxy(_("connection refused"))
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain):
        return _("TLS failed: the server's certificate is not trusted")
    if isinstance(exc, requests.exceptions.SSLError) or any(isinstance(e, ssl.SSLError) for e in chain):
        return _("TLS handshake failed")
    if isinstance(exc, requests.ConnectTimeout) or "ConnectTimeoutError" in names:
        return proxy(_("timed out connecting"))
    if isinstance(exc, requests.ReadTimeout) or "ReadTimeoutError" in names:
        return _("no answer before the timeout")
    if errno.ENETUNREACH in errnos or errno.EHOSTUNREACH in errnos:
        return proxy(_("network unreachable"))
    if any(isinstance(e, ConnectionResetError) for e in chain):
        return _("connection reset by the server")
    if "RemoteDisconnected" in names or any(isinstance(e, BrokenPipeError) for e in chain):
        return _("connection closed by the server")
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return _("the answer was cut off")
    if isinstance(exc, requests.ConnectionError):
        return proxy(_("connection failed") if _connect_failure(exc) else _("connection dropped"))
    return _("network error")


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
        return PermanentError(_("{who}: {what}: the request URL is invalid ({error})").format(
            who=who, what=what, error=type(exc).__name__))
    reason = _transport_reason(exc)
    before_send = isinstance(exc, (requests.ConnectTimeout, requests.exceptions.SSLError,
                                   requests.exceptions.ProxyError))
    if isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.ConnectTimeout):
        before_send = before_send or _connect_failure(exc)
    if before_send or not live:
        return TransientError(_("{who}: {what} failed: {reason}; nothing was published, try again later").format(
            who=who, what=what, reason=reason))
    return UnknownOutcomeError(
        _("{who}: {what}: {reason} after the request was sent; the post may be live. "
          "Check the account before retrying").format(who=who, what=what, reason=reason))


def _transport_reason(exc: BaseException) -> str:
    return _reason(exc)


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


def when_text(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC") if dt else _("later")



def retry_after_header(headers: Mapping[str, str]) -> datetime | None:
    """The standard ``Retry-After`` header, in seconds."""
    retry = str(headers.get("retry-after") or "").strip()
    return now_utc() + timedelta(seconds=int(retry)) if retry.isdigit() else None
