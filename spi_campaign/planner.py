"""Planning: the campaign's YAML -> the ledger's rows.

Knows posts, recurrence and the ``Ledger`` interface; knows nothing of
adapters, claims or how rows are stored. Safe to run from any number of
processes at once: inserts ignore rows that exist, every change is a
compare-and-set.

Flat cost (docs/engine.md): a sync reads the open rows (pending, publishing,
unknown) and looks up the keys the campaign wants by primary key. Published,
missed and resolved history is never loaded, and a post whose digest did not
change since the row was written is not rendered again.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Callable

from spi_campaign.compose import render
from spi_campaign.i18n import N_, _, made_from
from spi_campaign.ledger import Change, Ledger, Publication, parse_ts, ts
from spi_campaign.models import Account, Campaign, Config, Post
from spi_campaign.reports import SyncReport
from spi_campaign.timeutil import UTC

MAX_LOOKBACK = timedelta(days=7)        # recurring posts: how far back occurrences are looked for
MAX_DUE_PER_TARGET = 1000               # recurring: occurrences inside the catch-up window, per post/account
MAX_MISSED_PER_TARGET = 100             # recurring: missed occurrences recorded, per post/account

HELD_INVALID = N_("the post has errors (run 'spi post validate')")   # translated where it is stored
ACCOUNT_HOLD = "account: "              # prefix of a hold the account caused (credentials, billing)
NEW_LEDGER_FLAG = "--catch-up-from-new-ledger"
_NEW_LEDGER_MISSED = N_("fell due before this ledger was created ({since}); a new or emptied ledger never publishes "
                        "the past (use '{flag}' to publish it)")
# Skipped by a guard (not a cancellation): recognised again in the stored error text.
_MOVED = N_("moved after it was {state} at {when}; not published again (use 'spi post publish --force' to publish "
            "it again)")
_TZ_CHANGED = N_("this local time ({local}) was already {state} at {when} UTC, before the timezone changed")
# The account options that say where an account publishes: its history follows them.
DESTINATION_KEYS = ("page_id", "ig_user_id", "threads_user_id", "chat_id", "handle", "username", "path")


def dur(td: timedelta) -> str:
    s = int(td.total_seconds())
    for unit, n in (("d", 86400), ("h", 3600), ("m", 60)):
        if s and s % n == 0:
            return f"{s // n}{unit}"
    return f"{s}s"


def destination(account: Account) -> str | None:
    for key in DESTINATION_KEYS:
        value = account.options.get(key)
        if value not in (None, ""):
            value = str(value).strip().lstrip("@")
            return f"{account.platform}:{key}={value.lower() if key in ('username', 'handle') else value}"
    return None


def post_digest(post: Post, account: Account) -> str:
    """Changes whenever what ``render(post, account)`` depends on changes."""
    src = repr((post.content, sorted(post.variants.items(), key=lambda kv: kv[0]), account.platform,
                sorted((k, repr(v)) for k, v in account.options.items()),
                sorted((k, repr(v)) for k, v in account.vars.items())))   # templates (docs/templates.md)
    return hashlib.blake2b(src.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


class Planner:
    """``now``: the clock; ``catch_up``: the catch-up window;
    ``catch_up_new_ledger``: publish what fell due before the ledger existed."""

    def __init__(self, config: Config, ledger: Ledger, *, now: Callable[[], datetime], catch_up: timedelta | None,
                 dry_run: bool = False, catch_up_new_ledger: bool = False, ready: Callable[[Account], bool] | None
                 = None):
        self.config = config
        self.ledger = ledger
        self.now = now
        self._catch_up = catch_up
        self.dry_run = dry_run
        self.catch_up_new_ledger = catch_up_new_ledger
        self.ready = ready                       # account -> can it publish now (credentials present...)
        self.campaign: Campaign | None = None
        self.latest_due: dict[str, datetime] = {}
        self._hashes: dict[tuple[str, str, str], str | None] = {}
        self._slot_index: tuple[dict, dict] | None = None

    @property
    def catch_up(self) -> timedelta:
        return self.config.catch_up if self._catch_up is None else self._catch_up

    # ----- occurrences ---------------------------------------------------------------

    def occurrences(self, post: Post, now: datetime, lookback: datetime) -> list[datetime]:
        """The occurrences the ledger should hold for ``post`` (UTC): a one-off
        post's ``publish_at``; for a recurring post, those in
        ``[lookback, now]`` (bounded) plus the next one after ``now``."""
        if post.publish_at is None:
            return []
        if not post.repeat:
            return [post.publish_at.astimezone(UTC)]
        from spi_campaign.recurrence import next_after, occurrences

        tz = self.config.timezone
        window = now - self.catch_up
        out: list[datetime] = []
        if lookback < window:
            out += occurrences(post.repeat, tz, post.publish_at, lookback, window - timedelta(microseconds=1),
                               post.until, limit=MAX_MISSED_PER_TARGET)
        out += occurrences(post.repeat, tz, post.publish_at, max(lookback, window), now, post.until,
                           limit=MAX_DUE_PER_TARGET)
        nxt = next_after(post.repeat, tz, post.publish_at, now + timedelta(microseconds=1), post.until)
        if nxt is not None:
            out.append(nxt)
        return sorted({o.astimezone(UTC) for o in out})

    def is_occurrence(self, post: Post, occ: datetime) -> bool:
        """Whether ``occ`` is (still) one of the post's publication times."""
        if post.publish_at is None:
            return False
        if not post.repeat:
            return post.publish_at == occ
        from spi_campaign.recurrence import is_occurrence

        return is_occurrence(post.repeat, self.config.timezone, post.publish_at, occ, post.until)

    def local(self, occ: datetime) -> str:
        """The occurrence's local wall time and the zone it was planned in."""
        return occ.astimezone(self.config.timezone).strftime("%Y-%m-%dT%H:%M") + "|" + self.config.timezone_name

    def content_hash(self, post: Post, account: Account, digest: str | None = None) -> str | None:
        digest = digest or post_digest(post, account)
        k = (post.id, account.name, digest)
        if k not in self._hashes:
            if len(self._hashes) > 200_000:
                self._hashes.clear()
            try:
                self._hashes[k] = render(post, account, None).content_hash()
            except Exception:  # an unknown platform: the post is invalid anyway
                self._hashes[k] = None
        return self._hashes[k]

    def superseded(self, post: Post, occ: datetime) -> str | None:
        """Recurring posts catch up once: an occurrence that was never tried
        and has a later occurrence already due is coalesced into it."""
        latest = self.latest_due.get(post.id) if post.repeat else None
        if latest is not None and occ < latest:
            return (_("superseded by the later occurrence {when} (catch-up publishes a recurring post once)")
                    .format(when=latest.astimezone(self.config.timezone).isoformat(timespec="minutes")))
        return None

    # ----- sync ----------------------------------------------------------------------

    def sync(self, campaign: Campaign, only: frozenset[str] | None = None) -> SyncReport:
        """Bring the ledger in line with the YAML (see the module docstring).
        ``only``: look at these post ids alone (a reload that changed them)."""
        self.campaign = campaign
        cfg = self.config
        now = self.now()
        cutoff = now - self.catch_up
        rep = SyncReport()
        broken = sorted(str(p) for p in campaign.broken_files)
        rep.broken_files = [cfg.rel(p) for p in broken]
        invalid = campaign.invalid_posts
        last_sync = parse_ts(self.ledger.meta("last_sync")) or now
        lookback = max(min(last_sync, cutoff), now - MAX_LOOKBACK)
        epoch = None if self.catch_up_new_ledger else self.ledger.created_at
        if getattr(self.ledger, "new", False):
            rep.new_ledger = self.ledger.created_at

        posts: dict[str, Post] = {}
        for post in campaign.posts:
            posts.setdefault(post.id, post)
        rep.invalid_posts = sorted(pid for pid in invalid if pid in posts)
        # Queued posts (queue.py): each is a one-off post at the slot it got.
        from spi_campaign.queue import sync as queue_sync

        for pid, when in queue_sync(cfg, campaign, self.ledger, now).times().items():
            posts[pid] = replace(posts[pid], publish_at=when)
        for prob in campaign.problems:
            if prob.severity != "error" or not prob.file:
                continue
            where = f"{cfg.rel(prob.file)}:{prob.line}" if prob.line else cfg.rel(prob.file)
            key = prob.post if prob.post in rep.invalid_posts else cfg.rel(prob.file)
            rep.reasons.setdefault(key, f"{where}: {prob.message}")
        if not self.dry_run:
            self._follow_account_renames(now, rep)

        desired: dict[tuple[str, str, datetime], tuple[Post, Account]] = {}
        latest_due: dict[str, datetime] = {}
        for post in posts.values():
            if post.status != "approved" or post.publish_at is None or (only is not None and post.id not in only):
                continue
            occs = self.occurrences(post, now, lookback)
            if post.repeat:
                due = [o for o in occs if o <= now]
                if due:
                    latest_due[post.id] = due[-1]
            for name in post.accounts:
                account = cfg.accounts.get(name)
                if account is not None:
                    for occ in occs:
                        desired[(post.id, name, occ)] = (post, account)
        self.latest_due = latest_due

        open_rows = {r.key: r for r in self.ledger.open_rows(posts=only)}
        if only is not None and any(r.post not in posts for r in open_rows.values()):
            # A post gone from the files: deleted, or renamed to an id this
            # partial sync does not look at. Only a full sync can tell.
            return self.sync(campaign)
        found = self.ledger.get_many(desired)
        changes: list[Change] = []
        new_rows: list[Publication] = []
        for key, (post, account) in desired.items():
            row = found.get(key)
            if row is None:
                new = self._new_row(key, post, account, posts, open_rows, now, cutoff, epoch, rep)
                if new is not None:
                    new_rows.append(new)
            elif row.state == "skipped":
                self._revive(row, post, account, cutoff, changes)
            elif row.state == "missed" and epoch is None and made_from(row.error, _NEW_LEDGER_MISSED):
                # missed only because the ledger was new: the flag asks for it
                if (row.occurrence >= cutoff and post.id not in self.campaign.invalid_posts
                        and not self.superseded(post, row.occurrence)):
                    changes.append(Change(key, ("missed",), {"state": "pending", "error": None},
                                          detail=f"caught up ({NEW_LEDGER_FLAG})"))
            elif row.state == "published" and not post.repeat:
                self._check_edited(row, post, account, changes, rep)
        inserted = set(self.ledger.insert(new_rows, now))
        rep.inserted = len(inserted)
        for r in new_rows:
            if r.key not in inserted:
                continue
            if r.state == "missed":
                rep.missed.append(r)
            elif r.state == "pending" and r.hold and r.due_at <= now:
                rep.held_due.append(r)

        for key, row in open_rows.items():
            if row.state == "pending":
                self._sync_pending(row, posts.get(row.post), campaign, desired, broken, now, cutoff, changes, rep)
        applied = self.ledger.update(changes, now)
        for ch in applied:
            row = open_rows.get(ch.key) or found.get(ch.key)
            if row is None:
                continue
            st = ch.values.get("state")
            if st == "skipped" and row.state != "skipped":
                rep.skipped.append((_with(row, ch.values), ch.values.get("error") or ""))
            elif st == "missed":
                rep.missed.append(_with(row, ch.values))
            elif st == "pending" and row.state == "skipped":
                rep.revived.append(_with(row, ch.values))
        if not self.dry_run and only is None:
            self.ledger.set_meta("last_sync", ts(now))
        return rep

    # ----- one desired key that has no row yet ------------------------------------------------

    def _new_row(self, key, post: Post, account: Account, posts: dict[str, Post], open_rows: dict,
                 now: datetime, cutoff: datetime, epoch: datetime | None, rep: SyncReport) -> Publication | None:
        pid, name, occ = key
        tz = self.config.timezone
        digest = post_digest(post, account)
        h = self.content_hash(post, account, digest)
        local = self.local(occ)
        base = Publication(post=pid, account=name, occurrence=occ, content_hash=h, file=str(post.file),
                           local_at=local, post_digest=digest)
        # A one-off post that went out (or may have) is not published again
        # because its time moved (a new publish_at, or a new timezone).
        if not post.repeat:
            live = self.ledger.live_of(pid, name)
            if live is not None:
                rep.edited.append(live)
                when = live.occurrence.astimezone(tz).isoformat(timespec="minutes")
                return replace(base, state="skipped", error=_(_MOVED).format(state=live.state, when=when))
        else:
            # A recurring post whose slot was published under another timezone
            # (config.yaml's timezone edited): the same local time is the same slot.
            live = self.ledger.live_of(pid, name, local_at=local)
            if live is not None and live.occurrence != occ:
                when = live.occurrence.astimezone(UTC).isoformat(timespec="minutes")
                return replace(base, state="skipped",
                               error=_(_TZ_CHANGED).format(local=local.split("|")[0], state=live.state, when=when))
        # A renamed post (file or id): the row of the vanished id at this
        # account and time with the same content moves to the new id.
        candidates = [r for r in self.ledger.live_at(name, occ) if r.post not in posts]
        candidates += [r for r in self._pending_at(open_rows).get((name, occ), ()) if r.post not in posts
                       and r.key in open_rows]
        for old in candidates:
            if old.content_hash and old.content_hash == h and self.ledger.rename_post(old.key, pid, self.now()):
                open_rows.pop(old.key, None)
                rep.renamed.append((pid, name, occ, old))
                return None
        error = None
        state = "pending"
        if epoch is not None and occ < epoch:
            state = "missed"
            error = _(_NEW_LEDGER_MISSED).format(since=epoch.astimezone(tz).isoformat(timespec="minutes"),
                                                 flag=NEW_LEDGER_FLAG)
        elif occ < cutoff:
            state, error = "missed", _("older than the catch-up window ({window}) when first seen").format(
                window=dur(self.catch_up))
        else:
            superseded = self.superseded(post, occ)
            if superseded:
                state, error = "missed", superseded
        hold = None
        if state == "pending" and post.id in self.campaign.invalid_posts:
            hold = _(HELD_INVALID)
        return replace(base, state=state, error=error, hold=hold)

    def _pending_at(self, open_rows: dict) -> dict:
        """Pending open rows by (account, occurrence), built once per sync."""
        if self._slot_index is None or self._slot_index[0] is not open_rows:
            index: dict = {}
            for r in open_rows.values():
                if r.state == "pending":
                    index.setdefault((r.account, r.occurrence), []).append(r)
            self._slot_index = (open_rows, index)
        return self._slot_index[1]

    def _revive(self, row: Publication, post: Post, account: Account, cutoff: datetime, changes: list[Change]) -> None:
        """A skipped row whose post is scheduled again at that time."""
        if made_from(row.error, _MOVED) or made_from(row.error, _TZ_CHANGED):
            return     # a guard's decision, not a cancellation: stays skipped
        if post.id in self.campaign.invalid_posts:
            return
        digest = post_digest(post, account)
        values: dict[str, Any] = {"hold": None, "content_hash": self.content_hash(post, account, digest),
                                  "post_digest": digest, "file": str(post.file), "attempts": 0,
                                  "next_attempt": None}
        if row.occurrence < cutoff:
            values.update(state="missed", error=_("older than the catch-up window ({window}) when scheduled again")
                          .format(window=dur(self.catch_up)))
        else:
            values.update(state="pending", error=None)
        changes.append(Change(row.key, ("skipped",), values, detail="scheduled again"))

    def _check_edited(self, row: Publication, post: Post, account: Account, changes: list[Change],
                      rep: SyncReport) -> None:
        """A published one-off post edited afterwards: reported once per
        change (then only in ``status``), never published again."""
        digest = post_digest(post, account)
        if row.post_digest == digest:
            return
        h = self.content_hash(post, account, digest)
        values: dict[str, Any] = {"post_digest": digest}
        if h and row.published_hash and h != row.published_hash and h != row.edited_hash:
            values["edited_hash"] = h
            rep.edited.append(row)
        changes.append(Change(row.key, ("published",), values))

    # ----- open rows -----------------------------------------------------------------------------

    def _sync_pending(self, row: Publication, post: Post | None, campaign: Campaign, desired: dict,
                      broken: list[str], now: datetime, cutoff: datetime, changes: list[Change],
                      rep: SyncReport) -> None:
        key = row.key

        def hold(reason: str) -> None:
            if row.hold != reason:
                changes.append(Change(key, ("pending",), {"hold": reason}, detail=f"held: {reason}"))
            if row.due_at <= now:
                rep.held_due.append(_with(row, {"hold": reason}))

        if post is None:
            if broken:
                if row.file in broken:
                    hold(_("its file {file} cannot be read").format(file=self.config.rel(row.file)))
                else:
                    hold(_("post not found, and post file(s) that cannot be read may hold it: {files}")
                         .format(files=", ".join(self.config.rel(b) for b in broken)))
                return
            changes.append(Change(key, ("pending",), {"state": "skipped", "hold": None,
                                                      "error": _("the post was deleted from the YAML")},
                                  detail="post deleted"))
            return
        if post.id in campaign.invalid_posts:
            hold(_(HELD_INVALID))
            return
        account = self.config.accounts.get(row.account)
        scheduled = (post.status == "approved" and account is not None and row.account in post.accounts
                     and (key in desired or self.is_occurrence(post, row.occurrence)))
        if not scheduled:
            if post.status != "approved":
                why = f"the post is {post.status}"
                error = _("the post is {status}").format(status=post.status)
            elif account is None or row.account not in post.accounts:
                why = f"account '{row.account}' is no longer in the post's accounts"
                error = _("account '{account}' is no longer in the post's accounts").format(account=row.account)
            elif post.queue is not None:
                why = f"the post's slot in queue '{post.queue}' moved (reshuffle, or a new queue)"
                error = _("the post's slot in queue '{queue}' moved (reshuffle, or a new queue)").format(
                    queue=post.queue)
            else:
                why = "the post is no longer scheduled at this time (publish_at/repeat/until changed)"
                error = _("the post is no longer scheduled at this time (publish_at/repeat/until changed)")
            changes.append(Change(key, ("pending",), {"state": "skipped", "hold": None, "error": error},
                                  detail=why))
            return
        values: dict[str, Any] = {}
        if row.hold is not None and row.hold.startswith(ACCOUNT_HOLD):
            # Held because of its account: released once the account looks
            # ready again (credentials set) or the platform's reset passed.
            if row.occurrence < cutoff:
                values.update(state="missed", hold=None,
                              error=_("{hold} — held until past the catch-up window ({window})")
                              .format(hold=row.hold, window=dur(self.catch_up)))
                changes.append(Change(key, ("pending",), values, detail="missed while held"))
                return
            # (next_attempt None: a credential missing here, released once it is set;
            # otherwise the platform refused it: tried again at next_attempt)
            fixed = (row.next_attempt is not None and row.next_attempt <= now) or \
                    (row.next_attempt is None and self.ready is not None and self.ready(account))
            if not fixed:
                if row.occurrence <= now:
                    rep.held_due.append(row)
                return
            values.update(hold=None, next_attempt=None)
        elif row.hold is not None:
            values["hold"] = None
        digest = post_digest(post, account)
        if digest != row.post_digest:
            h = self.content_hash(post, account, digest)
            values["post_digest"] = digest
            if h != row.content_hash:
                values["content_hash"] = h
        f = str(post.file)
        if f != row.file:
            values["file"] = f
        if row.attempts == 0 and row.next_attempt is None:
            superseded = self.superseded(post, row.occurrence)
            if row.occurrence < cutoff:
                values.update(state="missed", hold=None,
                              error=_("not published within the catch-up window ({window})")
                              .format(window=dur(self.catch_up)))
            elif superseded:
                values.update(state="missed", hold=None, error=superseded)
        if values:
            changes.append(Change(key, ("pending",), values,
                                  detail="missed" if values.get("state") == "missed" else None))

    # ----- accounts renamed in config.yaml ---------------------------------------------------------

    def _follow_account_renames(self, now: datetime, rep: SyncReport) -> None:
        """An account's history follows its destination (platform plus page
        id, user, chat or path): a rename in config.yaml keeps it."""
        for name, account in self.config.accounts.items():
            dest = destination(account)
            if dest is None:
                continue
            owner = self.ledger.set_meta_default(f"dest:{dest}", name)
            if owner == name:
                continue
            if owner in self.config.accounts:
                continue    # two accounts with one destination: leave both histories alone
            moved = self.ledger.rename_account(owner, name, now)
            self.ledger.set_meta(f"dest:{dest}", name)
            rep.accounts_renamed.append((owner, name, moved))


def _with(row: Publication, values: dict[str, Any]) -> Publication:
    return replace(row, **{k: v for k, v in values.items() if hasattr(row, k)})
