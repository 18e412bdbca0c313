"""The data behind ``spi accounts list`` and ``spi accounts check``.

``account_rows`` and ``select_accounts`` read the configuration (and which
credential variables are set); ``check_account`` is the one function that
reaches a platform, through the adapter's ``check()``. The terminal and JSON
output of these rows is in ``render_accounts``.

Secrets: rows carry environment variable *names* and whether each is set,
never a value; every message taken from an exception goes through
``redact.scrub``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Iterable, Mapping

from spi_campaign import redact
from spi_campaign.errors import NotFoundError, SpiError
from spi_campaign.i18n import _, ngettext
from spi_campaign.models import Account, Config, Post
from spi_campaign.timeutil import now_utc

# Options worth showing next to an account (never credentials: those are not options).
SHOWN_OPTIONS = ("page_id", "ig_user_id", "username", "path", "url", "graph_version")


@dataclass
class AccountRow:
    name: str
    platform: str
    label: str
    credentials: list[tuple[str, bool]]          # (env var name, is set)
    optional_credentials: list[tuple[str, bool]] = field(default_factory=list)   # e.g. _APP_SECRET
    posts: int | None = None                     # posts naming the account (None: posts not read)
    approved: int | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(is_set for _, is_set in self.credentials)

    @property
    def missing(self) -> list[str]:
        return [name for name, is_set in self.credentials if not is_set]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "platform": self.platform, "label": self.label,
                "credentials": [{"env": n, "set": s} for n, s in self.credentials],
                "optional_credentials": [{"env": n, "set": s} for n, s in self.optional_credentials],
                "ready": self.ready, "posts": self.posts, "approved": self.approved, "options": self.options}


@dataclass
class CheckRow:
    name: str
    platform: str
    ok: bool
    identity_id: str | None = None
    posts_as: str | None = None
    url: str | None = None
    detail: str | None = None
    error: str | None = None
    kind: str | None = None                      # errors.*.kind of the failure (auth, transient...)
    expires_at: datetime | None = None           # the token's expiry (Meta's debug_token); None: never/unknown
    data_access_expires_at: datetime | None = None
    usage: dict[str, Any] | None = None          # platform usage as data (X: GET /2/usage/tweets)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)   # e.g. the token expires within TOKEN_WARNING

    @property
    def token_expiring(self) -> bool:
        """The token (or Meta's data access) expires within ``TOKEN_WARNING``:
        what an alert (``token_expiring``) is raised on."""
        return bool(self.warnings)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "platform": self.platform, "ok": self.ok, "id": self.identity_id,
                "posts_as": self.posts_as, "url": self.url, "detail": self.detail, "error": self.error,
                "kind": self.kind, "expires_at": _iso(self.expires_at),
                "data_access_expires_at": _iso(self.data_access_expires_at), "usage": self.usage,
                "notes": self.notes, "warnings": self.warnings, "token_expiring": self.token_expiring}


# A token that expires within this is reported (a warning, exit 0) by ``spi accounts check``.
TOKEN_WARNING = timedelta(days=14)


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def expiry_warnings(expires_at: datetime | None, data_access_expires_at: datetime | None,
                    now: datetime, tz: tzinfo | None = None) -> list[str]:
    """One line per expiry at or within ``TOKEN_WARNING`` of ``now``."""
    out = []
    for token, when in ((True, expires_at), (False, data_access_expires_at)):
        if when is None or when - now > TOKEN_WARNING:
            continue
        local = when.astimezone(tz or timezone.utc).strftime("%Y-%m-%d %H:%M %z")
        local = local[:-2] + ":" + local[-2:]
        if when <= now:
            out.append((_("the access token expired on {when}; get a new token") if token else
                        _("the app's access to the account's data expired on {when}; get a new token"))
                       .format(when=local))
        else:
            days = (when - now).total_seconds() / 86400
            left = (ngettext("in {n} day", "in {n} days", round(days)).format(n=f"{days:.0f}") if days >= 1
                    else _("within a day"))
            out.append((_("the access token expires on {when} ({left}); renew it before then") if token else
                        _("the app's access to the account's data expires on {when} ({left}); renew it before then"))
                       .format(when=local, left=left))
    return out


def account_rows(config: Config, posts: Iterable[Post] | None,
                 env: Mapping[str, str] | None = None) -> list[AccountRow]:
    """One row per configured account, in config order. ``posts=None`` when
    the posts could not be read (counts shown as unknown)."""
    from spi_campaign.adapters import registry

    env = os.environ if env is None else env
    counts: dict[str, int] = {}
    approved: dict[str, int] = {}
    post_list = list(posts) if posts is not None else None
    for p in post_list or ():
        for name in set(p.accounts):
            counts[name] = counts.get(name, 0) + 1
            if p.status == "approved":
                approved[name] = approved.get(name, 0) + 1
    rows = []
    for name, acc in config.accounts.items():
        cls = registry.get(acc.platform) if acc.platform else None
        creds = [(n, bool(env.get(n, "").strip())) for n in (cls.env_names(acc) if cls else [])]
        optional = [(n, bool(env.get(n, "").strip())) for n in (cls.optional_env_names(acc)
                                                                 if cls and hasattr(cls, "optional_env_names")
                                                                 else [])]
        rows.append(AccountRow(
            name=name, platform=acc.platform or "?", label=(cls.label if cls else _("unknown platform {platform}").format(platform=repr(acc.platform))),
            credentials=creds, optional_credentials=optional,
            posts=None if post_list is None else counts.get(name, 0),
            approved=None if post_list is None else approved.get(name, 0),
            options={k: (config.rel(acc.options[k]) if k == "path" else acc.options[k])
                     for k in SHOWN_OPTIONS if acc.options.get(k) is not None},
        ))
    return rows


def select_accounts(config: Config, names: Iterable[str]) -> list[Account]:
    """The named accounts (all when none named); NotFoundError naming the unknown ones."""
    names = list(dict.fromkeys(names))
    if not names:
        return list(config.accounts.values())
    unknown = [n for n in names if n not in config.accounts]
    if unknown:
        from spi_campaign.models import suggest

        hint = suggest(unknown[0], config.accounts) if len(unknown) == 1 else ""
        known = ", ".join(config.accounts) or _("none")
        raise NotFoundError(ngettext("unknown account {names}{hint}; configured accounts: {known}",
                                     "unknown accounts {names}{hint}; configured accounts: {known}", len(unknown))
                            .format(names=", ".join(repr(u) for u in unknown), hint=hint, known=known))
    return [config.accounts[n] for n in names]


def check_account(account: Account, tz: tzinfo | None = None, env: Mapping[str, str] | None = None) -> CheckRow:
    """Instantiate the account's adapter and ask the platform who it posts as."""
    from spi_campaign.compose import adapter_class

    try:
        cls = adapter_class(account)
    except SpiError as exc:
        return CheckRow(account.name, account.platform, ok=False, error=redact.scrub(str(exc)), kind="config")
    adapter = None
    try:
        adapter = cls(account, env=env, tz=tz)
        ident = adapter.check()
        expires = getattr(ident, "expires_at", None)
        data_access = getattr(ident, "data_access_expires_at", None)
        return CheckRow(account.name, account.platform, ok=True, identity_id=str(ident.id), posts_as=ident.name,
                        url=ident.url, detail=redact.scrub(ident.detail) if ident.detail else None,
                        expires_at=expires, data_access_expires_at=data_access,
                        usage=getattr(ident, "usage", None),
                        notes=[redact.scrub(n) for n in getattr(ident, "notes", ())],
                        warnings=expiry_warnings(expires, data_access, now_utc(), tz))
    except SpiError as exc:
        return CheckRow(account.name, account.platform, ok=False, error=redact.scrub(str(exc)),
                        kind=getattr(exc, "kind", "error"))
    except Exception as exc:  # a plugin's bug must not hide the other accounts' results
        return CheckRow(account.name, account.platform, ok=False, kind="error",
                        error=redact.scrub(f"unexpected {type(exc).__name__}: {exc}"))
    finally:
        if adapter is not None:
            try:
                adapter.close()
            except Exception:  # pragma: no cover
                pass


def alert_expiring_tokens(config: Config, rows: Iterable[CheckRow]) -> None:
    """Raise a ``token_expiring`` alert (docs/alerts.md) for each checked
    account whose token expires soon; each is sent once. Never raises."""
    from spi_campaign import notify
    from spi_campaign.errors import SpiError
    from spi_campaign.ledger import open_ledger
    from spi_campaign.notify.model import TokenWarning

    warnings = [TokenWarning(r.name, r.expires_at or r.data_access_expires_at, "; ".join(r.warnings))
                for r in rows if r.ok and r.token_expiring]
    if not warnings:
        return
    try:
        ledger = open_ledger(config)
    except SpiError:
        return
    try:
        notify.dispatch(config, ledger, token_warnings=warnings)
    finally:
        ledger.close()
