"""``flaky``: a test adapter, registered through a real entry point
(``spi_test_adapter-0.1.dist-info/entry_points.txt``; put ``tests/plugins`` on
PYTHONPATH).

Account options: ``path`` (the outbox, JSON lines like the ``file`` platform).
Next to it:

- ``<path>.control.json`` (read on every call, optional)::

      {"delay_ms": 200,                       # sleep before answering
       "script": {"post-id": ["transient", "ok"]},   # outcome of call 1, 2... per post+account
       "default": ["ok"],                     # script for posts not listed
       "retry_after_s": 900,                  # for "transient429" / "quota" (from now)
       "retry_after_at": "2026-12-09T03:15:00+00:00",  # ... or an absolute time
       "reconcile": "read"}                   # or "cannot_tell"

  Outcomes: ok, transient, transient429, permanent, auth, unknown (writes
  the line, then raises UnknownOutcomeError: a timeout after sending), crash
  (RuntimeError before sending), quota. Past the end of a script: ok.

- ``<path>.calls.jsonl``: one line per call {post, account, occurrence, at,
  outcome}, so tests can count attempts and check their times.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from spi_campaign.adapters.base import (Adapter, Identity, Limits, Option, PublicationRef, PublishResult,
                                        ReconcileResult)
from spi_campaign.errors import (AuthError, PermanentError, QuotaDeferred, TransientError,
                                 UnknownOutcomeError)
from spi_campaign.timeutil import iso


def _append(path: Path, record: dict) -> None:
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line)
    finally:
        os.close(fd)


def read_jsonl(path: Path) -> list[dict]:
    if not Path(path).exists():
        return []
    out = []
    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(raw))
        except ValueError:
            pass
    return out


class FlakyAdapter(Adapter):
    platform = "flaky"
    label = "Flaky (tests)"
    limits = Limits(text=None, max_media=10, media_types=frozenset({"image/png", "image/jpeg"}), thread=True)
    options = {"path": Option(str, required=True, is_path=True, help="outbox (JSON lines)"),
               "api": Option(str, help="the platform API that `spi doctor --online` asks the time")}

    @classmethod
    def api_url(cls, account) -> str | None:
        return account.options.get("api")

    @property
    def path(self) -> Path:
        return Path(self.account.options["path"])

    @property
    def calls_path(self) -> Path:
        return Path(str(self.path) + ".calls.jsonl")

    def control(self) -> dict:
        p = Path(str(self.path) + ".control.json")
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def publish(self, post, *, progress=None, checkpoint=None) -> PublishResult:
        ctl = self.control()
        occ = iso(post.occurrence)
        n = sum(1 for c in read_jsonl(self.calls_path)
                if c.get("post") == post.post_id and c.get("account") == post.account)
        script = ctl.get("script", {}).get(post.post_id, ctl.get("default", []))
        outcome = script[n] if n < len(script) else "ok"
        _append(self.calls_path, {"post": post.post_id, "account": post.account, "occurrence": occ,
                                  "at": datetime.now(timezone.utc).isoformat(), "outcome": outcome,
                                  "pid": os.getpid(), "progress": progress})
        delay = ctl.get("delay_ms", 0) / 1000
        if delay:
            time.sleep(delay)
        if ctl.get("retry_after_at"):
            retry_after = datetime.fromisoformat(ctl["retry_after_at"])
        else:
            retry_after = datetime.now(timezone.utc) + timedelta(seconds=ctl.get("retry_after_s", 60))
        if outcome == "transient":
            raise TransientError("HTTP 503 from flaky")
        if outcome == "transient429":
            raise TransientError("HTTP 429 rate limited", retry_after=retry_after)
        if outcome == "permanent":
            raise PermanentError("HTTP 400 rejected by flaky")
        if outcome == "auth":
            raise AuthError(f"account '{self.account.name}': flaky rejected the token (401); check "
                            f"{self.account.env_prefix}TOKEN")
        if outcome == "quota":
            raise QuotaDeferred("daily quota used up", retry_after=retry_after)
        if outcome == "crash":
            raise RuntimeError("adapter bug")
        if outcome == "checkpoint":
            if checkpoint:
                checkpoint({"parts": ["1"]})
            raise TransientError("part 2 failed")
        record = {"post": post.post_id, "account": post.account, "occurrence": iso(post.occurrence, self.tz),
                  "published_at": iso(datetime.now(timezone.utc), self.tz), "text": post.text,
                  "link": post.link, "hashtags": list(post.hashtags), "media": [m.as_dict() for m in post.media],
                  "progress": progress}
        _append(self.path, record)
        if outcome == "unknown":
            raise UnknownOutcomeError("timed out after sending")
        return PublishResult(remote_id=f"{post.post_id}@{occ}", url=f"https://flaky.example/{post.post_id}/{occ}")

    def check(self) -> Identity:
        return Identity(id="flaky", name="flaky")

    def reconcile(self, pub: PublicationRef) -> ReconcileResult:
        if self.control().get("reconcile", "read") != "read":
            return ReconcileResult.cannot_tell("flaky cannot tell")
        for rec in read_jsonl(self.path):
            if rec.get("post") == pub.post_id and rec.get("account") == pub.account:
                if datetime.fromisoformat(rec["occurrence"]) == pub.occurrence:
                    occ = iso(pub.occurrence)
                    return ReconcileResult("published", url=f"https://flaky.example/{pub.post_id}/{occ}",
                                           remote_id=f"{pub.post_id}@{occ}")
        return ReconcileResult("not_found")


class KeyedFlakyAdapter(FlakyAdapter):
    """``flakykey``: ``flaky`` that needs the credential SPI_<ACCOUNT>_TOKEN."""

    platform = "flakykey"
    label = "Flaky with a token (tests)"
    credentials = ("TOKEN",)

    def publish(self, post, *, progress=None, checkpoint=None) -> PublishResult:
        self.secret("TOKEN")
        return super().publish(post, progress=progress, checkpoint=checkpoint)

    def check(self) -> Identity:
        self.secret("TOKEN")
        return super().check()
