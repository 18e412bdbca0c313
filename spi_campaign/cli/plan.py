"""``spi plan``: what the next days will publish and cost, and their warnings."""

from __future__ import annotations

import click

from spi_campaign.i18n import _


@click.command()
@click.option("--days", type=click.IntRange(1, 366), default=14, show_default=True,
              help="How many days ahead, from now.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format.")
@click.pass_obj
def plan(app, days: int, fmt: str) -> None:
    """What the next days will publish, by day, platform and topic; what X
    will cost (config 'pricing:'); and the warnings: Instagram's 50 posts
    per 24 h, X's per-user limits, max_per_day, topics without a post for
    more than topic_gap_days or far below their target (config 'topics:'),
    drafts that fall due. Only reads (the ledger is never created).

    \b
    Example:
        spi plan
        spi plan --days 30 --format json
    """
    from spi_campaign import plan as core
    from spi_campaign import render_plan
    from spi_campaign.timeutil import now_utc

    campaign = app.campaign()
    result = core.build(campaign, now_utc(), days)
    if fmt == "json":
        click.echo(render_plan.to_json(result))
    else:
        from spi_campaign.cli.post import console

        render_plan.table(console(), result, campaign.config.timezone_name)
    if campaign.broken_files:
        names = ", ".join(sorted(campaign.config.rel(f) for f in campaign.broken_files))
        click.echo(_("warning: {n} post file(s) could not be read: {names}; "
                     "their publications are missing (run 'spi post validate')").format(
            n=len(campaign.broken_files), names=names), err=True)
