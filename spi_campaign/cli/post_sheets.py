"""``spi post import`` and ``spi post export`` (spreadsheets; README,
"Spreadsheets"). Registered on the ``post`` group by ``cli/post.py``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from spi_campaign.cli.post import post
from spi_campaign.i18n import _


@post.command(name="import")
@click.argument("sheet", type=click.Path(dir_okay=False, exists=True))
@click.option("--into", type=click.Path(file_okay=False), default=None,
              help="Folder for the new post files. Default: the posts folder.")
@click.option("--dry-run", is_flag=True, help="Check every row and show what would be written; write nothing.")
@click.pass_obj
def import_(app, sheet: str, into: str | None, dry_run: bool) -> None:
    """Turn the rows of a CSV or XLSX sheet into post files (one per row).

    Columns: id, title, topic, status, publish_at, repeat, until, accounts,
    text, link, hashtags, media, alt (and thread, variants). Every row is
    checked like 'spi post validate' checks a post file; any error (named by
    row and column), an id that exists already or a file that exists, and
    nothing is written. Files are never overwritten.

    \b
    Example:
        spi post import rencana-desember.xlsx --dry-run
        spi post import rencana-desember.csv --into posts/2026-12
    """
    from spi_campaign.errors import SpiError
    from spi_campaign.sheets import SheetError, plan_import, write_planned

    campaign = app.campaign()
    cfg = campaign.config
    target = Path(into).resolve() if into else cfg.posts_dir
    try:
        planned, warnings = plan_import(Path(sheet), campaign, target)
    except SheetError as exc:
        for line in exc.problems:
            click.echo(_("error: {problem}").format(problem=line), err=True)
        raise SpiError(str(exc)) from None
    for line in warnings:
        click.echo(_("warning: {problem}").format(problem=line), err=True)
    if not _inside(target, cfg.posts_dir):
        click.echo(_("warning: {folder} is outside the posts folder {posts}: spi will not read "
                     "these posts until they are moved there").format(folder=target, posts=cfg.rel(cfg.posts_dir)),
                   err=True)
    if not dry_run:
        write_planned(planned)
    line = (_("would write {file} (row {row}, post '{post}')") if dry_run
            else _("wrote {file} (row {row}, post '{post}')"))
    for item in planned:
        click.echo(line.format(file=cfg.rel(item.path), row=item.row, post=item.post_id))
    click.echo((_("{n} post file(s) would be written") if dry_run
                else _("{n} post file(s) written; review them with 'git diff' and 'spi post preview'"))
               .format(n=len(planned)))


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


@post.command(name="export")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default=None,
              help="Sheet format. Default: from the --output name, else csv.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True), default="-", show_default=True,
              help="File to write ('-': standard output, CSV only). An existing file is not replaced "
                   "without --force.")
@click.option("--force", is_flag=True, help="Replace the --output file if it exists.")
@click.pass_obj
def export(app, fmt: str | None, output: str, force: bool) -> None:
    """Write every post as one row of a CSV or XLSX sheet.

    'spi post import' of the sheet (into an empty campaign) gives the same
    posts back: texts as written (templates included), times in the
    campaign's timezone (real date cells in XLSX), accounts as written.

    \b
    Example:
        spi post export --output kampanye.xlsx
        spi post export > kampanye.csv
    """
    from spi_campaign.errors import SpiError
    from spi_campaign.sheets_export import export_rows, write_csv, write_xlsx

    if fmt is None:
        fmt = "xlsx" if output.lower().endswith((".xlsx", ".xlsm")) else "csv"
    if fmt == "xlsx" and output == "-":
        raise click.UsageError(_("an XLSX sheet needs --output FILE.xlsx (it is not text)"))
    campaign = app.campaign()
    rows = export_rows(campaign)
    if output != "-":
        out = Path(output)
        if out.exists() and not force:
            raise SpiError(_("{file} already exists; choose another name or add --force to replace it")
                           .format(file=output))
        if fmt == "xlsx":
            write_xlsx(rows, out)
        else:
            with open(out, "w", encoding="utf-8-sig", newline="") as fh:   # the BOM: Excel then reads UTF-8
                write_csv(rows, fh)
        click.echo(_("wrote {n} post(s) to {file}").format(n=len(rows), file=output), err=True)
    else:
        write_csv(rows, sys.stdout)
    if campaign.broken_files:
        names = ", ".join(sorted(campaign.config.rel(f) for f in campaign.broken_files))
        click.echo(_("warning: {n} post file(s) could not be read and are not in the sheet: {names}; "
                     "run 'spi post validate'").format(n=len(campaign.broken_files), names=names), err=True)
