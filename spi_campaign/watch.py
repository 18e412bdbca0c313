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

    def __init__(self, posts_dir: Path, config_path: Path, callback: Callable[[], None]):
        self.posts_dir = Path(posts_dir).resolve()
        self.config_path = Path(config_path).resolve()
        self.callback = callback
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._observer = None

    def start(self) -> None:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event) -> None:
                if event.event_type in ("opened", "closed_no_write"):
                    return
                paths = [event.src_path, getattr(event, "dest_path", "")]
                if any(p and Path(p) == watcher.posts_dir for p in paths):
                    watcher.check_soon()
                if any(p and watcher.relevant(Path(p), event.is_directory) for p in paths):
                    watcher._poke()

        from watchdog.events import (DirCreatedEvent, DirDeletedEvent, DirMovedEvent, FileCreatedEvent,
                                     FileDeletedEvent, FileModifiedEvent, FileMovedEvent, FileClosedEvent)

        # Only changes: the loader's own reads (opened, closed without writing)
        # must not come back as events.
        self._filter = [FileCreatedEvent, FileDeletedEvent, FileModifiedEvent, FileMovedEvent, FileClosedEvent,
                        DirCreatedEvent, DirDeletedEvent, DirMovedEvent]
        self._handler = Handler()
        self._observer = Observer()
        self._observer.daemon = True
        self._observer.start()
        self._attach()

    def _attach(self) -> None:
        """(Re)schedule the watches: the config's folder (it also sees
        ``posts/`` itself being removed or replaced), and ``posts_dir``
        recursively, following its current inode."""
        self._observer.unschedule_all()
        parent = self.config_path.parent
        kw = {"event_filter": self._filter}
        try:
            self._observer.schedule(self._handler, str(parent), recursive=self.posts_dir == parent, **kw)
        except TypeError:            # watchdog < 5 has no event_filter
            kw = {}
            self._observer.schedule(self._handler, str(parent), recursive=self.posts_dir == parent)
        self._posts_id = _ident(self.posts_dir)
        if self.posts_dir.is_dir() and self.posts_dir != parent:
            try:
                self._observer.schedule(self._handler, str(self.posts_dir), recursive=True, **kw)
            except OSError as exc:
                log.warning("cannot watch %s: %s (changes are picked up by the periodic rescan)",
                            self.posts_dir, exc)

    def retarget(self, posts_dir: Path, config_path: Path) -> None:
        posts_dir, config_path = Path(posts_dir).resolve(), Path(config_path).resolve()
        if (posts_dir, config_path) != (self.posts_dir, self.config_path):
            self.posts_dir, self.config_path = posts_dir, config_path
            self._attach()

    def check(self) -> None:
        """Re-attach when ``posts_dir`` was replaced (a deploy's ``rm -rf`` and
        copy): the old watch sees nothing of the new folder."""
        if self._observer is not None and _ident(self.posts_dir) != self._posts_id:
            log.info("%s was replaced: watching the new folder", self.posts_dir)
            self._attach()
            self._poke()

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
        threading.Timer(DEBOUNCE_SECONDS, self.check).start()

    def _poke(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(DEBOUNCE_SECONDS, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        try:
            self.callback()
        except Exception:
            log.exception("reload after a file change failed")

    def stop(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=2)
