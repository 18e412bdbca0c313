"""Terminal output of the publishing commands. Pure: every function takes a
``rich.console.Console`` and data (tests render into ``StringIO``). User text
is passed as ``rich.text.Text``, never as markup.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, tzinfo
from typing import Any, Iterable

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from spi_campaign.engine import Outcome, RunReport, SyncReport
from spi_campaign.i18n import N_, _, ngettext
from spi_campaign.ledger import Publication
from spi_campaign.models import Rendered
from spi_campaign.timeutil import human, iso

RESULT_STYLES = {"published": "green", "failed": "bold red", "unknown": "bold magenta", "retry": "yellow",
                 "deferred": "yellow", "released": "yellow", "refused": "yellow", "dry-run": "cyan"}
STATE_STYLES = {"pending": "white", "publishing": "cyan", "published": "green", "failed": "bold red",
                "unknown": "bold magenta", "missed": "red", "skipped": "grey50"}
# How states and run results read in text output (JSON keeps the English data values).
STATE_LABELS = {"pending": N_("pending"), "publishing": N_("publishing"), "published": N_("published"),
                "failed": N_("failed"), "unknown": N_("unknown"), "missed": N_("missed"), "skipped": N_("skipped"),
                "held": N_("held"), "cancelled": N_("cancelled")}
RUN_LABELS = {"retry": N_("{n} retry scheduled"), "deferred": N_("{n} deferred"), "failed": N_("{n} failed"),
              "unknown": N_("{n} unknown"), "held": N_("{n} held"), "lost": N_("{n} lost"),
              "unrecorded": N_("{n} unrecorded")}


def state_label(state: str) -> str:
    return _(STATE_LABELS[state]) if state in STATE_LABELS else state

_print_lock = threading.Lock()


def log_console(tz: tzinfo, *, stamp: bool | None = None) -> Console:
    """The console of ``publish-due`` and ``schedule``. When stdout is not a
    terminal (cron, a log file, systemd), or ``stamp`` is True, every line
    they print starts with the time it was printed, ISO-8601 with the
    campaign offset (``2026-12-09T09:00:02+08:00``), so a log can be read
    on its own."""
    console = Console(highlight=False)
    if stamp is None:
        try:
            stamp = not console.file.isatty()
        except (AttributeError, ValueError):
            stamp = True
    console.spi_stamp_tz = tz if stamp else None  # type: ignore[attr-defined]  # read by _print
    return console


def _print(console: Console, text: Text, *, timed: bool = False) -> None:
    """One line. On a stamping console (``log_console``) it gets the current
    time in front, unless it already starts with a time (``timed``)."""
    tz = getattr(console, "spi_stamp_tz", None)
    if tz is not None and not timed:
        from spi_campaign.timeutil import now_utc

        text = Text(f"{iso(now_utc(), tz)} ").append_text(text)
    with _print_lock:
        console.print(text, soft_wrap=True, highlight=False)


def _key(post: str, account: str, occurrence: datetime, tz: tzinfo) -> Text:
    t = Text()
    t.append(post, style="cyan")
    t.append(" -> ")
    t.append(account, style="cyan")
    t.append(f" @ {human(occurrence, tz)}")
    return t


def outcome_line(console: Console, o: Outcome, tz: tzinfo) -> None:
    """One line per publication: time, post, account, result, URL (or error)."""
    result = "dry-run" if o.dry_run and o.result == "published" else o.result
    t = Text(f"{iso(o.at, tz)} ")
    t.append(f"{result:<9}", style=RESULT_STYLES.get(result, ""))
    t.append(" ")
    t.append_text(_key(o.post, o.account, o.occurrence, tz))
    if o.url:
        t.append(f" {o.url}", style="underline")
    if o.result in ("retry", "deferred") and o.next_attempt:
        t.append(_(" next attempt {when}").format(when=human(o.next_attempt, tz)), style="yellow")
    if o.error and o.result != "published":
        t.append(f" - {o.error}")
    _print(console, t, timed=True)


def dry_run_post(console: Console, r: Rendered, tz: tzinfo) -> None:
    """What a dry run would publish, in full."""
    body = Text(r.text)
    if r.link:
        body.append(_("\n[link card] {url}").format(url=r.link), style="underline")
    for i, part in enumerate(r.thread[1:], start=2):
        body.append(_("\n--- part {i} ---\n").format(i=i), style="grey50")
        body.append(part)
    for m in r.media:
        body.append(_("\n[image] {label}").format(label=m.path or m.url)
                    + (_(" (alt: {alt})").format(alt=m.alt) if m.alt else ""), style="grey50")
    title = Text(_("would publish {post} -> {account} ({platform}) @ {when}").format(
        post=r.post_id, account=r.account, platform=r.platform, when=human(r.occurrence, tz)))
    with _print_lock:
        console.print(Panel(body, title=title, title_align="left", border_style="cyan"))


def _key_line(console: Console, label: str, style: str, r: Publication, tz: tzinfo, detail: str | None) -> None:
    """``label post -> account @ time - detail``, the label in ``style``."""
    t = Text(label, style=style)
    t.append_text(_key(r.post, r.account, r.occurrence, tz))
    t.append(f" - {detail}")
    _print(console, t)


def sync_report(console: Console, s: SyncReport, tz: tzinfo) -> None:
    """Everything the sync found that a person should know."""
    for f in s.broken_files:
        _print(console, Text(_("error: {reason} - the file cannot be read; its posts are held "
                               "(not published, not cancelled) until it is fixed").format(reason=s.reasons.get(f, f)),
                             style="bold red"))
    for pid in s.invalid_posts:
        why = s.reasons.get(pid)
        _print(console, Text((_("error: post '{post}' is held: {why} (see 'spi post validate')") if why else
                              _("error: post '{post}' is held (see 'spi post validate')")).format(post=pid, why=why),
                             style="bold red"))
    for r in s.missed:
        _key_line(console, _("missed    "), "red", r, tz, r.error or _("older than the catch-up window"))
    for r, why in s.skipped:
        _key_line(console, _("skipped   "), "grey50", r, tz, why)
    for r in s.revived:
        _key_line(console, _("scheduled "), "green", r, tz, _("scheduled again"))
    for r in s.held_due:
        _key_line(console, _("held      "), "bold red", r, tz, _("due but not published: {why}").format(why=r.hold))
    for r in s.edited:
        t = Text(_("warning: "), style="yellow")
        t.append(_("post '{post}' was edited after it was published to {account} ({when}); "
                   "the change is not republished").format(post=r.post, account=r.account,
                                                           when=human(r.published_at or r.claimed_at, tz)))
        _print(console, t)
    for pid, account, occ, old in s.renamed:
        t = Text(_("warning: "), style="yellow")
        t.append(_("post '{post}' is not published to {account} @ {when}: post '{old}', no longer in the post "
                   "files, is {state} there at that time (renamed?); to publish it anyway: "
                   "spi post publish {post} --account {account}").format(
                     post=pid, account=account, when=human(occ, tz), old=old.post, state=old.state))
        _print(console, t)
    for r in s.became_unknown:
        _key_line(console, _("unknown   "), "bold magenta", r, tz, r.error)
    for r, state, url in s.reconciled:
        if state == "published":
            _key_line(console, _("checked   "), "green", r, tz,
                      _("found on the platform: published {url}").format(url=url or "").rstrip())
        else:
            _key_line(console, _("checked   "), "yellow", r, tz, _("not found on the platform: will be published again"))
    for r in s.unknown:
        _key_line(console, _("unknown   "), "bold magenta", r, tz,
                  _("may be live: check the platform, then 'spi post resolve {post} --account {account} "
                    "--published URL' or '--not-published' (or 'spi post retry {post} --account {account}')")
                  .format(post=r.post, account=r.account))


def run_summary(console: Console, rep: RunReport, tz: tzinfo) -> None:
    """The last lines of publish-due."""
    counts = {k: rep.count(k) for k in ("published", "retry", "deferred", "failed", "unknown", "held", "lost",
                                        "unrecorded")}
    t = Text(_("dry run: ") if rep.dry_run else "")
    t.append((_("{n} would be published") if rep.dry_run else _("{n} published")).format(n=counts["published"]),
             style="green" if counts["published"] else "")
    for k, style in (("retry", "yellow"), ("deferred", "yellow"), ("failed", "bold red"), ("unknown", "bold magenta"),
                     ("held", "bold red"), ("lost", "bold red"), ("unrecorded", "bold red")):
        if counts[k]:
            t.append(", ")
            t.append(_(RUN_LABELS[k]).format(n=counts[k]), style=style)
    s = rep.sync
    if s.missed:
        t.append(", ")
        t.append(_("{n} missed").format(n=len(s.missed)), style="red")
    if s.skipped:
        t.append(_(", {n} skipped").format(n=len(s.skipped)))
    if s.held_due:
        t.append(", ")
        t.append(_("{n} held").format(n=len(s.held_due)), style="bold red")
    if s.unknown:
        t.append(", ")
        t.append(_("{n} awaiting a decision (unknown)").format(n=len(s.unknown)), style="bold magenta")
    later = [o for o in rep.outcomes if o.result in ("retry", "deferred") and o.next_attempt]
    if later:
        first = min(o.next_attempt for o in later)  # type: ignore[type-var]
        t.append(_(". Next retry due {when}").format(when=human(first, tz)))
    elif rep.next_due:
        t.append(_(". Next publication due {when}").format(when=human(rep.next_due, tz)))
    if rep.dry_run:
        t.append(_(". Nothing was written."))
    _print(console, t)
    if rep.problems:
        problems_summary(console, rep.problems)


def problems_summary(console: Console, rows: list[Publication]) -> None:
    """The one line every run (and the daemon, hourly) prints while
    publications inside the alert window need a person."""
    states: dict[str, int] = {}
    for r in rows:
        st = "held" if r.state == "pending" else r.state
        states[st] = states.get(st, 0) + 1
    detail = ", ".join(f"{n} {state_label(st)}" for st, n in sorted(states.items()))
    n = len(rows)
    _print(console, Text(ngettext("{n} publication needs attention ({detail}): spi post status --problems",
                                  "{n} publications need attention ({detail}): spi post status --problems", n)
                         .format(n=n, detail=detail), style="bold red"))


def status_record(r: Publication, tz: tzinfo, *, held: bool = False, queued: dict | None = None) -> dict[str, Any]:
    """One element of ``status``'s JSON (a public contract, README): times
    ISO-8601 with the campaign offset. ``held``: a pending row with a hold
    shows the state ``held`` (``status --problems``). ``queued``: (post,
    slot) -> queue, from the ledger's queue slots: a row at the time slot a
    queued post got has "queue" (its queue); other rows have no such key."""
    state = "held" if held and r.state == "pending" and r.hold else r.state
    out = {
        "post": r.post, "account": r.account, "occurrence": iso(r.occurrence, tz), "state": state,
        "attempts": r.attempts, "remote_id": r.remote_id, "url": r.url, "error": r.error or r.hold,
        "updated_at": iso(r.updated_at, tz),
        "next_attempt": iso(r.next_attempt, tz) if r.state == "pending" else None,
    }
    q = (queued or {}).get((r.post, r.occurrence))
    if q is not None:
        out["queue"] = q
    return out


def status_rows(rows: Iterable[Publication], tz: tzinfo, *, held: bool = False) -> list[dict[str, Any]]:
    return [status_record(r, tz, held=held) for r in rows]


def status_json(rows: Iterable[Publication], tz: tzinfo, *, held: bool = False) -> str:
    return json.dumps(status_rows(rows, tz, held=held), ensure_ascii=False, indent=2)


def write_status_json(write, rows: Iterable[Publication], tz: tzinfo, *, held: bool = False,
                      queued: dict | None = None) -> None:
    """The same JSON as ``status_json``, streamed row by row (memory does
    not grow with the ledger)."""
    first = True
    write("[")
    for r in rows:
        text = json.dumps(status_record(r, tz, held=held, queued=queued), ensure_ascii=False, indent=2)
        write(("\n" if first else ",\n") + "  " + text.replace("\n", "\n  "))
        first = False
    write("\n]\n" if not first else "]\n")


def status_counts(console: Console, counts: dict[str, int], problems: int, shown: int) -> None:
    """The head of ``status``'s default view."""
    if not counts:
        return
    t = Text(_("ledger: "))
    t.append(", ".join(f"{counts[s]} {state_label(s)}" for s in sorted(counts, key=lambda s: -counts[s])))
    _print(console, t)
    if problems:
        _print(console, Text(_("{n} need attention (shown first; all of them: spi post status --problems)")
                             .format(n=problems),
                             style="bold red"))
    total = sum(counts.values())
    if shown < total:
        _print(console, Text(_("newest {shown} of {total} shown; --all, --since/--until or --state for more")
                             .format(shown=shown, total=total),
                             style="dim"))


def status_table(console: Console, rows: list[Publication], tz: tzinfo, *, filtered: bool = False,
                 queued: dict | None = None) -> None:
    """``filtered``: rows were selected by post, state or account.
    ``queued``: (post, slot) -> queue (see ``status_record``)."""
    if not rows:
        console.print(_("No publications match.") if filtered else
                      _("No publications in the ledger yet (run 'spi post publish-due' or 'spi post schedule')."))
        return
    # A grid (the URL, error or next attempt on lines of their own under the
    # row) when it fits, else one block per publication: ids and URLs are
    # never cut (see layout.py).
    from spi_campaign.layout import Record, show

    records = []
    for r in rows:
        state = Text(state_label(r.state), style=STATE_STYLES.get(r.state, ""))
        detail = Text()
        fields: list[tuple[str, Text]] = [(_("occurrence"), Text(human(r.occurrence, tz))), (_("state"), state),
                                          (_("attempts"), Text(str(r.attempts)))]
        when = Text(human(r.occurrence, tz))
        q = (queued or {}).get((r.post, r.occurrence))
        if q is not None:
            when.append(_("\nslot of queue {queue}").format(queue=q), style="dim")
            fields.append((_("queue"), Text(q)))
        if r.state == "pending" and r.next_attempt:
            detail.append(_("next attempt {when}").format(when=human(r.next_attempt, tz)), style="yellow")
            fields.append((_("next attempt"), Text(human(r.next_attempt, tz), style="yellow")))
        if r.url:
            if detail:
                detail.append(" ")
            detail.append(r.url, style="underline")
            fields.append(("url", Text(r.url, style="underline")))
        info = r.error or r.hold
        if info and r.state != "published":
            if detail:
                detail.append(" ")
            detail.append(info)
            fields.append((_("error") if r.error else _("held"), Text(info)))
        who = Text(r.post, style="cyan")
        who.append("\n-> ")
        who.append(r.account, style="cyan")
        title = Text(r.post, style="bold cyan")
        title.append(" -> ")
        title.append(r.account, style="bold cyan")
        records.append(Record(cells=[when, state, Text(str(r.attempts)), who],
                              title=title, fields=fields, detail=[detail] if detail else []))
    show(console, [_("occurrence"), _("state"), _("att"), _("post -> account")], records)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.state] = counts.get(r.state, 0) + 1
    console.print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())))


def publication_brief(r: Publication, tz: tzinfo) -> Text:
    t = _key(r.post, r.account, r.occurrence, tz)
    t.append(f" ({r.state}")
    if r.url:
        t.append(f", {r.url}")
    if r.error:
        t.append(f": {r.error}")
    t.append(")")
    return t


def rows_list(console: Console, rows: Iterable[Publication], tz: tzinfo, prefix: str = "") -> None:
    for r in rows:
        t = Text(prefix)
        t.append_text(publication_brief(r, tz))
        _print(console, t)


def message(console: Console, text: str, style: str = "") -> None:
    _print(console, Text(text, style=style))


def upcoming(console: Console, rows: Iterable[Publication], tz: tzinfo, limit: int = 5) -> None:
    """The next ``limit`` pending publications, soonest first (the daemon's start-up plan)."""
    rows = sorted(rows, key=lambda r: (r.due_at, r.post, r.account))
    if not rows:
        message(console, _("nothing pending: waiting for new posts"))
        return
    message(console, _("next {n} of {total} pending publication(s):").format(n=min(limit, len(rows)), total=len(rows)))
    for r in rows[:limit]:
        t = Text("  ")
        t.append(human(r.due_at, tz))
        t.append("  ")
        t.append(r.post, style="cyan")
        t.append(" -> ")
        t.append(r.account, style="cyan")
        _print(console, t)
