"""``spi init``: a working campaign folder. Never overwrites a file."""

from __future__ import annotations

import os
from datetime import datetime, time, timedelta
from importlib import resources
from pathlib import Path

from spi_campaign.errors import SpiError
from spi_campaign.i18n import _
from spi_campaign.safeio import name_problem
from spi_campaign.timeutil import get_zone, now_utc

SAMPLE_POST = "posts/contoh-tolak-gratifikasi.yaml"


def init_campaign(directory: Path, now: datetime | None = None) -> list[tuple[str, str]]:
    """Create config.yaml and a sample post in ``directory``.

    Returns ``(relative path, state)`` for each file: ``"created"``,
    ``"exists"`` (left untouched) or ``"skipped"``: the sample post is only
    written together with a new config.yaml, so running ``spi init`` in an
    existing campaign never brings back a sample post the user deleted.
    """
    now = now or now_utc()
    tz = get_zone("Asia/Makassar")
    # A week ahead, so a new campaign validates clean at any hour (a draft
    # due within 24 hours is a warning) and leaves time to review it.
    day = (now.astimezone(tz) + timedelta(days=7)).date()
    publish_at = datetime.combine(day, time(9, 0)).strftime("%Y-%m-%d %H:%M")
    templates = resources.files("spi_campaign") / "templates"
    files = {
        "config.yaml": (templates / "config.yaml").read_text(encoding="utf-8"),
        SAMPLE_POST: (templates / "post.yaml").read_text(encoding="utf-8").replace("{publish_at}", publish_at),
    }
    bad = name_problem(directory / SAMPLE_POST)
    if bad:
        raise SpiError(_("cannot create a campaign in {dir}: {reason}").format(dir=directory, reason=bad))
    if directory.exists() and not directory.is_dir():
        raise SpiError(_("{dir} exists and is not a folder").format(dir=directory))
    results = []
    for rel, text in files.items():
        target = directory / rel
        if rel == SAMPLE_POST and ("config.yaml", "created") not in results:
            # An existing campaign: its posts are the user's business.
            results.append((rel, "exists" if os.path.lexists(target) else "skipped"))
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # "x" mode: atomic create-or-fail, so a file that appears meanwhile is not overwritten either.
            with open(target, "x", encoding="utf-8") as fh:
                fh.write(text)
            results.append((rel, "created"))
        except FileExistsError:
            if not target.is_file():
                raise SpiError(_("{path} exists and is not a file; move it away and run 'spi init' again").format(
                    path=target)) from None
            results.append((rel, "exists"))
        except OSError as exc:
            raise SpiError(_("cannot create {path}: {reason}").format(path=target, reason=exc.strerror or exc)) from None

    results.append(_init_ledger(directory))
    return results


def _init_ledger(directory: Path) -> tuple[str, str]:
    """The ledger, created now: it records when the campaign was set up (a
    new ledger never publishes what fell due before it existed) and which
    campaign it belongs to."""
    from spi_campaign.config import load_config
    from spi_campaign.ledger import SqliteLedger

    cfg = load_config(directory / "config.yaml")
    if cfg.state_url:
        return _("(PostgreSQL ledger)"), "exists"
    rel = cfg.rel(cfg.state)
    if cfg.state.exists():
        return rel, "exists"
    led = SqliteLedger.open(cfg.state)
    try:
        led.bind(cfg.name)
    finally:
        led.close()
    return rel, "created"
