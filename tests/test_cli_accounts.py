"""``spi accounts list`` and ``spi accounts check`` through click's CliRunner,
against a campaign folder in tmp_path, with the platforms answered by
responses (no network)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner

from _support import GRAPH, IG, add_account_checks, debug_token, load
from spi_campaign.cli import cli

TOKENS = {
    "SPI_KOMINFO_X_API_KEY": "tok-SECRET-x-key-1234567890",
    "SPI_KOMINFO_X_API_SECRET": "tok-SECRET-x-secret-1234567890",
    "SPI_KOMINFO_X_ACCESS_TOKEN": "tok-SECRET-x-token-1234567890",
    "SPI_KOMINFO_X_ACCESS_TOKEN_SECRET": "tok-SECRET-x-tsecret-1234567890",
    "SPI_KOMINFO_FB_PAGE_TOKEN": "tok-SECRET-fb-1234567890",
    "SPI_KOMINFO_IG_ACCESS_TOKEN": "tok-SECRET-ig-1234567890",
}
WIDE = {"COLUMNS": "250"}        # rich folds long cells at 80 columns


@pytest.fixture
def campaign(camp) -> Path:
    config = camp.write_config(f"""\
        timezone: Asia/Makassar
        posts_dir: posts
        state: .spi/state.db
        accounts:
          kominfo-x:
            platform: x
          kominfo-fb:
            platform: facebook
            page_id: "1234567890"
          kominfo-ig:
            platform: instagram
            ig_user_id: "{IG}"
          arsip:
            platform: file
            path: outbox/arsip.jsonl
        """)
    camp.post("01-apa-itu-gratifikasi.yaml", """\
        id: apa-itu-gratifikasi
        title: Apa itu gratifikasi?
        topic: gratifikasi
        status: approved
        publish_at: 2026-12-07 09:00
        accounts: [kominfo-x, kominfo-fb, kominfo-ig, arsip]
        text: Gratifikasi adalah pemberian dalam arti luas.
        link: https://www.kpk.go.id
        hashtags: [TolakGratifikasi]
        media:
          - url: https://cdn.example.org/poster.jpg
            alt: Poster tolak gratifikasi
        """)
    camp.post("02-draf.yaml", """\
        id: draf-pengingat
        status: draft
        publish_at: 2026-12-11 09:00
        accounts: [arsip]
        text: Pengingat hari Jumat.
        """)
    return config


def run(config: Path, *args: str, env: dict | None = None):
    result = CliRunner().invoke(cli, ["--config", str(config), "accounts", *args], env={**WIDE, **(env or {})},
                                catch_exceptions=False)
    for value in TOKENS.values():
        assert value not in result.output, "a credential value reached the output"
    return result


# ----- list -------------------------------------------------------------------

def test_list_table_shows_names_missing_variables_and_counts(campaign):
    env = {k: v for k, v in TOKENS.items() if "_X_" in k}
    result = run(campaign, "list", env=env)
    assert result.exit_code == 0, result.output
    out = result.output
    for name in ("kominfo-x", "kominfo-fb", "kominfo-ig", "arsip"):
        assert name in out
    assert "set      SPI_KOMINFO_X_API_KEY" in out
    assert "MISSING  SPI_KOMINFO_FB_PAGE_TOKEN" in out and "MISSING  SPI_KOMINFO_IG_ACCESS_TOKEN" in out
    assert "none needed" in out
    assert "2 (1 approved)" in out and "1 (1 approved)" in out
    assert "2 account(s) cannot publish" in out


def test_list_json(campaign):
    result = run(campaign, "list", "--format", "json", env={"SPI_KOMINFO_FB_PAGE_TOKEN": TOKENS["SPI_KOMINFO_FB_PAGE_TOKEN"]})
    assert result.exit_code == 0
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert list(rows) == ["kominfo-x", "kominfo-fb", "kominfo-ig", "arsip"]
    assert rows["kominfo-fb"]["credentials"] == [{"env": "SPI_KOMINFO_FB_PAGE_TOKEN", "set": True}]
    assert rows["kominfo-fb"]["ready"] is True and rows["kominfo-x"]["ready"] is False
    assert [c["env"] for c in rows["kominfo-x"]["credentials"]] == [
        "SPI_KOMINFO_X_API_KEY", "SPI_KOMINFO_X_API_SECRET", "SPI_KOMINFO_X_ACCESS_TOKEN",
        "SPI_KOMINFO_X_ACCESS_TOKEN_SECRET"]
    assert rows["arsip"]["credentials"] == [] and rows["arsip"]["ready"] is True
    assert (rows["arsip"]["posts"], rows["arsip"]["approved"]) == (2, 1)
    assert (rows["kominfo-ig"]["posts"], rows["kominfo-ig"]["options"]["ig_user_id"]) == (1, IG)
    assert rows["arsip"]["options"]["path"] == "outbox/arsip.jsonl"


def test_list_when_posts_cannot_be_read(campaign):
    (campaign.parent / "posts").rename(campaign.parent / "elsewhere")
    result = CliRunner().invoke(cli, ["--config", str(campaign), "accounts", "list", "--format", "json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert all(r["posts"] is None for r in rows)


# ----- check ------------------------------------------------------------------

@responses.activate
def test_check_all_accounts_succeed(campaign):
    add_account_checks(responses)
    result = run(campaign, "check", env=TOKENS)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "@TwitterDev" in out and "https://x.com/TwitterDev" in out
    assert "Diskominfos Provinsi Bali" in out
    assert "@diskominfobali" in out and "publishing quota 2/50 in 24 h" in out
    assert "file outbox/arsip.jsonl" in out or "arsip.jsonl" in out
    assert "4 ok, 0 failed" in out


@responses.activate
def test_check_json(campaign):
    add_account_checks(responses)
    result = run(campaign, "check", "--format", "json", env=TOKENS)
    assert result.exit_code == 0
    rows = {r["name"]: r for r in json.loads(result.output)}
    x = rows["kominfo-x"]
    notes = x.pop("notes")
    assert x == {"name": "kominfo-x", "platform": "x", "ok": True, "id": "2244994945",
                 "posts_as": "@TwitterDev", "url": "https://x.com/TwitterDev", "detail": "X Dev",
                 "error": None, "kind": None, "expires_at": None, "data_access_expires_at": None,
                 "usage": None, "warnings": [], "token_expiring": False}
    assert "SPI_KOMINFO_X_BEARER_TOKEN" in notes[0]
    assert rows["kominfo-fb"]["posts_as"] == "Diskominfos Provinsi Bali"
    assert datetime.fromisoformat(rows["kominfo-fb"]["expires_at"]) > datetime.now(timezone.utc)
    assert rows["kominfo-fb"]["token_expiring"] is False and rows["kominfo-fb"]["warnings"] == []
    assert rows["kominfo-ig"]["posts_as"] == "@diskominfobali"
    assert rows["arsip"]["ok"] is True


@responses.activate
def test_check_expired_facebook_token(campaign):
    responses.add(responses.GET, f"{GRAPH}/1234567890", json=load("meta/error_190_463.json"), status=400)
    result = run(campaign, "check", "kominfo-fb", env=TOKENS)
    assert result.exit_code == 1
    assert "FAILED (auth)" in result.output
    assert "SPI_KOMINFO_FB_PAGE_TOKEN" in result.output and "subcode 463" in result.output
    assert "0 ok, 1 failed" in result.output


@responses.activate
def test_check_x_rejected_and_missing_credentials(campaign):
    responses.add(responses.GET, "https://api.x.com/2/users/me", json=load("x/error_401.json"), status=401)
    result = run(campaign, "check", "kominfo-x", "--format", "json", env=TOKENS)
    assert result.exit_code == 1
    row = json.loads(result.output)[0]
    assert row["ok"] is False and row["kind"] == "auth" and "SPI_KOMINFO_X_API_KEY" in row["error"]

    result = run(campaign, "check", "kominfo-x", "--format", "json",
                 env={"SPI_KOMINFO_X_API_KEY": TOKENS["SPI_KOMINFO_X_API_KEY"]})
    assert result.exit_code == 1
    err = json.loads(result.output)[0]["error"]
    assert "SPI_KOMINFO_X_API_SECRET" in err and "SPI_KOMINFO_X_ACCESS_TOKEN_SECRET" in err
    assert "SPI_KOMINFO_X_API_KEY," not in err          # the one that is set is not reported missing


@responses.activate
def test_check_instagram_success_and_permission_failure(campaign):
    responses.add(responses.GET, f"{GRAPH}/{IG}", json=load("meta/ig_user.json"))
    responses.add(responses.GET, f"{GRAPH}/{IG}/content_publishing_limit", json=load("meta/ig_publishing_limit.json"))
    assert run(campaign, "check", "kominfo-ig", env=TOKENS).exit_code == 0

    responses.reset()
    responses.add(responses.GET, f"{GRAPH}/{IG}", json=load("meta/error_10_permission.json"), status=403)
    result = run(campaign, "check", "kominfo-ig", env=TOKENS)
    assert result.exit_code == 1 and "permission" in result.output


@responses.activate
def test_one_failure_among_several_exits_1_and_shows_all(campaign):
    add_account_checks(responses)
    env = {k: v for k, v in TOKENS.items() if k != "SPI_KOMINFO_IG_ACCESS_TOKEN"}
    result = run(campaign, "check", "--format", "json", env=env)
    assert result.exit_code == 1
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert [rows[n]["ok"] for n in ("kominfo-x", "kominfo-fb", "kominfo-ig", "arsip")] == [True, True, False, True]
    assert "SPI_KOMINFO_IG_ACCESS_TOKEN" in rows["kominfo-ig"]["error"]


def test_check_file_account_needs_no_credentials(campaign):
    result = run(campaign, "check", "arsip")
    assert result.exit_code == 0 and "1 ok, 0 failed" in result.output


def test_check_file_account_whose_path_is_a_folder_fails(campaign):
    (campaign.parent / "outbox" / "arsip.jsonl").mkdir(parents=True)
    result = run(campaign, "check", "arsip", "--format", "json")
    (row,) = json.loads(result.output)
    assert result.exit_code == 1 and not row["ok"]
    assert row["error"] == f"account 'arsip': {campaign.parent / 'outbox' / 'arsip.jsonl'} exists and is not a file"


def test_check_unknown_account(campaign):
    result = CliRunner().invoke(cli, ["--config", str(campaign), "accounts", "check", "kominfo-tw"])
    assert result.exit_code == 1
    assert "unknown account 'kominfo-tw'" in result.output
    assert "kominfo-x, kominfo-fb, kominfo-ig, arsip" in result.output


@pytest.mark.parametrize("args", [["--help"], ["list", "--help"], ["check", "--help"]])
def test_help_has_examples(args):
    result = CliRunner().invoke(cli, ["accounts", *args])
    assert result.exit_code == 0 and "Example" in result.output and "spi accounts" in result.output


@responses.activate
@pytest.mark.parametrize("days,warned", [(10, True), (0.5, True), (-1, True), (15, False), (60, False)])
def test_check_warns_from_14_days_before_the_token_expires(campaign, days, warned):
    responses.add(responses.GET, f"{GRAPH}/1234567890", json=load("meta/page.json"))
    responses.add(responses.GET, f"{GRAPH}/debug_token", json=debug_token(days))
    result = run(campaign, "check", "kominfo-fb", env=TOKENS)
    assert result.exit_code == 0, result.output           # a warning, not a failure
    assert ("warning: the access token" in result.output) is warned
    assert ("1 ok, 0 failed, 1 with a warning" in result.output) is warned
    if days > 0 and warned:
        assert "renew it before then" in result.output
    if days < 0:
        assert "expired on" in result.output
    row = json.loads(run(campaign, "check", "kominfo-fb", "--format", "json", env=TOKENS).output)[0]
    assert row["token_expiring"] is warned and bool(row["warnings"]) is warned
    assert row["expires_at"] is not None


@responses.activate
def test_check_warns_when_metas_data_access_expires_soon(campaign):
    responses.add(responses.GET, f"{GRAPH}/{IG}", json=load("meta/ig_user.json"))
    responses.add(responses.GET, f"{GRAPH}/{IG}/content_publishing_limit", json=load("meta/ig_publishing_limit.json"))
    responses.add(responses.GET, f"{GRAPH}/debug_token", json=debug_token(60, data_access_days=3))
    row = json.loads(run(campaign, "check", "kominfo-ig", "--format", "json", env=TOKENS).output)[0]
    assert row["ok"] and row["token_expiring"]
    assert row["warnings"][0].startswith("the app's access to the account's data expires on")


@responses.activate
def test_check_shows_x_usage_with_the_bearer_token(campaign):
    responses.add(responses.GET, "https://api.x.com/2/users/me", json=load("x/users_me.json"))
    responses.add(responses.GET, "https://api.x.com/2/usage/tweets", json=load("x/usage.json"))
    env = {**TOKENS, "SPI_KOMINFO_X_BEARER_TOKEN": "tok-SECRET-x-bearer-1234567890"}
    result = run(campaign, "check", "kominfo-x", env=env)
    assert result.exit_code == 0 and "1,234 of 10,000 posts read (8,766 left)" in result.output
    assert "tok-SECRET-x-bearer-1234567890" not in result.output
    row = json.loads(run(campaign, "check", "kominfo-x", "--format", "json", env=env).output)[0]
    assert row["usage"]["remaining"] == 8766


def test_list_shows_optional_variables(campaign):
    result = run(campaign, "list", "--format", "json", env={"SPI_KOMINFO_FB_APP_SECRET": "x" * 32})
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["kominfo-fb"]["optional_credentials"] == [{"env": "SPI_KOMINFO_FB_APP_SECRET", "set": True}]
    assert rows["kominfo-x"]["optional_credentials"] == [{"env": "SPI_KOMINFO_X_BEARER_TOKEN", "set": False}]
    assert rows["kominfo-x"]["ready"] is False                # the four required ones are missing
    table = run(campaign, "list").output
    assert "optional SPI_KOMINFO_IG_APP_SECRET" in table


@pytest.mark.parametrize("where", ["fifo", "proc-file", "under-proc"])
def test_check_file_account_whose_path_cannot_be_written_fails(camp, where):
    """Root passes every permission check, so only a real attempt tells:
    a FIFO, a /proc file (opens for writing, refuses every write) and a new
    file under /proc (the folder refuses new files) are failures, not ok."""
    import os

    if where == "fifo":
        path = camp.root / "outbox" / "arsip.jsonl"
        path.parent.mkdir()
        os.mkfifo(path)
    else:
        path = Path("/proc/version") if where == "proc-file" else Path("/proc/spi-outbox/arsip.jsonl")
    config = camp.write_config(f"""\
        timezone: Asia/Makassar
        accounts:
          arsip:
            platform: file
            path: {path}
        """)
    result = run(config, "check", "arsip", "--format", "json")
    (row,) = json.loads(result.output)
    assert result.exit_code == 1 and not row["ok"], row
    expected = {"fifo": f"{path} exists and is not a regular file",
                "proc-file": f"cannot write {path}: ",
                "under-proc": f"cannot create {path}: folder /proc does not accept new files"}[where]
    assert row["error"].startswith(f"account 'arsip': {expected}"), row["error"]
    assert not (camp.root / "outbox" / "arsip.jsonl").is_file()
