"""The operator's actions on the ledger: publish one post now, retry,
resolve. Each goes through the same claims as scheduled publishing."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from spi_campaign.errors import NotFoundError, SpiError
from spi_campaign.i18n import _
from spi_campaign.ledger import LIVE_STATES, Change, Publication
from spi_campaign.models import Campaign, Post
from spi_campaign.planner import MAX_LOOKBACK, post_digest
from spi_campaign.reports import Outcome, Target
from spi_campaign.timeutil import UTC


class Actions:
    def __init__(self, engine):
        self.e = engine

    def targets(self, campaign: Campaign, post_id: str, account: str | None = None) -> list[Target]:
        """What ``publish ID`` would publish: one occurrence per account (see
        docs/engine.md, "Publishing one post now"). Raises a user-facing
        SpiError when the post cannot be published."""
        e = self.e
        post = campaign.require_post(post_id)
        if post.id in campaign.invalid_posts:
            raise SpiError(_("post '{post}' has errors and cannot be published; run 'spi post validate'")
                           .format(post=post_id))
        if post.status != "approved":
            raise SpiError(_("post '{post}' is {status}; set status: approved to publish it")
                           .format(post=post_id, status=post.status))
        if post.publish_at is None and post.queue is not None:    # queued: published at the slot it got
            slot = next((s for s in e.ledger.queue_slots(posts=[post.id]) if s.target == post.queue), None)
            if slot is None:
                raise SpiError(_("post '{post}' has no slot in queue '{queue}' yet (see 'spi queue')")
                               .format(post=post_id, queue=post.queue))
            post = replace(post, publish_at=slot.slot)
        if post.publish_at is None:
            raise SpiError(_("post '{post}' has no publish_at").format(post=post_id))
        if account is not None:
            e.config.account(account)
            if account not in post.accounts:
                raise SpiError(_("post '{post}' is not for account '{account}' (its accounts: {accounts})")
                               .format(post=post_id, account=account, accounts=", ".join(post.accounts)))
            names = [account]
        else:
            names = list(post.accounts)
        now = e.now()
        out = []
        for name in names:
            acc = e.config.account(name)
            occ = self._current_occurrence(post, name, now)
            if occ is None:
                raise SpiError(_("post '{post}' has no occurrence to publish (until has passed)").format(post=post_id))
            row = e.ledger.get((post.id, name, occ))
            if (row is None or row.state == "skipped") and not post.repeat:
                # A one-off post whose time moved after it went out: that publication is this post's.
                live = e.ledger.live_of(post.id, name)
                if live is not None:
                    occ, row = live.occurrence, live
            out.append(Target(post, acc, occ, row))
        return out

    def _current_occurrence(self, post: Post, account: str, now: datetime) -> datetime | None:
        e = self.e
        if not post.repeat:
            return post.publish_at.astimezone(UTC)
        from spi_campaign.recurrence import last_at_or_before, next_after

        tz = e.config.timezone
        last = last_at_or_before(post.repeat, tz, post.publish_at, now, post.until, not_before=now - MAX_LOOKBACK)
        if last is not None:
            row = e.ledger.get((post.id, account, last))
            if row is None or row.state != "published":
                return last
        nxt = next_after(post.repeat, tz, post.publish_at, now + timedelta(microseconds=1), post.until)
        return nxt if nxt is not None else last

    def publish_now(self, targets: list[Target], *, force: bool = False) -> list[Outcome]:
        """Publish each target now, through a claim. ``force`` also takes
        rows already published (or unknown)."""
        from spi_campaign.dispatch import LEASE

        e = self.e
        states = ("pending", "failed", "missed", "skipped")
        if force:
            states += ("published", "unknown")
        out = []
        for t in targets:
            now = e.now()
            key = (t.post.id, t.account.name, t.occurrence)
            e.ledger.insert([Publication(post=key[0], account=key[1], occurrence=key[2],
                                         content_hash=e.planner.content_hash(t.post, t.account),
                                         post_digest=post_digest(t.post, t.account),
                                         local_at=e.planner.local(t.occurrence), file=str(t.post.file))], now)
            row = e.ledger.claim(key, e.dispatcher.owner, now, lease_until=now + LEASE, from_states=states)
            if row is None:
                cur = e.ledger.get(key)
                state = cur.state if cur else "missing"
                out.append(e.dispatcher.emit(Outcome(
                    key[0], key[1], key[2], "refused", now,
                    error=(_("it is {state} (use --force)") if state in ("published", "unknown")
                           else _("it is {state}")).format(state=state))))
                continue
            e.dispatcher.track(row)
            out.append(e.dispatcher.publish_row(row))
        return out

    def retry_candidates(self, post_id: str | None = None, account: str | None = None) -> list[Publication]:
        rows = self.e.ledger.rows(post=post_id, account=account, states=("failed", "unknown", "pending"))
        return [r for r in rows if r.state != "pending" or r.hold]

    def retry(self, rows: list[Publication]) -> list[Publication]:
        e = self.e
        now = e.now()
        changes = [Change(r.key, (r.state,) if r.state == "pending" else ("failed", "unknown"),
                          {"state": "pending", "attempts": 0, "next_attempt": None, "error": None, "hold": None,
                           "lease_until": None},
                          detail=f"retry requested (was {'held' if r.state == 'pending' else r.state})")
                   for r in rows]
        applied = {c.key for c in e.ledger.update(changes, now)}
        return [r for r in rows if r.key in applied]

    def resolve(self, post_id: str, account: str, *, url: str | None, published: bool,
                occurrence: datetime | None = None) -> Publication:
        """Record what a person checked by hand on the platform."""
        e = self.e
        states = ("unknown", "failed", "missed") if published else ("unknown",)
        all_rows = e.ledger.rows(post=post_id, account=account)
        rows = [r for r in all_rows if r.state in states]
        if occurrence is not None:
            rows = [r for r in rows if r.occurrence == occurrence]
        if not rows:
            if not all_rows:
                raise NotFoundError(_("no publication of post '{post}' to account '{account}' in the ledger")
                                    .format(post=post_id, account=account))
            have = ", ".join(sorted({r.state for r in all_rows}))
            need = _(" or ").join(states)
            raise SpiError((_("nothing to resolve: post '{post}' on '{account}' has no {need} publication at that "
                              "occurrence (states: {have})") if occurrence else
                            _("nothing to resolve: post '{post}' on '{account}' has no {need} publication "
                              "(states: {have})")).format(post=post_id, account=account, need=need, have=have))
        if len(rows) > 1:
            occs = ", ".join(r.occurrence.astimezone(e.config.timezone).isoformat(timespec="seconds")
                             for r in rows)
            raise SpiError(_("post '{post}' on '{account}' has several publications to resolve ({occurrences}); "
                             "choose one with --occurrence").format(post=post_id, account=account, occurrences=occs))
        row = rows[0]
        now = e.now()
        if published:
            values = {"state": "published", "url": url, "published_at": row.claimed_at or now,
                      "published_hash": row.content_hash, "error": None, "next_attempt": None,
                      "lease_until": None}
            detail = f"resolved by hand: published at {url}"
        else:
            values = {"state": "pending", "attempts": 0, "next_attempt": None, "lease_until": None,
                      "error": None, "hold": None, "claim_token": None}
            detail = "resolved by hand: not published; will be published by the next run"
        if not e.ledger.update([Change(row.key, states, values, detail=detail)], now):
            raise SpiError(_("the publication changed while resolving; run the command again"))
        from dataclasses import replace

        return replace(row, **{k: v for k, v in values.items() if hasattr(row, k)})
