"""Noticing edits to the campaign files, with watchdog.

watchdog picks the platform's notification API (inotify on Linux), so an idle
daemon sleeps in the kernel instead of polling. Events are debounced: an
editor's save is several events, and one reload is enough.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable

from spi_campaign.i18n import _

log = logging.getLogger("spi_campaign.watch")

DEBOUNCE_SECONDS = 0.25


def _ident(path: Path):
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


class Watcher:
    """Calls ``callback`` (from a timer thread) shortly after a post file
    (``*.yaml``/``*.yml`` under ``posts_dir``, hidden ones excluded), a folder
    there, or the config file changes."""

    def __init__(self, posts_dir: Path, config_path: Path, callback: Callable[[frozenset[Path] | None], None]):
        self.posts_dir = Path(posts_dir).resolve()
        self.config_path = Path(config_path).resolve()
        self.callback = callback
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._observer = None
        self._pending: set[Path] | None = set()
        self._attach_lock = threading.Lock()
        self._posts_id = None
        self._stale = False

    def start(self) -> None:
        from watchdog.events import FileSystemEventHandler

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event) -> None:
                if event.event_type in ("opened", "closed_no_write"):
                    return
                paths = [Path(p) for p in (event.src_path, getattr(event, "dest_path", "")) if p]
                if any(p == watcher.posts_dir for p in paths):
                    # posts/ itself was removed, created or moved: a new folder
                    # may reuse the old inode, so do not trust the inode alone
                    watcher._stale = True
                    watcher.check_soon()
                hits = [p for p in paths if watcher.relevant(p, event.is_directory)]
                if hits:
                    # a folder moved or created: its files are unknown, rescan everything
                    watcher._poke(None if event.is_directory else hits)

        from watchdog.events import (DirCreatedEvent, DirDeletedEvent, DirMovedEvent, FileCreatedEvent,
                                     FileDeletedEvent, FileModifiedEvent, FileMovedEvent, FileClosedEvent)

        # Only changes: the loader's own reads (opened, closed without writing)
        # must not come back as events.
        self._filter = [FileCreatedEvent, FileDeletedEvent, FileModifiedEvent, FileMovedEvent, FileClosedEvent,
                        DirCreatedEvent, DirDeletedEvent, DirMovedEvent]
        self._handler = Handler()
        self._attach()

    def _attach(self) -> None:
        """(Re)build the watches: the config's folder (it also sees
        ``posts/`` itself being removed or replaced) and ``posts_dir``
        recursively, at its current inode. A fresh observer each time: a
        watch whose folder was deleted leaves a dead emitter behind that
        watchdog would hand back for the new folder. The new observer starts
        before the old one stops, so no event falls in between."""
        from watchdog.observers import Observer

        with self._attach_lock:
            parent = self.config_path.parent
            observer = Observer()
            observer.daemon = True
            kw = {"event_filter": self._filter}
            observer.schedule(self._handler, str(parent), recursive=self.posts_dir == parent, **kw)
            self._posts_id = _ident(self.posts_dir)
            if self._posts_id is not None and self.posts_dir != parent:
                try:
                    observer.schedule(self._handler, str(self.posts_dir), recursive=True, **kw)
                except OSError as exc:
                    log.warning(_("cannot watch {path}: {reason} (changes are picked up by the periodic rescan)").format(
                        path=self.posts_dir, reason=exc))
            observer.start()
            old, self._observer = self._observer, observer
        if old is not None:
            old.stop()

    def retarget(self, posts_dir: Path, config_path: Path) -> None:
        posts_dir, config_path = Path(posts_dir).resolve(), Path(config_path).resolve()
        if (posts_dir, config_path) != (self.posts_dir, self.config_path):
            self.posts_dir, self.config_path = posts_dir, config_path
            self._attach()

    def check(self) -> None:
        """Re-attach when ``posts_dir`` was replaced (a deploy's ``rm -rf`` and
        copy): the old watch sees nothing of the new folder."""
        if self._observer is not None and (self._stale or _ident(self.posts_dir) != self._posts_id):
            self._stale = False
            log.info(_("{path} was replaced: watching the new folder").format(path=self.posts_dir))
            self._attach()
            self._poke(None)     # what was copied in before the watch began: rescan

    def relevant(self, path: Path, is_directory: bool) -> bool:
        if path == self.config_path:
            return True
        try:
            rel = path.relative_to(self.posts_dir)
        except ValueError:
            return False
        if any(part.startswith(".") for part in rel.parts):
            return False
        return is_directory or path.suffix in (".yaml", ".yml")

    def check_soon(self) -> None:
        # a deploy's copy may still be running: look again a little later too
        for delay in (DEBOUNCE_SECONDS, 1.0, 3.0):
            t = threading.Timer(delay, self.check)
            t.daemon = True
            t.start()

    def _poke(self, paths=None) -> None:
        """Something changed: ``paths`` (the files), or None when it is not
        known which (a folder moved): the callback gets the union, or None."""
        with self._lock:
            if paths is None or self._pending is None:
                self._pending = None
            else:
                self._pending |= set(paths)
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(DEBOUNCE_SECONDS, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            paths, self._pending = self._pending, set()
        try:
            self.callback(frozenset(paths) if paths is not None else None)
        except Exception:
            log.exception(_("reload after a file change failed"))

    def stop(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=2)
