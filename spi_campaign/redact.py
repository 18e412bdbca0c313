"""Keeping secrets out of every output.

Adapters read credentials only through ``Adapter.secret``, which registers
each value here. Every log handler spi installs carries ``RedactFilter``, and
the CLI passes every error message through ``scrub`` before printing. Library
loggers that log request headers at DEBUG (tweepy, requests, urllib3,
oauthlib, facebook) are capped at WARNING whatever ``--verbose`` says: a
header dump is never useful enough to risk a token.

What ``scrub`` masks (design, README "Secrets in output"):

- every registered value (and its percent-encoded forms) where it stands as a
  whole: not glued to a letter, digit or ``_`` on a side where the value
  itself starts or ends with one. So a credential that happens to be an
  ordinary word (``Sahabat``) no longer mangles ``Sahabatku`` or other
  words that merely contain it; the word itself is still masked, because
  showing it would show the secret. A percent escape (``%3D``) counts as a
  separator, so a value inside an encoded OAuth base string is masked;
- whatever follows a credential-like URL query key (``access_token=``,
  ``oauth_signature=`` ...) and an ``Authorization`` header or ``Bearer``
  token, registered or not.

Limit: a registered value glued to other letters or digits (``xSECRETy``) is
not masked; no component of spi or the platform libraries writes a
credential that way (they use URL queries, headers, JSON and percent
encoding). Values shorter than 6 characters are not registered (they cannot
be told from ordinary words; real tokens are much longer).
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from urllib.parse import quote

_secrets: set[str] = set()
_lock = threading.Lock()
_pattern: re.Pattern[str] | None = None
MASK = "***"
MIN_LENGTH = 6
NOISY_LIBRARIES = ("tweepy", "requests", "urllib3", "oauthlib", "requests_oauthlib", "facebook", "apscheduler",
                   "httpx", "httpcore", "atproto_client")

_QUERY_KEYS = ("access_token", "oauth_token", "oauth_token_secret", "oauth_signature", "oauth_consumer_key",
               "client_secret", "appsecret_proof", "input_token", "fb_exchange_token", "api_key", "api_secret",
               "password", "secret", "token")
# key=value in a URL query, a form body or an OAuth header, and percent-encoded inside an OAuth base string.
_QUERY = re.compile(r"(?i)(\b(?:" + "|".join(_QUERY_KEYS) + r")(?:=|%3D|%253D)\"?)([^&\s#\"',;]+?)(?=$|[&\s#\"',;]|%26|%2526)")
_AUTH = re.compile(r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?)[^\r\n]+|(\bBearer\s+)[A-Za-z0-9._~+/=-]{6,}")
_BEFORE = r"(?:(?<![^\W])|(?<=%[0-9A-Fa-f]{2}))"   # not after a letter/digit/_ (a %XX escape is a separator)
_AFTER = r"(?![^\W])"


def register(value: str) -> None:
    global _pattern
    if not value or len(value) < MIN_LENGTH:
        return
    forms = {value, quote(value, safe=""), quote(quote(value, safe=""), safe="")}
    with _lock:
        if forms <= _secrets:
            return
        _secrets.update(forms)
        alternatives = []
        for s in sorted(_secrets, key=len, reverse=True):
            before = _BEFORE if re.match(r"\w", s[0]) else ""
            after = _AFTER if re.match(r"\w", s[-1]) else ""
            alternatives.append(before + re.escape(s) + after)
        _pattern = re.compile("|".join(alternatives))


def _auth(m: re.Match) -> str:
    return (m.group(1) or m.group(2)) + MASK


def scrub(text: str) -> str:
    if not text:
        return text
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    if "=" in text or "%3D" in text or "%253D" in text:
        text = _QUERY.sub(lambda m: m.group(1) + MASK, text)
    if "uthorization" in text or "Bearer" in text or "AUTHORIZATION" in text or "bearer" in text:
        text = _AUTH.sub(_auth, text)
    return text


# C0 and C1 controls, DEL, and the Unicode bidi controls (which reorder what a
# terminal shows: "\u202e" makes "txt.exe" look like "exe.txt").
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(m: re.Match) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def printable(text: str) -> str:
    """``text`` with control and bidi characters written as escapes
    (``\\x1b``, ``\\u202e``): a message that echoes a file name or an argument
    can neither drive the terminal nor fake a second line."""
    return _UNPRINTABLE.sub(_escape, text) if text else text


class RedactFilter(logging.Filter):
    """Scrubs secrets from the message and traceback of every record.
    ``tracebacks=False`` drops tracebacks altogether: a user sees one line,
    and the traceback only with ``-vv``."""

    def __init__(self, tracebacks: bool = True):
        super().__init__()
        self.tracebacks = tracebacks

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # a bad format string must not break logging
            msg = str(record.msg)
        record.msg = scrub(msg)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = (scrub(logging.Formatter().formatException(record.exc_info))
                               if self.tracebacks else None)
            record.exc_info = None
        elif not self.tracebacks:
            record.exc_text = None
        return True


def configure_logging(verbosity: int, stream=None) -> None:
    """0: warnings; 1 (-v): info; 2+ (-vv): debug for spi's own loggers,
    and tracebacks. Library loggers stay at WARNING (see module doc).

    Called by every ``spi`` invocation: without our handler Python's
    last-resort handler would print warnings unfiltered, tracebacks included."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S%z"))
    handler.addFilter(RedactFilter(tracebacks=verbosity >= 2))
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_spi", False):
            root.removeHandler(h)
    handler._spi = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("spi_campaign").setLevel(level)
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, level))
