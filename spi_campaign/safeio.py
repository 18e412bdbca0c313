"""Opening files named by untrusted input (post files, media, the ``file``
platform's outbox) without ever blocking or reading forever.

A FIFO blocks ``open()`` until a writer appears, a tty blocks ``read()``,
``/dev/zero`` and ``/dev/full`` never end. So every such file is opened with
``O_NONBLOCK`` (which makes opening a FIFO return at once), checked with
``fstat`` on the open descriptor (no race between check and use), and
refused unless it is a regular file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from spi_campaign.i18n import N_, _

NOT_REGULAR = N_("not a regular file")     # translated where shown


class NotRegularFile(OSError):
    """The path names a FIFO, a device, a socket or a folder."""

    def __init__(self, path: os.PathLike | str, mode: int):
        kind = (_("a folder") if stat.S_ISDIR(mode) else _("a FIFO (named pipe)") if stat.S_ISFIFO(mode)
                else _("a device") if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else _("a socket") if stat.S_ISSOCK(mode) else None)
        super().__init__(_("not a regular file ({kind})").format(kind=kind) if kind else _(NOT_REGULAR))
        self.strerror = str(self.args[0])
        self.filename = str(path)


def open_regular(path: os.PathLike | str, flags: int = os.O_RDONLY, mode: int = 0o644) -> int:
    """``os.open`` that never blocks and returns a descriptor only for a
    regular file (``O_NONBLOCK`` is cleared again before returning, so writes
    are ordinary blocking writes). Raises ``OSError`` (``NotRegularFile``)."""
    fd = os.open(path, flags | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(path, st.st_mode)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: os.PathLike | str, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes. Raises
    ``OSError`` (not regular) or ``FileTooLarge``."""
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise FileTooLarge(size, limit)
        chunks = []
        got = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
            if got > limit:   # grew since fstat
                raise FileTooLarge(got, limit)
        return b"".join(chunks)
    finally:
        os.close(fd)


def head(path: os.PathLike | str, n: int) -> tuple[bytes, int]:
    """The first ``n`` bytes and the size of a regular file. Raises ``OSError``."""
    fd = open_regular(path)
    try:
        return os.read(fd, n), os.fstat(fd).st_size
    finally:
        os.close(fd)


class FileTooLarge(Exception):
    def __init__(self, size: int, limit: int):
        super().__init__(_("file is {size} KiB; the limit is {limit} MiB").format(size=size // 1024,
                                                                                  limit=limit // 1024 // 1024))
        self.size = size
        self.limit = limit


def is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def realpath(path: os.PathLike | str) -> Path:
    """``Path.resolve()`` that never raises: a symbolic link loop stays as
    written (``Path.resolve`` raises RuntimeError on a loop in Python 3.11)."""
    try:
        return Path(os.path.realpath(path))
    except (OSError, ValueError):
        return Path(os.path.abspath(path))


NAME_MAX = 255      # bytes in one file or folder name (Linux, and most file systems)
PATH_MAX = 4096     # bytes in a whole path (Linux)


def name_problem(path: os.PathLike | str) -> str | None:
    """Why the file system would refuse ``path`` as a name, or None: a NUL
    byte, a file or folder name over ``NAME_MAX`` bytes, a path over
    ``PATH_MAX`` bytes. Checked before use, so the user gets a sentence
    instead of ``OSError: [Errno 36] File name too long``."""
    text = os.fspath(path)
    if "\0" in text:
        return _("the name contains a NUL byte")
    try:
        encoded = os.fsencode(text)
    except UnicodeError:
        return _("the name cannot be encoded for the file system")
    if len(encoded) > PATH_MAX:
        return _("the path is {n} bytes long; the limit is {limit}").format(n=f"{len(encoded):,}", limit=f"{PATH_MAX:,}")
    for part in encoded.split(b"/"):
        if len(part) > NAME_MAX:
            shown = os.fsdecode(part[:24]) + "..."
            return _("the name {name} is {n} bytes long; a file or folder name may have at most {limit}").format(
                name=shown, n=len(part), limit=NAME_MAX)
    return None
