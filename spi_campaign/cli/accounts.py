"""``spi accounts ...`` (list, check)."""

from __future__ import annotations

import click


@click.group()
def accounts() -> None:
    """Show configured accounts and check their credentials.

    \b
    Example:
        spi accounts list
    """
