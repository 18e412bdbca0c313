"""Compatibility import path: the Instagram adapter lives in ``meta/instagram.py``."""

from spi_campaign.adapters.meta.instagram import InstagramAdapter

__all__ = ["InstagramAdapter"]
