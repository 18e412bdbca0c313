"""The ``file`` platform: appends one JSON line per publication to ``path``.

It makes the whole engine usable with no credentials, and it is a real sink:
an audit trail or a hand-off to other tools. Each line is
``{"post", "account", "occurrence", "published_at", "text", "link",
"hashtags", "media"}`` with ISO-8601 times with offset.

Appends take an exclusive ``flock`` and are written with one ``write`` of a
whole line, so concurrent publishers never interleave lines.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any, Callable

from spi_campaign.adapters.base import (Adapter, Identity, Limits, Option, PublicationRef,
                                        PublishResult, ReconcileResult)
from spi_campaign.errors import PermanentError
from spi_campaign.models import Rendered
from spi_campaign.timeutil import iso, now_utc


def _occ(dt, tz=None) -> str | None:
    """The occurrence with offset, to the second, or to the microsecond when
    it has one: ``reconcile`` compares it exactly, so it must not be rounded."""
    if dt is None:
        return None
    if dt.microsecond:
        return (dt.astimezone(tz) if tz is not None else dt).isoformat(timespec="microseconds")
    return iso(dt, tz)


def path_problem(path: Path) -> str | None:
    """Why a publication could not be appended to ``path``, or None.

    Tried for real rather than guessed from permission bits (root passes
    every ``os.access``): an existing path must be a regular file that opens
    for appending and accepts a zero-byte write (``/proc`` and ``/sys``
    files refuse it; a regular file is left untouched); a missing one needs
    its nearest existing folder to accept a new file (an unnamed temporary
    file, gone when closed). Shared by ``spi accounts check`` and readiness.
    """
    import stat
    import tempfile

    try:
        st = os.stat(path)
    except FileNotFoundError:
        parent = path.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            return f"cannot create {path}: {parent} is not a folder"
        try:
            with tempfile.TemporaryFile(dir=parent):
                pass
        except OSError as exc:
            return f"cannot create {path}: folder {parent} does not accept new files ({exc.strerror or exc})"
        return None
    except OSError as exc:
        return f"cannot use {path}: {exc.strerror or exc}"
    if stat.S_ISDIR(st.st_mode):
        return f"{path} exists and is not a file"
    if not stat.S_ISREG(st.st_mode):
        return f"{path} exists and is not a regular file (a pipe, socket or device)"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK)
    except OSError as exc:
        return f"cannot write {path}: {exc.strerror or exc}"
    try:
        os.write(fd, b"")
    except OSError as exc:
        return f"cannot write {path}: {exc.strerror or exc}"
    finally:
        os.close(fd)
    return None


class FileAdapter(Adapter):
    platform = "file"
    label = "File (JSON lines)"
    style = "grey50"
    limits = Limits(text=None, max_media=100, media_types=frozenset(
        {"image/png", "image/jpeg", "image/gif", "image/webp"}), thread=True)
    options = {"path": Option(str, required=True, is_path=True, help="JSON-lines file, relative to config.yaml")}
    credentials = ()

    @property
    def path(self) -> Path:
        return Path(self.account.options["path"])

    def publish(self, post: Rendered, *, progress: dict[str, Any] | None = None,
                checkpoint: Callable[[dict[str, Any]], None] | None = None) -> PublishResult:
        published_at = now_utc()
        tz = self.tz
        record = {
            "post": post.post_id,
            "account": post.account,
            "occurrence": _occ(post.occurrence, tz),
            "published_at": iso(published_at, tz),
            "text": post.text,
            "link": post.link,
            "hashtags": list(post.hashtags),
            "media": [m.as_dict() for m in post.media],
        }
        if post.thread:
            record["thread"] = list(post.thread)
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise PermanentError(f"{self.who}: cannot write {self.path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        remote_id = f"{post.post_id}@{_occ(post.occurrence)}"
        return PublishResult(remote_id=remote_id, url=self.path.resolve().as_uri())

    def check(self) -> Identity:
        problem = path_problem(self.path)
        if problem:
            raise PermanentError(f"{self.who}: {problem}")
        return Identity(id=str(self.path), name=f"file {self.path}")

    def reconcile(self, pub: PublicationRef) -> ReconcileResult:
        """Look for our own line: same post, account and occurrence."""
        want = (pub.post_id, pub.account)
        if not self.path.exists():
            return ReconcileResult("not_found")
        with open(self.path, encoding="utf-8", errors="replace") as fh:
            for raw in fh:
                try:
                    rec = json.loads(raw)
                except ValueError:
                    continue
                if (rec.get("post"), rec.get("account")) != want or not rec.get("occurrence"):
                    continue
                from datetime import datetime
                try:
                    occ = datetime.fromisoformat(rec["occurrence"])
                except (TypeError, ValueError):
                    continue
                if occ == pub.occurrence:
                    return ReconcileResult("published", url=self.path.resolve().as_uri(),
                                           remote_id=f"{pub.post_id}@{_occ(pub.occurrence)}")
        return ReconcileResult("not_found")
