"""A post as one account will get it: variant resolution + platform composition."""

from __future__ import annotations

from datetime import datetime

from spi_campaign.adapters import registry
from spi_campaign.errors import ConfigError
from spi_campaign.i18n import _
from spi_campaign.models import Account, Post, Rendered


def adapter_class(account: Account):
    cls = registry.get(account.platform)
    if cls is None:
        raise ConfigError(_("account '{name}': unknown platform '{platform}'; available platforms: {platforms}")
                          .format(name=account.name, platform=account.platform,
                                  platforms=", ".join(registry.available())))
    return cls


def render(post: Post, account: Account, occurrence: datetime | None = None) -> Rendered:
    """The final text, link, hashtags, media (and thread) for ``account``.

    Variants apply platform first, then account name (``Post.content_for``);
    then templates are rendered with the account's vars; then the platform's
    ``compose`` joins link and hashtags.
    """
    cls = adapter_class(account)
    content = post.content_for(account)
    if _maybe_template(content):   # templates (docs/templates.md); TemplateError when one cannot render
        from spi_campaign.templates_render import content_has_template, render_content

        if content_has_template(content):
            content = render_content(content, account)
    if not cls.limits.thread and content.thread:
        content = type(content)(text=content.text, link=content.link, hashtags=content.hashtags,
                                media=content.media, thread=())
    rendered = cls.compose(post.id, account.name, content)
    if occurrence is not None:
        from dataclasses import replace

        rendered = replace(rendered, occurrence=occurrence)
    return rendered


def _maybe_template(c) -> bool:
    """Cheap test (no import) for a ``{`` anywhere a template may be."""
    return ("{" in c.text or (c.link is not None and "{" in c.link) or any("{" in t for t in c.hashtags)
            or any("{" in t for t in c.thread) or any(m.alt is not None and "{" in m.alt for m in c.media))
