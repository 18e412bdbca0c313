"""``spi state migrate | copy``."""

from __future__ import annotations

import click

from spi_campaign.i18n import _


@click.group("state")
def state() -> None:
    """The ledger: schema migrations, copying it to PostgreSQL.

    \b
    Example:
        spi state migrate
        SPI_TARGET=postgresql://spi@db.example.go.id/spi?sslmode=verify-full
        spi state copy --to "$SPI_TARGET"
    """


@state.command("migrate")
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Create or upgrade the ledger's schema (also done on first use).

    \b
    Example:
        spi state migrate
    """
    from spi_campaign.ledger import open_ledger

    cfg = ctx.obj.config()
    led = open_ledger(cfg)
    try:
        version = led.meta("schema_version") if not cfg.state_url else None
        if cfg.state_url:
            version = led._read("SELECT max(version) FROM spi_schema")[0][0]
        click.echo(_("ledger {where}: schema version {version}, campaign '{name}', {n} publication(s)").format(
            where=led.where, version=version, name=cfg.name, n=sum(led.counts().values())))
    finally:
        led.close()


@state.command("copy")
@click.option("--to", "target", required=True, metavar="URL|PATH",
              help="Where to copy the ledger: a postgresql:// URL (put a password in PGPASSWORD or ~/.pgpass) "
                   "or a SQLite path.")
@click.pass_context
def copy(ctx: click.Context, target: str) -> None:
    """Copy this campaign's ledger to another one, checking every count.

    Stop 'spi post schedule' and the cron line first; then point 'state:'
    in config.yaml (or SPI_STATE) at the target. The source is never changed.

    \b
    Example:
        spi state copy --to postgresql://spi@db.example.go.id/spi?sslmode=verify-full
    """
    from spi_campaign.ledger import open_ledger
    from spi_campaign.state import copy_ledger, open_target

    cfg = ctx.obj.config()
    source = open_ledger(cfg)
    try:
        dest = open_target(target, cfg)
        try:
            rep = copy_ledger(source, dest)
        finally:
            dest.close()
    finally:
        source.close()
    states = ", ".join(f"{n} {s}" for s, n in sorted(rep.counts.items()))
    click.echo(_("copied {n} publication(s) of campaign '{name}' from {source} to {target} ({states}); "
                 "counts checked").format(n=rep.rows, name=cfg.name, source=rep.source, target=rep.target,
                                          states=states or _("empty")))
