"""Readiness: can every account that publishes soon actually publish?

Checked by ``schedule`` and ``publish-due`` at start (and on every reload):
for each account with a publication due within the catch-up window plus
24 hours, its credentials are set, a ``file`` account's path is a writable
regular file (or can be created), and the ledger is writable. Nothing is
sent to a platform: this is the local half of ``spi accounts check``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from spi_campaign.i18n import _

HORIZON = timedelta(hours=24)


@dataclass(frozen=True)
class NotReady:
    account: str
    message: str
    first: datetime | None = None        # the first publication it affects

    def line(self, tz) -> str:
        if self.first:
            return _("account '{account}': {problem} (first affected publication {when})").format(
                account=self.account, problem=self.message, when=self.first.astimezone(tz).isoformat(timespec="minutes"))
        return _("account '{account}': {problem}").format(account=self.account, problem=self.message)


def _writable_file(path: Path) -> str | None:
    from spi_campaign.adapters.file import path_problem

    return path_problem(path)


def account_problems(account, env) -> list[str]:
    """The local readiness problems of one account (no network): its
    adapter, its credentials, a ``file`` account's path."""
    from spi_campaign.compose import adapter_class

    try:
        cls = adapter_class(account)
    except Exception as exc:
        from spi_campaign.redact import scrub

        return [scrub(str(exc))]
    out = []
    missing = [n for n in cls.env_names(account) if not env.get(n)]
    if missing:
        out.append(_("credentials not set: {names}").format(names=", ".join(missing)))
    if account.platform == "file" and account.options.get("path"):
        problem = _writable_file(Path(account.options["path"]))
        if problem:
            out.append(problem)
    return out


def readiness(engine, campaign, now: datetime | None = None) -> list[NotReady]:
    from spi_campaign.compose import adapter_class

    now = now or engine.now()
    cfg = campaign.config
    horizon = now + engine.catch_up + HORIZON
    first: dict[str, datetime] = {}
    window_start = now - engine.catch_up
    for post in campaign.posts:
        if post.status != "approved" or post.publish_at is None or post.id in campaign.invalid_posts:
            continue
        if post.repeat:
            from spi_campaign.recurrence import next_after

            try:
                occ = next_after(post.repeat, cfg.timezone, post.publish_at, window_start, post.until)
            except ValueError:
                continue
        else:
            occ = post.publish_at
        if occ is None or occ > horizon or occ < window_start:
            continue
        for name in post.accounts:
            if name in cfg.accounts and engine.dispatcher.wanted(name):
                first[name] = min(first.get(name, occ), occ)
    out: list[NotReady] = []
    env = os.environ if engine.env is None else engine.env
    for name in sorted(first):
        for problem in account_problems(cfg.accounts[name], env):
            out.append(NotReady(name, problem, first[name]))
    if not engine.dry_run and engine.ledger.where and getattr(engine.ledger, "path", None):
        path = Path(engine.ledger.path)
        if path.exists() and not os.access(path, os.W_OK):
            out.append(NotReady("(ledger)", _("the ledger {where} is not writable").format(where=path)))
    return out


def report_readiness(console, problems: list[NotReady], tz=None) -> None:
    from datetime import timezone

    from spi_campaign import render_publish as rp

    for p in problems:
        rp.message(console, _("not ready: {problem}").format(problem=p.line(tz or timezone.utc)), "bold yellow")
