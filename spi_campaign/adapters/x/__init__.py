"""The X family: ``adapter.py`` (``XAdapter``, platform ``x``) and
``errors.py`` (what X's error answers mean). ``spi_campaign.adapters.x:XAdapter``
is the registry's import path."""

from spi_campaign.adapters.x.adapter import XAdapter

__all__ = ["XAdapter"]
