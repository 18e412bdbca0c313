"""Sending notices through apprise, with bounded time, and recording the
result. apprise is imported here, inside ``send``, only when something is
sent."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from spi_campaign import redact
from spi_campaign.i18n import _
from spi_campaign.ledger import Ledger
from spi_campaign.models import Config, Destination
from spi_campaign.notify import events as ev
from spi_campaign.notify.model import Notice
from spi_campaign.notify.settings import expand

log = logging.getLogger("spi_campaign.notify")

TIMEOUT = 10.0                        # seconds: connect and read timeout of one destination
BUDGET = 30.0                         # seconds: a run stops sending after this; the rest waits for the next
LEASE = timedelta(minutes=5)          # a sender that died: its notices are taken again after this
FIRST_RETRY = timedelta(minutes=1)    # then doubling, capped at MAX_RETRY
MAX_RETRY = timedelta(hours=1)
NOTIFY_TYPES = {"failed": "failure", "unknown": "failure", "missed": "warning", "held": "warning",
                "token_expiring": "warning", "recovered": "success", "digest": "info"}

class SendError(Exception):
    """A notice could not be sent; the message is one line, secrets scrubbed."""


def shown(url: str) -> str:
    """A destination as logs name it: its scheme and host, as written (no
    ``${...}`` value is ever expanded here)."""
    scheme, sep, rest = url.partition("://")
    host = rest.split("/", 1)[0].rpartition("@")[2].split("?", 1)[0]
    return f"{scheme}://{host}" if sep else _("(url from the environment)")


class _Capture(logging.Handler):
    """apprise's warnings while one notice is sent: the reason it failed."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(record.getMessage())
        except Exception:
            self.lines.append(str(record.msg))


def _scrub(text: str, secrets: list[str]) -> str:
    for s in sorted(secrets, key=len, reverse=True):
        if len(s) >= 3:
            text = text.replace(s, redact.MASK)
    return redact.scrub(text)


def send(url: str, title: str, body: str, notify_type: str) -> None:
    """Send one message to the apprise URL ``url`` (as written in config.yaml,
    ``${SPI_NOTIFY_...}`` expanded here). Raises SendError."""
    expanded, secrets, missing = expand(url)
    for s in secrets:
        redact.register(s)
    if missing:
        raise SendError(_("environment variable(s) not set: {names}").format(names=", ".join(missing)))
    logger = logging.getLogger("apprise")
    capture = _Capture()
    saved = logger.propagate, logger.level
    # apprise's own log lines stay out of spi's output: the reason of a
    # failure is captured and logged once, scrubbed, by the caller.
    logger.propagate = False
    logger.setLevel(logging.WARNING)
    logger.addHandler(capture)
    try:
        import apprise

        extra = {"service_timeout": TIMEOUT * 2} if hasattr(apprise.AppriseAsset, "_service_timeout") else {}
        asset = apprise.AppriseAsset(app_id="spi", app_desc="spi-campaign", storage_mode="memory", **extra)
        plugin = apprise.Apprise.instantiate(expanded, asset=asset)
        if plugin is None:
            raise SendError(_("apprise cannot use this url (unknown scheme or missing part; see docs/alerts.md)"))
        for attr in ("socket_connect_timeout", "socket_read_timeout"):
            if getattr(plugin, attr, None) is not None:
                setattr(plugin, attr, min(float(getattr(plugin, attr)), TIMEOUT))
        ap = apprise.Apprise(asset=asset)
        ap.add(plugin)
        ok = ap.notify(body=body, title=title, notify_type=notify_type)
    except SendError:
        raise
    except Exception as exc:   # a bug or an odd URL in a plugin: a failed send, never a crash
        raise SendError(_scrub(f"{type(exc).__name__}: {exc}", secrets)) from None
    finally:
        logger.removeHandler(capture)
        logger.propagate = saved[0]
        logger.setLevel(saved[1])
    if not ok:
        reason = "; ".join(dict.fromkeys(capture.lines)) or _("apprise reported a failure")
        raise SendError(_scrub(" ".join(reason.split())[:400], secrets))


def retry_delay(attempts: int) -> timedelta:
    """After ``attempts`` failed sends: 1 min, 2, 4 ... at most 1 h."""
    return min(FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 20), MAX_RETRY)


def message(config: Config, event: str, items: list[Notice]) -> tuple[str, str]:
    """Title and body of one message for several notices of one event."""
    if len(items) == 1:
        return items[0].title, items[0].body
    head = ev.title(config, event, len(items))
    parts = [x.body for x in items[:ev.MAX_LINES]]
    if len(items) > ev.MAX_LINES:
        parts.append(_("... and {n} more (spi post status)").format(n=len(items) - ev.MAX_LINES))
    return head, "\n\n".join(parts)


def deliver(config: Config, ledger: Ledger, now: datetime) -> tuple[int, int]:
    """Send every due notice, one message per (destination, event). A failed
    send stays pending with a backoff; a notice older than ``alert_window``
    (or whose destination left config.yaml) is given up. (sent, failed)."""
    claimed = ledger.notify_claim(now, now + LEASE)
    if not claimed:
        return 0, 0
    dests: dict[str, Destination] = {d.url: d for d in config.notify}
    groups: dict[tuple[str, str], list[Notice]] = {}
    for x in claimed:
        groups.setdefault((x.destination, x.event), []).append(x)
    start = time.monotonic()
    sent = failed = 0
    for (url, event), items in groups.items():
        dest = dests.get(url)
        if dest is None or event not in dest.events:
            ledger.notify_finish(items, now, status="expired",
                                 error=_("the destination or event is no longer in config.yaml"), count_attempt=False)
            continue
        stale = [x for x in items if x.created_at is not None and x.created_at < now - config.alert_window]
        if stale:
            ledger.notify_finish(stale, now, status="expired",
                                 error=_("not sent within alert_window; last error: {reason}").format(
                                     reason=stale[0].error), count_attempt=False)
            log.warning(_("alert to {destination} given up: {n} {event} notice(s) could not be sent within "
                          "alert_window ({reason})").format(destination=shown(url), n=len(stale), event=event,
                                                            reason=stale[0].error))
            items = [x for x in items if x not in stale]
            if not items:
                continue
        if time.monotonic() - start > BUDGET:
            ledger.notify_finish(items, now, status="pending", count_attempt=False)
            continue
        title, body = message(config, event, items)
        try:
            send(url, title, body, NOTIFY_TYPES.get(event, "info"))
        except SendError as exc:
            failed += len(items)
            at = now + timedelta(seconds=time.monotonic() - start)
            attempts = max(x.attempts for x in items) + 1
            nxt = at + retry_delay(attempts)
            ledger.notify_finish(items, at, status="pending", error=str(exc), next_attempt=nxt)
            log.warning(_("alert to {destination} not sent ({reason}, attempt {n}); retrying at {when}").format(
                destination=shown(url), reason=exc, n=attempts,
                when=nxt.astimezone(config.timezone).isoformat(timespec="seconds")))
        else:
            sent += len(items)
            ledger.notify_finish(items, now + timedelta(seconds=time.monotonic() - start), status="sent")
            log.info(_("alert sent to {destination}: {title}").format(destination=shown(url), title=title))
    return sent, failed
