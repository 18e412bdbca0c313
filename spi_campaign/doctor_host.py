"""The machine half of ``spi doctor``: the clock against the platforms and
what runs ``publish-due`` / ``schedule`` here (crontab, systemd).

Clock: one HTTP ``HEAD`` to each distinct API host of the configured
accounts (``Adapter.api_url``), through requests; the offset is the
server's ``Date`` minus the middle of the local request. ``Date`` has
one-second resolution, so offsets under ``MAX_OFFSET`` (30 s) are ok.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

from spi_campaign.i18n import N_, _

MAX_OFFSET = 30.0                      # seconds
TIMEOUT = 10.0
SYSTEMD_DIR = Path("/etc/systemd/system")
NOTHING_RUNS = N_("nothing runs publish-due or schedule on this machine")

_PUBLISH_DUE = re.compile(r"\bspi\b.*\bpost\s+publish-due\b")
_SCHEDULE = re.compile(r"\bspi\b.*\bpost\s+schedule\b")


def clock(rep, cfg) -> None:
    from spi_campaign.compose import adapter_class

    urls: dict[str, list[str]] = {}
    for name, account in cfg.accounts.items():
        try:
            url = adapter_class(account).api_url(account)
        except Exception:
            continue
        if url:
            urls.setdefault(url, []).append(name)
    if not urls:
        rep.add("clock", "clock offset", "skipped", _("no configured account talks to a platform API"))
        return
    import requests

    for url, names in urls.items():
        label = f"{url} ({', '.join(names)})"
        try:
            before = time.time()
            resp = requests.head(url, timeout=TIMEOUT, allow_redirects=False)
            after = time.time()
            date = resp.headers.get("Date")
        except requests.RequestException as exc:
            rep.add("clock", label, "warning", _("could not ask for the time: {error}").format(error=type(exc).__name__))
            continue
        try:
            server = parsedate_to_datetime(date).timestamp() if date else None
        except (TypeError, ValueError):
            server = None
        if server is None:
            rep.add("clock", label, "warning", _("no usable Date header ({value})").format(value=repr(date)))
            continue
        offset = (before + after) / 2 - server
        text = (_("this machine is {s} s ahead of the platform (server {server})") if offset > 0 else
                _("this machine is {s} s behind the platform (server {server})")).format(
            s=f"{abs(offset):.0f}", server=datetime.fromtimestamp(server, timezone.utc).isoformat(timespec="seconds"))
        if abs(offset) > MAX_OFFSET:
            rep.add("clock", label, "problem", text + _(": more than {max} s; fix NTP (timedatectl set-ntp true)")
                    .format(max=f"{MAX_OFFSET:.0f}"))
        else:
            rep.add("clock", label, "ok", text)


def runner(rep, cfg, *, systemd_dir: Path | None = None) -> None:
    root = cfg.path.resolve().parent
    found = False
    cron = _crontab()
    if cron is None:
        rep.add("runner", "crontab", "skipped", _("crontab is not installed or cannot be read"))
    else:
        mine = [ln.strip() for ln in cron.splitlines()
                if ln.strip() and not ln.lstrip().startswith("#") and _PUBLISH_DUE.search(ln)]
        ours = [ln for ln in mine if _mentions(ln, root, cfg.path)]
        if ours:
            found = True
            rep.add("runner", "crontab", "ok", _("runs publish-due: {line}").format(line=ours[0]))
        elif mine:
            rep.add("runner", "crontab", "warning", _("a publish-due line for another folder (not {root}): {line}")
                    .format(root=root, line=mine[0]))
        else:
            rep.add("runner", "crontab", "skipped", _("no crontab line runs spi post publish-due"))
    units = _units(systemd_dir or SYSTEMD_DIR)
    ours = [u for u, text in units if _mentions(text, root, cfg.path)]
    if ours:
        found = True
        rep.add("runner", "systemd", "ok", _("runs schedule: {unit}").format(unit=ours[0]))
    elif units:
        rep.add("runner", "systemd", "warning", _("{unit} runs spi post schedule for another folder (not {root})")
                .format(unit=units[0][0], root=root))
    else:
        rep.add("runner", "systemd", "skipped", _("no unit in {dir} runs spi post schedule")
                .format(dir=systemd_dir or SYSTEMD_DIR))
    if not found:
        rep.add("runner", "publishing", "warning", _(NOTHING_RUNS))


def _mentions(text: str, root: Path, config: Path) -> bool:
    """The line or unit is for this campaign: it names its folder or config file."""
    for p in {str(root), str(config), str(config.resolve())}:
        if re.search(re.escape(p) + r"(?![\w.-])", text):
            return True
    return False


def _crontab() -> str | None:
    exe = shutil.which("crontab")
    if exe is None:
        return None
    try:
        done = subprocess.run([exe, "-l"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:                 # "no crontab for user": none, which is readable
        return "" if "no crontab" in (done.stderr or "").lower() else None
    return done.stdout


def _units(folder: Path) -> list[tuple[str, str]]:
    out = []
    try:
        paths = sorted(p for p in folder.rglob("*") if p.suffix in (".service", ".conf") and p.is_file())
    except OSError:
        return out
    for p in paths:
        try:
            text = p.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if _SCHEDULE.search(text):
            out.append((str(p), text))
    return out
