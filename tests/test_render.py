"""render.py is pure: it prints given data to a given Console."""

from __future__ import annotations

from datetime import datetime, timezone
from io import StringIO
from zoneinfo import ZoneInfo

from rich.console import Console

from spi_campaign import render
from spi_campaign.models import Problem

WITA = ZoneInfo("Asia/Makassar")


def _console():
    buf = StringIO()
    return Console(file=buf, width=100, color_system=None), buf


def test_problems_text_is_one_line_each_and_a_summary():
    con, buf = _console()
    probs = [Problem("posts/a.yaml", 7, "a", "x", "error", "text is 300 characters on X, over its limit of 280"),
             Problem("config.yaml", None, None, None, "warning", "something [bold]odd[/bold]")]
    render.problems_text(con, probs, {"files": 2, "posts": 1, "errors": 1, "warnings": 1})
    lines = buf.getvalue().splitlines()
    assert lines[0] == ("posts/a.yaml:7: error: post 'a' (account x) - text is 300 characters on X, "
                        "over its limit of 280")
    assert lines[1] == "config.yaml: warning: something [bold]odd[/bold]"
    assert lines[2] == "2 files, 1 posts: 1 errors, 1 warnings"


def test_preview_panel_marks_over_limit_and_shows_both_times():
    con, buf = _console()
    when = datetime(2026, 12, 9, 9, 0, tzinfo=WITA)
    item = {"post": "a", "account": "bali-x", "status": "approved", "platform": "x", "label": "X",
            "text": "Halo", "thread": [], "part_lengths": [300], "length": 300, "limit": 280, "fits": False,
            "link_card": None, "media": [{"path": "/p/poster.png", "url": None, "alt": None}],
            "publish_at": "2026-12-09T09:00:00+08:00", "repeat": None, "_publish_at": when}
    render.preview_panels(con, [item], WITA)
    out = buf.getvalue()
    assert "300/280 over the limit" in out
    assert "2026-12-09 09:00 +08:00" in out and "2026-12-09 01:00 UTC" in out
    assert "alt: (missing)" in out and "a → bali-x (X)" in out


def test_preview_json_keeps_the_contract_keys():
    import json

    item = {"post": "a", "account": "f", "platform": "file", "text": "t", "length": 1, "limit": None, "fits": True,
            "publish_at": None, "thread": [], "status": "draft", "_publish_at": None}
    assert json.loads(render.preview_json([item])) == [
        {"post": "a", "account": "f", "platform": "file", "text": "t", "length": 1, "limit": None, "fits": True,
         "publish_at": None}]


def test_post_table_shows_offsets():
    con, buf = _console()
    row = {"id": "a", "title": None, "topic": None, "status": "draft", "accounts": ["arsip"], "repeat": None,
           "_next": datetime(2026, 12, 9, 1, 0, tzinfo=timezone.utc)}
    render.post_table(con, [row], WITA)
    assert "2026-12-09 09:00 +08:00" in buf.getvalue()
