"""The publishing engine: one object over the three parts that do the work.

- ``planner.Planner``: the campaign's YAML -> ledger rows (no adapters);
- ``dispatch.Dispatcher``: claims, one worker per account, adapter calls,
  outcomes (no YAML);
- ``actions.Actions``: the operator's publish-now, retry and resolve.

Used by ``publish-due`` (one pass, then exit), ``schedule`` (the daemon in
``scheduler.py``) and ``publish ID``. Every publication goes through the same
ledger claim, so any number of these may run at once without publishing
anything twice. See docs/engine.md for the design.

``now`` is injectable (``Engine(now=...)``) so tests can run a campaign at
any instant without touching the clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable, Iterable

from spi_campaign.actions import Actions
from spi_campaign.dispatch import LEASE, Dispatcher, backoff  # noqa: F401  (public names)
from spi_campaign.i18n import _
from spi_campaign.ledger import Ledger, Publication
from spi_campaign.models import Account, Campaign, Config, Post, Rendered
from spi_campaign.planner import HELD_INVALID, Planner  # noqa: F401
from spi_campaign.reports import Outcome, RunReport, SyncReport, Target  # noqa: F401
from spi_campaign.timeutil import now_utc


class Engine:
    """Publishes a campaign through a ledger.

    ``dry_run``: adapters are never called; ``on_dry_run(rendered)`` is
    called instead and the row is recorded as published *in this ledger*
    (the CLI passes an in-memory snapshot, so nothing reaches the real file).
    ``on_outcome``: called (from worker threads) for every outcome.
    ``now``: a fixed clock for tests; None means the real clock.
    ``accounts``: publish only for these accounts (``--account``).
    ``catch_up_new_ledger``: also publish what fell due before the ledger
    was created (inside the catch-up window).
    """

    def __init__(self, config: Config, ledger: Ledger, *, dry_run: bool = False,
                 on_outcome: Callable[[Outcome], None] | None = None,
                 on_dry_run: Callable[[Rendered], None] | None = None,
                 now: datetime | None = None, env=None, catch_up: timedelta | None = None,
                 accounts: Iterable[str] | None = None, catch_up_new_ledger: bool = False):
        self.ledger = ledger
        self.dry_run = dry_run
        self.fixed_now = now
        self.env = env
        self.campaign: Campaign | None = None
        self.planner = Planner(config, ledger, now=self.now, catch_up=catch_up, dry_run=dry_run,
                               catch_up_new_ledger=catch_up_new_ledger, ready=self.account_ready)
        self.dispatcher = Dispatcher(config, ledger, now=self.now, catch_up=lambda: self.planner.catch_up,
                                     campaign=lambda: self.campaign, dry_run=dry_run, on_outcome=on_outcome,
                                     on_dry_run=on_dry_run, env=env, accounts=accounts)
        self.actions = Actions(self)
        self.config = config
        if not dry_run:
            ledger.bind(config.name)

    # ----- shared state --------------------------------------------------------------

    @property
    def config(self) -> Config:
        return self._config

    @config.setter
    def config(self, cfg: Config) -> None:
        self._config = cfg
        self.planner.config = cfg
        self.dispatcher.config = cfg

    def now(self) -> datetime:
        return self.fixed_now if self.fixed_now is not None else now_utc()

    @property
    def catch_up(self) -> timedelta:
        return self.planner.catch_up

    @property
    def owner(self):
        return self.dispatcher.owner

    def set_campaign(self, campaign: Campaign) -> None:
        self.campaign = campaign
        self.config = campaign.config

    def account_ready(self, account: Account) -> bool:
        """Whether the account's credentials are all set (no request made)."""
        import os

        from spi_campaign.compose import adapter_class

        env = os.environ if self.env is None else self.env
        try:
            return all(env.get(n) for n in adapter_class(account).env_names(account))
        except Exception:
            return False

    # ----- planning ------------------------------------------------------------------

    def occurrences(self, post: Post, now: datetime, lookback: datetime) -> list[datetime]:
        return self.planner.occurrences(post, now, lookback)

    def is_occurrence(self, post: Post, occ: datetime) -> bool:
        return self.planner.is_occurrence(post, occ)

    def sync(self, campaign: Campaign | None = None, *, reconcile: bool = True,
             only: frozenset[str] | None = None) -> SyncReport:
        """Bring the ledger in line with the YAML, take over the claims of
        processes that are gone, and re-check unknown outcomes. ``only``: the
        post ids that changed (a daemon reload); then only their rows are
        looked at (claims of dead processes and unknown outcomes always are:
        they are read through the state index, whatever the history)."""
        if campaign is not None:
            self.set_campaign(campaign)
        assert self.campaign is not None, "set_campaign first"
        self.ledger.check_identity()
        rep = self.planner.sync(self.campaign, only=only)
        self.dispatcher.reap(rep)
        if reconcile and not self.dry_run:
            self.dispatcher.reconcile_unknown(rep)
        rep.unknown = [r for r in self.ledger.open_rows(states=("unknown",))
                       if self.dispatcher.wanted(r.account)]
        return rep

    # ----- dispatching ---------------------------------------------------------------

    def publish_row(self, row: Publication) -> Outcome:
        return self.dispatcher.publish_row(row)

    def drain(self, account_name: str, due_by: datetime | None = None) -> int:
        return self.dispatcher.drain(account_name, due_by)

    def kick(self, accounts: Iterable[str], due_by: datetime | None = None) -> None:
        self.dispatcher.kick(accounts, due_by)

    def wait_idle(self, timeout: float | None = None) -> bool:
        return self.dispatcher.wait_idle(timeout)

    def stop(self) -> None:
        self.dispatcher.stop()

    def close(self) -> None:
        self.dispatcher.close()

    def take_outcomes(self) -> list[Outcome]:
        return self.dispatcher.take_outcomes()

    @property
    def after_drain(self):
        return self.dispatcher.after_drain

    @after_drain.setter
    def after_drain(self, cb) -> None:
        self.dispatcher.after_drain = cb

    @property
    def stopping(self) -> bool:
        return self.dispatcher._stopping.is_set()

    def problems(self) -> list[Publication]:
        """Publications inside the alert window that need a person. Failed
        ones whose post was since cancelled or deleted are settled here
        (``skipped``): cancelling the post resolves them."""
        from spi_campaign.ledger import Change

        now = self.now()
        rows = self.ledger.problems(now - self.config.alert_window, now)
        if self.campaign is not None and not self.dry_run and not self.campaign.broken_files:
            settle = []
            for r in rows:
                post = self.campaign.post(r.post)
                if r.state in ("failed", "missed") and (post is None or post.status == "cancelled"):
                    settle.append(Change(r.key, (r.state,), {"state": "skipped", "hold": None,
                                                             "error": (_("was {state}; the post was deleted")
                                                                       if post is None else
                                                                       _("was {state}; the post was cancelled"))
                                                             .format(state=r.state)},
                                         detail="settled: post cancelled"))
            done = {c.key for c in self.ledger.update(settle, now)}
            rows = [r for r in rows if r.key not in done]
        return [r for r in rows if self.dispatcher.wanted(r.account)]

    def publish_due(self, campaign: Campaign, on_sync: Callable[[SyncReport], None] | None = None) -> RunReport:
        """``publish-due``: sync, publish every due row (accounts in parallel),
        wait, report. Retries that are not due yet are left for the next run."""
        rep = self.sync(campaign)
        if on_sync is not None:
            on_sync(rep)
        start = self.now()
        self.take_outcomes()
        accounts = self.ledger.due_accounts(start)
        if accounts:
            self.kick(sorted(accounts), due_by=start)
            self.wait_idle()
        outcomes = self.take_outcomes()
        if self.dispatcher.fatal is not None:
            raise self.dispatcher.fatal
        return RunReport(rep, outcomes, self.ledger.next_due(self.now()), dry_run=self.dry_run,
                         problems=self.problems())

    # ----- the operator's actions ------------------------------------------------------

    def targets(self, campaign: Campaign, post_id: str, account: str | None = None) -> list[Target]:
        return self.actions.targets(campaign, post_id, account)

    def publish_now(self, targets: list[Target], *, force: bool = False) -> list[Outcome]:
        return self.actions.publish_now(targets, force=force)

    def retry_candidates(self, post_id: str | None = None, account: str | None = None) -> list[Publication]:
        return self.actions.retry_candidates(post_id, account)

    def retry(self, rows: list[Publication]) -> list[Publication]:
        return self.actions.retry(rows)

    def resolve(self, post_id: str, account: str, *, url: str | None, published: bool,
                occurrence: datetime | None = None) -> Publication:
        return self.actions.resolve(post_id, account, url=url, published=published, occurrence=occurrence)
