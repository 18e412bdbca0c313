"""Where platform names come from.

Built-ins are listed as import strings, so looking one up imports only that
adapter's module (and that module imports its SDK lazily). Third-party
adapters register an entry point in the group ``spi_campaign.adapters``::

    [project.entry-points."spi_campaign.adapters"]
    webhook = "spi_webhook:WebhookAdapter"

Entry points are read once, on first need. A plugin that fails to import
becomes a warning (``plugin_warnings()``), never a crash.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from spi_campaign.i18n import _

if TYPE_CHECKING:
    from spi_campaign.adapters.base import Adapter

GROUP = "spi_campaign.adapters"

BUILTINS: dict[str, str] = {
    "file": "spi_campaign.adapters.file:FileAdapter",
    "x": "spi_campaign.adapters.x:XAdapter",
    "facebook": "spi_campaign.adapters.meta.facebook:FacebookAdapter",
    "instagram": "spi_campaign.adapters.meta.instagram:InstagramAdapter",
    "mastodon": "spi_campaign.adapters.mastodon:MastodonAdapter",
    "telegram": "spi_campaign.adapters.telegram:TelegramAdapter",
    "bluesky": "spi_campaign.adapters.bluesky:BlueskyAdapter",
    "threads": "spi_campaign.adapters.meta.threads:ThreadsAdapter",
}

_loaded: dict[str, type["Adapter"]] = {}
_plugins: dict[str, object] | None = None
_warnings: list[str] = []


def _load(target: str) -> type["Adapter"]:
    module, _sep, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _entry_points() -> dict[str, object]:
    global _plugins
    if _plugins is None:
        from importlib.metadata import entry_points

        _plugins = {}
        try:
            for ep in entry_points(group=GROUP):
                if ep.name not in BUILTINS:
                    _plugins[ep.name] = ep
                else:
                    _warnings.append(_("plugin '{plugin}' tries to replace built-in platform '{platform}'; "
                                       "ignored").format(plugin=ep.value, platform=ep.name))
        except Exception as exc:  # a broken installed distribution must not stop spi
            _warnings.append(_("could not read adapter plugins: {error}").format(error=exc))
    return _plugins


def available() -> list[str]:
    """Every platform name: built-ins and plugins (plugins that fail to load included)."""
    return sorted(set(BUILTINS) | set(_entry_points()))


def get(platform: str) -> type["Adapter"] | None:
    """The adapter class for ``platform``, or None if unknown or broken (see ``plugin_warnings``)."""
    if platform in _loaded:
        return _loaded[platform]
    cls = None
    if platform in BUILTINS:
        cls = _load(BUILTINS[platform])
    else:
        ep = _entry_points().get(platform)
        if ep is None:
            return None
        try:
            cls = ep.load()  # type: ignore[attr-defined]
        except Exception as exc:
            _warnings.append(_("adapter plugin '{platform}' ({plugin}) failed to import: {error}").format(
                platform=platform, plugin=ep.value, error=exc))  # type: ignore[attr-defined]
            _plugins.pop(platform, None)  # type: ignore[union-attr]
            return None
    _loaded[platform] = cls
    return cls


def register(platform: str, cls: type["Adapter"]) -> None:
    """Register an adapter class at run time (embedding spi; tests use it too)."""
    _loaded[platform] = cls
    _entry_points()[platform] = cls


def plugin_warnings() -> list[str]:
    return list(_warnings)
