"""``spi plan``: what the next days will publish and cost (placeholder, filled below)."""
from __future__ import annotations

import click


@click.command()
def plan() -> None:
    """What the next days will publish and cost."""
