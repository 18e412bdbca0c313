"""``spi queue`` (show the queues) and ``spi queue reshuffle`` (re-plan on
purpose). Thin: the logic is in ``spi_campaign.queue``; README, "Time slots"."""

from __future__ import annotations

import click

from spi_campaign.i18n import _


_FORMATS = ("table", "json")


@click.group(invoke_without_command=True)
@click.option("--queue", "target", metavar="NAME", help="Only this queue (an account, or @group).")
@click.pass_context
def queue(ctx: click.Context, target: str | None) -> None:
    """Show queued posts and the time slot each got (same as 'spi queue show').

    A post with "queue: ACCOUNT" or "queue: @GROUP" instead of publish_at
    takes the next free slot of that queue (slots: in config.yaml), in this
    order: higher priority first, then file path, then id. Once placed, a
    post keeps its slot; cancelling or deleting it frees the slot for the
    next post to be placed. Posts not placed yet show the slot the next run
    would give them ("next run").

    \b
    Example:
        spi queue
        spi queue --queue @kabupaten --format json
        spi queue reshuffle --yes
    """
    if ctx.invoked_subcommand is None:
        from spi_campaign.cli import FORMAT_KEY

        fmt = ctx.meta.get(FORMAT_KEY) or "table"
        if fmt not in _FORMATS:
            raise click.BadParameter(_("'{value}' is not one of {choices}").format(value=fmt, choices=", ".join(_FORMATS)),
                                     param_hint="--format")
        ctx.invoke(show, target=target, fmt=fmt)


@queue.command()
@click.option("--queue", "target", metavar="NAME", help="Only this queue (an account, or @group).")
@click.option("--format", "fmt", type=click.Choice(_FORMATS), default="table", show_default=True,
              help="table for people, json for scripts.")
@click.pass_obj
def show(app, target: str | None, fmt: str) -> None:
    """Show queued posts by queue and slot (campaign timezone).

    JSON: an array of {queue, post, slot, assigned, assigned_at, priority,
    not_before, accounts, file, title, states, reason}; "assigned" is false
    for a post that gets "slot" at the next run; "states" maps each account
    to the ledger state of its publication at that slot (null: none yet).

    \b
    Example:
        spi queue show --format json
    """
    import json

    from spi_campaign import queue as q
    from spi_campaign.timeutil import now_utc

    campaign = app.campaign()
    entries = q.show(campaign.config, campaign, now_utc(), target)
    if fmt == "json":
        click.echo(json.dumps([{k: v for k, v in e.items() if not k.startswith("_")} for e in entries],
                              ensure_ascii=False, indent=2))
        return
    from spi_campaign.render_queue import queue_table

    queue_table(_console(), entries, campaign.config)
    _note_broken(campaign)


@queue.command()
@click.option("--queue", "target", metavar="NAME", help="Only this queue (an account, or @group).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Show the new slots; change nothing.")
@click.pass_obj
def reshuffle(app, target: str | None, yes: bool, dry_run: bool) -> None:
    """Re-plan the queue on purpose: every queued post that has not gone out
    gives back its slot and all take the free slots again, in order
    (priority, file path, id), from now on.

    Publications already published (or being published) keep their slot.
    Asks first on a terminal; elsewhere --yes is required.

    \b
    Example:
        spi queue reshuffle --dry-run
        spi queue reshuffle --queue @kabupaten --yes
    """
    import sys

    from spi_campaign import queue as q
    from spi_campaign.errors import SpiError
    from spi_campaign.ledger import open_ledger
    from spi_campaign.render_queue import moves
    from spi_campaign.timeutil import now_utc

    campaign = app.campaign()
    cfg = campaign.config
    if campaign.broken_files:
        names = ", ".join(sorted(cfg.rel(f) for f in campaign.broken_files))
        raise SpiError(_("{n} post file(s) cannot be read ({names}): their queued posts would lose their slots; "
                         "fix them first (run 'spi post validate')").format(n=len(campaign.broken_files), names=names))
    if target is not None:
        q.show(cfg, campaign, now_utc(), target)      # names an unknown queue
    console = _console()
    if not yes and not dry_run:
        snap = open_ledger(cfg.state, dry_run=True)
        try:
            before, plan = q.reshuffle(cfg, campaign, snap, now_utc(), target)
        finally:
            snap.close()
        changed = moves(console, cfg, before, plan)
        if not changed:
            return
        if not (sys.stdin is not None and sys.stdin.isatty()):
            raise click.UsageError(_("reshuffle moves posts to other slots: add --yes (or --dry-run to only look)"))
        click.confirm(_("Move these posts to their new slots?"), abort=True)
    ledger = open_ledger(cfg.state, dry_run=dry_run)
    try:
        if not dry_run:
            ledger.bind(cfg.name)
        before, plan = q.reshuffle(cfg, campaign, ledger, now_utc(), target)
    finally:
        ledger.close()
    moves(console, cfg, before, plan, done=not dry_run)


def _console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def _note_broken(campaign) -> None:
    from spi_campaign.cli.post import _note_broken as note

    note(campaign)
