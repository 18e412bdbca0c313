"""``spi init``: a working campaign folder. Never overwrites a file."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from importlib import resources
from pathlib import Path

from spi_campaign.errors import SpiError
from spi_campaign.safeio import name_problem
from spi_campaign.timeutil import get_zone, now_utc

SAMPLE_POST = "posts/contoh-tolak-gratifikasi.yaml"


def init_campaign(directory: Path, now: datetime | None = None) -> list[tuple[str, bool]]:
    """Create config.yaml and a sample post in ``directory``.

    Returns ``(relative path, created)`` for each file; ``created`` is False
    when the file already existed and was left untouched.
    """
    now = now or now_utc()
    tz = get_zone("Asia/Makassar")
    tomorrow = (now.astimezone(tz) + timedelta(days=1)).date()
    publish_at = datetime.combine(tomorrow, time(9, 0)).strftime("%Y-%m-%d %H:%M")
    templates = resources.files("spi_campaign") / "templates"
    files = {
        "config.yaml": (templates / "config.yaml").read_text(encoding="utf-8"),
        SAMPLE_POST: (templates / "post.yaml").read_text(encoding="utf-8").replace("{publish_at}", publish_at),
    }
    bad = name_problem(directory / SAMPLE_POST)
    if bad:
        raise SpiError(f"cannot create a campaign in {directory}: {bad}")
    if directory.exists() and not directory.is_dir():
        raise SpiError(f"{directory} exists and is not a folder")
    results = []
    for rel, text in files.items():
        target = directory / rel
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # "x" mode: atomic create-or-fail, so a file that appears meanwhile is not overwritten either.
            with open(target, "x", encoding="utf-8") as fh:
                fh.write(text)
            results.append((rel, True))
        except FileExistsError:
            if not target.is_file():
                raise SpiError(f"{target} exists and is not a file; move it away and run 'spi init' again") from None
            results.append((rel, False))
        except OSError as exc:
            raise SpiError(f"cannot create {target}: {exc.strerror or exc}") from None
    return results
