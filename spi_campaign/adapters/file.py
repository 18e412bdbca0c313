"""The ``file`` platform: appends one JSON line per publication to ``path``.

It makes the whole engine usable with no credentials, and it is a real sink:
an audit trail or a hand-off to other tools. Each line is
``{"post", "account", "occurrence", "published_at", "text", "link",
"hashtags", "media"}`` with ISO-8601 times with offset; ``link`` is the
post's link (also in ``text``), media paths are relative to the campaign
folder.

Appends take an exclusive ``flock``. A line is written whole or not at all:
a short write (a full disk, a file-size limit) is completed or, when the
disk refuses, cut back to where the line started and reported as a
transient error (nothing was published, so a retry is safe). A broken last
line left by an earlier crash is repaired before appending (ended with a
newline when it is a complete JSON record, else cut off), so a record is
never glued onto a fragment. Only a regular file is opened, never blocking:
a FIFO or a device as ``path`` is an error, and ``reconcile`` reads a
bounded amount per line.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from spi_campaign.adapters.base import (Adapter, Identity, Limits, MetricsRef, MetricsResult, Option,
                                        PublicationRef, PublishResult, ReconcileResult)
from spi_campaign.errors import PermanentError, TransientError
from spi_campaign.i18n import _
from spi_campaign.models import Content, Rendered
from spi_campaign.safeio import NotRegularFile, open_regular, realpath
from spi_campaign.timeutil import iso, now_utc

log = logging.getLogger(__name__)
# reconcile reads at most this much of one line; longer lines are matched by their first fields.
MAX_LINE = 1 << 20
_HEAD = re.compile(r'^\{"post": ("(?:[^"\\]|\\.)*"), "account": ("(?:[^"\\]|\\.)*"), '
                   r'"occurrence": ("(?:[^"\\]|\\.)*"|null)')


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
            return _("cannot create {path}: {parent} is not a folder").format(path=path, parent=parent)
        try:
            with tempfile.TemporaryFile(dir=parent):
                pass
        except OSError as exc:
            return _("cannot create {path}: folder {parent} does not accept new files ({reason})").format(
                path=path, parent=parent, reason=exc.strerror or exc)
        return None
    except OSError as exc:
        return _("cannot use {path}: {reason}").format(path=path, reason=exc.strerror or exc)
    if stat.S_ISDIR(st.st_mode):
        return _("{path} exists and is not a file").format(path=path)
    if not stat.S_ISREG(st.st_mode):
        return _("{path} exists and is not a regular file (a pipe, socket or device)").format(path=path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK)
    except OSError as exc:
        return _("cannot write {path}: {reason}").format(path=path, reason=exc.strerror or exc)
    try:
        os.write(fd, b"")
    except OSError as exc:
        return _("cannot write {path}: {reason}").format(path=path, reason=exc.strerror or exc)
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

    @classmethod
    def compose(cls, post_id: str, account: str, content: Content) -> Rendered:
        return replace(super().compose(post_id, account, content), post_link=content.link)

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
            "link": post.post_link or post.link,
            "hashtags": list(post.hashtags),
            "media": [{"path": m.rel or (str(m.path) if m.path else None), "url": m.url, "alt": m.alt}
                      for m in post.media],
        }
        if post.thread:
            record["thread"] = list(post.thread)
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            try:
                fd = open_regular(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            except FileNotFoundError:       # the first publication: make its folder
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = open_regular(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except (OSError, ValueError) as exc:
            raise PermanentError(_("{who}: cannot write {path}: {reason}").format(
                who=self.who, path=self.path, reason=getattr(exc, "strerror", None) or exc)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._repair_tail(fd)
            start = os.fstat(fd).st_size
            try:
                _write_all(fd, line)
                os.fsync(fd)
            except OSError as exc:
                # Nothing is published: take the partial line back so no fragment stays.
                try:
                    os.ftruncate(fd, start)
                except OSError:
                    pass   # the next append repairs the tail
                raise TransientError(_("{who}: cannot write {path}: {reason}; nothing was written").format(
                    who=self.who, path=self.path, reason=exc.strerror or exc)) from None
        finally:
            os.close(fd)
        remote_id = f"{post.post_id}@{_occ(post.occurrence)}"
        return PublishResult(remote_id=remote_id, url=self._url())

    def _url(self) -> str:
        if getattr(self, "_url_cache", None) is None:
            self._url_cache = realpath(self.path).as_uri()
        return self._url_cache

    def _repair_tail(self, fd: int) -> None:
        """End the file on a complete line: a last line without its newline
        (left by a crash or a short write) is ended with one when it is a
        whole JSON record, otherwise cut off."""
        size = os.fstat(fd).st_size
        if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
            return
        start = size
        while start > 0:
            n = min(65536, start)
            chunk = os.pread(fd, n, start - n)
            nl = chunk.rfind(b"\n")
            if nl != -1:
                start = start - n + nl + 1
                break
            start -= n
        fragment = os.pread(fd, min(size - start, MAX_LINE), start) if size - start <= MAX_LINE else b""
        try:
            whole = isinstance(json.loads(fragment), dict) if fragment else False
        except ValueError:
            whole = False
        if whole:
            _write_all(fd, b"\n")
            log.warning(_("{who}: {path} ended without a newline; added one").format(who=self.who, path=self.path))
        else:
            os.ftruncate(fd, start)
            log.warning(_("{who}: {path} ended with a broken line ({size} bytes, from an interrupted write); "
                          "removed it").format(who=self.who, path=self.path, size=size - start))

    def check(self) -> Identity:
        problem = path_problem(self.path)
        if problem:
            raise PermanentError(f"{self.who}: {problem}")
        return Identity(id=str(self.path), name=_("file {path}").format(path=self.path))

    def metrics(self, refs: list[MetricsRef]) -> dict[str, MetricsResult]:
        """A file has no audience: every metric is null, with that reason."""
        why = _("the file platform has no audience (it writes a local file)")
        return {r.remote_id: MetricsResult.unsupported(why) for r in refs}

    def reconcile(self, pub: PublicationRef) -> ReconcileResult:
        """Look for our own line: same post, account and occurrence."""
        from datetime import datetime

        want = (pub.post_id, pub.account)
        try:
            fd = open_regular(self.path)
        except FileNotFoundError:
            return ReconcileResult("not_found")
        except NotRegularFile:
            return ReconcileResult("cannot_tell")   # whatever was written went to a pipe or a device
        except (OSError, ValueError):
            return ReconcileResult("cannot_tell")
        with os.fdopen(fd, "rb") as fh:
            for post, account, occurrence in _records(fh):
                if (post, account) != want or not occurrence:
                    continue
                try:
                    occ = datetime.fromisoformat(occurrence)
                except (TypeError, ValueError):
                    continue
                if occ == pub.occurrence:
                    return ReconcileResult("published", url=realpath(self.path).as_uri(),
                                           remote_id=f"{pub.post_id}@{_occ(pub.occurrence)}")
        return ReconcileResult("not_found")


def _write_all(fd: int, data: bytes) -> None:
    """Write every byte or raise OSError (``os.write`` may write less)."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        if n <= 0:
            raise OSError(28, os.strerror(28))   # ENOSPC: the kernel took nothing
        view = view[n:]


def _records(fh):
    """(post, account, occurrence) of every line, reading at most ``MAX_LINE``
    bytes of a line at a time (a huge line costs no memory)."""
    while True:
        raw = fh.readline(MAX_LINE)
        if not raw:
            return
        if not raw.endswith(b"\n") and len(raw) == MAX_LINE:
            while True:   # skip the rest of the long line
                more = fh.readline(MAX_LINE)
                if not more or more.endswith(b"\n"):
                    break
            m = _HEAD.match(raw.decode("utf-8", errors="replace"))
            if m is None:
                continue
            try:
                yield tuple(json.loads(g) for g in m.groups())
            except ValueError:
                continue
            continue
        try:
            rec = json.loads(raw)
        except ValueError:
            continue
        if isinstance(rec, dict):
            yield rec.get("post"), rec.get("account"), rec.get("occurrence")
