"""``spi doctor``. Thin: the checks are in ``spi_campaign.doctor`` and
``doctor_host``, the output in ``render_doctor``."""

from __future__ import annotations

import click


@click.command()
@click.option("--online", is_flag=True,
              help="Also ask each platform: the real 'accounts check' per account, and the clock offset "
                   "against the platform APIs' Date header.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format.")
@click.pass_context
def doctor(ctx: click.Context, online: bool, fmt: str) -> None:
    """Check that this machine is ready to run the campaign, in one report.

    Config, posts (the validate summary), accounts (credentials set, file
    paths writable; --online: who each account posts as), the ledger
    (writable, schema, campaign name, counts, publications needing
    attention), the clock (--online: offset against each platform; more
    than 30 s is a problem) and what runs publish-due or schedule here (a
    crontab line or a systemd unit). Publishes nothing and changes nothing.
    Exits 1 if anything is a problem; warnings alone exit 0.

    \b
    Example:
        spi doctor
        spi doctor --online --format json
    """
    from spi_campaign import render_doctor as rd
    from spi_campaign.doctor import run_doctor

    rep = run_doctor(ctx.obj.config_path, online=online)
    if fmt == "json":
        click.echo(rd.doctor_json(rep))
    else:
        from rich.console import Console

        rd.doctor_table(Console(highlight=False, soft_wrap=False), rep)
    ctx.exit(rep.exit_code)
