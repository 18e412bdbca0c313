"""The ``bluesky`` platform (AT Protocol, through the ``atproto`` client).

- ``adapter.py``: ``BlueskyAdapter`` (publish, check, reconcile);
- ``text.py``: grapheme counting, facets, record keys (TIDs);
- ``errors.py``: atproto exceptions -> the ``errors`` classes.

atproto (and httpx) are imported inside methods only.
"""

from spi_campaign.adapters.bluesky.adapter import BlueskyAdapter

__all__ = ["BlueskyAdapter"]
