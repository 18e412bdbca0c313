"""What a Mastodon instance accepts, and Mastodon's way of counting text.

The character limit differs per instance (500 by default; some allow
thousands). ``GET /api/v2/instance`` says it
(``configuration.statuses.max_characters``), but ``validate`` and ``preview``
never touch the network, so the answer is cached in a small JSON file, one
entry per instance URL: ``$SPI_CACHE_DIR/mastodon-instances.json``, else
``$XDG_CACHE_HOME/spi-campaign/``, else ``~/.cache/spi-campaign/``. It is
written by ``spi accounts check`` and refreshed by publishing when older
than a day. Until an instance was read once, 500 applies (Mastodon's
default); an account's ``max_characters`` key overrides both.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

DEFAULT_MAX_CHARACTERS = 500
URL_LENGTH = 23                      # configuration.statuses.characters_reserved_per_url
CACHE_NAME = "mastodon-instances.json"
MAX_AGE = timedelta(days=1)

# Mastodon counts every http(s) URL as 23 characters and a remote mention
# ``@user@domain`` as ``@user`` (app/validators/status_length_validator.rb).
_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_TRAILING = ".,;:!?'\")]}"
_MENTION = re.compile(r"(?<![\w/])@(\w+(?:[.-]+\w+)*)@[\w.-]+\w", re.UNICODE)


def measure(text: str, url_length: int = URL_LENGTH) -> int:
    def url(m: re.Match) -> str:
        s = m.group(0)
        stripped = s.rstrip(_TRAILING)
        return "x" * url_length + s[len(stripped):]

    counted = _URL.sub(url, text)
    counted = _MENTION.sub(lambda m: "@" + m.group(1), counted)
    return len(counted)


def normal_instance(value: Any) -> str:
    """``https://host`` of an instance URL (no path, no trailing slash); '' if it is not one."""
    text = str(value or "").strip().rstrip("/")
    m = re.fullmatch(r"https://([A-Za-z0-9.-]+(?::\d+)?)", text)
    return f"https://{m.group(1).lower()}" if m else ""


def cache_path() -> Path:
    base = os.environ.get("SPI_CACHE_DIR") or ""
    if base:
        return Path(base) / CACHE_NAME
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "spi-campaign" / CACHE_NAME


def read_cache() -> dict[str, dict]:
    try:
        data = json.loads(cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def cached(instance: str) -> dict | None:
    entry = read_cache().get(normal_instance(instance))
    return entry if isinstance(entry, dict) else None


def is_fresh(entry: dict | None) -> bool:
    try:
        fetched = datetime.fromisoformat(str((entry or {}).get("fetched_at")))
    except ValueError:
        return False
    return datetime.now(timezone.utc) - fetched < MAX_AGE


def store(instance: str, config: dict) -> dict:
    """Keep what ``configuration`` of ``/api/v2/instance`` says; the entry written."""
    statuses = config.get("statuses") if isinstance(config.get("statuses"), dict) else {}
    media = config.get("media_attachments") if isinstance(config.get("media_attachments"), dict) else {}
    entry = {"fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    for key, src in (("max_characters", statuses), ("characters_reserved_per_url", statuses),
                     ("max_media_attachments", statuses), ("image_size_limit", media)):
        if isinstance(src.get(key), int) and not isinstance(src.get(key), bool) and src[key] > 0:
            entry[key] = src[key]
    path = cache_path()
    data = read_cache()
    data[normal_instance(instance)] = entry
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass                      # a cache that cannot be written only costs a request next time
    return entry


def max_characters(options: dict) -> int:
    """The limit for an account: its ``max_characters`` key, else the cached instance's, else 500."""
    own = options.get("max_characters")
    if isinstance(own, int) and not isinstance(own, bool) and own > 0:
        return own
    entry = cached(options.get("instance") or "") or {}
    value = entry.get("max_characters")
    return value if isinstance(value, int) and value > 0 else DEFAULT_MAX_CHARACTERS
