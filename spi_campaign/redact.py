"""Keeping secrets out of every output.

Adapters read credentials only through ``Adapter.secret``, which registers
each value here. Every log handler spi installs carries ``RedactFilter``, and
the CLI passes every error message through ``scrub`` before printing. Library
loggers that log request headers at DEBUG (tweepy, requests, urllib3,
oauthlib, facebook) are capped at WARNING whatever ``--verbose`` says: a
header dump is never useful enough to risk a token.
"""

from __future__ import annotations

import logging
import sys
import threading

_secrets: set[str] = set()
_lock = threading.Lock()
MASK = "***"
NOISY_LIBRARIES = ("tweepy", "requests", "urllib3", "oauthlib", "requests_oauthlib", "facebook", "apscheduler")


def register(value: str) -> None:
    # Very short values would mask ordinary words; real tokens are long.
    if value and len(value) >= 6:
        with _lock:
            _secrets.add(value)


def scrub(text: str) -> str:
    if not _secrets or not text:
        return text
    for s in sorted(_secrets, key=len, reverse=True):
        if s in text:
            text = text.replace(s, MASK)
    return text


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
