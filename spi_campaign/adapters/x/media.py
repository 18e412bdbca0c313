"""Media uploads to X (API v2), as a mixin of ``XAdapter``.

- JPEG, PNG and WebP: one ``POST /2/media/upload`` (multipart ``media`` +
  ``media_category=tweet_image``).
- GIF: X processes animated GIFs, so they take the chunked route with
  ``media_category=tweet_gif`` (never ``tweet_image``, which would flatten or
  refuse them): ``POST /2/media/upload/initialize`` (``media_type``,
  ``total_bytes``, ``media_category``), ``POST /2/media/upload/{id}/append``
  per chunk (multipart ``media`` + ``segment_index``),
  ``POST /2/media/upload/{id}/finalize``, then, while ``processing_info.state``
  is ``pending``/``in_progress``, ``GET /2/media/upload?command=STATUS&media_id=``
  after ``check_after_secs`` (bounded by ``max_polls``).
- Alt text: ``POST /2/media/metadata``.

Every request is signed with tweepy's ``OAuth1UserHandler`` through the
adapter's session (timeout, -vv request lines, host ``api.x.com``). Uploaded
ids go into ``progress`` so a retry reuses them until they expire.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

from spi_campaign.adapters._content import read_image
from spi_campaign.errors import PermanentError, TransientError
from spi_campaign.i18n import _
from spi_campaign.models import Media
from spi_campaign.timeutil import now_utc

log = logging.getLogger(__name__)

API = "https://api.x.com"
MEDIA_UPLOAD_URL = API + "/2/media/upload"
MEDIA_METADATA_URL = API + "/2/media/metadata"
ALT_TEXT_MAX = 1000                 # CreateMediaMetadataMetadataAltText.text maxLength
CHUNK_BYTES = 1024 * 1024           # AppendMediaUploadRequest.segment_index: 0..999
MAX_WAIT = 30                       # seconds: longest single wait between status checks


class XMediaUploads:
    """Needs from the adapter: ``who``, ``limits``, ``account``, ``_client()``,
    ``_session``, ``_auth``, ``_call(what, fn, live=)`` and ``_data(resp, what, live=)``."""

    @property
    def max_polls(self) -> int:
        v = self.account.options.get("max_polls", 20)
        return v if isinstance(v, int) and not isinstance(v, bool) and v >= 1 else 20

    def _check_media(self, media: tuple[Media, ...]) -> list[tuple[Media, bytes, str]]:
        """Read and check every image before anything is uploaded."""
        if len(media) > self.limits.max_media:
            raise PermanentError(_("{who}: {count} images; X accepts at most {max}").format(
                who=self.who, count=len(media), max=self.limits.max_media))
        out = []
        for n, m in enumerate(media, 1):
            if m.path is None:
                raise PermanentError(_("{who}: image {n} has no local file (path:); X uploads files "
                                       "and cannot fetch a url:").format(who=self.who, n=n))
            data, mime = read_image(m.path, who=self.who, platform="X", types=self.limits.media_types,
                                    max_bytes=self.limits.max_media_bytes)
            out.append((m, data, mime))
        return out

    def _upload_media(self, images: list[tuple[Media, bytes, str]], state: dict[str, Any],
                      checkpoint: Callable[[dict[str, Any]], None] | None) -> list[str]:
        """Upload images (reusing ids recorded in ``state`` that have not expired)."""
        ids = [str(i) for i in state.get("media_ids") or ()][: len(images)]
        expires = state.get("media_expires_at")
        if ids and isinstance(expires, (int, float)) and now_utc().timestamp() > expires - 600:
            ids = []                      # uploads expire (expires_after_secs); upload again
        for n in range(len(ids), len(images)):
            m, data, mime = images[n]
            upload = self._upload_chunked if mime == "image/gif" else self._upload_one
            media_id, ttl = upload(m, data, mime, n + 1, len(images))
            if m.alt:
                self._set_alt_text(media_id, m.alt, n + 1)
            ids.append(media_id)
            state["media_ids"] = list(ids)
            if ttl:
                deadline = now_utc().timestamp() + ttl
                old = state.get("media_expires_at")
                state["media_expires_at"] = min(deadline, old) if isinstance(old, (int, float)) and n else deadline
            if checkpoint:
                checkpoint(dict(state))
        return ids

    def _post(self, what: str, url: str, **kwargs):
        self._client()
        return self._call(what, lambda: self._session.post(url, auth=self._auth, **kwargs), live=False)

    def _upload_one(self, m: Media, data: bytes, mime: str, n: int, total: int) -> tuple[str, int | None]:
        what = _("uploading image {n} of {total} ({name})").format(n=n, total=total, name=_name(m))
        resp = self._post(what, MEDIA_UPLOAD_URL, files={"media": (_name(m), data, mime)},
                          data={"media_category": "tweet_image"})
        return self._processed(self._data(resp, what, live=False), what)

    def _upload_chunked(self, m: Media, data: bytes, mime: str, n: int, total: int) -> tuple[str, int | None]:
        what = _("uploading GIF {n} of {total} ({name})").format(n=n, total=total, name=_name(m))
        step = _("{what}: initialize").format(what=what)
        resp = self._post(step, MEDIA_UPLOAD_URL + "/initialize",
                          json={"media_type": mime, "total_bytes": len(data), "media_category": "tweet_gif"})
        media_id = str(self._data(resp, step, live=False)["id"])
        for index, start in enumerate(range(0, len(data), CHUNK_BYTES)):
            self._post(_("{what}: append segment {index}").format(what=what, index=index),
                       f"{MEDIA_UPLOAD_URL}/{media_id}/append",
                       files={"media": (_name(m), data[start:start + CHUNK_BYTES], "application/octet-stream")},
                       data={"segment_index": str(index)})
        step = _("{what}: finalize").format(what=what)
        resp = self._post(step, f"{MEDIA_UPLOAD_URL}/{media_id}/finalize")
        return self._processed(self._data(resp, step, live=False), what)

    def _processed(self, info: dict, what: str) -> tuple[str, int | None]:
        """Wait while X processes the media (``processing_info``); its id and TTL once usable."""
        media_id = str(info["id"])
        for _poll in range(self.max_polls + 1):
            processing = info.get("processing_info") or {}
            state = str(processing.get("state") or "succeeded").lower()
            if state == "failed":
                raise PermanentError(_("{who}: {what}: X could not process the media").format(who=self.who, what=what))
            if state not in ("pending", "in_progress"):
                ttl = info.get("expires_after_secs")
                return media_id, ttl if isinstance(ttl, int) else None
            wait = processing.get("check_after_secs")
            time.sleep(min(max(wait if isinstance(wait, (int, float)) else 1, 0), MAX_WAIT))
            step = _("{what}: processing status").format(what=what)
            resp = self._call(step, lambda: self._session.get(
                MEDIA_UPLOAD_URL, params={"command": "STATUS", "media_id": media_id}, auth=self._auth), live=False)
            info = self._data(resp, step, live=False)
        raise TransientError(_("{who}: {what}: X is still processing the media after {polls} "
                               "checks; will retry").format(who=self.who, what=what, polls=self.max_polls))

    def _set_alt_text(self, media_id: str, alt: str, n: int) -> None:
        body = {"id": media_id, "metadata": {"alt_text": {"text": alt[:ALT_TEXT_MAX]}}}
        self._post(_("setting the alt text of image {n}").format(n=n), MEDIA_METADATA_URL, json=body)


def _name(m: Media) -> str:
    return m.path.name if m.path else "image"
