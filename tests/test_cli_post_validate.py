"""`spi post validate`: every error and warning kind, exit codes, JSON shape."""

from __future__ import annotations

import json
import textwrap
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

WITA = ZoneInfo("Asia/Makassar")

GOOD = textwrap.dedent("""\
    id: tolak-gratifikasi
    title: Tolak gratifikasi
    topic: gratifikasi
    status: approved
    publish_at: 2030-12-09 09:00
    accounts: [arsip]
    text: |
      Gratifikasi yang berhubungan dengan jabatan wajib dilaporkan ke KPK
      paling lambat 30 hari kerja sejak diterima.
    link: https://gol.kpk.go.id
    hashtags: [TolakGratifikasi]
    """)


def problems(result):
    data = json.loads(result.output)
    return data, data["problems"]


def only(problems_, severity="error"):
    return [p for p in problems_ if p["severity"] == severity]


def test_clean_campaign_exits_0(camp, run_cli):
    camp.post("a.yaml", GOOD)
    result = run_cli("post", "validate")
    assert result.exit_code == 0, result.output
    assert "1 files, 1 posts: 0 errors, 0 warnings" in result.output


def test_json_shape(camp, run_cli):
    camp.post("a.yaml", GOOD)
    camp.post("b.yaml", GOOD.replace("tolak-gratifikasi", "b").replace("status: approved", "status: bogus"))
    result = run_cli("post", "validate", "--format", "json")
    assert result.exit_code == 1
    data, probs = problems(result)
    assert set(data) == {"files", "posts", "errors", "warnings", "problems"}
    assert (data["files"], data["posts"], data["errors"]) == (2, 2, 1)
    assert set(probs[0]) == {"file", "line", "post", "account", "severity", "message"}
    assert probs[0]["file"].endswith("b.yaml") and probs[0]["line"] == 4 and probs[0]["post"] == "b"
    assert "status must be one of draft, approved, cancelled" in probs[0]["message"]


def test_yaml_syntax_error_does_not_stop_the_rest(camp, run_cli):
    camp.post("a-broken.yaml", "id: x\ntext: [unclosed\nstatus: approved\n")
    camp.post("b.yaml", GOOD.replace("status: approved", "status: maybe"))
    result = run_cli("post", "validate", "--format", "json")
    data, probs = problems(result)
    assert result.exit_code == 1
    files = {p["file"].rsplit("/", 1)[-1]: p for p in probs}
    assert "YAML syntax error" in files["a-broken.yaml"]["message"]
    assert files["a-broken.yaml"]["line"] in (2, 3)
    assert "status must be one of" in files["b.yaml"]["message"]


def test_text_output_names_file_line_post_account(camp, run_cli):
    camp.post("a.yaml", GOOD.replace("accounts: [arsip]", "accounts: [arsip, kominfo-twitter]"))
    result = run_cli("post", "validate")
    assert result.exit_code == 1
    line = [ln for ln in result.output.splitlines() if "unknown account" in ln][0]
    assert "a.yaml:6: error: post 'tolak-gratifikasi' (account kominfo-twitter)" in line
    assert "accounts in config.yaml: arsip, kominfo-fb" in line


@pytest.mark.parametrize("body, line, fragment", [
    ("- just\n- strings\n", 1, "must be a mapping"),
    ("42\n", 1, "must be a mapping"),
    (GOOD + "publsh_at: 2030-01-01 10:00\n", 12, "unknown key 'publsh_at' (did you mean 'publish_at'?)"),
    (GOOD.replace("title: Tolak gratifikasi", "title: [a, b]"), 2, "title must be text"),
    (GOOD.replace("hashtags: [TolakGratifikasi]", "hashtags: {a: 1}"), 11, "hashtags must be a list"),
    (GOOD.replace("hashtags: [TolakGratifikasi]", "hashtags: [Tolak Gratifikasi]"), 11, "must be one word"),
    (GOOD.replace("link: https://gol.kpk.go.id", "link: gol.kpk"), 10, "link must be an http(s) URL"),
    (GOOD.replace("2030-12-09 09:00", "2030-02-30 09:00"), 5, "is not a real date"),
    (GOOD.replace("2030-12-09 09:00", "2030-12-09 25:00"), 5, "is not a real date"),
    (GOOD.replace("2030-12-09 09:00", "2030-12-09"), 5, "has no time of day"),
    (GOOD.replace("2030-12-09 09:00", "next friday"), 5, "is not an ISO-8601 date-time"),
    (GOOD + "repeat: '0 9 * *'\n", 12, "needs 5 fields"),
    (GOOD + "repeat: '0 25 * * FRI'\n", 12, "invalid cron expression"),
    (GOOD + "repeat: '0 9 * * FUNDAY'\n", 12, "invalid cron expression"),
    (GOOD.replace("id: tolak-gratifikasi", "id: tolak gratifikasi!"), 1, "id 'tolak gratifikasi!' must be"),
    ("id: a\nstatus: draft\ntext: 12\n", 3, "text must be text"),
    (GOOD + "title: again\n", 12, "key 'title' appears twice"),
    (GOOD + "variants:\n  myspace:\n    text: hai\n", 13, "variant 'myspace' is neither a platform nor an account"),
    (GOOD + "variants:\n  arsip:\n    txt: hai\n", 14, "unknown key 'variants.arsip.txt'"),
    ("id: a\nstatus: approved\naccounts: [arsip]\ntext: hai\n", 1, "an approved post needs publish_at"),
    (GOOD + "media:\n  - alt: tanpa berkas\n", 13, "needs 'path' (a file) or 'url'"),
])
def test_structural_errors(camp, run_cli, body, line, fragment):
    camp.post("p.yaml", body)
    result = run_cli("post", "validate", "--format", "json")
    data, probs = problems(result)
    errors = only(probs)
    assert result.exit_code == 1, probs
    assert any(fragment in p["message"] for p in errors), errors
    hit = [p for p in errors if fragment in p["message"]][0]
    assert hit["line"] == line, hit
    assert hit["file"].endswith("p.yaml")


def test_unknown_timezone_in_config(camp, run_cli):
    camp.write_config("timezone: Asia/Denpasar\naccounts:\n  arsip: {platform: file, path: o.jsonl}\n")
    camp.post("a.yaml", GOOD)
    result = run_cli("post", "validate", "--format", "json")
    _, probs = problems(result)
    assert result.exit_code == 1
    assert probs[0]["file"].endswith("config.yaml") and probs[0]["line"] == 1
    assert "unknown timezone 'Asia/Denpasar'" in probs[0]["message"]


def test_config_errors(camp, run_cli):
    camp.write_config(
        "timezone: Asia/Makassar\npost_dir: posts\naccounts:\n"
        "  x1: {platform: myspace}\n"
        "  fb: {platform: file, path: o.jsonl, page_token: abc}\n"
        "  arsip: {platform: file, path: o.jsonl}\n")
    camp.post("a.yaml", GOOD)
    result = run_cli("post", "validate", "--format", "json")
    _, probs = problems(result)
    msgs = [(p["line"], p["message"]) for p in only(probs)]
    assert (2, "unknown key 'post_dir' (did you mean 'posts_dir'?)") in msgs
    from spi_campaign.adapters import registry

    listed = ", ".join(registry.available())
    assert {"facebook", "file", "instagram", "x", "bluesky", "threads", "mastodon", "telegram"} <= set(registry.available())
    assert any(line == 4 and f"unknown platform 'myspace'; available platforms: {listed}" in m
               for line, m in msgs), msgs
    assert any(line == 5 and "set the environment variable SPI_FB_PAGE_TOKEN instead" in m for line, m in msgs)
    assert "abc" not in result.output


def test_missing_config_is_one_clear_error(tmp_path, run_cli):
    result = run_cli("--config", str(tmp_path / "nope.yaml"), "post", "validate", config=False)
    assert result.exit_code == 1
    assert "nope.yaml: error: config file not found" in result.output


def test_duplicate_ids_across_files(camp, run_cli):
    camp.post("a.yaml", GOOD)
    camp.post("sub/b.yaml", GOOD)
    result = run_cli("post", "validate", "--format", "json")
    _, probs = problems(result)
    dup = [p for p in probs if "duplicate post id" in p["message"]]
    assert len(dup) == 1 and dup[0]["file"].endswith("sub/b.yaml") and dup[0]["line"] == 1
    assert "a.yaml:1" in dup[0]["message"]


def test_multi_post_files_need_ids(camp, run_cli):
    camp.post("many.yaml", "- text: satu\n  status: draft\n- id: dua\n  text: dua\n")
    camp.post("stream.yaml", "id: tiga\ntext: tiga\n---\nid: empat\ntext: empat\n")
    result = run_cli("post", "validate", "--format", "json")
    data, probs = problems(result)
    assert data["posts"] == 4
    assert [p["line"] for p in only(probs)] == [1]
    assert "needs an 'id'" in only(probs)[0]["message"]


def test_media_checks(camp, run_cli, tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
    (camp.posts / "media").mkdir()
    (camp.posts / "media" / "ok.png").write_bytes(png)
    (camp.posts / "media" / "doc.png").write_bytes(b"%PDF-1.4 not an image")
    with open(camp.posts / "media" / "huge.png", "wb") as fh:
        fh.write(png)
        fh.truncate(6 * 1024 * 1024)
    camp.write_config("accounts:\n  x: {platform: x}\n  arsip: {platform: file, path: o.jsonl}\n")
    camp.post("m.yaml", GOOD.replace("[arsip]", "[x, arsip]") + (
        "media:\n"
        "  - path: media/ok.png\n"
        "  - {path: media/missing.png, alt: hilang}\n"
        "  - {path: media/doc.png, alt: dokumen}\n"
        "  - {path: media/huge.png, alt: besar}\n"
    ))
    result = run_cli("post", "validate", "--format", "json")
    _, probs = problems(result)
    msgs = {(p["severity"], p["line"], p["account"], p["message"]) for p in probs}
    assert ("warning", 13, None, "image ok.png has no alt text (write what it shows, for screen-reader users)") in msgs
    missing = [m for m in msgs if "media file not found" in m[3]]
    assert len(missing) == 1 and missing[0][1] == 14   # once per post, not per account
    assert any(m[2] == "x" and "doc.png is application/octet-stream; X accepts" in m[3] for m in msgs), msgs
    assert any(m[2] == "x" and "huge.png is 6.0 MB; X accepts at most 5 MB" in m[3] for m in msgs), msgs
    assert not any(m[2] == "arsip" and "MB" in m[3] for m in msgs)


def test_text_over_x_limit_and_variant(camp, run_cli):
    camp.write_config("accounts:\n  x: {platform: x}\n  fb: {platform: facebook, page_id: '1'}\n")
    long_text = "Gratifikasi wajib dilaporkan. " * 10   # 300 chars
    camp.post("a.yaml", f"id: a\nstatus: approved\npublish_at: 2030-01-06 09:00\naccounts: [x, fb]\ntext: {long_text}\n")
    camp.post("b.yaml", f"id: b\nstatus: approved\npublish_at: 2030-01-06 09:00\naccounts: [x, fb]\n"
                        f"text: {long_text}\nvariants:\n  x:\n    text: Laporkan gratifikasi ke KPK.\n")
    result = run_cli("post", "validate", "--format", "json")
    _, probs = problems(result)
    errors = only(probs)
    assert len(errors) == 1, errors
    e = errors[0]
    assert (e["post"], e["account"], e["line"]) == ("a", "x", 5)
    assert "is 299 characters on X, over its limit of 280" in e["message"]


def test_emoji_and_urls_use_weighted_length(camp, run_cli):
    camp.write_config("accounts:\n  x: {platform: x}\n")
    # 139 emoji = 278 weighted; + "\n\n" = 280 fits exactly; one more emoji does not.
    camp.post("a.yaml", "id: a\nstatus: draft\naccounts: [x]\ntext: \"" + "\U0001F600" * 139 + "\"\n")
    camp.post("b.yaml", "id: b\nstatus: draft\naccounts: [x]\ntext: \"" + "\U0001F600" * 141 + "\"\n")
    camp.post("c.yaml", "id: c\nstatus: draft\naccounts: [x]\ntext: \"" + "a" * 255 + "\"\nlink: https://jaga.id/"
              + "p" * 100 + "\n")
    result = run_cli("post", "validate", "--format", "json")
    _, probs = problems(result)
    assert [(p["post"], p["account"]) for p in only(probs)] == [("b", "x")]


def test_instagram_needs_public_url_and_an_image(camp, run_cli):
    camp.write_config("accounts:\n  ig: {platform: instagram, ig_user_id: '17841400000000000'}\n")
    png = b"\xff\xd8\xff" + b"\0" * 100
    (camp.posts / "f.jpg").write_bytes(png)
    camp.post("a.yaml", "id: a\nstatus: draft\naccounts: [ig]\ntext: hai\n")
    camp.post("b.yaml", "id: b\nstatus: draft\naccounts: [ig]\ntext: hai\nmedia:\n  - {path: f.jpg, alt: foto}\n")
    camp.post("c.yaml", "id: c\nstatus: draft\naccounts: [ig]\ntext: hai\n"
                        "media:\n  - {url: 'https://example.org/f.jpg', alt: foto}\n")
    camp.post("d.yaml", "id: d\nstatus: draft\naccounts: [ig]\ntext: hai\nhashtags: ["
              + ", ".join(f"t{i}" for i in range(31)) + "]\nmedia:\n  - {url: 'https://example.org/f.jpg', alt: x}\n")
    result = run_cli("post", "validate", "--format", "json")
    _, probs = problems(result)
    by_post = {}
    for p in only(probs):
        by_post.setdefault(p["post"], []).append(p["message"])
    assert "Instagram needs at least 1 image" in " ".join(by_post["a"])
    assert "fetches images from a public URL; add url:" in " ".join(by_post["b"])
    assert "c" not in by_post
    assert "31 hashtags; Instagram allows at most 30" in " ".join(by_post["d"])


def test_warnings_past_draft_soon_empty_file(camp, run_cli):
    soon = (datetime.now(WITA) + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M")
    camp.post("past.yaml", GOOD.replace("2030-12-09", "2020-12-09"))
    camp.post("soon.yaml", GOOD.replace("tolak-gratifikasi", "soon").replace("status: approved", "status: draft")
              .replace("2030-12-09 09:00", soon))
    camp.post("empty.yaml", "")
    camp.post("comments.yml", "# nothing here yet\n")
    result = run_cli("post", "validate", "--format", "json")
    data, probs = problems(result)
    assert result.exit_code == 0, probs            # warnings only
    warns = {(p["file"].rsplit("/", 1)[-1], p["message"].split(" (")[0]) for p in only(probs, "warning")}
    assert ("empty.yaml", "file holds no posts") in warns
    assert ("comments.yml", "file holds no posts") in warns
    assert ("past.yaml", "publish time 2020-12-09 09:00 +08:00 is in the past") in warns
    assert any(f == "soon.yaml" and "still a draft but due" in m for f, m in warns), warns
    assert data["warnings"] == 4


def test_recurring_post_with_future_occurrences_is_not_past(camp, run_cli):
    camp.post("r.yaml", GOOD.replace("2030-12-09", "2020-01-03") + "repeat: '0 9 * * FRI'\nuntil: 2035-01-01\n")
    result = run_cli("post", "validate", "--format", "json")
    data, _ = problems(result)
    assert (data["errors"], data["warnings"]) == (0, 0)


@pytest.mark.parametrize("data, fragment", [
    (b"id: a\ntext: \xff\xfe bad\n", "not UTF-8 text (byte 0xff at line 2)"),
    (b"!!python/object/apply:os.system ['echo pwned']\n", "YAML tag !!python/object/apply:os.system is not allowed"),
    (b"id: a\ntext: !!python/name:os.system\n", "is not allowed"),
    (b"id: a\ntext: \x07bell\n", "YAML syntax error"),
])
def test_hostile_bytes_are_problems_not_tracebacks(camp, run_cli, data, fragment):
    camp.raw("bad.yaml", data)
    camp.post("good.yaml", GOOD)
    result = run_cli("post", "validate", "--format", "json")
    d, probs = problems(result)
    assert result.exit_code == 1
    assert any(fragment in p["message"] for p in probs), probs
    assert d["posts"] == 1      # the good file still counts
    assert not (camp.root / "pwned").exists()


def test_alias_bomb_is_bounded(camp, run_cli):
    import time

    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    prev = "a"
    for level in "bcdefghij":
        bomb += f"{level}: &{level} [" + ",".join(f"*{prev}" for _ in range(9)) + "]\n"
        prev = level
    camp.post("bomb.yaml", "id: bomb\n" + bomb + "text: *j\nhashtags: *j\n")
    merge = "base: &m0 {k0: 1}\n" + "".join(
        f"l{i}: &m{i}\n  <<: [" + ", ".join([f"*m{i - 1}"] * 9) + "]\n" for i in range(1, 9))
    camp.post("merge.yaml", "- id: merge\n  text: x\n" + "".join("  " + ln + "\n" for ln in merge.splitlines()))
    start = time.monotonic()
    result = run_cli("post", "validate", "--format", "json")
    assert time.monotonic() - start < 10
    _, probs = problems(result)
    assert result.exit_code == 1
    # Both are refused at the line where the expansion passes the bound (the
    # expanded tree would otherwise be walked by every check downstream).
    assert sorted((p["file"].rsplit("/", 1)[-1], p["line"]) for p in probs) == [("bomb.yaml", 7), ("merge.yaml", 15)]
    assert all("expand this to more than 200,000 values" in p["message"] for p in probs)


def test_only_named_files_are_reported(camp, run_cli):
    a = camp.post("a.yaml", GOOD.replace("status: approved", "status: nope"))
    camp.post("b.yaml", GOOD.replace("tolak-gratifikasi", "b").replace("status: approved", "status: nope"))
    result = run_cli("post", "validate", str(a), "--format", "json")
    data, probs = problems(result)
    assert data["files"] == 1 and data["errors"] == 1
    assert probs[0]["file"].endswith("a.yaml")


def test_usage_error_exits_2(run_cli):
    assert run_cli("post", "validate", "--format", "xml").exit_code == 2


def test_lone_surrogate_is_an_error_not_a_crash(camp, run_cli):
    camp.write_config("accounts:\n  x: {platform: x}\n")
    camp.post("s.yaml", 'id: s\nstatus: draft\naccounts: [x]\ntext: "halo \\ud800"\n')
    result = run_cli("post", "validate", "--format", "json")
    _, probs = problems(result)
    assert result.exit_code == 1
    # libyaml refuses the escape itself; the loader's own check covers the pure-Python parser.
    assert probs[0]["line"] == 4 and "invalid" in probs[0]["message"] and "character" in probs[0]["message"]
    assert run_cli("post", "preview").exit_code == 0


def test_media_path_with_nul_byte_is_a_problem(camp, run_cli):
    camp.post("n.yaml", GOOD + 'media:\n  - {path: "a\\0b.png", alt: x}\n  - ""\n')
    result = run_cli("post", "validate", "--format", "json")
    _, probs = problems(result)
    assert result.exit_code == 1
    msgs = [p["message"] for p in only(probs)]
    assert "media item 1: path must be a file name, got 'a\\x00b.png'" in msgs
    assert "media item 2: path must be a file name, got ''" in msgs


def _deny_listing(monkeypatch, folder):
    """``folder`` cannot be listed (as after chmod 000; the tests run as root, where chmod does not bite)."""
    import os
    from pathlib import Path

    real = os.scandir

    def scandir(path="."):
        if isinstance(path, (str, bytes, os.PathLike)) and Path(os.fsdecode(path)).resolve() == folder.resolve():
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_unreadable_posts_folder_is_one_error_never_an_empty_campaign(camp, run_cli, monkeypatch):
    camp.post("a.yaml", GOOD)
    _deny_listing(monkeypatch, camp.posts)
    result = run_cli("post", "validate", "--format", "json")
    data, probs = problems(result)
    assert result.exit_code == 1
    assert [p["message"] for p in only(probs)] == [f"cannot read the posts folder {camp.posts}: Permission denied"]
    for args in (("post", "list"), ("post", "publish-due")):
        result = run_cli(*args)
        assert result.exit_code == 1 and "cannot read the posts folder" in result.output, result.output


def test_unreadable_subfolder_is_reported_and_the_rest_is_checked(camp, run_cli, monkeypatch):
    camp.post("a.yaml", GOOD)
    camp.post("sub/b.yaml", GOOD.replace("tolak-gratifikasi", "b"))
    _deny_listing(monkeypatch, camp.posts / "sub")
    result = run_cli("post", "validate", "--format", "json")
    data, probs = problems(result)
    assert result.exit_code == 1 and data["posts"] == 1
    assert [(p["file"], p["message"]) for p in only(probs)] == [
        (str(camp.posts / "sub"), "cannot read folder: Permission denied")]


def test_posts_dir_that_is_a_file(camp, run_cli):
    camp.write_config("posts_dir: notes.txt\naccounts:\n  arsip: {platform: file, path: o.jsonl}\n")
    (camp.root / "notes.txt").write_text("hai\n")
    result = run_cli("post", "list")
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: posts folder {camp.root / 'notes.txt'} is not a folder " \
                                    "(set posts_dir in config.yaml)"


@pytest.mark.parametrize("line, fragment", [
    ("timezone: [Asia/Makassar]", "unknown timezone a list"),
    ("timezone: {a: 1}", "unknown timezone a mapping"),
    ("catch_up: 99999999999999d", "catch_up: duration '99999999999999d' is too long (at most 3650d)"),
    ("catch_up: 999999999d", "catch_up: duration '999999999d' is too long"),
    ("catch_up: .inf", "catch_up: duration inf is too long"),
    ("retry_backoff: .nan", "retry_backoff: expected a duration such as 6h, 30m or 1d, got nan"),
])
def test_config_values_that_used_to_crash_are_one_error(camp, run_cli, line, fragment):
    camp.write_config(f"{line}\naccounts:\n  arsip: {{platform: file, path: o.jsonl}}\n")
    camp.post("a.yaml", GOOD)
    result = run_cli("post", "validate", "--format", "json")
    _, probs = problems(result)
    assert result.exit_code == 1
    (error,) = only(probs)
    assert error["line"] == 1 and fragment in error["message"], error
    for args in (("post", "list"), ("post", "publish-due")):
        result = run_cli(*args)
        assert result.exit_code == 1 and result.output.startswith("Error: ") and fragment in result.output


@pytest.mark.parametrize("when", ["9999-12-31T23:00-05:00", "0001-01-01T01:00+08:00"])
def test_publish_at_at_the_edge_of_time_is_an_error_not_a_crash(camp, run_cli, when):
    camp.post("a.yaml", GOOD.replace("2030-12-09 09:00", when))
    result = run_cli("post", "validate", "--format", "json")
    _, probs = problems(result)
    assert result.exit_code == 1
    assert [(p["line"], p["message"]) for p in only(probs)] == [
        (5, f"publish_at '{when}' is out of range (the year must be 1970 to 9998)")]
    for args in (("post", "list"), ("post", "preview"), ("post", "publish-due")):
        assert run_cli(*args).exit_code in (0, 1)      # no traceback (catch_exceptions=False)


def test_an_image_added_later_is_seen_by_the_same_process(camp, run_cli):
    # `spi post schedule` reloads in one long-running process: an image that was
    # missing must not stay "missing" (and its post held) until a restart.
    camp.post("a.yaml", GOOD + "media:\n  - {path: poster.png, alt: Poster}\n")
    assert "media file not found" in run_cli("post", "validate").output
    (camp.posts / "poster.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    result = run_cli("post", "validate")
    assert result.exit_code == 0, result.output


def test_x_needs_a_local_file_for_every_image(camp, run_cli):
    camp.write_config("accounts:\n  x: {platform: x}\n  fb: {platform: facebook, page_id: '1'}\n"
                      "  arsip: {platform: file, path: o.jsonl}\n")
    camp.post("a.yaml", "id: a\nstatus: draft\naccounts: [x, fb, arsip]\ntext: hai\n"
                        "media:\n  - {url: 'https://example.org/f.jpg', alt: foto}\n")
    result = run_cli("post", "validate", "--format", "json")
    _, probs = problems(result)
    assert result.exit_code == 1
    assert [(p["line"], p["account"], p["message"]) for p in only(probs)] == [
        (6, "x", "image https://example.org/f.jpg: X uploads image files and cannot fetch a URL; add path:")]


def test_a_repeat_that_never_happens_is_not_called_past(camp, run_cli):
    camp.post("r.yaml", GOOD + "repeat: '0 9 31 2 *'\n")      # February 31st
    result = run_cli("post", "validate", "--format", "json")
    _, probs = problems(result)
    assert [(p["line"], p["message"]) for p in only(probs, "warning")] == [
        (12, "repeat '0 9 31 2 *' never happens after 2030-12-09 09:00 +08:00: the post is never published")]


def test_a_fifo_named_yaml_is_a_problem_not_a_hang(camp, run_cli):
    import os

    camp.post("good.yaml", GOOD)
    os.mkfifo(camp.posts / "pipe.yaml")
    result = run_cli("post", "validate", "--format", "json")
    data, probs = problems(result)
    assert result.exit_code == 1 and data["posts"] == 1
    assert [(p["file"].rsplit("/", 1)[-1], p["message"]) for p in only(probs)] == [("pipe.yaml", "not a regular file")]
