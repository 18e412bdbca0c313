"""Compatibility import path: the Facebook Page adapter lives in ``meta/facebook.py``."""

from spi_campaign.adapters.meta.facebook import DEFAULT_GRAPH_VERSION, FacebookAdapter

__all__ = ["DEFAULT_GRAPH_VERSION", "FacebookAdapter"]
