"""CliRunner tests of every publishing command, option and error."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from _support import load_plugin

kit = load_plugin("spi_testkit")

from spi_campaign.cli import cli  # noqa: E402


pytestmark = pytest.mark.usefixtures("flaky_platform")


@pytest.fixture
def c(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["a", "b"]) | kit.file_accounts(["f"], platform="flaky"))
    due = kit.now().replace(microsecond=0) - timedelta(minutes=2)
    kit.write_post(tmp_path, "p", due, ["a", "b"], text="Halo")
    kit.write_post(tmp_path, "later", kit.now() + timedelta(days=2), ["a"])
    kit.write_post(tmp_path, "konsep", kit.now() + timedelta(days=2), ["a"], status="draft")
    return tmp_path


def spi(root, *args, input=None):
    return CliRunner().invoke(cli, ["--config", str(root / "config.yaml"), *args], input=input,
                              catch_exceptions=False, env={"COLUMNS": "200"})


def status(root, *args):
    r = spi(root, "post", "status", "--format", "json", *args)
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_publish_due_then_nothing_more(c):
    r = spi(c, "post", "publish-due")
    assert r.exit_code == 0, r.output
    assert r.output.count("published p") == 2 and "2 published" in r.output
    r = spi(c, "post", "publish-due")
    assert r.exit_code == 0 and "0 published" in r.output and "Next publication due" in r.output


def test_publish_due_dry_run_writes_nothing(c):
    ledger = c / ".spi" / "state.db"
    before = ledger.read_bytes()
    r = spi(c, "post", "publish-due", "--dry-run")
    assert r.exit_code == 0, r.output
    assert "would publish p -> a" in r.output and "Halo" in r.output and "Nothing was written" in r.output
    assert ledger.read_bytes() == before and not (c / "outbox").exists()
    assert not (c / ".spi" / "state.db-wal").exists() or (c / ".spi" / "state.db-wal").stat().st_size == 0


def test_publish_due_catch_up_option(c):
    kit.write_post(c, "old", kit.now() - timedelta(hours=8), ["a"])
    r = spi(c, "post", "publish-due", "--catch-up", "9h")
    assert r.exit_code == 0 and "published old" in r.output
    r = spi(c, "post", "publish-due", "--catch-up", "soon")
    assert r.exit_code == 2 and "--catch-up" in r.output


def test_publish_due_reports_missed_with_exit_1(c):
    kit.write_post(c, "old", kit.now() - timedelta(hours=8), ["a"])
    r = spi(c, "post", "publish-due")
    assert r.exit_code == 1 and "missed    old -> a" in r.output and "1 missed" in r.output


def test_publish_due_failure_exit_1(c):
    kit.control(c, "f", script={"g": ["permanent"]})
    kit.write_post(c, "g", kit.now() - timedelta(minutes=1), ["f"])
    r = spi(c, "post", "publish-due")
    assert r.exit_code == 1 and "failed" in r.output and "HTTP 400" in r.output


def test_publish_one_post_now(c):
    r = spi(c, "post", "publish", "later", "--account", "a")
    assert r.exit_code == 0, r.output
    assert [x["post"] for x in kit.outbox(c, "a")] == ["later"]
    (row,) = status(c, "later")
    assert row["state"] == "published"
    # the scheduled run does not publish it again
    spi(c, "post", "publish-due")
    assert [x["post"] for x in kit.outbox(c, "a")].count("later") == 1


@pytest.mark.parametrize("args,message", [
    (("nope",), "unknown post id 'nope'"),
    (("p", "--account", "zz"), "unknown account 'zz'"),
    (("p", "--account", "f"), "is not for account 'f'"),
    (("konsep",), "is draft"),
])
def test_publish_errors(c, args, message):
    r = spi(c, "post", "publish", *args)
    assert r.exit_code == 1 and message in r.output, r.output


def test_publish_refuses_already_published_and_force_confirms(c):
    assert spi(c, "post", "publish-due").exit_code == 0
    r = spi(c, "post", "publish", "p", "--account", "a")
    assert r.exit_code == 1 and "already published" in r.output and "--force" in r.output
    r = spi(c, "post", "publish", "p", "--account", "a", "--force", input="n\n")
    assert r.exit_code == 1 and "Aborted" in r.output
    assert len(kit.outbox(c, "a")) == 1
    r = spi(c, "post", "publish", "p", "--account", "a", "--force", input="y\n")
    assert r.exit_code == 0 and len(kit.outbox(c, "a")) == 2
    r = spi(c, "post", "publish", "p", "--account", "a", "--force", "--yes")
    assert r.exit_code == 0 and "Publish" not in r.output and len(kit.outbox(c, "a")) == 3
    assert len(kit.outbox(c, "b")) == 1


def test_publish_transient_returns_promptly_with_retry_time(c):
    kit.control(c, "f", script={"g": ["transient429"]}, retry_after_s=900)
    kit.write_post(c, "g", kit.now() + timedelta(days=1), ["f"])
    r = spi(c, "post", "publish", "g")
    # Nothing was published (only a retry scheduled): exit 1, so a script notices.
    assert r.exit_code == 1 and "next attempt is due" in r.output and "nothing was published" in r.output
    (row,) = status(c, "g")
    assert row["state"] == "pending" and row["next_attempt"] is not None


def test_status_json_shape_and_filters(c):
    spi(c, "post", "publish-due")
    rows = status(c)
    assert [r["post"] for r in rows] == ["later", "p", "p"]            # newest occurrence first
    keys = {"post", "account", "occurrence", "state", "attempts", "remote_id", "url", "error", "updated_at",
            "next_attempt"}
    assert all(set(r) == keys for r in rows)
    assert all(r["occurrence"].endswith("+08:00") and r["updated_at"].endswith("+08:00") for r in rows)
    assert {r["state"] for r in status(c, "--state", "published")} == {"published"}
    assert [r["account"] for r in status(c, "p", "--account", "b")] == ["b"]
    r = spi(c, "post", "status")
    assert r.exit_code == 0 and "published" in r.output and "later" in r.output
    r = spi(c, "post", "status", "nope")
    assert r.exit_code == 1 and "unknown post id" in r.output
    r = spi(c, "post", "status", "--state", "weird")
    assert r.exit_code == 2


def test_status_before_any_run(c):
    assert status(c) == []
    assert "No publications" in spi(c, "post", "status").output


def _unknown(c):
    kit.control(c, "f", script={"u": ["unknown"], "x": ["permanent"]}, reconcile="cannot_tell")
    kit.write_post(c, "u", kit.now() - timedelta(minutes=1), ["f"])
    kit.write_post(c, "x", kit.now() - timedelta(minutes=1), ["f"])
    spi(c, "post", "publish-due")
    return {r["post"]: r["state"] for r in status(c) if r["account"] == "f"}


def test_retry_failed_without_asking_unknown_asks(c):
    assert _unknown(c) == {"u": "unknown", "x": "failed"}
    r = spi(c, "post", "retry", "x")
    assert r.exit_code == 0 and "1 publication(s) back to pending" in r.output
    r = spi(c, "post", "retry", "u", input="n\n")
    assert r.exit_code == 1 and "may already be live" in r.output
    assert {r["post"]: r["state"] for r in status(c, "u")} == {"u": "unknown"}
    r = spi(c, "post", "retry", "u", input="y\n")
    assert r.exit_code == 0
    assert {r["post"]: r["state"] for r in status(c) if r["account"] == "f"} == {"u": "pending", "x": "pending"}
    spi(c, "post", "publish-due")
    assert {r["post"]: r["state"] for r in status(c) if r["account"] == "f"} == {"u": "published", "x": "published"}


def test_retry_yes_and_errors(c):
    _unknown(c)
    r = spi(c, "post", "retry", "--yes")
    assert r.exit_code == 0 and "2 publication(s)" in r.output
    assert spi(c, "post", "retry").output.startswith("Nothing to retry")
    r = spi(c, "post", "retry", "nope")
    assert r.exit_code == 1 and "unknown post id" in r.output
    r = spi(c, "post", "retry", "--account", "zz")
    assert r.exit_code == 1 and "unknown account" in r.output


def test_resolve_published(c):
    _unknown(c)
    r = spi(c, "post", "resolve", "u", "--account", "f", "--published", "https://flaky.example/u")
    assert r.exit_code == 0, r.output
    (row,) = status(c, "u")
    assert row["state"] == "published" and row["url"] == "https://flaky.example/u"
    spi(c, "post", "publish-due")
    assert len(kit.calls(c, "f")) == 2                     # never published again


def test_resolve_not_published(c):
    _unknown(c)
    r = spi(c, "post", "resolve", "u", "--account", "f", "--not-published")
    assert r.exit_code == 0 and "pending again" in r.output
    spi(c, "post", "publish-due")
    assert status(c, "u")[0]["state"] == "published"


@pytest.mark.parametrize("args,code,message", [
    (("u", "--account", "f"), 2, "exactly one of"),
    (("u", "--account", "f", "--published", "https://x", "--not-published"), 2, "exactly one of"),
    (("u", "--account", "zz", "--not-published"), 1, "unknown account"),
    (("nope", "--account", "f", "--not-published"), 1, "unknown post id"),
    (("p", "--account", "a", "--not-published"), 1, "nothing to resolve"),
    (("u", "--account", "f", "--not-published", "--occurrence", "kemarin"), 2, "--occurrence"),
])
def test_resolve_errors(c, args, code, message):
    _unknown(c)
    r = spi(c, "post", "resolve", *args)
    assert r.exit_code == code and message in r.output, r.output


def test_every_command_has_an_example_in_its_help(c):
    for cmd in ("publish-due", "schedule", "publish", "status", "retry", "resolve"):
        r = spi(c, "post", cmd, "--help")
        assert r.exit_code == 0 and "Example" in r.output and "spi post" in r.output


def test_one_broken_file_never_stops_the_rest_and_is_reported(c):
    (c / "posts" / "rusak.yaml").write_text("id: rusak\nstatus: approved\ntext: [halo\n")
    kit.write_post(c, "salah", kit.now().replace(microsecond=0) - timedelta(minutes=1), ["a", "nobody"])
    r = spi(c, "post", "publish-due")
    assert r.exit_code == 1, r.output                         # cron mails somebody
    assert r.output.count("published p") == 2                 # the rest went out
    broken = [ln for ln in r.output.splitlines() if "rusak.yaml" in ln][0]
    assert "posts/rusak.yaml:4: YAML syntax error" in broken and "held" in broken
    held = [ln for ln in r.output.splitlines() if "post 'salah' is held" in ln][0]
    assert "unknown account 'nobody'" in held and "salah.yaml:" in held
    assert "Traceback" not in r.output
    assert {(x["post"], x["state"]) for x in status(c)} >= {("p", "published"), ("salah", "pending")}


def test_adapter_bug_is_one_line_not_a_traceback_unless_vv(c):
    kit.control(c, "f", script={"g": ["crash"]})
    kit.write_post(c, "g", kit.now() - timedelta(minutes=1), ["f"])
    r = spi(c, "post", "publish-due")
    assert r.exit_code == 1
    assert "unexpected error from the flaky adapter: RuntimeError: adapter bug" in r.output
    assert "Traceback" not in r.output and "Traceback" not in r.stderr
    assert [x["state"] for x in status(c, "g")] == ["unknown"]     # never retried automatically
    kit.write_post(c, "h", kit.now() - timedelta(minutes=1), ["f"])
    kit.control(c, "f", script={"h": ["crash"]})
    debug = spi(c, "-vv", "post", "publish-due")
    assert "Traceback" in debug.stderr and "RuntimeError: adapter bug" in debug.stderr


def test_publish_due_catch_up_too_long_is_a_usage_error(c):
    r = spi(c, "post", "publish-due", "--catch-up", "99999999999999d")
    assert r.exit_code == 2 and "--catch-up: duration '99999999999999d' is too long" in r.output


def test_publish_refuses_a_post_whose_time_moved_after_it_was_published(c):
    assert spi(c, "post", "publish-due").exit_code == 0
    kit.write_post(c, "p", kit.now() + timedelta(hours=1), ["a", "b"], text="Halo")
    r = spi(c, "post", "publish-due")
    assert r.exit_code == 0 and "post 'p' was edited after it was published to a" in r.output
    r = spi(c, "post", "publish", "p", "--account", "a")
    assert r.exit_code == 1 and "already published" in r.output, r.output
    r = spi(c, "post", "publish", "p", "--account", "a", "--force", "--yes")
    assert r.exit_code == 0 and len(kit.outbox(c, "a")) == 2


def test_renamed_post_is_reported_not_republished(c):
    assert spi(c, "post", "publish-due").exit_code == 0
    (c / "posts" / "p.yaml").rename(c / "posts" / "halo.yaml")
    text = (c / "posts" / "halo.yaml").read_text(encoding="utf-8").replace("id: p\n", "id: halo\n")
    (c / "posts" / "halo.yaml").write_text(text, encoding="utf-8")
    r = spi(c, "post", "publish-due")
    assert r.exit_code == 0 and "0 published" in r.output, r.output
    assert "post 'halo' is not published to a" in r.output and "post 'p', no longer in the post files" in r.output
    assert len(kit.outbox(c, "a")) == len(kit.outbox(c, "b")) == 1


def test_dry_run_in_a_folder_whose_name_has_a_hash(tmp_path):
    # The ledger is read through a file: URI; a raw '#' made it open (and create) "<folder> " instead.
    root = tmp_path / "kampanye #2"
    root.mkdir()
    kit.write_config(root, kit.file_accounts(["a"]))
    kit.write_post(root, "p", kit.now() - timedelta(minutes=2), ["a"])
    assert spi(root, "post", "publish-due").exit_code == 0
    before = sorted(p.name for p in (root / ".spi").iterdir())
    r = spi(root, "post", "publish-due", "--dry-run")
    assert r.exit_code == 0 and "0 would be published" in r.output and "would publish p" not in r.output
    assert not (tmp_path / "kampanye ").exists()
    assert sorted(p.name for p in (root / ".spi").iterdir()) == before == ["state.db"]


def test_status_with_filters_that_match_nothing(c):
    spi(c, "post", "publish-due")
    r = spi(c, "post", "status", "--state", "unknown")
    assert r.exit_code == 0 and r.output.strip() == "No publications match."


def test_publish_a_post_whose_file_cannot_be_read_says_so(c):
    (c / "posts" / "p.yaml").write_text("id: p\nstatus: [unclosed\n", encoding="utf-8")
    r = spi(c, "post", "publish", "p")
    assert r.exit_code == 1
    assert r.output.strip() == ("Error: unknown post id 'p'; 1 post file(s) cannot be read and may hold it "
                                "(run 'spi post validate')")


def test_status_state_choices_match_the_model():
    from spi_campaign.cli.post_publish import PUBLICATION_STATES as cli_states
    from spi_campaign.ledger import STATES
    from spi_campaign.models import PUBLICATION_STATES

    assert cli_states == PUBLICATION_STATES and set(cli_states) == set(STATES)
