"""``spi metrics fetch``: engagement read back into the ledger (docs/metrics.md)."""

from __future__ import annotations

import json
import sys

import click

from spi_campaign.i18n import _


@click.group()
def metrics() -> None:
    """Read engagement (views, reach, likes, comments, shares) back from the platforms.

    \b
    Example:
        spi metrics fetch --since 2026-12-01
        spi metrics fetch --due        # cron: the +48 h and +7 d snapshots
    """


@metrics.command()
@click.argument("post_id", required=False, metavar="[ID]")
@click.option("--account", "-a", metavar="NAME", help="Only this account.")
@click.option("--since", metavar="DATE", help="Only publications at or after DATE (default: 30 days ago; "
                                               "with ID: all of that post's).")
@click.option("--due", is_flag=True, help="Only the snapshots that are due (+48 h, +7 d after publication); "
                                          "what 'spi post schedule' does by itself, for cron.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format.")
@click.pass_obj
def fetch(app, post_id: str | None, account: str | None, since: str | None, due: bool, fmt: str) -> None:
    """Store a snapshot of the engagement of every published publication.

    One snapshot per publication in the ledger's metrics table (never in the
    post files); each metric is null, with the reason, when the platform does
    not give it. A missing permission is one message naming it. Publishing
    is never affected. Exits 1 when an account could not be read.

    \b
    Example:
        spi metrics fetch apa-itu-gratifikasi
        spi metrics fetch --account diskominfos-bali-fb --since 2026-12-01
    """
    from spi_campaign import metrics as core
    from spi_campaign.errors import LedgerError
    from spi_campaign.ledger import SqliteLedger
    from spi_campaign.timeutil import now_utc, parse_datetime

    cfg = app.config()
    when = None
    if since is not None:
        try:
            when = parse_datetime(since, cfg.timezone, field="--since", allow_date=True)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--since") from None
    if not cfg.state.is_file():
        raise LedgerError(_("there is no ledger at {path}: nothing has been published yet").format(
            path=cfg.rel(cfg.state)))
    ledger = SqliteLedger.open(cfg.state)
    try:
        report = core.fetch(cfg, ledger, now_utc(), post=post_id, account=account, since=when, scheduled=due)
    finally:
        ledger.close()
    if fmt == "json":
        click.echo(json.dumps(core.as_json(report), ensure_ascii=False, indent=2))
    else:
        for name, n in report.by_account.items():
            click.echo(_("{account}: {n} snapshot(s) stored").format(account=name, n=n))
        if not report.by_account and not report.errors:
            click.echo(_("no published publication to read"))
    from spi_campaign.redact import printable, scrub

    for msg in report.errors:
        click.echo(_("error: {problem}").format(problem=printable(scrub(msg))), err=True)
    if report.errors:
        sys.exit(1)
