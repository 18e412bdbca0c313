"""The ``file`` platform on a hostile file system: a real short write (a
process with ``RLIMIT_FSIZE``), a broken last line left by an earlier crash,
a FIFO or a device as its path, and what a record holds (the post's link,
media paths relative to the campaign).

The adapter runs in a child process (``sys.executable``) where a hang or a
runaway read would otherwise take the test run down: the subprocess timeout
catches it."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from _support import PNG, load_plugin

kit = load_plugin("spi_testkit")

CHILD = r"""
import json, sys
from datetime import datetime, timezone
from spi_campaign.adapters.base import PublicationRef
from spi_campaign.adapters.file import FileAdapter
from spi_campaign.errors import AdapterError
from spi_campaign.models import Account, Content

path, action, post_id = sys.argv[1], sys.argv[2], sys.argv[3]
adapter = FileAdapter(Account(name="arsip", platform="file", options={"path": path}))
occurrence = datetime(2026, 12, 9, 1, 0, tzinfo=timezone.utc)
post = FileAdapter.compose(post_id, "arsip", Content(text="Tolak gratifikasi " * 20, link="https://jaga.id"))
post = post.__class__(**{**{f: getattr(post, f) for f in post.__dataclass_fields__}, "occurrence": occurrence})
try:
    if action == "publish":
        adapter.publish(post)
        print(json.dumps({"result": "published"}))
    else:
        ref = PublicationRef(post_id=post_id, account="arsip", occurrence=occurrence, claimed_at=occurrence,
                             rendered=post, progress={})
        print(json.dumps({"result": adapter.reconcile(ref).state}))
except AdapterError as exc:
    print(json.dumps({"result": type(exc).__name__, "message": str(exc)}))
"""


def child(path: Path | str, action: str, post_id: str = "p", *, fsize: int | None = None,
          timeout: float = 20) -> dict:
    def limits():
        # Never let a runaway read eat the machine; a file-size limit makes a real short write.
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        if fsize is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # write() then returns short / EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    out = subprocess.run([sys.executable, "-c", CHILD, str(path), action, post_id], capture_output=True, text=True,
                         timeout=timeout, preexec_fn=limits, env=kit.env())
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def lines(path: Path) -> list[dict]:
    data = path.read_bytes()
    assert data.endswith(b"\n")
    return [json.loads(x) for x in data.decode("utf-8").splitlines()]


def test_a_short_write_is_not_a_publication_and_leaves_no_fragment(tmp_path):
    out = tmp_path / "arsip.jsonl"
    assert child(out, "publish", "satu") == {"result": "published"}
    size = out.stat().st_size
    # The next record (~500 bytes) is cut off by the kernel after 100 bytes.
    got = child(out, "publish", "dua", fsize=size + 100)
    assert got["result"] == "TransientError" and "File too large" in got["message"], got
    assert out.stat().st_size == size                       # cut back: no broken line
    assert child(out, "reconcile", "dua") == {"result": "not_found"}
    assert child(out, "publish", "tiga") == {"result": "published"}
    assert [r["post"] for r in lines(out)] == ["satu", "tiga"]


@pytest.mark.parametrize("tail, kept", [
    (b'{"post": "putus", "account": "arsip", "occ', []),                         # a crash mid-write: cut off
    (b'{"post": "utuh", "account": "arsip"}', ["utuh"]),                         # only its newline missing
])
def test_a_broken_last_line_is_repaired_before_appending(tmp_path, tail, kept):
    out = tmp_path / "arsip.jsonl"
    out.write_bytes(b'{"post": "lama", "account": "arsip"}\n' + tail)
    assert child(out, "publish", "baru") == {"result": "published"}
    assert [r["post"] for r in lines(out)] == ["lama", *kept, "baru"]


def test_a_fifo_as_the_outbox_is_an_error_not_a_hang(tmp_path):
    fifo = tmp_path / "arsip.jsonl"
    os.mkfifo(fifo)
    got = child(fifo, "publish", timeout=20)
    assert got["result"] == "PermanentError" and "not a regular file (a FIFO (named pipe))" in got["message"]
    assert child(fifo, "reconcile", timeout=20) == {"result": "cannot_tell"}


@pytest.mark.parametrize("device", ["/dev/full", "/dev/zero"])
def test_reconcile_against_a_device_returns_at_once(device):
    assert child(device, "reconcile", timeout=20) == {"result": "cannot_tell"}


def test_publish_to_a_device_is_an_error(tmp_path):
    got = child("/dev/full", "publish", timeout=20)
    assert got["result"] == "PermanentError" and "not a regular file (a device)" in got["message"]


def test_records_hold_the_link_and_media_paths_relative_to_the_campaign(tmp_path):
    root = tmp_path / "kampanye"
    root.mkdir()
    kit.write_config(root, kit.file_accounts(["arsip"]))
    (root / "posts" / "media").mkdir()
    (root / "posts" / "media" / "poster.png").write_bytes(PNG)
    (tmp_path / "luar.png").write_bytes(PNG)
    when = kit.now() - timedelta(minutes=1)
    (root / "posts" / "p.yaml").write_text(
        kit.post_yaml("p", when, ["arsip"], text="Laporkan gratifikasi: https://gol.kpk.go.id")
        + "link: https://gol.kpk.go.id\nmedia:\n  - path: media/poster.png\n    alt: Poster\n"
        "  - path: ../../luar.png\n    alt: Di luar\n", encoding="utf-8")
    checked = kit.spi(root, "post", "validate", "--format", "json")
    warnings = [(p["line"], p["message"]) for p in json.loads(checked.stdout)["problems"] if "past" not in p["message"]]
    assert warnings == [(10, "media item 2: ../../luar.png is outside the campaign folder "
                             f"({tmp_path / 'luar.png'}); keep images in the campaign so every reviewer sees them")]
    published = kit.spi(root, "post", "publish-due")
    assert published.returncode == 0, published.stdout + published.stderr
    [record] = kit.outbox(root, "arsip")
    assert record["link"] == "https://gol.kpk.go.id"
    assert record["text"] == "Laporkan gratifikasi: https://gol.kpk.go.id"   # the link is not appended twice
    assert [m["path"] for m in record["media"]] == ["posts/media/poster.png", "../luar.png"]
    assert str(tmp_path) not in json.dumps(record)
