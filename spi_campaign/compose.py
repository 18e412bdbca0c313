"""A post as one account will get it: variant resolution + platform composition."""

from __future__ import annotations

from datetime import datetime

from spi_campaign.adapters import registry
from spi_campaign.errors import ConfigError
from spi_campaign.models import Account, Post, Rendered


def adapter_class(account: Account):
    cls = registry.get(account.platform)
    if cls is None:
        raise ConfigError(f"account '{account.name}': unknown platform '{account.platform}'; "
                          f"available platforms: {', '.join(registry.available())}")
    return cls


def render(post: Post, account: Account, occurrence: datetime | None = None) -> Rendered:
    """The final text, link, hashtags, media (and thread) for ``account``.

    Variants apply platform first, then account name (``Post.content_for``);
    then the platform's ``compose`` joins link and hashtags.
    """
    cls = adapter_class(account)
    content = post.content_for(account)
    if not cls.limits.thread and content.thread:
        content = type(content)(text=content.text, link=content.link, hashtags=content.hashtags,
                                media=content.media, thread=())
    rendered = cls.compose(post.id, account.name, content)
    if occurrence is not None:
        from dataclasses import replace

        rendered = replace(rendered, occurrence=occurrence)
    return rendered
