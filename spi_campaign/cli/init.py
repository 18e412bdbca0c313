"""``spi init``."""

from __future__ import annotations

from pathlib import Path

import click

from spi_campaign.i18n import _


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
def init(directory: str) -> None:
    """Create a working campaign folder in DIRECTORY (default: here).

    Writes config.yaml with a `file` account (no credentials needed) and a
    sample draft post. Never overwrites anything: existing files are left as
    they are. In a folder that already has a config.yaml (an existing
    campaign) no sample post is written, so a deleted sample stays deleted.

    \b
    Example:
        spi init kampanye-2026 && cd kampanye-2026 && spi post preview
    """
    from spi_campaign.redact import printable
    from spi_campaign.scaffold import init_campaign

    results = init_campaign(Path(directory))
    labels = {"created": _("created"), "exists": _("exists, left as is"),
              "skipped": _("not created (config.yaml already existed: an existing campaign)")}
    for rel, state in results:
        click.echo(f"{labels[state]}: {printable(str(Path(directory) / rel))}")
    if any(state == "created" for _rel, state in results):
        click.echo(_("Next: cd {dir} && spi post validate && spi post preview").format(dir=printable(directory)))
