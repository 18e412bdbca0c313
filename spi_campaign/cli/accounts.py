"""``spi accounts list | check``. Thin: the data lives in
``spi_campaign.accounts`` and the output in ``spi_campaign.render_accounts``;
both are imported inside the commands so that ``spi --help`` stays cheap."""

from __future__ import annotations

import click

from spi_campaign.i18n import _


def _console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


@click.group()
def accounts() -> None:
    """Show configured accounts and check their credentials.

    Credentials are read only from environment variables named
    SPI_<ACCOUNT>_<FIELD>; these commands show the names, never the values.

    \b
    Example:
        spi accounts list
        spi accounts check diskominfos-bali-x
    """


@accounts.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format.")
@click.pass_obj
def list_(app, fmt: str) -> None:
    """List configured accounts: platform, credential variables set or
    missing (names only) and how many posts target each account.

    Reads no network and needs no credentials. JSON: an array of {name,
    platform, label, credentials: [{env, set}], ready, posts, approved,
    options}.

    \b
    Example:
        spi accounts list
        spi accounts list --format json
    """
    from spi_campaign import render_accounts as ra
    from spi_campaign.accounts import account_rows
    from spi_campaign.errors import SpiError
    from spi_campaign.redact import scrub

    config = app.config()
    posts, problem = None, None
    try:
        posts = app.campaign().posts
    except SpiError as exc:
        problem = scrub(str(exc))
    rows = account_rows(config, posts)
    if fmt == "json":
        click.echo(ra.accounts_json(rows))
    else:
        ra.accounts_table(_console(), rows)
    if problem:
        click.echo(_("warning: posts could not be read, so they are not counted: {problem}").format(problem=problem),
                   err=True)


@accounts.command("check")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format.")
@click.pass_context
def check(ctx: click.Context, names: tuple[str, ...], fmt: str) -> None:
    """Ask each platform who the account posts as, with its credentials.

    Checks every account, or only the NAMEs given. Prints who each account
    posts as (@username, Page name...) or the exact problem, e.g. which
    environment variable to set or renew. Exits 1 if any account fails. The
    file platform needs no credentials (it checks the folder is writable).

    \b
    Example:
        spi accounts check
        spi accounts check diskominfos-bali-x diskominfos-bali-fb --format json
    """
    from spi_campaign import render_accounts as ra
    from spi_campaign.accounts import check_account, select_accounts

    config = ctx.obj.config()
    selected = select_accounts(config, names)
    rows = [check_account(acc, config.timezone) for acc in selected]
    if config.notify:
        from spi_campaign.accounts import alert_expiring_tokens

        alert_expiring_tokens(config, rows)
    if fmt == "json":
        click.echo(ra.checks_json(rows))
    else:
        ra.checks_table(_console(), rows)
    if any(not r.ok for r in rows):
        ctx.exit(1)
