"""The ``spi`` command. Commands are thin: parse options, call the core, print
with a render function. This module is the one place where ``SpiError``
becomes a ``click.ClickException`` (exit 1, message scrubbed of secrets).

Importing this module must stay cheap (``spi --help``): subcommand modules
import only click at top level and load the core inside the command.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from spi_campaign import __version__
from spi_campaign.errors import SpiError


class App:
    """``ctx.obj``: where the config is and lazy access to what it describes."""

    def __init__(self, config_path: str | None, verbose: int):
        from spi_campaign.config import find_config

        self.config_path: Path = find_config(config_path)
        self.verbose = verbose
        self._config = None
        self._campaign = None

    def config(self):
        if self._config is None:
            from spi_campaign.config import load_config

            self._config = load_config(self.config_path)
        return self._config

    def campaign(self):
        """Load every post. Problems inside posts are *not* errors here (each
        command decides); an unreadable config or posts folder is."""
        if self._campaign is None:
            from spi_campaign.loader import load_campaign

            self._campaign = load_campaign(self.config())
        return self._campaign


def _clean(message: str) -> str:
    from spi_campaign.redact import printable, scrub

    return printable(scrub(message))


class SpiGroup(click.Group):
    """Turns every error into one clean line: ``SpiError`` (and, as a last
    resort, an ``OSError`` such as a name too long for the file system) exits
    1; usage errors keep Click's exit 2. Messages are scrubbed of secrets and
    control/bidi characters are escaped (they may come from arguments)."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.ClickException as exc:
            exc.message = _clean(exc.message)
            raise

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SpiError as exc:
            raise click.ClickException(_clean(str(exc))) from None
        except click.ClickException as exc:
            exc.message = _clean(exc.message)
            raise
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(_clean(f"{where}{exc.strerror or exc}")) from None


@click.group(cls=SpiGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="spi")
@click.option("--config", "config_path", metavar="PATH", type=click.Path(dir_okay=False),
              help="Campaign config file. Default: $SPI_CONFIG, then ./config.yaml.")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug). Secrets are never logged.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """Plan, preview and publish corruption-prevention posts from YAML files.

    A campaign is a folder with config.yaml and posts/*.yaml. Start with:

    \b
        spi init my-campaign && cd my-campaign
        spi post validate
        spi post preview
        spi post publish-due --dry-run
    """
    ctx.obj = App(config_path, verbose)
    from spi_campaign.redact import configure_logging

    configure_logging(verbose)


def _register() -> None:
    from spi_campaign.cli import accounts, init, post

    cli.add_command(init.init)
    cli.add_command(post.post)
    cli.add_command(accounts.accounts)


def main() -> None:
    cli(prog_name="spi")


_register()

__all__ = ["cli", "main", "App"]
