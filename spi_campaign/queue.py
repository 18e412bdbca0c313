"""Queues: posts with ``queue: ACCOUNT|@GROUP`` take the next free time slot.

Rules (README, "Time slots"):

- a queue is an account or a group with ``slots:`` in config.yaml; one slot
  of a queue holds one post (published at that instant to every account of
  the post: by default the queue's accounts);
- posts that need a slot take the free slots at or after now (or their
  ``not_before``) in this order: higher ``priority`` first, then file path,
  then id;
- once a post has a slot it is stored in the ledger (``queue_slots``) and
  never moves when other posts are added, edited or published;
- a post that is no longer approved, no longer queued there, or deleted
  gives its slot back if that slot is still ahead (the next post to be
  placed may take it; nothing already placed moves). Past slots are history
  and stay. ``reshuffle`` re-plans on purpose;
- a post with errors keeps its slot but is not placed; a post that may sit
  in an unreadable file keeps its slot.

``sync`` is what ``Planner.sync`` calls: it returns the slot of every
approved queued post, and the planner then treats the post like a one-off
post at that instant. Cost: one indexed read of the slots ahead plus the
rows of the campaign's queued posts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from spi_campaign.i18n import _
from spi_campaign.ledger import LIVE_STATES, Ledger, QueueSlot
from spi_campaign.models import Campaign, Config, Post, suggest
from spi_campaign.slotspec import iter_slots, queue_accounts
from spi_campaign.timeutil import UTC, parse_datetime, short_repr, type_name

RETRIES = 5          # rounds of assignment when other runs take the candidate slots first
SPARE = 8            # candidate slots offered beyond the number of posts to place


@dataclass
class QueuePlan:
    """``slots``: post id -> its row, for every approved queued post that has
    a slot; ``new``: the ids placed by this run; ``unplaced``: post id ->
    why it has no slot; ``freed``: rows given back by this run."""

    slots: dict[str, QueueSlot] = field(default_factory=dict)
    new: set[str] = field(default_factory=set)
    unplaced: dict[str, str] = field(default_factory=dict)
    freed: list[QueueSlot] = field(default_factory=list)

    def times(self) -> dict[str, datetime]:
        return {pid: s.slot for pid, s in self.slots.items()}


# ----- post files -------------------------------------------------------------------------

def read_post_queue(raw: dict, config: Config, accounts: tuple[str, ...], publish_at: datetime | None,
                    err: Callable) -> tuple[str | None, int, datetime | None, tuple[str, ...]]:
    """``queue``, ``priority`` and ``not_before`` of a post (loader.py):
    (queue, priority, not_before, accounts); accounts default to the queue's."""
    queue = raw.get("queue")
    if queue is not None:
        if not isinstance(queue, str) or not queue.strip():
            err("queue", _("queue must be an account name or \"@group\" from config.yaml, got {value}").format(
                value=short_repr(queue)))
            queue = None
        else:
            queue = queue.strip()
            if raw.get("publish_at") is not None:
                err("queue", _("a post has either publish_at (an exact time) or queue (the next free slot), not both"))
            if raw.get("repeat") is not None:
                err("repeat", _("a queued post is published once; repeat needs publish_at instead of queue"))
            members = queue_accounts(config, queue)
            if members is None:
                if queue.startswith("@"):
                    groups = getattr(config, "groups", None) or {}
                    err("queue", _("unknown group '{group}'{hint}; groups in config.yaml: {groups}").format(
                        group=queue, hint=suggest(queue[1:], groups),
                        groups=", ".join("@" + g for g in groups) or _("(none)")))
                else:
                    err("queue", f"queue: {config.unknown_account(queue)}")
            elif queue not in config.slots:
                where = (_("slots: {{\"{queue}\": [...]}} at the top of config.yaml") if queue.startswith("@")
                         else _("slots: [\"MON-FRI 09:00\"] to account '{queue}' in config.yaml")).format(queue=queue)
                err("queue", _("queue '{queue}' has no time slots; add {where}").format(queue=queue, where=where))
            elif not members:
                err("queue", _("group '{group}' has no accounts").format(group=queue))
            if not accounts and members:
                accounts = tuple(members)
    priority = raw.get("priority", 0)
    if priority is None:
        priority = 0
    if isinstance(priority, bool) or not isinstance(priority, int):
        err("priority", _("priority must be a whole number (higher goes first), got {type}").format(
            type=type_name(priority)))
        priority = 0
    elif "priority" in raw and queue is None:
        err("priority", _("priority only orders queued posts (add queue: ACCOUNT|@GROUP)"), "warning")
    not_before = None
    if raw.get("not_before") is not None:
        try:
            not_before = parse_datetime(raw["not_before"], config.timezone, field="not_before", allow_date=True)
        except ValueError as exc:
            err("not_before", str(exc))
        else:
            if queue is None:
                err("not_before", _("not_before only applies to a queued post (add queue: ACCOUNT|@GROUP)"),
                    "warning")
    return queue, priority, not_before, accounts


def order_key(post: Post, config: Config) -> tuple:
    """The documented order in which posts take free slots."""
    return (-post.priority, config.rel(post.file), post.id)


# ----- assignment -------------------------------------------------------------------------

def _queued(campaign: Campaign) -> dict[str, Post]:
    out: dict[str, Post] = {}
    for post in campaign.posts:
        if post.queue is not None:
            out.setdefault(post.id, post)
    return out


def _by_id(campaign: Campaign) -> dict[str, Post]:
    out: dict[str, Post] = {}
    for post in campaign.posts:
        out.setdefault(post.id, post)
    return out


def _active(post: Post | None, target: str | None = None) -> bool:
    return (post is not None and post.status == "approved" and post.queue is not None
            and (target is None or post.queue == target))


def sync(config: Config, campaign: Campaign, ledger: Ledger, now: datetime) -> QueuePlan:
    """Give back the slots no longer wanted, place the approved queued posts
    that have none, and return every approved queued post's slot."""
    plan = QueuePlan()
    posts = _by_id(campaign)
    queued = {pid: p for pid, p in posts.items() if p.queue is not None}
    rows = ledger.queue_slots(posts=list(queued), since=now)
    if not rows and not queued:
        return plan
    free: list[QueueSlot] = []
    for row in rows:
        post = posts.get(row.post)
        if _active(post, row.target):
            plan.slots[row.post] = row
        elif row.slot >= now and not (post is None and campaign.broken_files):
            free.append(row)      # cancelled, drafted, moved to another queue or deleted: the slot is free again
    if free:
        ledger.queue_free(free)
        plan.freed = free
    taken: dict[str, set[datetime]] = {}
    for row in rows:
        if row not in free and row.slot >= now:
            taken.setdefault(row.target, set()).add(row.slot)

    waiting: dict[str, list[Post]] = {}
    for pid, post in queued.items():
        if not _active(post) or pid in plan.slots:
            continue
        if pid in campaign.invalid_posts or post.queue not in config.slots:
            plan.unplaced[pid] = _("the post has errors (run 'spi post validate')")
            continue
        waiting.setdefault(post.queue, []).append(post)
    for target, group in sorted(waiting.items()):
        group.sort(key=lambda p: order_key(p, config))
        _place(config, ledger, target, group, taken.get(target, set()), now, plan)
    return plan


def _candidates(config: Config, target: str, group: list[Post], taken: set[datetime], now: datetime) -> list[datetime]:
    """Enough free slots of ``target`` for ``group``: from now and from each
    ``not_before`` ahead, the first len(group) + SPARE free slots."""
    slots = config.slots[target]
    starts = sorted({now} | {p.not_before.astimezone(UTC) for p in group if p.not_before and p.not_before > now})
    want = len(group) + SPARE
    out: set[datetime] = set()
    for start in starts:
        n = 0
        for inst in iter_slots(slots, config.timezone, start):
            if inst in taken:
                continue
            out.add(inst)
            n += 1
            if n >= want:
                break
    return sorted(out)


def _place(config: Config, ledger: Ledger, target: str, group: list[Post], taken: set[datetime], now: datetime,
           plan: QueuePlan) -> None:
    todo = group
    for _ in range(RETRIES):
        cands = _candidates(config, target, todo, taken, now)
        got = ledger.queue_assign(target, [(p.id, _earliest(p, now)) for p in todo], cands, now)
        for pid, row in got.items():
            if row.target == target:
                plan.slots[pid] = row
                if row.assigned_at == now and row.slot in cands:
                    plan.new.add(pid)
        todo = [p for p in todo if p.id not in got]
        if not todo or not cands:
            break
        # other runs took some candidates first: read what is taken now and try again
        taken = {r.slot for r in ledger.queue_slots(since=now) if r.target == target}
    for p in todo:
        plan.unplaced[p.id] = (
            _("no free slot in queue '{queue}' within three years after not_before {when}").format(
                queue=target, when=f"{p.not_before.astimezone(config.timezone):%Y-%m-%d %H:%M}")
            if p.not_before else _("no free slot in queue '{queue}' within three years").format(queue=target))


def _earliest(post: Post, now: datetime) -> datetime:
    return max(now, post.not_before.astimezone(UTC)) if post.not_before else now


def reshuffle(config: Config, campaign: Campaign, ledger: Ledger, now: datetime, target: str | None = None
              ) -> tuple[dict[str, QueueSlot], QueuePlan]:
    """Re-plan on purpose: every queued post (of ``target``, or of every
    queue) whose publication has not gone out gives back its slot, then all
    are placed again in the documented order. Returns (the rows before, the
    new plan)."""
    queued = _queued(campaign)
    rows = ledger.queue_slots(posts=list(queued), since=now)
    before = {r.post: r for r in rows}
    free = []
    keys = []
    for r in rows:
        if target is not None and r.target != target:
            continue
        post = queued.get(r.post)
        if post is not None:
            keys += [(r.post, a, r.slot) for a in post.accounts]
    found = ledger.get_many(keys)
    live = {k[0] for k, pub in found.items() if pub.state in LIVE_STATES}
    for r in rows:
        if (target is None or r.target == target) and r.post not in live:
            free.append(r)
    ledger.queue_free(free)
    plan = sync(config, campaign, ledger, now)
    plan.freed = free
    return before, plan


# ----- views --------------------------------------------------------------------------------

def preview(config: Config, campaign: Campaign, now: datetime) -> QueuePlan:
    """The plan as the next run would make it, without writing anything:
    ``sync`` on an in-memory copy of the ledger (``new``: posts that are not
    placed yet and would get that slot)."""
    from spi_campaign.ledger import open_ledger

    ledger = open_ledger(config, dry_run=True)
    try:
        return sync(config, campaign, ledger, now)
    finally:
        ledger.close()


def show(config: Config, campaign: Campaign, now: datetime, target: str | None = None) -> list[dict[str, Any]]:
    """``spi queue``: the entries as the next run would plan them (read only:
    an in-memory copy of the ledger)."""
    from spi_campaign.ledger import open_ledger

    if target is not None and queue_accounts(config, target) is None:
        from spi_campaign.errors import NotFoundError

        raise NotFoundError(_("unknown queue '{queue}': queues are the accounts and @groups with slots: {queues}")
                            .format(queue=target, queues=", ".join(config.slots) or _("(none)")))
    ledger = open_ledger(config, dry_run=True)
    try:
        plan = sync(config, campaign, ledger, now)
        return queue_entries(config, campaign, plan, ledger, target)
    finally:
        ledger.close()


def queue_entries(config: Config, campaign: Campaign, plan: QueuePlan, ledger: Ledger | None,
                  target: str | None = None) -> list[dict[str, Any]]:
    """What ``spi queue`` shows: one entry per approved queued post, by
    queue then slot; posts without a slot last, with the reason."""
    from spi_campaign.timeutil import iso

    tz = config.timezone
    queued = {pid: p for pid, p in _queued(campaign).items() if _active(p)}
    states: dict[tuple[str, str], str] = {}
    if ledger is not None:
        keys = [(pid, a, s.slot) for pid, s in plan.slots.items() if pid in queued for a in queued[pid].accounts]
        states = {(k[0], k[1]): pub.state for k, pub in ledger.get_many(keys).items()}
    out = []
    for pid, post in queued.items():
        if target is not None and post.queue != target:
            continue
        s = plan.slots.get(pid)
        out.append({
            "queue": post.queue, "post": pid, "slot": iso(s.slot, tz) if s else None,
            "assigned": s is not None and pid not in plan.new,
            "assigned_at": iso(s.assigned_at, tz) if s and pid not in plan.new else None,
            "priority": post.priority, "not_before": iso(post.not_before, tz),
            "accounts": list(post.accounts), "file": config.rel(post.file), "title": post.title,
            "states": {a: states.get((pid, a)) for a in post.accounts},
            "reason": plan.unplaced.get(pid),
            "_slot": s.slot if s else None,
        })
    out.sort(key=lambda e: (e["queue"], e["_slot"] is None, e["_slot"] or datetime.max.replace(tzinfo=UTC),
                            e["post"]))
    return out
