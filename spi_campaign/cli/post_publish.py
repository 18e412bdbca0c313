"""``spi post publish-due | schedule | publish | status | retry | resolve``.

Thin: parse options, call ``engine`` / ``scheduler``, print with
``render_publish``. Core modules are imported inside the commands so that
``spi --help`` stays cheap.
"""

from __future__ import annotations

import click

from spi_campaign.cli.post import post
from spi_campaign.i18n import _
# spelled out here, not imported from models (a heavy import for `spi --help`);
# tests/test_cli_publish.py checks it matches models.PUBLICATION_STATES
PUBLICATION_STATES = ("pending", "publishing", "published", "failed", "unknown", "missed", "skipped")


def _console():
    from rich.console import Console

    return Console(highlight=False)


def _engine(app, console, *, dry_run: bool = False, catch_up=None, accounts=None, catch_up_new_ledger=False):
    from spi_campaign import render_publish as rp
    from spi_campaign.engine import Engine
    from spi_campaign.ledger import open_ledger

    cfg = app.config()
    tz = cfg.timezone
    for a in accounts or ():
        cfg.account(a)
    ledger = open_ledger(cfg, dry_run=dry_run)
    try:
        return Engine(cfg, ledger, dry_run=dry_run, catch_up=catch_up, accounts=accounts,
                      catch_up_new_ledger=catch_up_new_ledger,
                      on_outcome=lambda o: rp.outcome_line(console, o, tz),
                      on_dry_run=lambda r: rp.dry_run_post(console, r, tz))
    except BaseException:
        ledger.close()
        raise


def _stdin_is_terminal() -> bool:
    import sys

    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):      # closed or replaced by something file-like
        return False


def _close(engine) -> None:
    try:
        engine.close()
    finally:
        engine.ledger.close()


def _duration(value: str | None, name: str):
    if value is None:
        return None
    from spi_campaign.timeutil import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=name) from None


_account_opt = click.option("--account", "-a", "accounts", metavar="NAME", multiple=True,
                            help="Only these accounts (repeatable), e.g. a first test on the archive account.")
def _set_host_id(ctx, param, value):
    if value:
        from spi_campaign.ledger.model import set_host_id

        set_host_id(value)
    return value


_host_opt = click.option("--host-id", metavar="NAME", callback=_set_host_id, expose_value=False,
                         help="This machine's name in claims when several machines share a PostgreSQL ledger "
                              "(default: the host name; must be unique per machine).")
_strict_opt = click.option("--strict", is_flag=True,
                           help="Readiness problems (missing credentials, unwritable paths) are fatal: exit 1 "
                                "before publishing anything.")


@post.command("publish-due")
@click.option("--dry-run", is_flag=True, help="Show what would be published; write nothing anywhere.")
@click.option("--catch-up", "catch_up", metavar="DURATION",
              help="Publish occurrences missed up to this long ago (default: catch_up in config.yaml, e.g. 6h).")
@click.option("--catch-up-from-new-ledger", "new_ledger", is_flag=True,
              help="Also publish what fell due (within the catch-up window) before the ledger was created. "
                   "A new or emptied ledger otherwise never publishes the past.")
@_account_opt
@_strict_opt
@_host_opt
@click.pass_context
def publish_due(ctx: click.Context, dry_run: bool, catch_up: str | None, new_ledger: bool, accounts: tuple,
                strict: bool) -> None:
    """Publish everything due now, then exit (for cron).

    Syncs the ledger with the post files, publishes every due publication
    (including those missed within the catch-up window; older ones are
    reported as missed) and prints a summary. Exit status 1 when anything
    failed, is unknown, was missed or is held. Any number of these may run
    at once, and alongside 'spi post schedule'. When the output is not a
    terminal (cron, a log file) every line starts with the time.

    \b
    Example (crontab, every minute; the log gets every line, and the echo
    after || is what cron mails, to MAILTO, when a run exits 1):
        MAILTO=humas@example.go.id
        * * * * * cd /srv/kampanye && set -a && . /etc/spi-kampanye.env && set +a && /srv/kampanye/.venv/bin/spi post publish-due >> /var/log/spi.log 2>&1 || echo "spi post publish-due: exit $? - see /var/log/spi.log"
    """
    from spi_campaign import render_publish as rp

    from spi_campaign.readiness import readiness

    app = ctx.obj
    cu = _duration(catch_up, "--catch-up")
    campaign = app.campaign()
    tz = campaign.config.timezone
    console = rp.log_console(tz)
    engine = _engine(app, console, dry_run=dry_run, catch_up=cu, accounts=accounts or None,
                     catch_up_new_ledger=new_ledger)
    try:
        not_ready = readiness(engine, campaign)
        for p in not_ready:
            rp.message(console, _("not ready: {problem}").format(problem=p.line(tz)), "bold yellow")
        if not_ready and strict:
            raise click.ClickException(_("{n} readiness problem(s); nothing was published (--strict)").format(
                n=len(not_ready)))
        rep = engine.publish_due(campaign, on_sync=lambda s: rp.sync_report(console, s, tz))
        rep.readiness = [p.line(tz) for p in not_ready]
        # --- alerts (docs/alerts.md): after publishing; never raises, never changes the exit status ---
        if not dry_run and campaign.config.notify:
            from spi_campaign import notify

            notify.dispatch(campaign.config, engine.ledger, engine.now())
        # --- end alerts ---
    finally:
        _close(engine)
    rp.run_summary(console, rep, tz)
    ctx.exit(rep.exit_code)


@post.command("schedule")
@click.option("--dry-run", is_flag=True, help="Show each publication at its time; write nothing anywhere.")
@click.option("--watch/--no-watch", default=True, show_default=True,
              help="Reload when post files change (otherwise only on SIGHUP and the 15-minute rescan).")
@_account_opt
@_strict_opt
@_host_opt
@click.pass_context
def schedule(ctx: click.Context, dry_run: bool, watch: bool, accounts: tuple, strict: bool) -> None:
    """Run in the foreground and publish each post at its time (for systemd).

    Catches up like publish-due on start, then sleeps until the next
    publication. Post file changes are picked up within seconds (or on
    SIGHUP). SIGTERM/SIGINT: the publication in flight finishes, then it
    exits 0. One log line per publication; when the output is not a
    terminal every line starts with the time.

    \b
    Example:
        spi post schedule            # systemd: ExecStart=/srv/kampanye/.venv/bin/spi post schedule
        kill -HUP <pid>              # reload the post files now
    """
    from spi_campaign import render_publish as rp
    from spi_campaign.scheduler import Daemon

    app = ctx.obj
    for a in accounts:
        app.config().account(a)
    daemon = Daemon(app, console=rp.log_console(app.config().timezone), dry_run=dry_run, watch=watch,
                    accounts=accounts or None, strict=strict)
    ctx.exit(daemon.run())


@post.command("publish")
@click.argument("post_id")
@click.option("--account", "-a", metavar="NAME", help="Only this account (default: every account of the post).")
@click.option("--force", is_flag=True, help="Publish again even if already published (asks first).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def publish(ctx: click.Context, post_id: str, account: str | None, force: bool, yes: bool) -> None:
    """Publish one post right now, whatever its scheduled time.

    Goes through the ledger like every other publication. A post already
    published (or whose outcome is unknown) is refused unless --force, which
    asks for confirmation unless --yes. A recurring post publishes its
    current occurrence (the latest one not yet published, else the next).
    On a terminal, a post scheduled in the future is published early only
    after you confirm (--yes skips the question). Exits 1 when nothing was
    published (a failure, or only a retry scheduled).

    \b
    Example:
        spi post publish apa-itu-gratifikasi --account arsip
    """
    from spi_campaign import render_publish as rp
    from spi_campaign.timeutil import human, now_utc

    app = ctx.obj
    console = _console()
    campaign = app.campaign()
    tz = campaign.config.timezone
    engine = _engine(app, console)
    try:
        engine.sync(campaign)
        targets = engine.targets(campaign, post_id, account)
        busy = [t for t in targets if t.row is not None and t.row.state == "publishing"]
        if busy:
            b = busy[0].row
            raise click.ClickException(_("post '{post}' is being published to {account} right now "
                                         "(by {host} pid {pid}); try again later").format(
                post=post_id, account=b.account, host=b.claimer_host, pid=b.claimer_pid))
        done = [t for t in targets if t.row is not None and t.row.state in ("published", "unknown")]
        if done and not force:
            lines = "; ".join(f"{t.account.name}: {t.row.state}"
                              + (_(" at {url}").format(url=t.row.url) if t.row.url else "") for t in done)
            raise click.ClickException(
                (_("post '{post}' was already published or may be live ({states}); use --force to publish it "
                   "again (or choose another account with --account)") if len(done) < len(targets) else
                 _("post '{post}' was already published or may be live ({states}); use --force to publish it "
                   "again")).format(post=post_id, states=lines))
        if done and not yes:
            for t in done:
                rp.message(console, f"{t.account.name}: {t.row.state} {human(t.row.published_at or t.row.claimed_at, tz)}"
                           + (f" {t.row.url}" if t.row.url else ""), "yellow")
            click.confirm(_("Publish '{post}' again to {accounts}? Followers will see it twice").format(
                post=post_id, accounts=", ".join(t.account.name for t in done)), abort=True)
        elif not yes and _stdin_is_terminal():
            early = [t for t in targets if t.occurrence > now_utc()]
            if early:
                click.confirm(_("'{post}' is scheduled for {when} ({accounts}); publish it now instead?").format(
                    post=post_id, when=human(min(t.occurrence for t in early), tz),
                    accounts=", ".join(t.account.name for t in early)), abort=True)
        outcomes = engine.publish_now(targets, force=force)
    finally:
        _close(engine)
    from spi_campaign.reports import BAD_RESULTS

    bad = [o for o in outcomes if o.result in BAD_RESULTS + ("refused",)]
    later = [o for o in outcomes if o.result in ("retry", "deferred")]
    for o in later:
        rp.message(console, _("{account}: not published yet; the next attempt is due {when} "
                              "(the next publish-due run or the running schedule picks it up)").format(
            account=o.account, when=human(o.next_attempt, tz)), "yellow")
    published = any(o.result == "published" for o in outcomes)
    if not published:
        rp.message(console, _("post '{post}': nothing was published").format(post=post_id), "bold red")
    ctx.exit(1 if bad or not published else 0)


@post.command("status")
@click.argument("post_id", required=False)
@click.option("--state", type=click.Choice(PUBLICATION_STATES), help="Only publications in this state.")
@click.option("--account", "-a", metavar="NAME", help="Only this account.")
@click.option("--problems", is_flag=True,
              help="Only what needs a person: failed, unknown, missed or held inside the alert window.")
@click.option("--all", "show_all", is_flag=True, help="Every publication (default: counts, problems, newest 20).")
@click.option("--since", metavar="DATE", help="Only occurrences at or after this date/time (campaign timezone).")
@click.option("--until", metavar="DATE", help="Only occurrences before this date/time (campaign timezone).")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="How many of the newest rows the default view shows.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="table for people, json for scripts.")
@click.pass_context
def status(ctx: click.Context, post_id: str | None, state: str | None, account: str | None, problems: bool,
           show_all: bool, since: str | None, until: str | None, limit: int, fmt: str) -> None:
    """Show publications from the ledger, newest first.

    By default: the counts by state, the publications that need attention,
    and the newest rows. Any filter (post, --state, --account, --since,
    --until) or --all lists every matching row. JSON is streamed: an array
    of {post, account, occurrence, state, attempts, remote_id, url, error,
    updated_at, next_attempt}; times ISO-8601 with the campaign offset; a
    queued post's row also has "queue" (the queue whose slot it is);
    with --problems a held publication has the state "held".

    \b
    Example:
        spi post status --problems
        spi post status --state unknown
        spi post status apa-itu-gratifikasi --format json
        spi post status --since 2026-12-01 --until 2027-01-01 --format json > desember.json
    """
    import sys

    from spi_campaign import render_publish as rp
    from spi_campaign.timeutil import now_utc, parse_datetime

    app = ctx.obj
    cfg = app.config()
    tz = cfg.timezone
    if account is not None:
        cfg.account(account)
    bounds = []
    for name, value in (("--since", since), ("--until", until)):
        try:
            bounds.append(parse_datetime(value, tz, field=name) if value else None)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint=name) from None
    lo, hi = bounds
    from spi_campaign.ledger import open_for_reading

    ledger = open_for_reading(cfg)
    if ledger is None:
        if post_id is not None:
            app.campaign().require_post(post_id)
        if fmt == "json":
            click.echo("[]")
        else:
            rp.status_table(_console(), [], tz, filtered=False)
        return
    try:
        queued = {(s.post, s.slot): s.target for s in ledger.queue_slots()}   # README, "Time slots"
        if problems:
            now = now_utc()
            rows = [r for r in ledger.problems(now - cfg.alert_window, now)
                    if (account is None or r.account == account) and (post_id is None or r.post == post_id)]
            if fmt == "json":
                rp.write_status_json(sys.stdout.write, rows, tz, held=True, queued=queued)
            else:
                rp.status_table(_console(), rows, tz, filtered=True, queued=queued)
            return
        filtered = any(x is not None for x in (post_id, state, account, lo, hi))
        rows_iter = ledger.iter_rows(post=post_id, account=account, states=(state,) if state else None,
                                     since=lo, until=hi, limit=None if (filtered or show_all) else limit)
        if fmt == "json":
            rp.write_status_json(sys.stdout.write, rows_iter, tz, queued=queued)
            return
        if filtered or show_all:
            rows = list(rows_iter)
            if post_id is not None and not rows:
                app.campaign().require_post(post_id)
            rp.status_table(_console(), rows, tz, filtered=filtered, queued=queued)
            return
        now = now_utc()
        trouble = ledger.problems(now - cfg.alert_window, now)
        newest = [r for r in rows_iter if r.key not in {t.key for t in trouble}]
        console = _console()
        rp.status_counts(console, ledger.counts(), len(trouble), len(newest) + len(trouble))
        rp.status_table(console, trouble + newest, tz, filtered=False, queued=queued)
    finally:
        ledger.close()


@post.command("retry")
@click.argument("post_id", required=False)
@click.option("--account", "-a", metavar="NAME", help="Only this account.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before retrying publications whose outcome is unknown.")
@click.pass_context
def retry(ctx: click.Context, post_id: str | None, account: str | None, yes: bool) -> None:
    """Put failed, unknown or held publications back to pending.

    The next publish-due run (or the running schedule) publishes them. An
    unknown publication may already be live, so this asks first (--yes to
    skip); check the platform, or use 'spi post resolve'.

    \b
    Example:
        spi post retry apa-itu-gratifikasi --account diskominfos-bali-fb
    """
    from spi_campaign import render_publish as rp

    app = ctx.obj
    cfg = app.config()
    console = _console()
    tz = cfg.timezone
    if account is not None:
        cfg.account(account)
    engine = _engine(app, console)
    try:
        rows = engine.retry_candidates(post_id, account)
        if post_id is not None and not rows and not engine.ledger.rows(post=post_id):
            app.campaign().require_post(post_id)
        if not rows:
            rp.message(console, (_("Nothing to retry: no failed or unknown publication of '{post}'.") if post_id
                                 else _("Nothing to retry: no failed or unknown publication.")).format(post=post_id))
            return
        unknown = [r for r in rows if r.state == "unknown"]
        if unknown and not yes:
            rp.message(console, _("These publications may already be live (the outcome is unknown):"), "bold magenta")
            rp.rows_list(console, unknown, tz, "  ")
            click.confirm(_("Publish them again if needed? Check the platform first"), abort=True)
        done = engine.retry(rows)
    finally:
        _close(engine)
    rp.rows_list(console, done, tz, _("pending again: "))
    rp.message(console, _("{n} publication(s) back to pending; the next publish-due run "
                          "(or the running schedule, within a minute) publishes them.").format(n=len(done)))


@post.command("resolve")
@click.argument("post_id")
@click.option("--account", "-a", metavar="NAME", required=True, help="The account you checked.")
@click.option("--published", "url", metavar="URL", help="It is live, at this URL.")
@click.option("--not-published", is_flag=True, help="It is not live: publish it at the next run.")
@click.option("--occurrence", metavar="TIME", help="Which occurrence, when a recurring post has several to resolve "
                                                   "(e.g. 2026-12-11 09:00).")
@click.pass_context
def resolve(ctx: click.Context, post_id: str, account: str, url: str | None, not_published: bool,
            occurrence: str | None) -> None:
    """Record what you checked by hand on the platform.

    For a publication whose outcome is unknown (the process died or the
    platform did not answer): --published URL marks it published;
    --not-published puts it back to pending, so the next run publishes it.
    A failed publication that turns out to be live can be marked --published.

    \b
    Example:
        spi post resolve apa-itu-gratifikasi --account diskominfos-bali-x --published https://x.com/diskominfobali/status/1
        spi post resolve apa-itu-gratifikasi --account diskominfos-bali-x --not-published
    """
    from spi_campaign import render_publish as rp

    if (url is None) == (not not_published):
        raise click.UsageError(_("give exactly one of --published URL or --not-published"))
    app = ctx.obj
    cfg = app.config()
    tz = cfg.timezone
    cfg.account(account)
    occ = None
    if occurrence is not None:
        from spi_campaign.timeutil import parse_datetime

        try:
            occ = parse_datetime(occurrence, tz, field="--occurrence")
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--occurrence") from None
    console = _console()
    engine = _engine(app, console)
    try:
        if not engine.ledger.rows(post=post_id):
            app.campaign().require_post(post_id)
        row = engine.resolve(post_id, account, url=url, published=url is not None, occurrence=occ)
    finally:
        _close(engine)
    rp.message(console, (_("recorded as published: ") if url else _("recorded as not published, pending again: ")),
               "green" if url else "yellow")
    rp.rows_list(console, [row], tz, "  ")
