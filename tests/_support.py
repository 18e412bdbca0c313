"""Helpers shared by several test modules (not a test module itself: pytest
collects only ``test_*.py``).

Imported as ``from _support import ...``: pytest's default ``prepend`` import
mode puts this folder (tests/, which has no ``__init__.py``) on ``sys.path``
before it imports conftest.py and the test modules.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import datetime, timezone
from email.parser import BytesParser
from email.policy import default as email_policy
from pathlib import Path

import responses

from spi_campaign.adapters.base import PublicationRef
from spi_campaign.models import Media, Rendered

TESTS = Path(__file__).resolve().parent
PLATFORM_DATA = TESTS / "data" / "platform"

# Graph API base URL at the default version, and the Instagram user of the fixtures.
GRAPH = "https://graph.facebook.com/v27.0"
IG = "17841405822304914"

# A valid 1x1 PNG.
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")

# When the lost attempt of a reconcile test started.
CLAIMED = datetime(2026, 12, 7, 1, 0, 2, tzinfo=timezone.utc)


def load_plugin(name: str):
    """Import tests/plugins/<name>.py without putting tests/plugins on sys.path
    (that would make the ``flaky`` entry point visible to every test in this
    process; subprocesses get it through PYTHONPATH instead)."""
    if name not in sys.modules:
        path = TESTS / "plugins" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def load(name: str) -> dict:
    """A recorded platform answer (or spec excerpt) from tests/data/platform/."""
    return json.loads((PLATFORM_DATA / name).read_text(encoding="utf-8"))


def add_account_checks(rs) -> None:
    """Successful answers to ``check()`` of the X, Facebook and Instagram
    accounts of the CLI tests (Page 1234567890, IG user ``IG``)."""
    rs.add(responses.GET, "https://api.x.com/2/users/me", json=load("x/users_me.json"))
    rs.add(responses.GET, f"{GRAPH}/1234567890", json=load("meta/page.json"))
    rs.add(responses.GET, f"{GRAPH}/{IG}", json=load("meta/ig_user.json"))
    rs.add(responses.GET, f"{GRAPH}/{IG}/content_publishing_limit", json=load("meta/ig_publishing_limit.json"))
    rs.add(responses.GET, f"{GRAPH}/debug_token", json=debug_token(days=60))


def debug_token(days: float, data_access_days: float | None = None) -> dict:
    """A ``debug_token`` answer whose token expires ``days`` from now."""
    from datetime import timedelta

    now = datetime.now(timezone.utc)
    body = load("meta/debug_token.json")
    body["data"]["expires_at"] = int((now + timedelta(days=days)).timestamp())
    body["data"]["data_access_expires_at"] = int((now + timedelta(days=data_access_days or days + 30)).timestamp())
    return body


def png_images(tmp_path: Path, n: int, alt: str = "Poster") -> list[Media]:
    """``n`` local PNG files poster-<i>.png, alt text ``"<alt> <i>"``."""
    out = []
    for i in range(n):
        p = tmp_path / f"poster-{i}.png"
        p.write_bytes(PNG)
        out.append(Media(path=p, url=None, alt=f"{alt} {i}"))
    return out


def multipart(request) -> dict[str, tuple[str | None, str | None, bytes]]:
    """name -> (filename, content type, bytes) of a multipart/form-data body."""
    ctype = request.headers["Content-Type"]
    assert ctype.startswith("multipart/form-data")
    body = request.body if isinstance(request.body, bytes) else request.body.encode()
    msg = BytesParser(policy=email_policy).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
    out = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        out[name] = (part.get_filename(), part.get_content_type() if part.get_filename() else None,
                     part.get_payload(decode=True))
    return out


def reconcile_ref(account: str, post: Rendered, progress=None) -> PublicationRef:
    """What ``reconcile`` gets about ``post`` on ``account``: an attempt
    started at ``CLAIMED`` for the occurrence at the start of that minute."""
    return PublicationRef(post_id=post.post_id, account=account, occurrence=CLAIMED.replace(second=0),
                          claimed_at=CLAIMED, rendered=post, progress=progress or {})
