"""``spi doctor``: is this machine ready to run the campaign? One report.

Sections, in order: config, posts (the validate summary), accounts (the
local readiness checks; with ``online`` the real ``accounts check``),
ledger (exists, writable, schema, campaign name, counts, problems in the
alert window), clock (``online`` only: the platforms' ``Date`` header) and
runner (a crontab line or systemd unit that runs the campaign;
``doctor_host``). Each finding is a ``Finding`` with status ``ok``,
``warning``, ``problem`` or ``skipped``; any ``problem`` makes the exit
status 1. Nothing here writes to the ledger or publishes anything.

Secrets: findings carry variable names only; text from exceptions goes
through ``redact.scrub``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from spi_campaign.errors import SpiError
from spi_campaign.i18n import _, ngettext
from spi_campaign.redact import scrub

STATUSES = ("ok", "warning", "problem", "skipped")


@dataclass
class Finding:
    section: str
    check: str
    status: str
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"section": self.section, "check": self.check, "status": self.status, "detail": self.detail}


@dataclass
class DoctorReport:
    config: str
    online: bool
    findings: list[Finding] = field(default_factory=list)

    def add(self, section: str, check: str, status: str, detail: str = "") -> None:
        self.findings.append(Finding(section, check, status, scrub(detail)))

    def count(self, status: str) -> int:
        return sum(1 for f in self.findings if f.status == status)

    @property
    def exit_code(self) -> int:
        return 1 if self.count("problem") else 0

    def as_dict(self) -> dict[str, Any]:
        return {"config": self.config, "online": self.online, "ok": not self.count("problem"),
                "problems": self.count("problem"), "warnings": self.count("warning"),
                "findings": [f.as_dict() for f in self.findings]}


def run_doctor(config_path: Path, *, online: bool = False, env: Mapping[str, str] | None = None,
               now: datetime | None = None, systemd_dir: Path | None = None) -> DoctorReport:
    """Every check; never raises ``SpiError`` (a failing check is a finding)."""
    from spi_campaign import doctor_host
    from spi_campaign.timeutil import now_utc

    env = os.environ if env is None else env
    now = now or now_utc()
    rep = DoctorReport(str(config_path), online)
    try:
        from spi_campaign.config import load_config

        cfg = load_config(config_path)
    except SpiError as exc:
        rep.add("config", "config.yaml", "problem", str(exc))
        return rep
    rep.add("config", "config.yaml", "ok", _("{file}: campaign '{name}', {n} account(s), timezone {zone}").format(
        file=cfg.rel(cfg.path), name=cfg.name, n=len(cfg.accounts), zone=cfg.timezone_name))
    campaign = _posts(rep, cfg, now)
    _accounts(rep, cfg, campaign, env, online)
    _ledger(rep, cfg, now)
    if online:
        doctor_host.clock(rep, cfg)
    else:
        rep.add("clock", "clock offset", "skipped", _("needs --online (asks each platform's API for its time)"))
    doctor_host.runner(rep, cfg, systemd_dir=systemd_dir)
    return rep


def _posts(rep: DoctorReport, cfg, now: datetime):
    from spi_campaign.loader import load_campaign

    try:
        campaign = load_campaign(cfg, now=now)
    except SpiError as exc:
        rep.add("posts", "post files", "problem", str(exc))
        return None
    errors = [p for p in campaign.problems if p.severity == "error"]
    warnings = [p for p in campaign.problems if p.severity != "error"]
    approved = sum(1 for p in campaign.posts if p.status == "approved")
    summary = _("{files} file(s), {posts} post(s) ({approved} approved), {errors} error(s), {warnings} warning(s)"
                ).format(files=campaign.files, posts=len(campaign.posts), approved=approved, errors=len(errors),
                         warnings=len(warnings))
    if errors or campaign.broken_files:
        first = errors[0] if errors else None
        where = _("; first: {where}: {message}").format(where=f"{first.file}:{first.line or '?'}",
                                                        message=first.message) if first else ""
        rep.add("posts", "post files", "problem", f"{summary}{where} (spi post validate)")
    elif warnings:
        rep.add("posts", "post files", "warning", f"{summary} (spi post validate)")
    else:
        rep.add("posts", "post files", "ok", summary)
    return campaign


def _accounts(rep: DoctorReport, cfg, campaign, env, online: bool) -> None:
    from spi_campaign.readiness import account_problems

    used = {a for p in (campaign.posts if campaign else ()) if p.status == "approved" for a in p.accounts}
    if not cfg.accounts:
        rep.add("accounts", "accounts", "warning", _("no accounts in config.yaml"))
    for name, account in cfg.accounts.items():
        problems = account_problems(account, env)
        if problems:
            # An account no approved post uses cannot hold anything up: a warning.
            status = "problem" if name in used or campaign is None else "warning"
            extra = "" if status == "problem" else _(" (no approved post uses it)")
            rep.add("accounts", name, status, "; ".join(problems) + extra)
            continue
        if not online:
            rep.add("accounts", name, "ok", _("{platform}: ready (local checks; --online asks the platform)")
                    .format(platform=account.platform))
            continue
        from spi_campaign.accounts import check_account

        row = check_account(account, cfg.timezone, env=env)
        if not row.ok:
            rep.add("accounts", name, "problem", row.error or _("check failed"))
        elif row.warnings:
            rep.add("accounts", name, "warning", "; ".join(row.warnings))
        else:
            rep.add("accounts", name, "ok", _("{platform}: posts as {who}").format(platform=account.platform,
                                                                                    who=row.posts_as))


def _ledger(rep: DoctorReport, cfg, now: datetime) -> None:
    from spi_campaign.adapters.file import path_problem
    from spi_campaign.ledger import SCHEMA_VERSION, SqliteLedger

    path = Path(cfg.state)
    where = cfg.rel(path)
    if not path.exists():
        problem = path_problem(path)
        rep.add("ledger", "ledger", "problem" if problem else "warning",
                problem or _("{where} does not exist yet (the first publish-due or schedule creates it; "
                             "it never publishes what fell due before it existed)").format(where=where))
        return
    problem = path_problem(path) or _folder_problem(path.parent)
    rep.add("ledger", "writable", "problem" if problem else "ok", problem or f"{where}")
    try:
        led = SqliteLedger.open(path, readonly=True)
    except SpiError as exc:
        rep.add("ledger", "schema", "problem", str(exc))
        return
    try:
        version = led.meta("schema_version")
        if version == SCHEMA_VERSION:
            rep.add("ledger", "schema", "ok", _("version {version}").format(version=version))
        else:
            rep.add("ledger", "schema", "warning", _("version {version}; upgraded to {new} on first use")
                    .format(version=version, new=SCHEMA_VERSION))
        owner = led.meta("campaign")
        if owner is None:
            rep.add("ledger", "campaign", "ok", _("not yet bound (the first publication binds it to '{name}')")
                    .format(name=cfg.name))
        elif owner != cfg.name:
            rep.add("ledger", "campaign", "problem",
                    _("the ledger belongs to campaign '{owner}', not '{name}': point 'state:' at this "
                      "campaign's own ledger, or set 'name: {owner}' if it is the same campaign")
                    .format(owner=owner, name=cfg.name))
        else:
            rep.add("ledger", "campaign", "ok", f"'{owner}'")
        counts = led.counts()
        rep.add("ledger", "publications", "ok",
                ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or _("none yet"))
        rows = led.problems(now - cfg.alert_window, now)
        if rows:
            kinds: dict[str, int] = {}
            for r in rows:
                k = "held" if r.state == "pending" else r.state
                kinds[k] = kinds.get(k, 0) + 1
            what = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
            rep.add("ledger", "problems", "problem",
                    ngettext("{n} publication needs attention ({detail}): spi post status --problems",
                             "{n} publications need attention ({detail}): spi post status --problems", len(rows))
                    .format(n=len(rows), detail=what))
        else:
            rep.add("ledger", "problems", "ok", _("nothing needs attention in the alert window"))
    except SpiError as exc:
        rep.add("ledger", "read", "problem", str(exc))
    finally:
        led.close()


def _folder_problem(folder: Path) -> str | None:
    """SQLite writes its -wal and -shm files next to the ledger."""
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return _("folder {folder} does not accept new files (the ledger's -wal/-shm): {reason}").format(
            folder=folder, reason=exc.strerror or exc)
    return None
