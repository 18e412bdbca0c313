"""The campaign shipped in the repository validates cleanly and covers what
a Diskominfo needs (this reads the repo's own config.yaml and posts/)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from spi_campaign.cli import cli

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config.yaml"


def _run(*args):
    return CliRunner().invoke(cli, ["--config", str(CONFIG), *args], catch_exceptions=False)


def test_shipped_campaign_has_no_errors():
    result = _run("post", "validate", "--format", "json")
    data = json.loads(result.output)
    assert result.exit_code == 0, [p for p in data["problems"] if p["severity"] == "error"]
    assert data["errors"] == 0 and data["posts"] >= 12


def test_shipped_campaign_covers_the_brief():
    rows = json.loads(_run("post", "list", "--format", "json").output)
    topics = {r["topic"] for r in rows}
    assert {"gratifikasi", "zero-gratifikasi", "titik-rawan", "spi", "pelaporan"} <= topics
    assert any(r["repeat"] for r in rows)
    assert all(r["next_publish_at"].endswith("+08:00") for r in rows if r["next_publish_at"])
    items = json.loads(_run("post", "preview", "--format", "json").output)
    x_items = [i for i in items if i["platform"] == "x"]
    assert x_items and all(i["fits"] for i in x_items)
    assert any("30 hari kerja" in i["text"] for i in items)
    cfg = CONFIG.read_text()
    assert "platform: file" in cfg and "platform: x" in cfg and "platform: facebook" in cfg
    posts_text = "\n".join(p.read_text() for p in (ROOT / "posts").rglob("*.y*ml"))
    assert "alt:" in posts_text and "variants:" in posts_text and "hashtags:" in posts_text
