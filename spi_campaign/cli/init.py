"""``spi init``."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
def init(directory: str) -> None:
    """Create a working campaign folder in DIRECTORY (default: here).

    Writes config.yaml with a `file` account (no credentials needed) and a
    sample draft post. Never overwrites anything: existing files are left as
    they are.

    \b
    Example:
        spi init kampanye-2026 && cd kampanye-2026 && spi post preview
    """
    from spi_campaign.redact import printable
    from spi_campaign.scaffold import init_campaign

    results = init_campaign(Path(directory))
    for rel, created in results:
        path = Path(directory) / rel
        click.echo(f"{'created' if created else 'exists, left as is'}: {printable(str(path))}")
    if any(created for _, created in results):
        click.echo(f"Next: cd {printable(directory)} && spi post validate && spi post preview")
