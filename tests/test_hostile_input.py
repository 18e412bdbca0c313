"""Hostile input never hangs, never crashes, never stops the other posts.

Every command (``validate``, ``list``, ``preview``, ``publish-due
--dry-run``) runs as a real process (``.venv/bin/spi``) on real files: YAML
with explicit tags, YAML bombs generated here, symbolic links and link loops,
FIFOs and devices named as media, names too long for the file system, control
and bidi characters in arguments. A hang is caught by the subprocess timeout.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest

from _support import load_plugin
from spi_campaign import redact

kit = load_plugin("spi_testkit")

COMMANDS = [("post", "validate"), ("post", "list"), ("post", "preview"), ("post", "publish-due", "--dry-run")]


def campaign(root: Path, accounts: dict | None = None) -> Path:
    kit.write_config(root, accounts or kit.file_accounts(["arsip"]))
    # One good post, due now: it must keep loading and publishing whatever else is in posts/.
    kit.write_post(root, "baik", kit.now() - timedelta(minutes=1), ["arsip"])
    return root


def run(root: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    result = kit.spi(root, *args, timeout=timeout)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-2000:]
    return result


def problems(root: Path, timeout: float = 30) -> list[dict]:
    result = run(root, "post", "validate", "--format", "json", timeout=timeout)
    return json.loads(result.stdout)["problems"]


def every_command_copes(root: Path, timeout: float = 30) -> None:
    """No traceback, no hang, and the good post still loads and would publish."""
    for args in COMMANDS:
        result = run(root, *args, timeout=timeout)
        assert result.returncode in (0, 1), (args, result.stderr)
        if args[1] in ("list", "preview"):
            assert "baik" in result.stdout, (args, result.stdout)
        if args[1] == "publish-due":
            assert "baik -> arsip" in result.stdout, result.stdout


# ----- 15: explicit tags -----------------------------------------------------------------------

TAGS = {
    "timestamp.yaml": "!!timestamp soon", "bool.yaml": "!!bool maybe", "int.yaml": "!!int x",
    "seq.yaml": "!!seq x", "float.yaml": "!!float lots", "null.yaml": "!!null nothing",
    "map.yaml": "!!map x", "set.yaml": "!!set x",
}


def test_explicit_tags_are_problems_on_their_line_and_the_rest_publishes(tmp_path):
    root = campaign(tmp_path)
    for name, tagged in TAGS.items():
        (root / "posts" / name).write_text(f"id: {name[:-5]}\ntitle: {tagged}\ntext: Draf\n", encoding="utf-8")
    probs = problems(root)
    got = {Path(p["file"]).name: (p["line"], p["message"]) for p in probs if p["severity"] == "error"}
    assert set(got) == set(TAGS)
    assert all(line == 2 for line, _ in got.values()), got
    assert got["bool.yaml"][1] == "'maybe' is not a valid !!bool value"
    assert got["timestamp.yaml"][1] == "'soon' is not a valid !!timestamp value"
    assert got["seq.yaml"][1] == "YAML tag !!seq cannot tag a plain value"
    every_command_copes(root)


def test_valid_explicit_tags_still_mean_what_they_say(tmp_path):
    root = campaign(tmp_path)
    (root / "posts" / "ok.yaml").write_text(
        "id: ok\nstatus: draft\ntitle: !!str 2026\npublish_at: !!timestamp 2030-12-09 09:00:00\ntext: Draf\n",
        encoding="utf-8")
    assert [p for p in problems(root) if p["severity"] == "error"] == []


def test_an_unclosed_quote_points_to_where_it_opened(tmp_path):
    root = campaign(tmp_path)
    (root / "posts" / "kutip.yaml").write_text('id: kutip\ntext: "Tolak gratifikasi\nstatus: draft\n\n\n# akhir\n',
                                              encoding="utf-8")
    [p] = [p for p in problems(root) if p["severity"] == "error"]
    assert (Path(p["file"]).name, p["line"]) == ("kutip.yaml", 2)
    assert p["message"] == "YAML syntax error: a quote opened here is never closed"


# ----- 14: YAML bombs within the 5 MiB limit ---------------------------------------------------

def _merge_bomb() -> str:
    """10,000 keys merged 50,000 times (over 60 s before the bound)."""
    return ("id: gabung\ntext: x\nz: &d {" + ", ".join(f"k{i}: 1" for i in range(10_000)) + "}\n"
            + "salinan:\n" + "".join("- {<<: *d}\n" for _ in range(50_000)))


def _merge_bomb_fewer_nodes() -> str:
    """10,000 keys merged 3,000 times: under the node bound, caught by the expansion bound."""
    return ("z: &d {" + ", ".join(f"k{i}: 1" for i in range(10_000)) + "}\n"
            + "salinan:\n" + "".join("- {<<: *d}\n" for _ in range(3_000)))


def _thread_bomb() -> str:
    """A 1 MB string aliased as thread parts (24 CPU-minutes before the bound)."""
    big = "Gratifikasi " * 87_382
    return ("id: utas\nstatus: draft\naccounts: [x]\ntext: &s " + big + "\n"
            + "variants:\n  x:\n    thread: [" + ", ".join(["*s"] * 1_000_000) + "]\n")


def _text_bomb() -> str:
    """One 1 MB text for X, no alias (10 s to measure before the text bound)."""
    return "id: panjang\nstatus: draft\naccounts: [x]\ntext: " + "Gratifikasi " * 87_382 + "\n"


BOMBS = {
    "gabung.yaml": (_merge_bomb, "more than 100,000 YAML values"),
    "gabung2.yaml": (_merge_bomb_fewer_nodes, "expand this to more than 200,000 values"),
    "utas.yaml": (_thread_bomb, "expand this to more than"),
    "panjang.yaml": (_text_bomb, "text is 1,048,583 characters; spi reads at most 65,536"),
    "daftar.yaml": (lambda: "- a\n" * 1_250_000, "more than 100,000 YAML values"),
    "ulang.yaml": (lambda: "id: ulang\ntext: x\nlist: &a [1, *a]\n", "recursive alias"),
}


def test_yaml_bombs_load_in_bounded_time_with_a_problem_naming_file_and_line(tmp_path):
    from spi_campaign.config import load_config
    from spi_campaign.loader import read_post_file

    root = campaign(tmp_path, {**kit.file_accounts(["arsip"]), "x": {"platform": "x"}})
    for name, (make, _) in BOMBS.items():
        data = make().encode("utf-8")
        assert len(data) <= 5 * 1024 * 1024, name
        (root / "posts" / name).write_bytes(data)
    config = load_config(root / "config.yaml")
    for name, (_, fragment) in BOMBS.items():
        start = time.monotonic()
        _, probs, _ = read_post_file(root / "posts" / name, config)
        took = time.monotonic() - start
        assert took < 3, f"{name} took {took:.1f} s"
        errors = [p for p in probs if p.severity == "error"]
        assert len(errors) == 1 and fragment in errors[0].message, (name, errors)
        assert errors[0].line is not None, name
    every_command_copes(root, timeout=60)


# ----- 11: symbolic links ----------------------------------------------------------------------

def test_symlinked_folders_are_read_and_loops_are_problems_not_crashes(tmp_path):
    root = campaign(tmp_path)
    elsewhere = tmp_path / "bersama"
    elsewhere.mkdir()
    (elsewhere / "tautan.yaml").write_text(
        kit.post_yaml("tautan", kit.now() + timedelta(days=1), ["arsip"]), encoding="utf-8")
    posts = root / "posts"
    (posts / "bersama").symlink_to(elsewhere, target_is_directory=True)
    (posts / "sub").mkdir()
    (posts / "sub" / "naik").symlink_to(posts, target_is_directory=True)        # a loop back up
    (posts / "satu").symlink_to(posts / "dua")                                  # a loop of links
    (posts / "dua").symlink_to(posts / "satu")
    (posts / "diri.yaml").symlink_to(posts / "diri.yaml")                       # a post file that is a loop
    probs = problems(root)
    warnings = {(Path(p["file"]).name, p["message"].split(":")[0]) for p in probs if p["severity"] == "warning"}
    assert ("naik", "symbolic link loop") in warnings
    assert ("satu", "symbolic link leads nowhere (Too many levels of symbolic links); ignored") in warnings
    errors = [(Path(p["file"]).name, p["message"]) for p in probs if p["severity"] == "error"]
    assert errors == [("diri.yaml", "cannot read file: Too many levels of symbolic links")]
    listed = run(root, "post", "list", "--format", "json")
    assert {p["id"] for p in json.loads(listed.stdout)} == {"baik", "tautan"}
    every_command_copes(root)


# ----- 13: FIFOs and devices ---------------------------------------------------------------------

def test_fifo_and_device_media_are_problems_not_hangs(tmp_path):
    root = campaign(tmp_path)
    os.mkfifo(root / "posts" / "gambar.png")
    (root / "posts" / "pipa.yaml").write_text(
        "id: pipa\nstatus: approved\npublish_at: 2030-12-09 09:00\naccounts: [arsip]\ntext: Tolak gratifikasi\n"
        "media:\n  - path: gambar.png\n    alt: Poster\n  - path: /dev/zero\n    alt: Nol\n", encoding="utf-8")
    probs = problems(root, timeout=20)
    errors = [(Path(p["file"]).name, p["line"], p["message"]) for p in probs if p["severity"] == "error"]
    assert errors == [
        ("pipa.yaml", 7, f"media file {root / 'posts' / 'gambar.png'} cannot be used: not a regular file "
                         "(a FIFO (named pipe))"),
        ("pipa.yaml", 9, "media file /dev/zero cannot be used: not a regular file (a device)")]
    every_command_copes(root, timeout=20)


# ----- 16, 17: names too long, control and bidi characters ---------------------------------------

def test_names_too_long_for_the_file_system_are_one_line_errors(tmp_path):
    long = "k" * 300
    for args in (["--config", str(tmp_path / f"{long}.yaml"), "post", "list"], ["init", long],
                 ["init", f"{long}/kampanye"]):
        result = subprocess.run([kit.SPI, *args], cwd=tmp_path, env=kit.env(), capture_output=True, text=True,
                                timeout=30)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1 and "at most 255" in result.stderr, result.stderr
    kit.write_config(tmp_path, {"arsip": {"platform": "file", "path": f"{long}.jsonl"}})
    cfg = tmp_path / "config.yaml"
    cfg.write_text(cfg.read_text().replace("posts_dir: posts", f"posts_dir: {long}")
                   .replace("state: .spi/state.db", f"state: {long}/state.db"))
    probs = problems(tmp_path)
    assert [(p["line"], p["message"].split(":")[0]) for p in probs if p["severity"] == "error"] == [
        (2, "posts_dir"), (3, "state"), (10, "account 'arsip'")]
    for args in COMMANDS[1:]:
        result = run(tmp_path, *args)
        assert result.returncode == 1 and result.stderr.startswith("Error: ") and "at most 255" in result.stderr


@pytest.mark.parametrize("args", [("post", "publish", "ab\x07\u202ecd"), ("post", "list", "--account", "a\x1b]0;x\x07"),
                                  ("post", "list", "--format", "t\u2066able")])
def test_control_and_bidi_characters_from_arguments_are_escaped(tmp_path, args):
    root = campaign(tmp_path)
    result = run(root, *args)
    assert result.returncode in (1, 2)
    for raw, shown in (("\x07", "\\x07"), ("\u202e", "\\u202e"), ("\x1b", "\\x1b"), ("\u2066", "\\u2066")):
        assert raw not in result.stderr
        if raw in "".join(args):
            assert shown in result.stderr, result.stderr


# ----- 18: redact the secret, not the language -------------------------------------------------

@pytest.fixture
def secrets(monkeypatch):
    """A clean registry of secrets for this test (restored afterwards)."""
    monkeypatch.setattr(redact, "_secrets", set())
    monkeypatch.setattr(redact, "_pattern", None)
    return redact


def test_a_secret_that_is_a_word_does_not_mangle_other_words(secrets):
    secrets.register("Sahabat")
    text = "Sahabatku, persahabatan dan Sahabat_Diskominfo tetap terbaca"
    assert secrets.scrub(text) == text
    assert secrets.scrub("Sahabat Diskominfo: token Sahabat ditolak") == "*** Diskominfo: token *** ditolak"


@pytest.mark.parametrize("leak", [
    "GET /me?access_token=Sahabat&fields=id",
    "POST&https%3A%2F%2Fapi.x.com&oauth_consumer_key%3DSahabat%26oauth_nonce%3D1",
    '{"error": "invalid token \\"Sahabat\\""}',
    "token=Sahabat",
    "(Sahabat)",
])
def test_a_registered_secret_still_never_shows(secrets, leak):
    secrets.register("Sahabat")
    assert "Sahabat" not in secrets.scrub(leak)


@pytest.mark.parametrize("leak, secret", [
    ("https://graph.facebook.com/v27.0/me?fields=id&access_token=EAABnotregistered123", "EAABnotregistered123"),
    ("Authorization: Bearer AAAAnotregisteredBearer", "AAAAnotregisteredBearer"),
    ('Authorization: OAuth oauth_consumer_key="ck1234567", oauth_signature="sig%2B987654"', "sig%2B987654"),
    ("oauth_token%3Dtk-99887766%26oauth_version", "tk-99887766"),
])
def test_credentials_in_urls_and_headers_are_masked_even_unregistered(secrets, leak, secret):
    assert secret not in secrets.scrub(leak)
    assert secrets.MASK in secrets.scrub(leak)


def test_a_percent_encoded_secret_is_masked(secrets):
    secrets.register("ab/cd+ef==gh")
    assert secrets.scrub("sig=ab%2Fcd%2Bef%3D%3Dgh and ab%252Fcd%252Bef%253D%253Dgh") == "sig=*** and ***"
