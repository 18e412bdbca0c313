"""``spi calendar``: what goes out when, planned and published."""

from __future__ import annotations

import click

from spi_campaign.i18n import _

FORMATS = ["table", "json", "ics", "md"]
STATUS_CHOICES = ["draft", "approved", "cancelled", "planned", "pending", "publishing", "published", "failed",
                  "unknown", "missed", "skipped"]


@click.command(name="calendar")
@click.option("--from", "start", metavar="DATE", help="First day (YYYY-MM-DD, campaign timezone). "
              "Default: the first day of this month.")
@click.option("--to", "end", metavar="DATE", help="Last day, included. Default: the end of next month.")
@click.option("--month", metavar="YYYY-MM", help="One month (instead of --from/--to).")
@click.option("--account", help="Only this account.")
@click.option("--topic", help="Only posts with this topic.")
@click.option("--status", type=click.Choice(STATUS_CHOICES),
              help="Only this post status (draft, approved, cancelled) or publication state "
                   "(planned, published, failed...).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="table (month grid, or week list when narrow), json, ics (Outlook, Google Calendar) "
                   "or md (a Markdown table).")
@click.option("--output", "-o", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write to FILE instead of standard output.")
@click.pass_obj
def calendar(app, start, end, month, account, topic, status, fmt, output) -> None:
    """Every publication in a date range: each recurring post's occurrences
    up to its 'until', each (post, account, time) once, with what the ledger
    says (published, failed...) or 'planned'.

    Default range: this month and the next, in the campaign timezone. The
    occurrences come from the code that publishes. The ledger is only read
    (never created).

    \b
    Example:
        spi calendar
        spi calendar --month 2026-12 --account diskominfos-bali-x
        spi calendar --format ics --output kampanye.ics
        spi calendar --format json --status published
    """
    from spi_campaign import calendar as cal
    from spi_campaign import render_calendar as rc
    from spi_campaign.timeutil import now_utc

    campaign = app.campaign()
    cfg = campaign.config
    tz = cfg.timezone
    try:
        first, last = cal.window(tz, now_utc(), start=start, end=end, month=month)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    lo, hi = cal.bounds(first, last, tz)
    entries = cal.collect(campaign, lo, hi, account=account, topic=topic, status=status)
    if fmt == "json":
        data: str | bytes = rc.to_json(entries, tz) + "\n"
    elif fmt == "md":
        data = rc.to_markdown(entries, tz, cfg.timezone_name, first, last)
    elif fmt == "ics":
        data = rc.to_ics(entries, tz, cfg.timezone_name, first, last, cfg.name, rc.final_text(cfg))
    else:
        data = None
    if data is None:
        from spi_campaign.cli.post import console

        if output:
            from rich.console import Console

            with open(output, "w", encoding="utf-8") as fh:
                rc.table(Console(file=fh, width=80, highlight=False, soft_wrap=False), entries, tz,
                         cfg.timezone_name, first, last)
        else:
            rc.table(console(), entries, tz, cfg.timezone_name, first, last)
    elif output:
        with open(output, "wb") as fh:
            fh.write(data if isinstance(data, bytes) else data.encode("utf-8"))
        click.echo(_("wrote {n} publication(s) to {file}").format(n=len(entries), file=output), err=True)
    elif isinstance(data, bytes):
        click.get_binary_stream("stdout").write(data)
    else:
        click.echo(data, nl=False)
    if campaign.broken_files:
        names = ", ".join(sorted(cfg.rel(f) for f in campaign.broken_files))
        click.echo(_("warning: {n} post file(s) could not be read: {names}; "
                     "their publications are missing (run 'spi post validate')").format(
            n=len(campaign.broken_files), names=names), err=True)
