"""`spi post list` and `spi post preview`."""

from __future__ import annotations

import json

POST = """\
id: {id}
title: {title}
topic: {topic}
status: {status}
publish_at: {when}
accounts: {accounts}
text: |
  {text}
link: https://jaga.id
hashtags: [TolakGratifikasi, SPI2026]
"""


def write(camp, id, when, status="approved", topic="gratifikasi", accounts="[arsip]", text="Tolak gratifikasi.",
          extra=""):
    camp.post(f"{id}.yaml", POST.format(id=id, title=f"Judul {id}", topic=topic, status=status, when=when,
                                        accounts=accounts, text=text) + extra)


def test_list_sorted_by_next_publish_with_offset(camp, run_cli):
    write(camp, "b", "2030-12-10 09:00")
    write(camp, "a", "2030-12-09T08:00:00+07:00")       # 09:00 WITA, same instant as written
    write(camp, "c", "2030-12-09 08:30", status="draft", topic="spi")
    result = run_cli("post", "list", "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.output)
    assert [r["id"] for r in rows] == ["c", "a", "b"]
    assert rows[1] == {"id": "a", "title": "Judul a", "topic": "gratifikasi", "status": "approved",
                       "accounts": ["arsip"], "next_publish_at": "2030-12-09T09:00:00+08:00", "repeat": None,
                       "file": "posts/a.yaml", "published": []}
    table = run_cli("post", "list")
    assert table.exit_code == 0
    assert "2030-12-09 09:00 +08:00" in table.output


def test_list_filters(camp, run_cli):
    write(camp, "a", "2030-12-09 09:00", topic="spi")
    write(camp, "b", "2030-12-10 09:00", status="draft")
    write(camp, "c", "2030-12-11 09:00", accounts="[kominfo-fb]")
    ids = lambda *args: [r["id"] for r in json.loads(run_cli("post", "list", "--format", "json", *args).output)]
    assert ids("--topic", "spi") == ["a"]
    assert ids("--status", "draft") == ["b"]
    assert ids("--account", "kominfo-fb") == ["c"]
    bad = run_cli("post", "list", "--account", "kominfo-x")
    assert bad.exit_code == 1 and "unknown account 'kominfo-x'" in bad.output
    assert run_cli("post", "list", "--status", "sent").exit_code == 2


def test_list_recurring_shows_next_occurrence(camp, run_cli):
    write(camp, "r", "2020-01-03 09:00", extra="repeat: '0 9 * * FRI'\n")
    rows = json.loads(run_cli("post", "list", "--format", "json").output)
    from datetime import datetime

    nxt = datetime.fromisoformat(rows[0]["next_publish_at"])
    assert nxt > datetime.now(nxt.tzinfo) and nxt.weekday() == 4 and (nxt.hour, nxt.minute) == (9, 0)
    assert rows[0]["next_publish_at"].endswith("+08:00") and rows[0]["repeat"] == "0 9 * * FRI"


def test_list_reads_the_rest_when_one_file_is_broken(camp, run_cli):
    write(camp, "a", "2030-12-09 09:00")
    camp.post("broken.yaml", "id: [\n")
    result = run_cli("post", "list", "--format", "json")
    assert result.exit_code == 0
    assert [r["id"] for r in json.loads(result.stdout)] == ["a"]
    assert "could not be read: posts/broken.yaml" in result.stderr


def test_preview_json_file_account(camp, run_cli):
    write(camp, "a", "2030-12-09 09:00", accounts="[arsip, kominfo-fb]", text="Halo [bold]Bali[/bold] 🙏")
    result = run_cli("post", "preview", "--format", "json")
    assert result.exit_code == 0
    items = json.loads(result.output)
    assert [(i["post"], i["account"]) for i in items] == [("a", "arsip"), ("a", "kominfo-fb")]
    text = "Halo [bold]Bali[/bold] 🙏\n\nhttps://jaga.id\n\n#TolakGratifikasi #SPI2026"
    assert items[0] == {"post": "a", "account": "arsip", "platform": "file", "text": text, "length": len(text),
                        "limit": None, "fits": True, "publish_at": "2030-12-09T09:00:00+08:00"}


def test_preview_rich_shows_text_literally_times_and_counts(camp, run_cli):
    write(camp, "a", "2030-12-09 09:00", text="Halo [bold]Bali[/bold]", status="draft")
    result = run_cli("post", "preview", "a")
    assert result.exit_code == 0
    out = result.output
    assert "Halo [bold]Bali[/bold]" in out               # user text is never rich markup
    assert "2030-12-09 09:00 +08:00" in out and "2030-12-09 01:00 UTC" in out
    assert "#TolakGratifikasi #SPI2026" in out and "[draft]" in out


def test_preview_x_counts_urls_23_and_emoji_2_and_flags_over_limit(camp, run_cli):
    camp.write_config("accounts:\n  x: {platform: x}\n  fb: {platform: facebook, page_id: '1'}\n")
    write(camp, "a", "2030-12-09 09:00", accounts="[x, fb]", text="Halo 🙏")
    long = "Gratifikasi wajib dilaporkan ke KPK. " * 9
    write(camp, "b", "2030-12-09 10:00", accounts="[x]", text=long)
    items = json.loads(run_cli("post", "preview", "--format", "json").output)
    x_a = [i for i in items if (i["post"], i["account"]) == ("a", "x")][0]
    # "Halo 🙏" = 5 + 2, two "\n\n" = 4, URL = 23, "#TolakGratifikasi #SPI2026" = 26
    assert (x_a["length"], x_a["limit"], x_a["fits"]) == (7 + 4 + 23 + 26, 280, True)
    fb_a = [i for i in items if (i["post"], i["account"]) == ("a", "fb")][0]
    assert fb_a["text"] == "Halo 🙏\n\n#TolakGratifikasi #SPI2026"      # link goes in Facebook's link card
    assert fb_a["limit"] == 63206
    x_b = [i for i in items if i["post"] == "b"][0]
    assert x_b["fits"] is False and x_b["length"] > 280
    rich = run_cli("post", "preview", "b")
    assert rich.exit_code == 0 and "over the limit" in rich.output


def test_preview_filters_and_unknown_id(camp, run_cli):
    write(camp, "a", "2030-12-09 09:00", accounts="[arsip, kominfo-fb]")
    write(camp, "b", "2030-12-09 10:00")
    items = json.loads(run_cli("post", "preview", "a", "--account", "kominfo-fb", "--format", "json").output)
    assert [(i["post"], i["account"]) for i in items] == [("a", "kominfo-fb")]
    missing = run_cli("post", "preview", "aa")
    assert missing.exit_code == 1 and "unknown post id 'aa' (did you mean 'a'?)" in missing.output


def test_preview_exits_0_with_invalid_posts_but_1_without_config(camp, run_cli, tmp_path):
    write(camp, "a", "2030-12-09 09:00", accounts="[arsip, nobody]")
    result = run_cli("post", "preview")
    assert result.exit_code == 0 and "nobody: account not in config.yaml" in result.output
    camp.config.write_text("accounts: [1, 2]\n")
    bad = run_cli("post", "preview")
    assert bad.exit_code == 1
    assert "config.yaml:1: accounts must be a mapping" in bad.output
    assert "Traceback" not in bad.output
