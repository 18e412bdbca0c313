"""Finding the post files of a campaign: every ``*.yaml``/``*.yml`` below
``posts_dir``, following symbolic links safely (loops and links to a folder
already read are reported, each real folder is read once)."""

from __future__ import annotations

import os
from pathlib import Path

from spi_campaign.errors import CampaignError
from spi_campaign.i18n import _


def find_post_files(posts_dir: Path, unreadable: list[tuple[Path, str]] | None = None,
                    notes: list[tuple[Path, str]] | None = None) -> list[Path]:
    """Every ``*.yaml``/``*.yml`` below ``posts_dir``, sorted; hidden folders skipped.

    Symbolic links are followed (a linked sub-folder holds posts like any
    other), each real folder is read once: a link back to a folder being read
    (a loop) or to a folder already read is appended to ``notes`` as
    ``(path, reason)``, as is a link that leads nowhere (a loop of links, a
    missing target). A folder that cannot be listed is never silently empty
    (its posts would look deleted and be skipped): ``posts_dir`` itself
    raises, a subfolder is appended to ``unreadable`` as ``(path, reason)``."""
    if not posts_dir.is_dir():
        if posts_dir.exists():
            raise CampaignError(_("posts folder {folder} is not a folder (set posts_dir in config.yaml)").format(
                folder=posts_dir))
        raise CampaignError(_("posts folder {folder} does not exist (set posts_dir in config.yaml)").format(
            folder=posts_dir))
    found: list[Path] = []
    read: dict[tuple[int, int], Path] = {}

    def note(path: Path, reason: str) -> None:
        if notes is not None:
            notes.append((path, reason))

    def walk(folder: Path, ancestors: dict[tuple[int, int], Path]) -> None:
        try:
            st = os.stat(folder)
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            if folder == posts_dir:
                raise CampaignError(_("cannot read the posts folder {folder}: {reason}").format(
                    folder=posts_dir, reason=reason)) from None
            if unreadable is not None:
                unreadable.append((folder, reason))
            return
        key = (st.st_dev, st.st_ino)
        if key in ancestors:
            note(folder, _("symbolic link loop: leads back to {folder}; not read again").format(
                folder=ancestors[key]))
            return
        if key in read:
            note(folder, _("same folder as {folder} (symbolic link); its posts are read once, there").format(
                folder=read[key]))
            return
        read[key] = folder
        inner = {**ancestors, key: folder}
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            path = Path(folder, name)
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                walk(path, inner)
            elif name.endswith((".yaml", ".yml")):
                found.append(path)   # a broken link here is a file that cannot be read: a problem of its own
            elif entry.is_symlink() and not _target_exists(path):
                note(path, _("symbolic link leads nowhere ({reason}); ignored").format(reason=_link_problem(path)))

    walk(posts_dir, {})
    found.sort(key=lambda p: p.parts)   # the order Path comparison gives, without its per-compare cost
    return found


def _target_exists(path: Path) -> bool:
    try:
        os.stat(path)
        return True
    except (OSError, ValueError):
        return False


def _link_problem(path: Path) -> str:
    try:
        os.stat(path)
    except OSError as exc:
        return exc.strerror or _("cannot follow")
    return _("cannot follow")

