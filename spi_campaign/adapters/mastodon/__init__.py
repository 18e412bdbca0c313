"""The ``mastodon`` platform (Mastodon.py, imported inside methods only)."""

from spi_campaign.adapters.mastodon.adapter import MastodonAdapter

__all__ = ["MastodonAdapter"]
