"""config.yaml -> ``Config``. The shape is a public contract (README, "config.yaml").

``read_config`` never raises for content problems: it returns the problems
(so ``validate`` can list them with everything else) and a Config when one
could be built. ``load_config`` is for the other commands: it raises
``ConfigError`` with the first error.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from spi_campaign.errors import ConfigError
from spi_campaign.i18n import _
from spi_campaign.models import Account, Config, Problem, suggest
from spi_campaign.safeio import name_problem, realpath
from spi_campaign.timeutil import get_zone, parse_duration, short_repr, type_name
from spi_campaign.yamlio import LineDict, YamlProblem, load_file

DEFAULT_TIMEZONE = "Asia/Makassar"
TOP_KEYS = ("name", "timezone", "posts_dir", "state", "catch_up", "max_attempts", "retry_backoff", "accounts",
            "notify", "alert_window", "digest_at", "slots", "pricing", "topics", "topic_gap_days", "vars", "groups")
ACCOUNT_KEYS = ("platform", "max_per_day", "slots", "vars")


def find_config(explicit: str | os.PathLike | None) -> Path:
    """``--config``, then ``$SPI_CONFIG``, then ``./config.yaml``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("SPI_CONFIG")
    if env:
        return Path(env)
    return Path("config.yaml")


def read_config(path: Path) -> tuple[Config | None, list[Problem]]:
    problems: list[Problem] = []
    fname = str(path)

    def err(line, message, account=None, severity="error"):
        problems.append(Problem(fname, line, None, account, severity, message))

    bad_name = name_problem(path)
    if bad_name:
        err(None, _("cannot use this config file name: {reason}").format(reason=bad_name))
        return None, problems
    if not path.exists():
        err(None, _("config file not found: {path} (create one with 'spi init', or pass --config PATH)")
            .format(path=os.path.abspath(path)))
        return None, problems
    try:
        docs = load_file(path)
    except YamlProblem as exc:
        err(exc.line, exc.message)
        return None, problems
    docs = [d for d in docs if d is not None]
    if not docs:
        raw: LineDict = LineDict()
        raw.line, raw.key_lines, raw.dupes = 1, {}, None
    elif len(docs) > 1 or not isinstance(docs[0], dict):
        err(getattr(docs[0], "line", 1), _("config must be one mapping (key: value), not {what}").format(
            what=_("several documents") if len(docs) > 1 else type_name(docs[0])))
        return None, problems
    else:
        raw = docs[0]

    lines = raw.key_lines
    for key, line in raw.dupes or ():
        err(line, _("key '{key}' appears twice").format(key=key))
    for key in raw:
        if key not in TOP_KEYS:
            err(lines.get(key), _("unknown key '{key}'{hint}").format(key=key, hint=suggest(key, TOP_KEYS)))

    root = realpath(path).parent
    tz_name = raw.get("timezone", DEFAULT_TIMEZONE)
    try:
        tz = get_zone(tz_name)
    except ValueError as exc:
        err(lines.get("timezone"), f"timezone: {exc}")
        tz_name, tz = DEFAULT_TIMEZONE, get_zone(DEFAULT_TIMEZONE)

    def path_value(key: str, default: str, override: str | None = None) -> Path:
        value = override or raw.get(key, default)
        if not isinstance(value, str) or not value.strip():
            err(lines.get(key), _("{key} must be a path, got {type}").format(key=key, type=type_name(value)))
            value = default
        bad = name_problem(value if os.path.isabs(value) else root / value)
        if bad:
            err(lines.get(key), f"{key}: {bad}")
            value = default
        return realpath(root / value) if not os.path.isabs(value) else Path(value)

    posts_dir = path_value("posts_dir", "posts")
    # state: a SQLite path (the embedded default) or a postgresql:// URL;
    # $SPI_STATE overrides it (a URL with a password belongs in the environment).
    state_url = None
    raw_state = os.environ.get("SPI_STATE") or raw.get("state", ".spi/state.db")
    if isinstance(raw_state, str) and raw_state.startswith(("postgresql://", "postgres://")):
        state_url, state = raw_state, (root / ".spi" / "state.db")
        from urllib.parse import urlsplit

        try:
            if urlsplit(state_url).password and not os.environ.get("SPI_STATE"):
                err(lines.get("state"), _("state: the PostgreSQL URL holds a password: put it in the environment "
                                          "(SPI_STATE, or PGPASSWORD / ~/.pgpass), never in config.yaml"))
        except ValueError:
            err(lines.get("state"), _("state: not a valid postgresql:// URL"))
    else:
        state = path_value("state", ".spi/state.db", os.environ.get("SPI_STATE"))

    def duration(key: str, default: str):
        try:
            return parse_duration(raw.get(key, default))
        except ValueError as exc:
            err(lines.get(key), f"{key}: {exc}")
            return parse_duration(default)

    catch_up = duration("catch_up", "6h")
    name = raw.get("name", root.name or "campaign")
    if not isinstance(name, str) or not name.strip() or len(name) > 200 or not name.isprintable():
        err(lines.get("name"), _("name must be a short one-line text naming the campaign, got {value}")
            .format(value=short_repr(name)))
        name = root.name or "campaign"
    retry_backoff = duration("retry_backoff", "30s")
    max_attempts = raw.get("max_attempts", 5)
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        err(lines.get("max_attempts"), _("max_attempts must be a whole number >= 1, got {value}")
            .format(value=short_repr(max_attempts)))
        max_attempts = 5

    from spi_campaign.groups import read_groups, read_vars   # templates: docs/templates.md

    campaign_vars = read_vars(raw.get("vars"), lines.get("vars"), "vars", err)
    accounts: dict[str, Account] = {}
    raw_accounts = raw.get("accounts", {})
    if raw_accounts is None:
        raw_accounts = {}
    if not isinstance(raw_accounts, dict):
        err(lines.get("accounts"), _("accounts must be a mapping of account name to settings, got {type}")
            .format(type=type_name(raw_accounts)))
        raw_accounts = {}
    # (not ``name``: that is the campaign's name, used below)
    for acc_name, spec in raw_accounts.items():
        acc = _read_account(acc_name, spec, raw_accounts.key_lines.get(acc_name)
                            if isinstance(raw_accounts, LineDict) else None, root, err)
        if acc is not None:
            own = spec.get("vars") if isinstance(spec, dict) else None
            vline = spec.key_lines.get("vars") if isinstance(spec, LineDict) else None
            acc.vars = {**campaign_vars, **read_vars(own, vline, _("account '{account}': vars").format(account=acc_name),
                                                     lambda ln, msg, _n=acc_name: err(ln, msg, _n))}
            accounts[str(acc_name)] = acc
    groups = read_groups(raw.get("groups"), lines.get("groups"), accounts, err)

    from spi_campaign.notify import settings as notify_settings   # alerts: docs/alerts.md

    notify, alert_window, digest_at = notify_settings.read(raw, lines, err)
    from spi_campaign import slotspec       # queues: README, "Time slots"

    slots = slotspec.read(raw, lines, raw_accounts, err)

    from spi_campaign import plan_settings     # spi plan / calendar: README, "Calendar and plan"

    pricing, topics, topic_gap_days = plan_settings.read(raw, lines, err)

    cfg = Config(path=path, root=root, timezone_name=tz_name, timezone=tz, posts_dir=posts_dir, state=state,
                 catch_up=catch_up, max_attempts=max_attempts, retry_backoff=retry_backoff, accounts=accounts,
                 name=name.strip(), state_url=state_url, notify=notify, alert_window=alert_window, digest_at=digest_at,
                 pricing=pricing, topics=topics, topic_gap_days=topic_gap_days, topics_line=lines.get("topics"),
                 vars=campaign_vars, groups=groups)
    cfg.slots = slots
    slotspec.check_targets(slots, accounts, getattr(cfg, "groups", None) or {}, err)
    return cfg, problems


def _read_account(name: Any, spec: Any, line: int | None, root: Path, err) -> Account | None:
    from spi_campaign.adapters import registry

    if not isinstance(name, str) or not name.strip():
        err(line, _("account name must be a string, got {value}").format(value=short_repr(name)))
        return None
    if not isinstance(spec, dict):
        err(line, _("account '{name}' must be a mapping with at least 'platform', got {type}")
            .format(name=name, type=type_name(spec)), name)
        return Account(name=name, platform="", line=line)  # kept so posts naming it get no second error
    klines = spec.key_lines if isinstance(spec, LineDict) else {}
    platform = spec.get("platform")
    if not isinstance(platform, str):
        err(klines.get("platform", line), _("account '{name}' needs 'platform' (one of: {platforms})")
            .format(name=name, platforms=", ".join(registry.available())), name)
        return Account(name=name, platform="", line=line)
    cls = registry.get(platform)
    if cls is None:
        err(klines.get("platform", line), _("account '{name}': unknown platform '{platform}'; available platforms: "
                                            "{platforms}").format(name=name, platform=platform,
                                                                  platforms=", ".join(registry.available())), name)
        return Account(name=name, platform=platform, line=line)
    options: dict[str, Any] = {}
    for key, value in spec.items():
        kline = klines.get(key, line)
        if key in ACCOUNT_KEYS:
            continue
        opt = cls.options.get(key)
        if opt is None:
            if key in ("token", "access_token", "page_token", "api_key", "api_secret", "access_token_secret", "password", "secret"):
                env = "SPI_" + "".join(c if c.isalnum() else "_" for c in name).upper() + "_" + key.upper()
                err(kline, _("account '{name}': credentials never go in config.yaml; set the environment variable "
                             "{env} instead").format(name=name, env=env), name)
            else:
                err(kline, _("account '{name}': unknown key '{key}' for platform {platform}{hint}").format(
                    name=name, key=key, platform=platform, hint=suggest(key, list(cls.options) + list(ACCOUNT_KEYS))),
                    name)
            continue
        if opt.kind is str and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)  # page_id: 1234567890 written without quotes
        if opt.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, opt.kind) or isinstance(value, bool) != (opt.kind is bool):
            err(kline, _("account '{name}': {key} must be {kind}, got {type}").format(
                name=name, key=key, kind=opt.kind.__name__, type=type_name(value)), name)
            continue
        if opt.is_path:
            bad = name_problem(value if os.path.isabs(value) else root / value)
            if bad:
                err(kline, _("account '{name}': {key}: {problem}").format(name=name, key=key, problem=bad), name)
                continue
            value = str(realpath(root / value)) if not os.path.isabs(value) else value
        options[key] = value
    for key, opt in cls.options.items():
        if key not in options:
            if opt.required and key not in spec:
                err(line, _("account '{name}' (platform {platform}) needs '{key}': {help}").format(
                    name=name, platform=platform, key=key, help=_(opt.help)), name)
            elif opt.default is not None:
                options[key] = opt.default
    max_per_day = spec.get("max_per_day")
    if max_per_day is not None and (isinstance(max_per_day, bool) or not isinstance(max_per_day, int) or max_per_day < 1):
        err(klines.get("max_per_day", line), _("account '{name}': max_per_day must be a whole number >= 1")
            .format(name=name), name)
        max_per_day = None
    # Returned even when invalid: validate already reported why, and posts naming
    # the account should not get a misleading "unknown account" on top.
    return Account(name=name, platform=platform, options=options, max_per_day=max_per_day, line=line)


def load_config(path: Path) -> Config:
    cfg, problems = read_config(path)
    errors = [p for p in problems if p.severity == "error"]
    if cfg is None or errors:
        first = errors[0]
        where = f"{first.file}:{first.line}" if first.line else f"{first.file}"
        more = (_(" (and {n} more; run 'spi post validate')").format(n=len(errors) - 1)
                if len(errors) > 1 else "")
        raise ConfigError(f"{where}: {first.message}{more}")
    return cfg
