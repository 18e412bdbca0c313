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
                if any(p and watcher.relevant(Path(p), event.is_directory) for p in paths):
                    watcher._poke()

        self._observer = Observer()
        handler = Handler()
        parent = self.config_path.parent
        # The config's folder for config.yaml; posts_dir recursively (one watch when they coincide).
        self._observer.schedule(handler, str(parent), recursive=self.posts_dir == parent)
        if self.posts_dir.is_dir() and self.posts_dir != parent:
            self._observer.schedule(handler, str(self.posts_dir), recursive=True)
        self._observer.daemon = True
        self._observer.start()

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
