"""``spi report``: the campaign's evidence (docs/metrics.md)."""

from __future__ import annotations

import click

from spi_campaign.i18n import _


@click.command()
@click.option("--from", "start", metavar="DATE", help="First day (or date-time) of the report, campaign timezone.")
@click.option("--to", "end", metavar="DATE", help="Last day of the report (included).")
@click.option("--month", metavar="YYYY-MM", help="One calendar month (default: the current month).")
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "json", "html"]), default="md", show_default=True,
              help="Output format.")
@click.option("--output", "-o", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write to FILE instead of standard output.")
@click.pass_obj
def report(app, start: str | None, end: str | None, month: str | None, fmt: str, output: str | None) -> None:
    """What was published, where, how far it reached, and what failed.

    Totals by state, published counts per topic and platform, topic balance
    against the 'topics:' targets of config.yaml, failures and misses, and
    every publication with its URL and latest metrics (see 'spi metrics
    fetch'). HTML is one self-contained file that prints on A4; JSON is a
    documented contract (README, "Report and metrics"). The ledger is only read.

    \b
    Example:
        spi report --month 2026-12 --format html --output laporan-desember.html
        spi report --from 2026-12-01 --to 2026-12-15 --format csv -o publikasi.csv
    """
    import sys

    from spi_campaign import render_report
    from spi_campaign import report as core
    from spi_campaign.errors import LedgerError
    from spi_campaign.ledger import SqliteLedger
    from spi_campaign.timeutil import now_utc

    cfg = app.config()
    try:
        lo, hi = core.resolve_range(cfg.timezone, now_utc(), start=start, end=end, month=month)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if not cfg.state.is_file():
        raise LedgerError(_("there is no ledger at {path}: nothing has been published yet").format(
            path=cfg.rel(cfg.state)))
    posts = core.post_index(app.campaign())
    ledger = SqliteLedger.open_for_reading(cfg.state)
    try:
        if output:
            # CSV with a byte-order mark: spreadsheets then read it as UTF-8
            enc = "utf-8-sig" if fmt == "csv" else "utf-8"
            with open(output, "w", encoding=enc, newline="") as fh:
                core.run(cfg, ledger, posts, lo, hi, lambda s, rows: render_report.write(fmt, s, rows, fh))
        else:
            out = sys.stdout
            core.run(cfg, ledger, posts, lo, hi, lambda s, rows: render_report.write(fmt, s, rows, out))
    finally:
        ledger.close()
