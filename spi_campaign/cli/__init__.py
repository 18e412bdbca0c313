"""The ``spi`` command. Commands are thin: parse options, call the core, print
with a render function. This module is the one place where ``SpiError``
becomes a ``click.ClickException`` (exit 1, message scrubbed of secrets).

Importing this module must stay cheap (``spi --help``): subcommand modules
import only click at top level and load the core inside the command.

The global options (``--config``, ``-v``, ``--format``) are declared once
here and added to every group and command by ``_add_global_options``, so
they work before or after the subcommand (``spi post validate --config X``,
``spi post publish-due -vv``). See docs/cli.md.
"""

from __future__ import annotations


def _install_early_hup() -> None:
    """``spi post schedule`` under systemd/supervisors may get a SIGHUP (a
    reload) while it is still starting; its default action would kill it
    (exit 129). Record it in ``scheduler.EARLY_HUP`` from the first moment
    we run; the daemon reloads once it is ready."""
    import signal
    import sys

    if not hasattr(signal, "SIGHUP"):
        return
    words = [a for a in sys.argv[1:] if not a.startswith("-")]
    if not any(words[i:i + 2] == ["post", "schedule"] for i in range(len(words))):
        return
    from spi_campaign.scheduler import EARLY_HUP

    signal.signal(signal.SIGHUP, lambda signum, frame: EARLY_HUP.append(signum))


_install_early_hup()

import functools  # noqa: E402
from pathlib import Path  # noqa: E402

import click  # noqa: E402

from spi_campaign import __version__, i18n  # noqa: E402

i18n.install_click()
from spi_campaign.errors import SpiError  # noqa: E402

FORMAT_KEY = "spi.format"     # ctx.meta (shared by the whole context chain): --format given to a group


class App:
    """``ctx.obj``: where the config is and lazy access to what it describes.

    ``--config`` and ``-v`` may be given at any level of the command line, so
    the path is resolved only when first needed (after all options are parsed).
    """

    def __init__(self, config_path: str | None = None, verbose: int = 0):
        self.config_option = config_path
        self.verbose = verbose
        self._config = None
        self._campaign = None

    @property
    def config_path(self) -> Path:
        from spi_campaign.config import find_config

        return find_config(self.config_option)

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


# ----- global options, accepted at every level --------------------------------------

def _app(ctx: click.Context) -> App:
    root = ctx.find_root()
    if root.obj is None:
        root.obj = App()
    if ctx.obj is None:
        ctx.obj = root.obj
    return root.obj


def _on_config(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        _app(ctx).config_option = value          # the last one given wins


def _on_verbose(ctx: click.Context, param: click.Parameter, value: int) -> None:
    app = _app(ctx)
    if value:
        app.verbose += value                     # `spi -v post publish-due -v` is -vv
        if ctx.parent is not None:               # the root configures logging in its callback
            from spi_campaign.redact import configure_logging

            configure_logging(app.verbose)


def _on_format(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.meta[FORMAT_KEY] = value


def _global_options(with_config: bool = True, with_format: bool = False) -> list[click.Option]:
    opts = []
    if with_config:
        opts.append(click.Option(["--config", "config_path"], metavar="PATH", type=click.Path(dir_okay=False),
                                 expose_value=False, callback=_on_config, is_eager=True,
                                 help="Campaign config file. Default: $SPI_CONFIG, then ./config.yaml."))
    opts.append(click.Option(["-v", "--verbose"], count=True, expose_value=False, callback=_on_verbose,
                             help="More log output (-v info, -vv debug). Secrets are never logged."))
    if with_format:
        opts.append(click.Option(["--format", "group_format"], metavar="FORMAT", expose_value=False,
                                 callback=_on_format,
                                 help="Output format of the command that follows (e.g. json); "
                                      "same as giving it --format."))
    return opts


def _apply_group_format(cmd: click.Command) -> None:
    """Let a command take ``--format`` given to a group before it
    (``spi --format json post list``); its own ``--format`` wins."""
    inner = cmd.callback
    fmt_param = next((p for p in cmd.params if p.name == "fmt"), None)

    @functools.wraps(inner)
    def callback(*args, **kwargs):
        ctx = click.get_current_context()
        wanted = ctx.meta.get(FORMAT_KEY)
        if wanted is not None:
            if fmt_param is None:
                raise click.UsageError(i18n._("'{command}' has no --format option").format(command=ctx.command_path),
                                       ctx)
            if ctx.get_parameter_source("fmt") is not click.core.ParameterSource.COMMANDLINE:
                kwargs["fmt"] = fmt_param.type.convert(wanted, fmt_param, ctx)
        return inner(*args, **kwargs)

    cmd.callback = callback


def _add_global_options(cmd: click.Command, *, root: bool = False) -> None:
    """Add the global options to ``cmd`` and everything under it (once)."""
    if getattr(cmd, "_spi_global", False):
        return
    cmd._spi_global = True  # type: ignore[attr-defined]
    is_group = isinstance(cmd, click.Group)
    if not root:
        names = {p.name for p in cmd.params}
        cmd.params.extend(o for o in _global_options(with_config=cmd.name != "init", with_format=is_group)
                          if o.name not in names)
    if is_group:
        for sub in cmd.commands.values():
            _add_global_options(sub)
    elif cmd.callback is not None:
        _apply_group_format(cmd)


@click.group(cls=SpiGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="spi")
@click.option("--config", "config_path", metavar="PATH", type=click.Path(dir_okay=False), expose_value=False,
              callback=_on_config, is_eager=True,
              help="Campaign config file. Default: $SPI_CONFIG, then ./config.yaml. "
                   "Also accepted after the subcommand.")
@click.option("-v", "--verbose", count=True, expose_value=False, callback=_on_verbose,
              help="More log output (-v info, -vv debug). Secrets are never logged. "
                   "Also accepted after the subcommand.")
@click.option("--format", "group_format", metavar="FORMAT", expose_value=False, callback=_on_format,
              help="Output format of the command (e.g. json); same as giving it --format.")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Plan, preview and publish corruption-prevention posts from YAML files.

    A campaign is a folder with config.yaml and posts/*.yaml. Start with:

    \b
        spi init my-campaign && cd my-campaign
        spi post validate
        spi post preview
        spi post publish-due --dry-run

    --config, -v and --format may also be given after the subcommand
    (spi post validate --config kampanye/config.yaml).
    """
    app = _app(ctx)
    from spi_campaign.redact import configure_logging

    configure_logging(app.verbose)


def _register() -> None:
    from spi_campaign.cli import accounts, doctor, init, metrics, post, queue, report, state
    from spi_campaign.cli import calendar as calendar_cmd
    from spi_campaign.cli import plan as plan_cmd

    cli.add_command(init.init)
    cli.add_command(post.post)
    cli.add_command(accounts.accounts)
    cli.add_command(state.state)
    cli.add_command(doctor.doctor)
    cli.add_command(queue.queue)
    cli.add_command(calendar_cmd.calendar)
    cli.add_command(plan_cmd.plan)
    cli.add_command(metrics.metrics)
    cli.add_command(report.report)
    _add_global_options(cli, root=True)
    i18n.translate_command_tree(cli)


def main() -> None:
    cli(prog_name="spi")


_register()

__all__ = ["cli", "main", "App"]
