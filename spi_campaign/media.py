"""Image types, read from a file's first bytes (never from its name).

Shared by ``validate`` (before anything is published) and the adapters
(again, right before an upload)."""

from __future__ import annotations

from typing import Iterable

_NAMES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WebP"}


def sniff_image(head: bytes) -> str | None:
    """The MIME type of an image from its first 16 bytes; None if not a known image."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def type_names(types: Iterable[str]) -> str:
    """``GIF, JPEG, PNG`` for a set of MIME types."""
    return ", ".join(_NAMES.get(t, t) for t in sorted(types))
