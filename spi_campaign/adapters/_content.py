"""Content helpers shared by the network adapters: the last check of a local
image before an upload, and comparing a post's text with what a platform
gives back (for ``reconcile``)."""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Iterable

from spi_campaign.errors import PermanentError
from spi_campaign.i18n import _
from spi_campaign.media import sniff_image, type_names


def read_image(path, *, who: str, platform: str, types: Iterable[str], max_bytes: int | None) -> tuple[bytes, str]:
    """Bytes and MIME type of a local image, checked before any upload."""
    from spi_campaign.safeio import FileTooLarge, read_regular

    types = frozenset(types)
    try:
        # Only a regular file, opened without blocking (a FIFO would hang the publisher).
        data = read_regular(path, max_bytes if max_bytes is not None else 1 << 40)
    except FileTooLarge as exc:
        raise PermanentError(_("{who}: image {name} is {size} MB; {platform} accepts at most {max} MB").format(
            who=who, name=path.name, size=f"{exc.size / 1048576:.1f}", platform=platform,
            max=f"{max_bytes / 1048576:.0f}")) from None
    except (OSError, ValueError) as exc:
        raise PermanentError(_("{who}: cannot read image {path}: {reason}").format(
            who=who, path=path, reason=getattr(exc, "strerror", None) or exc)) from None
    mime = sniff_image(data[:16])
    if mime not in types:
        what = mime or _("not a recognised image")
        raise PermanentError(_("{who}: image {name} is {what}; {platform} accepts {types}").format(
            who=who, name=path.name, what=what, platform=platform, types=type_names(types)))
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
