"""``spi post ...``: validate, list and preview (here), and the publishing
commands (``post_publish.py``), registered on the same group."""

from __future__ import annotations

import click


@click.group()
def post() -> None:
    """Check, show and publish the campaign's posts.

    \b
    Example:
        spi post validate && spi post list --status approved
    """


def _register() -> None:
    try:
        from spi_campaign.cli import post_publish  # noqa: F401  (adds its commands to `post`)
    except ImportError:  # pragma: no cover - during development only
        pass


_register()
