"""Every command documents itself, and `spi --help` stays light."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from spi_campaign.cli import cli

HEAVY = ("tweepy", "facebook", "apscheduler", "pydantic", "twitter_text", "requests", "urllib3")


def _commands(group: click.Group, prefix=()):
    for name, cmd in sorted(group.commands.items()):
        yield prefix + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))


ALL = list(_commands(cli))


def test_the_expected_commands_exist():
    names = {" ".join(path) for path, _ in ALL}
    assert {"init", "post", "post validate", "post list", "post preview", "accounts"} <= names


@pytest.mark.parametrize("path, cmd", ALL, ids=[" ".join(p) for p, _ in ALL])
def test_every_command_has_help_with_an_example(path, cmd):
    assert cmd.help and len(cmd.help.strip()) > 20, f"{' '.join(path)} has no help text"
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output or "spi " in result.output, f"{' '.join(path)} help shows no example"
    for param in cmd.params:
        if isinstance(param, click.Option):
            assert param.help, f"option {param.name} of {' '.join(path)} has no help"


def test_version():
    from spi_campaign import __version__

    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


@pytest.mark.parametrize("argv", [["--help"], ["post", "--help"], ["post", "validate", "--help"]])
def test_help_imports_no_heavy_module(argv):
    code = ("import sys\nfrom spi_campaign.cli import cli\n"
            f"try:\n    cli({argv!r}, prog_name='spi')\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_python_dash_m_works():
    out = subprocess.run([sys.executable, "-m", "spi_campaign", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "Usage: spi" in out.stdout
