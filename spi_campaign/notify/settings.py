"""The ``notify:``, ``alert_window`` and ``digest_at`` keys of config.yaml.

Secrets never go in config.yaml: a notification URL names them as
``${SPI_NOTIFY_<NAME>}`` references, expanded from the environment only when
a notification is sent. Only ``SPI_NOTIFY_*`` variables are expanded, so a
reviewed-looking config change cannot post another secret (a platform token,
say) to a webhook. A URL with a secret written literally where apprise
expects one (a password, a bot token, a webhook token, a ``?token=``
parameter) is an error that says how to move it to the environment.

The URL checks are hand-written (apprise is imported only when sending,
never while reading the config): they cover the schemes the docs show and
the usual secret parameters; they are a safety net, not a proof.
"""

from __future__ import annotations

import os
import re
from datetime import time, timedelta
from typing import Any, Callable, Mapping
from urllib.parse import parse_qsl

from spi_campaign.i18n import N_, _
from spi_campaign.models import Destination, suggest
from spi_campaign.notify.model import EVENTS, PROBLEM_EVENTS
from spi_campaign.timeutil import parse_duration, short_repr, type_name

KEYS = ("notify", "alert_window", "digest_at")
DEST_KEYS = ("url", "events")
DEFAULT_EVENTS = PROBLEM_EVENTS + ("token_expiring",)
DEFAULT_WINDOW = "7d"
DEFAULT_DIGEST_AT = time(8, 0)

_REF = re.compile(r"\$\{([^}]*)\}")
_REF_NAME = re.compile(r"SPI_NOTIFY_[A-Z0-9_]+\Z")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://(.*)\Z", re.S)
_HHMM = re.compile(r"\s*(\d{1,2}):(\d{2})\s*\Z")

# Query parameters that carry a secret, whatever the service.
SECRET_PARAMS = {"pass", "password", "pwd", "token", "key", "apikey", "api_key", "secret", "access_token",
                 "accesstoken", "auth", "bot_token", "bottoken", "webhook", "apptoken", "app_token", "user_key",
                 "userkey", "client_secret", "tokena", "tokenb", "tokenc"}
# Schemes whose host part is a token (tgram://BOTTOKEN/CHAT_ID, pbul://ACCESSTOKEN, ...).
HOST_SECRET = {"tgram", "pbul", "pover", "slack", "discord", "msteams", "pushed", "join", "prowl", "spush"}
# Schemes whose path segments are tokens (slack://A/B/C, discord://ID/TOKEN, gotify://host/TOKEN).
# Segments naming a channel or user (#x, @x, +x, !x) are not secrets.
PATH_SECRET = {"slack", "discord", "msteams", "gotify", "gotifys", "workflows", "workflow"}
# Schemes whose user part, written without a password, is an access token (matrixs://TOKEN@host).
USER_SECRET = {"matrix", "matrixs", "ntfy", "ntfys", "pover"}
# https URLs apprise reads as a service whose path holds the token.
WEBHOOK_HOSTS = ("hooks.slack.com", "discord.com", "discordapp.com", "webhook.office.com", "api.telegram.org")
WEBHOOK_WORDS = {"services", "api", "webhooks", "webhookb2", "incomingwebhook", "sendmessage"}

HOW = N_("secrets never go there: put it in an environment variable SPI_NOTIFY_<NAME> and write "
         "${{SPI_NOTIFY_<NAME>}} instead (e.g. mailto://user:${{SPI_NOTIFY_MAIL_PASSWORD}}@example.go.id "
         "or tgram://${{SPI_NOTIFY_TELEGRAM_TOKEN}}/CHAT_ID)")


def _literal(part: str) -> bool:
    """Whether ``part`` holds anything besides ``${...}`` references."""
    return bool(_REF.sub("", part).strip())


def url_problems(url: str) -> list[str]:
    """What is wrong with a notification URL as written in config.yaml
    (never quoting the URL: it may hold the very secret we complain about)."""
    out: list[str] = []
    stripped = _REF.sub("", url)
    if "${" in stripped:
        out.append(_("has an unterminated ${{...}} reference").format())
    bad = sorted({n for n in _REF.findall(url) if not _REF_NAME.match(n)})
    if bad:
        out.append(_("refers to {names}; only SPI_NOTIFY_* variables (upper case) are expanded in notify urls, "
                     "so no other secret can be sent anywhere").format(names=", ".join("${" + b + "}" for b in bad)))
    if not stripped.strip():
        return out                     # the whole URL comes from the environment
    m = _SCHEME.match(url.strip())
    if m is None:
        out.append(_("must be an apprise URL such as json://host:port/path, mailto://host or tgram://... "
                     "(see docs/alerts.md)"))
        return out
    scheme, rest = m.group(1).lower(), m.group(2)
    rest, _sep, query = rest.partition("?")
    netloc, _sep, path = rest.partition("/")
    userinfo, at, host = netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    what: list[str] = []
    if colon and _literal(password):
        what.append(_("a password"))
    if scheme in USER_SECRET and at and not colon and _literal(user):
        what.append(_("an access token (the user part)"))
    if scheme in HOST_SECRET and _literal(host):
        what.append(_("a token (the host part)"))
    webhook = scheme in ("http", "https") and any(host.lower() == h or host.lower().endswith("." + h)
                                                  for h in WEBHOOK_HOSTS)
    if scheme in PATH_SECRET or webhook:
        segments = [s for s in path.split("/") if s and s[0] not in "#@+!"]
        if webhook:   # fixed words of the webhook path are not secrets; api.telegram.org/bot<TOKEN>
            segments = [s[3:] if s.lower().startswith("bot") else s for s in segments
                        if s.lower() not in WEBHOOK_WORDS]
        if any(_literal(s) for s in segments):
            what.append(_("a token (in the path)"))
    for k, v in parse_qsl(query, keep_blank_values=True):
        if k.lower() in SECRET_PARAMS and _literal(v):
            what.append(_("a secret in the '{name}' parameter").format(name=k))
    if what:
        out.append(_("has {what} written in config.yaml; {how}").format(what=_(" and ").join(dict.fromkeys(what)),
                                                                         how=_(HOW).format()))
    return out


def expand(url: str, env: Mapping[str, str] | None = None) -> tuple[str, list[str], list[str]]:
    """(the URL with ``${SPI_NOTIFY_...}`` expanded, the values used, the
    names of variables that are not set)."""
    env = os.environ if env is None else env
    used: list[str] = []
    missing: list[str] = []

    def sub(m: re.Match) -> str:
        name = m.group(1)
        value = env.get(name) if _REF_NAME.match(name) else None
        if not value:
            missing.append(name)
            return ""
        used.append(value)
        return value

    return _REF.sub(sub, url), used, missing


def _digest_at(value: Any) -> time:
    """``"08:00"``. YAML 1.1 reads an unquoted ``10:30`` as the number 630
    (minutes): accepted back as 10:30."""
    if isinstance(value, int) and not isinstance(value, bool) and 60 <= value < 1440:
        return time(value // 60, value % 60)
    m = _HHMM.match(value) if isinstance(value, str) else None
    if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
        return time(int(m.group(1)), int(m.group(2)))
    raise ValueError(_("digest_at must be a time of day such as \"08:00\" (in the campaign timezone), got {value}")
                     .format(value=short_repr(value)))


def read(raw: Mapping[str, Any], lines: Mapping[str, int],
         err: Callable[..., None]) -> tuple[tuple[Destination, ...], timedelta, time]:
    """The three keys from the top-level config mapping; problems go to
    ``err(line, message)`` and a default is used in their place."""
    try:
        window = parse_duration(raw.get("alert_window", DEFAULT_WINDOW))
        if window <= timedelta(0):
            raise ValueError(_("alert_window must be longer than 0s"))
    except ValueError as exc:
        err(lines.get("alert_window"), f"alert_window: {exc}")
        window = parse_duration(DEFAULT_WINDOW)
    try:
        digest_at = _digest_at(raw.get("digest_at", "08:00"))
    except ValueError as exc:
        err(lines.get("digest_at"), str(exc))
        digest_at = DEFAULT_DIGEST_AT

    spec = raw.get("notify")
    if spec is None:
        return (), window, digest_at
    line = lines.get("notify")
    if not isinstance(spec, list):
        err(line, _("notify must be a list of destinations ({{url: ..., events: [...]}}), got {type}")
            .format(type=type_name(spec)))
        return (), window, digest_at
    dests: list[Destination] = []
    seen: set[str] = set()
    for i, entry in enumerate(spec):
        eline = getattr(entry, "line", line)
        where = f"notify[{i}]"
        if not isinstance(entry, dict):
            err(eline, _("{where} must be a mapping {{url: ..., events: [...]}}, got {type}")
                .format(where=where, type=type_name(entry)))
            continue
        klines = getattr(entry, "key_lines", {}) or {}
        ok = True
        for key in entry:
            if key not in DEST_KEYS:
                err(klines.get(key, eline), _("{where}: unknown key '{key}'{hint}").format(
                    where=where, key=key, hint=suggest(key, DEST_KEYS)))
                ok = False
        url = entry.get("url")
        if not isinstance(url, str) or not url.strip():
            err(klines.get("url", eline),
                (_("{where} needs 'url', an apprise URL such as json://host:port/path (see docs/alerts.md)")
                 if url is None else
                 _("{where} needs 'url', an apprise URL such as json://host:port/path (see docs/alerts.md), got {type}"))
                .format(where=where, type=type_name(url)))
            continue
        url = url.strip()
        for message in url_problems(url):
            err(klines.get("url", eline), _("{where} url {problem}").format(where=where, problem=message))
            ok = False
        if url in seen:
            err(klines.get("url", eline), _("{where}: the same url is listed twice; list its events once").format(
                where=where))
            ok = False
        seen.add(url)
        events = entry.get("events", list(DEFAULT_EVENTS))
        if isinstance(events, str):
            events = [events]
        if not isinstance(events, list) or not events:
            err(klines.get("events", eline), _("{where}: events must be a list of: {events}").format(
                where=where, events=", ".join(EVENTS)))
            continue
        for ev in events:
            if ev not in EVENTS:
                err(klines.get("events", eline), _("{where}: unknown event {event}{hint}; events are: {events}").format(
                    where=where, event=short_repr(ev), hint=suggest(ev, EVENTS), events=", ".join(EVENTS)))
                ok = False
        if ok:
            dests.append(Destination(url=url, events=tuple(dict.fromkeys(events)), line=klines.get("url", eline)))
    return tuple(dests), window, digest_at
