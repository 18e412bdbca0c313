"""``spi post ...``: validate, list and preview (here), and the publishing
commands (``post_publish.py``), registered on the same group."""

from __future__ import annotations

import sys

import click

from spi_campaign.i18n import _


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


@click.group()
def post() -> None:
    """Check, show and publish the campaign's posts.

    \b
    Example:
        spi post validate && spi post list --status approved
    """


@post.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format.")
@click.pass_obj
def validate(app, files: tuple[str, ...], fmt: str) -> None:
    """Check config.yaml and every post file; report every problem.

    Needs no credentials, so it runs in CI and pull-request checks. With
    FILE arguments only problems in those files (and the config) are shown;
    the whole campaign is still read, so duplicate ids are found. A post the
    ledger says was published gets no "publish time is in the past" warning
    (the ledger is only read, never created). Exits 0
    when there are no errors (warnings allowed), 1 when there are errors.

    \b
    Example:
        spi post validate
        spi post validate posts/2026-12/*.yaml --format json
    """
    from spi_campaign import render
    from spi_campaign.views import validate_report

    summary, problems = validate_report(app.config_path, files)
    if fmt == "json":
        click.echo(render.problems_json(summary, problems))
    else:
        render.problems_text(console(), problems, summary)
    if summary["errors"]:
        sys.exit(1)


@post.command(name="list")
@click.option("--topic", help="Only posts with this topic.")
@click.option("--status", type=click.Choice(["draft", "approved", "cancelled", "published"]),
              help="Only posts with this status; published: posts the ledger says went out to at least one "
                   "of their accounts.")
@click.option("--account", help="Only posts that target this account.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format.")
@click.pass_obj
def list_(app, topic: str | None, status: str | None, account: str | None, fmt: str) -> None:
    """List posts by their next publish time (campaign timezone, with offset).

    Posts already published (according to the ledger, which is only read)
    are marked, with a tick on each account they went out to. JSON rows
    carry "published": [{account, occurrence, published_at, url}]. A queued
    post shows the slot it got (JSON: "queue", and "slot_assigned" false
    when the slot is the one the next run would give it).

    \b
    Example:
        spi post list --status approved --account diskominfos-bali-x
        spi post list --topic gratifikasi --format json
    """
    from spi_campaign import render
    from spi_campaign.views import list_rows, published_rows

    campaign = app.campaign()
    published, trouble = published_rows(campaign.config, campaign)
    if trouble:
        click.echo(_("warning: {trouble}; published posts are not marked").format(trouble=trouble), err=True)
    plan = None
    if any(p.queue is not None for p in campaign.posts):     # queued posts: the slot each got (README, "Time slots")
        from spi_campaign.queue import preview
        from spi_campaign.timeutil import now_utc

        plan = preview(campaign.config, campaign, now_utc())
    rows = list_rows(campaign, topic=topic, status=status, account=account, published=published, slots=plan)
    if fmt == "json":
        click.echo(render.list_json(rows))
    else:
        render.post_table(console(), rows, campaign.config.timezone)
    _note_broken(campaign)


@post.command()
@click.argument("ids", nargs=-1)
@click.option("--account", help="Only this account.")
@click.option("--format", "fmt", type=click.Choice(["rich", "json"]), default="rich", show_default=True,
              help="Output format.")
@click.pass_obj
def preview(app, ids: tuple[str, ...], account: str | None, fmt: str) -> None:
    """Show each post exactly as it will appear on each of its accounts.

    Shows every post, drafts and posts that do not fit included, with the
    platform's own length against its limit (red when over) and the next
    publish time in the campaign timezone and UTC. Judging is validate's job:
    this exits 0 unless the campaign cannot be read.

    \b
    Example:
        spi post preview
        spi post preview apa-itu-gratifikasi --account diskominfos-bali-x
    """
    from spi_campaign import render
    from spi_campaign.views import preview_items

    campaign = app.campaign()
    items = preview_items(campaign, ids, account=account)
    if fmt == "json":
        click.echo(render.preview_json(items))
    else:
        render.preview_panels(console(), items, campaign.config.timezone)
    _note_broken(campaign)


def _note_broken(campaign) -> None:
    if campaign.broken_files:
        names = ", ".join(sorted(campaign.config.rel(f) for f in campaign.broken_files))
        click.echo(_("warning: {n} post file(s) could not be read: {names}; run 'spi post validate'")
                   .format(n=len(campaign.broken_files), names=names), err=True)


def _register() -> None:
    try:
        from spi_campaign.cli import post_publish  # noqa: F401  (adds its commands to `post`)
    except ImportError as exc:  # pragma: no cover - only while the module is being written
        if "post_publish" not in str(exc):
            raise
    from spi_campaign.cli import post_sheets  # noqa: F401  (import, export: spreadsheets)


_register()
