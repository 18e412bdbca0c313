"""``spi plan`` and validate's topic balance: real campaign folders, the
real ``spi`` process under Debian's faketime."""

from __future__ import annotations

import json
import shutil

import pytest
from test_calendar import config, post, spi

pytestmark = pytest.mark.skipif(shutil.which("faketime") is None, reason="needs Debian's faketime")
NOW = "2026-12-06 12:00:00"      # 20:00 WITA, Sunday 6 December 2026


def plan(root, *args):
    r = spi(root, "plan", "--format", "json", *args, fake=NOW)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_json_contract_and_x_cost_with_link_free_saving(tmp_path):
    config(tmp_path)
    post(tmp_path, "dengan-tautan", """\
        topic: pelaporan
        status: approved
        publish_at: 2026-12-07 09:00
        accounts: [kominfo-x, arsip]
        text: Laporkan gratifikasi lewat GOL KPK.
        link: https://gol.kpk.go.id
        """)
    post(tmp_path, "tanpa-tautan", """\
        topic: gratifikasi
        status: approved
        publish_at: 2026-12-08 09:00
        repeat: "0 9 * * *"
        until: 2026-12-09 12:00
        accounts: [kominfo-x]
        text: Tolak gratifikasi dalam bentuk apa pun.
        """)
    post(tmp_path, "nanti", """\
        status: approved
        publish_at: 2026-12-25 09:00
        accounts: [kominfo-x]
        text: Di luar jendela.
        """)
    p = plan(tmp_path)
    assert list(p) == ["from", "to", "publications", "by_platform", "by_topic", "x", "warnings"]
    assert p["from"] == "2026-12-06T20:00:00+08:00" and p["to"] == "2026-12-20T20:00:00+08:00"
    assert [(r["post"], r["account"], r["at"]) for r in p["publications"]] == [
        ("dengan-tautan", "arsip", "2026-12-07T09:00:00+08:00"),
        ("dengan-tautan", "kominfo-x", "2026-12-07T09:00:00+08:00"),
        ("tanpa-tautan", "kominfo-x", "2026-12-08T09:00:00+08:00"),
        ("tanpa-tautan", "kominfo-x", "2026-12-09T09:00:00+08:00"),
    ]
    assert p["by_platform"] == {"file": 1, "x": 3} and p["by_topic"] == {"gratifikasi": 2, "pelaporan": 2}
    x = p["x"]
    assert (x["posts"], x["with_url"]) == (3, 1)
    assert x["cost_usd"] == pytest.approx(0.20 + 2 * 0.015)
    assert x["link_free_saving_usd"] == pytest.approx(0.20 - 0.015)
    assert p["warnings"] == []
    # prices come from config.yaml
    cfg = (tmp_path / "config.yaml").read_text()
    (tmp_path / "config.yaml").write_text(cfg + "pricing:\n  x_post_usd: 0.01\n  x_post_with_url_usd: 0.5\n")
    assert plan(tmp_path)["x"]["cost_usd"] == pytest.approx(0.5 + 0.02)
    assert len(plan(tmp_path, "--days", "30")["publications"]) == 5
    table = spi(tmp_path, "plan", fake=NOW)
    assert table.returncode == 0 and "saving $0.49" in table.stdout and "No warnings." in table.stdout


def test_quota_and_max_per_day_warnings_name_day_and_account(tmp_path):
    config(tmp_path, extra="  kominfo-ig:\n    platform: instagram\n    ig_user_id: '17841400000000000'\n"
                           "    max_per_day: 3\n")
    post(tmp_path, "setiap-20-menit", """\
        topic: gratifikasi
        status: approved
        publish_at: 2026-12-07 00:00
        repeat: "*/20 * * * *"
        until: 2026-12-07 23:59
        accounts: [kominfo-ig]
        text: Tolak gratifikasi.
        media:
          - url: https://example.go.id/poster.png
            alt: Poster
        """)
    w = plan(tmp_path)["warnings"]
    kinds = {(x["kind"], x["day"], x["account"]) for x in w}
    assert ("instagram_quota", "2026-12-07", "kominfo-ig") in kinds      # 72 posts in one day
    assert ("max_per_day", "2026-12-07", "kominfo-ig") in kinds
    ig = next(x for x in w if x["kind"] == "instagram_quota")
    assert "51 Instagram posts" in ig["message"] and "allows 50" in ig["message"]
    mpd = next(x for x in w if x["kind"] == "max_per_day")
    assert "72 publications" in mpd["message"] and "69 will wait" in mpd["message"]
    assert not any(x["kind"] == "x_quota" for x in w)


def test_topic_gap_below_target_and_draft_warnings_and_validate(tmp_path):
    config(tmp_path, extra="topics:\n  gratifikasi: {share: 0.5}\n  spi: {min_per_week: 1}\ntopic_gap_days: 5\n")
    for day in range(7, 19):
        post(tmp_path, f"pelaporan-{day}", f"""\
            topic: pelaporan
            status: approved
            publish_at: 2026-12-{day:02d} 09:00
            accounts: [arsip]
            text: Laporkan gratifikasi.
            """)
    post(tmp_path, "gratifikasi-1", """\
        topic: gratifikasi
        status: approved
        publish_at: 2026-12-08 09:00
        accounts: [arsip]
        text: Apa itu gratifikasi?
        """)
    post(tmp_path, "spi-konsep", """\
        topic: spi
        status: draft
        publish_at: 2026-12-10 09:00
        accounts: [arsip]
        text: Apa itu SPI?
        """)
    w = plan(tmp_path)["warnings"]
    by = {(x["kind"], x["topic"]): x for x in w}
    assert by[("topic_gap", "spi")]["day"] == "2026-12-06"
    gap = [x for x in w if x["kind"] == "topic_gap" and x["topic"] == "gratifikasi"]
    assert [x["day"] for x in gap] == ["2026-12-06", "2026-12-13"]   # none in the 5 days before; none after the 8th
    assert "between 2026-12-08 and the end of this plan" in gap[1]["message"]
    assert "1 of 13 posts" in by[("topic_below_target", "gratifikasi")]["message"]
    assert "0 posts" in by[("topic_below_target", "spi")]["message"]
    draft = next(x for x in w if x["kind"] == "draft")
    assert (draft["day"], draft["account"], draft["topic"]) == ("2026-12-10", "arsip", "spi")
    r = spi(tmp_path, "post", "validate", "--format", "json", fake=NOW)
    msgs = [p["message"] for p in json.loads(r.stdout)["problems"] if p["severity"] == "warning"]
    assert any("topic 'pelaporan' is not one of the topics" in m for m in msgs)
    assert any("topic 'spi' has no approved post in the next 5 days" in m for m in msgs)
    assert any("topic 'gratifikasi': 1 of 13 approved posts" in m for m in msgs)
    assert r.returncode == 0


@pytest.mark.parametrize("extra, message", [
    ("topics:\n  spi: {share: 2}\n", "config.yaml:15: topics: 'spi': share must be a number above 0 and at most 1"),
    ("topics:\n  spi: {min_per_week: 2, share: 0.1}\n", "needs exactly one of share"),
    ("topics:\n  a: {share: 0.7}\n  b: {share: 0.6}\n", "the shares add up to 1.3"),
    ("pricing:\n  x_post: 0.01\n", "pricing: unknown key 'x_post' (did you mean 'x_post_usd'?)"),
    ("topic_gap_days: 0\n", "topic_gap_days must be a whole number of days >= 1"),
])
def test_config_errors_are_one_clear_line(tmp_path, extra, message):
    config(tmp_path, extra=extra)
    r = spi(tmp_path, "plan", fake=NOW)
    assert r.returncode == 1 and message in r.stderr and "Traceback" not in r.stderr
