"""`spi init`."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from _support import load_plugin
from click.testing import CliRunner

from spi_campaign.cli import cli

kit = load_plugin("spi_testkit")


def test_init_creates_a_working_campaign(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["init", "kampanye"])
    assert result.exit_code == 0, result.output
    assert "created: kampanye/config.yaml" in result.output
    cfg = tmp_path / "kampanye" / "config.yaml"
    assert cfg.exists() and (tmp_path / "kampanye" / "posts" / "contoh-tolak-gratifikasi.yaml").exists()
    check = runner.invoke(cli, ["--config", str(cfg), "post", "validate", "--format", "json"])
    assert check.exit_code == 0, check.output
    data = json.loads(check.output)
    assert (data["posts"], data["errors"], data["warnings"]) == (1, 0, 0)
    preview = json.loads(runner.invoke(cli, ["--config", str(cfg), "post", "preview", "--format", "json"]).output)
    assert preview[0]["account"] == "arsip" and "30 hari kerja" in preview[0]["text"]


def test_init_never_overwrites(tmp_path):
    (tmp_path / "config.yaml").write_text("# mine\n")
    result = CliRunner().invoke(cli, ["init"])
    assert result.exit_code == 0
    assert "exists, left as is: config.yaml" in result.output
    assert (tmp_path / "config.yaml").read_text() == "# mine\n"
    # An existing config.yaml is an existing campaign: no sample post is added to it.
    assert "not created (config.yaml already existed: an existing campaign): posts/contoh-tolak-gratifikasi.yaml" \
        in result.output
    assert not (tmp_path / "posts").exists()


def test_init_on_a_file_is_an_error(tmp_path):
    (tmp_path / "f").write_text("x")
    result = CliRunner().invoke(cli, ["init", "f"])
    assert result.exit_code == 2      # click: DIRECTORY must not be a file


def test_init_where_config_yaml_is_a_folder_is_an_error(tmp_path):
    (tmp_path / "config.yaml").mkdir()
    result = CliRunner().invoke(cli, ["init"])
    assert result.exit_code == 1
    assert result.output.strip() == ("Error: config.yaml exists and is not a file; "
                                     "move it away and run 'spi init' again")


@pytest.mark.skipif(shutil.which("faketime") is None, reason="needs Debian's faketime (apt-get install faketime)")
@pytest.mark.parametrize("when_utc", ["2026-12-01 00:30:00", "2026-12-01 08:30:00", "2026-12-01 15:30:00"])
def test_a_new_campaign_validates_clean_at_any_hour(tmp_path, when_utc):
    """The sample post is a draft; at 16:30 or 23:30 WITA a sample due 'tomorrow
    09:00' was within 24 hours and warned. Real processes under faketime."""
    env = kit.env()
    env["TZ"] = "UTC"  # faketime reads '@...' in the process's local zone
    fake = ["faketime", "-f", f"@{when_utc}"]
    subprocess.run([*fake, kit.SPI, "init", "kampanye"], cwd=tmp_path, env=env, check=True, capture_output=True)
    out = subprocess.run([*fake, kit.SPI, "--config", str(tmp_path / "kampanye" / "config.yaml"),
                          "post", "validate", "--format", "json"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    data = json.loads(out.stdout)
    assert (data["posts"], data["errors"], data["warnings"]) == (1, 0, 0), data
    text = (tmp_path / "kampanye" / "posts" / "contoh-tolak-gratifikasi.yaml").read_text(encoding="utf-8")
    assert "publish_at: 2026-12-08 09:00" in text
