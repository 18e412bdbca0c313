"""Bluesky text rules: length in graphemes, facets with UTF-8 byte offsets,
client-chosen record keys.

- ``graphemes``: extended grapheme clusters (Unicode UAX #29, the ``regex``
  module's ``\\X``), the unit of ``app.bsky.feed.post#text.maxGraphemes``
  (300). An emoji with a skin tone or a ZWJ family is one grapheme.
- ``facets``: links and hashtags found by atproto's own detector (a port of
  the official TypeScript SDK's ``detectFacets``); offsets are UTF-8 byte
  offsets, as ``app.bsky.richtext.facet#byteSlice`` requires. Mentions are
  not linked (that needs a network lookup of each handle).
- ``new_tid``: a record key in the TID format (``app.bsky.feed.post`` has
  ``"key": "tid"``), chosen before the post is created so that a retry can
  ask whether that exact record exists.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

_B32 = "234567abcdefghijklmnopqrstuvwxyz"


def graphemes(text: str) -> int:
    import regex

    return len(regex.findall(r"\X", text))


def facets(text: str) -> list[Any]:
    """``app.bsky.richtext.facet`` models for the links and #tags in ``text``."""
    from atproto_client.utils.facet_detection import detect_facets

    return detect_facets(text)


def new_tid(now_us: int | None = None, clock_id: int | None = None) -> str:
    """A 13-character TID: 53 bits of microseconds since the epoch, 10 bits of
    clock id, in base32-sortable."""
    us = time.time_ns() // 1000 if now_us is None else now_us
    clock = secrets.randbits(10) if clock_id is None else clock_id
    n = ((us & ((1 << 53) - 1)) << 10) | (clock & 0x3FF)
    out = []
    for _ in range(13):
        out.append(_B32[n & 31])
        n >>= 5
    return "".join(reversed(out))


def is_tid(value: Any) -> bool:
    return (isinstance(value, str) and len(value) == 13 and all(c in _B32 for c in value)
            and value[0] in "234567abcdefghij")
