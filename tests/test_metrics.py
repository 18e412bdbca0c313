"""Engagement read back (``spi metrics fetch``): the adapters at the HTTP wire
(real tweepy / facebook-sdk / requests, ``responses`` answering), requests
checked against the spec excerpts in tests/data/platform/ (x/metrics-excerpt.json,
meta/insights-excerpt.json), and the command in real processes."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from click.testing import CliRunner

from _support import load, load_plugin
from spi_campaign.adapters.base import COMMON_METRICS, MetricsRef
from spi_campaign.adapters.meta.facebook import FacebookAdapter
from spi_campaign.adapters.meta.instagram import InstagramAdapter
from spi_campaign.adapters.meta.metrics import MetricsPermissionError
from spi_campaign.adapters.x import XAdapter
from spi_campaign.errors import AuthError
from spi_campaign.models import Account

kit = load_plugin("spi_testkit")

XSPEC = load("x/metrics-excerpt.json")
META = load("meta/insights-excerpt.json")
X = "https://api.x.com"
GRAPH = "https://graph.facebook.com/v27.0"
XENV = {f"SPI_DISKOMINFO_X_{k}": f"{k.lower()}-SECRET-123456" for k in
        ("API_KEY", "API_SECRET", "ACCESS_TOKEN", "ACCESS_TOKEN_SECRET")}
FBTOKEN = "fbtok-SECRET-1234567890"
IGTOKEN = "igtok-SECRET-1234567890"
PUBLISHED = datetime(2026, 10, 9, 1, 0, tzinfo=timezone.utc)
RETIRED = load("meta/insights-excerpt.json")["retired_metric_error_observed"]


def q(call) -> dict[str, list[str]]:
    return parse_qs(urlparse(call.request.url).query)


def spec_param_names(path: str) -> set[str]:
    return {p["name"] for p in XSPEC["paths"][path]["get"]["parameters"]}


def pm(i: int, old: bool = False) -> dict:
    """public_metrics as v2.167 defines it (PostPublicMetrics), or with v2.166's retweet_count."""
    m = {"repost_count": i, "reply_count": 2, "like_count": 10 + i, "quote_count": 1, "bookmark_count": 3,
         "impression_count": 1000 + i}
    assert set(XSPEC["components"]["schemas"]["PostPublicMetrics"]["required"]) == set(m)
    if old:
        m["retweet_count"] = m.pop("repost_count")
    return m


def x_adapter() -> XAdapter:
    return XAdapter(Account(name="diskominfo-x", platform="x", options={"timeout": 30.0}), env=XENV)


# ----- X ---------------------------------------------------------------------------------

@responses.activate
def test_x_owned_reads_first_then_by_id_in_batches_of_100():
    ids = [str(1_800_000_000_000_000_000 + i) for i in range(150)]
    refs = [MetricsRef(i, PUBLISHED + timedelta(minutes=n)) for n, i in enumerate(ids)]
    responses.add(responses.GET, f"{X}/2/users/me", json=load("x/users_me.json"))
    # the timeline has the 20 newest (and a post spi did not publish)
    timeline = [{"id": i, "text": "t", "public_metrics": pm(n)} for n, i in enumerate(ids[-20:])]
    timeline.append({"id": "1", "text": "other", "public_metrics": pm(0)})
    responses.add(responses.GET, f"{X}/2/users/2244994945/tweets", json={"data": timeline, "meta": {}})

    def by_ids(request):
        asked = q(type("C", (), {"request": request}))["ids"][0].split(",")
        return 200, {}, json.dumps({"data": [{"id": i, "text": "t", "public_metrics": pm(5)} for i in asked]})

    responses.add_callback(responses.GET, f"{X}/2/tweets", callback=by_ids)
    got = x_adapter().metrics(refs)

    assert set(got) == set(ids)
    calls = [c for c in responses.calls if "/2/users/me" not in c.request.url]
    owned, batches = calls[0], calls[1:]
    assert "/2/users/2244994945/tweets" in owned.request.url
    assert set(q(owned)) <= spec_param_names("/2/users/{id}/tweets")
    assert q(owned)["post.fields"] == ["public_metrics"] and "tweet.fields" not in q(owned)
    assert q(owned)["start_time"][0] < "2026-10-09T01:00:00Z" < q(owned)["end_time"][0]
    max_ids = next(p for p in XSPEC["paths"]["/2/tweets"]["get"]["parameters"] if p["name"] == "ids")
    sizes = [len(q(c)["ids"][0].split(",")) for c in batches]
    assert sizes == [100, 30] and max(sizes) <= max_ids["schema"]["maxItems"]
    assert not set(q(batches[0])["ids"][0].split(",")) & set(ids[-20:]), "owned posts read again"
    for c in calls:
        assert set(q(c)) <= spec_param_names("/2/users/{id}/tweets") | spec_param_names("/2/tweets")
        assert c.request.headers["Authorization"].startswith("OAuth ")
    r = got[ids[-1]]
    assert r.values["views"] == 1019 and r.values["likes"] == 29 and r.values["comments"] == 2
    assert r.values["shares"] == 19 + 1          # reposts + quotes
    assert r.values["reach"] is None and "reach" in r.reasons["reach"]
    assert set(COMMON_METRICS) <= set(r.values)


@responses.activate
def test_x_reads_the_old_retweet_count_and_names_deleted_posts():
    responses.add(responses.GET, f"{X}/2/tweets", json={
        "data": [{"id": "11", "text": "t", "public_metrics": pm(4, old=True)}],
        "errors": [{"value": "12", "detail": "Could not find tweet with ids: [12].", "title": "Not Found Error",
                    "resource_type": "tweet", "parameter": "ids", "resource_id": "12",
                    "type": "https://api.twitter.com/2/problems/resource-not-found"}]})
    got = x_adapter().metrics([MetricsRef("11"), MetricsRef("12")])
    assert got["11"].values["shares"] == 5
    assert got["12"].values["likes"] is None and "Could not find" in got["12"].reasons["likes"]


@responses.activate
def test_x_401_is_one_auth_error_without_secrets():
    responses.add(responses.GET, f"{X}/2/tweets", status=401, json=load("x/error_401.json"))
    with pytest.raises(AuthError) as exc:
        x_adapter().metrics([MetricsRef("11")])
    assert "SPI_DISKOMINFO_X_API_KEY" in str(exc.value)
    assert not any(v in str(exc.value) for v in XENV.values())


# ----- Facebook ------------------------------------------------------------------------------

POST = "1234567890_9876543210"


def fb() -> FacebookAdapter:
    return FacebookAdapter(Account(name="diskominfo-fb", platform="facebook", options={"page_id": "1234567890"}),
                           env={"SPI_DISKOMINFO_FB_PAGE_TOKEN": FBTOKEN})


def insight(name: str, value: int) -> dict:
    return {"data": [{"name": name, "period": "lifetime", "values": [{"value": value}],
                      "title": name, "id": f"{POST}/insights/{name}/lifetime"}]}


def fb_fields(**over) -> dict:
    body = {"id": POST, "shares": {"count": 4}, "comments": {"data": [], "summary": {"total_count": 7}},
            "reactions": {"data": [], "summary": {"total_count": 31}}}
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


@responses.activate
def test_facebook_one_metric_per_request_and_a_retired_metric_blanks_only_itself():
    responses.add(responses.GET, f"{GRAPH}/{POST}", json=fb_fields())
    responses.add(responses.GET, f"{GRAPH}/{POST}/insights", match=[responses.matchers.query_param_matcher(
        {"metric": "post_media_view"}, strict_match=False)], json=insight("post_media_view", 1500))
    responses.add(responses.GET, f"{GRAPH}/{POST}/insights", match=[responses.matchers.query_param_matcher(
        {"metric": "post_total_media_view_unique"}, strict_match=False)], status=400, json=RETIRED)
    r = fb().metrics([MetricsRef(POST, PUBLISHED)])[POST]
    assert r.values == {"views": 1500, "reach": None, "likes": 31, "comments": 7, "shares": 4}
    assert "#100" in r.reasons["reach"] and "post_total_media_view_unique" in r.reasons["reach"]
    asked = [q(c)["metric"] for c in responses.calls if "/insights" in c.request.url]
    assert all(len(m) == 1 and "," not in m[0] for m in asked)
    names = {m[0] for m in asked}
    assert names <= set(META["facebook_post"]["current"]) and not names & set(META["facebook_post"]["retired"])
    fields = q(responses.calls[0])["fields"][0]
    for f in ("shares", "comments", "reactions"):
        assert f in fields
    assert set(("shares",)) <= set(META["PagePost_fields"]) and {"comments", "reactions"} <= \
        {e["endpoint"] for e in META["PagePost_edges"]}


@responses.activate
def test_facebook_post_nobody_shared_has_zero_shares():
    responses.add(responses.GET, f"{GRAPH}/{POST}", json=fb_fields(shares=None))
    responses.add(responses.GET, f"{GRAPH}/{POST}/insights", json=insight("post_media_view", 3))
    r = fb().metrics([MetricsRef(POST)])[POST]
    assert r.values["shares"] == 0 and r.values["likes"] == 31


@responses.activate
def test_facebook_without_read_insights_is_one_message_naming_it():
    responses.add(responses.GET, f"{GRAPH}/{POST}", json=fb_fields())
    responses.add(responses.GET, f"{GRAPH}/{POST}/insights", status=403, json={"error": {
        "message": "(#10) Application does not have permission for this action", "type": "OAuthException",
        "code": 10, "fbtrace_id": "A1"}})
    with pytest.raises(MetricsPermissionError) as exc:
        fb().metrics([MetricsRef(POST), MetricsRef(POST + "1")])
    msg = str(exc.value)
    assert "read_insights" in msg and "SPI_DISKOMINFO_FB_PAGE_TOKEN" in msg and FBTOKEN not in msg
    assert "read_insights" in META["facebook_post"]["permissions"]
    assert len([c for c in responses.calls if "/insights" in c.request.url]) == 1   # stopped at once


# ----- Instagram ----------------------------------------------------------------------------------

MEDIA = "17895695668004550"


def ig() -> InstagramAdapter:
    return InstagramAdapter(Account(name="diskominfo-ig", platform="instagram", options={"ig_user_id": "1784"}),
                            env={"SPI_DISKOMINFO_IG_ACCESS_TOKEN": IGTOKEN})


@responses.activate
def test_instagram_six_metrics_one_request_each_tolerant_of_retired_and_empty():
    values = {"reach": 800, "likes": 55, "comments": 6, "shares": 9}

    def answer(request):
        metric = parse_qs(urlparse(request.url).query)["metric"][0]
        if metric == "views":
            return 400, {}, json.dumps(RETIRED)
        if metric == "saved":
            return 200, {}, json.dumps({"data": []})        # no data: an empty set, not 0
        return 200, {}, json.dumps({"data": [{"name": metric, "period": "lifetime", "values": [
            {"value": values[metric]}], "id": f"{MEDIA}/insights/{metric}/lifetime"}]})

    responses.add_callback(responses.GET, f"{GRAPH}/{MEDIA}/insights", callback=answer,
                           content_type="application/json")
    r = ig().metrics([MetricsRef(MEDIA, PUBLISHED)])[MEDIA]
    assert r.values == {"views": None, "reach": 800, "likes": 55, "comments": 6, "shares": 9, "saved": None}
    assert "#100" in r.reasons["views"] and "no data" in r.reasons["saved"]
    asked = [q(c)["metric"][0] for c in responses.calls]
    assert sorted(asked) == sorted(["views", "reach", "likes", "comments", "shares", "saved"])
    assert set(asked) <= set(META["instagram_media"]["current"])
    assert not set(asked) & set(META["instagram_media"]["retired"])


@responses.activate
def test_instagram_without_instagram_manage_insights_names_it():
    responses.add(responses.GET, f"{GRAPH}/{MEDIA}/insights", status=403, json={"error": {
        "message": "(#10) Application does not have permission for this action", "type": "OAuthException",
        "code": 10}})
    with pytest.raises(MetricsPermissionError) as exc:
        ig().metrics([MetricsRef(MEDIA)])
    assert "instagram_manage_insights" in str(exc.value)
    assert "instagram_manage_insights" in META["instagram_media"]["permissions_facebook_login"]


@responses.activate
def test_story_with_few_viewers_is_null_not_a_failure():
    responses.add(responses.GET, f"{GRAPH}/{MEDIA}/insights", status=400, json={"error": {
        "message": "(#10) Not enough viewers for the media to show insights", "type": "OAuthException", "code": 10}})
    r = ig().metrics([MetricsRef(MEDIA)])[MEDIA]
    assert all(v is None for v in r.values.values()) and "not enough viewers" in r.reasons["reach"]


# ----- the command, in real processes --------------------------------------------------------------

def spi(root, *args, faketime: str | None = None) -> subprocess.CompletedProcess:
    cmd = [kit.SPI, "--config", str(root / "config.yaml"), *args]
    if faketime:
        cmd = ["faketime", "-f", faketime, *cmd]
    return subprocess.run(cmd, cwd=root, env=kit.env(), capture_output=True, text=True, timeout=90)


def snapshots(root) -> list[tuple]:
    con = sqlite3.connect(root / ".spi" / "state.db")
    try:
        return con.execute("SELECT post, account, snapshot, metric, value, reason FROM metrics "
                           "ORDER BY fetched_at, account, metric").fetchall()
    finally:
        con.close()


@pytest.fixture
def published(tmp_path):
    kit.write_config(tmp_path, kit.file_accounts(["a", "b"]))
    kit.write_post(tmp_path, "tolak-gratifikasi", kit.later(-120), ["a", "b"])
    r = spi(tmp_path, "post", "publish-due")
    assert r.returncode == 0, r.stderr
    return tmp_path


def test_fetch_stores_a_snapshot_with_null_and_reason_for_the_file_platform(published):
    r = spi(published, "metrics", "fetch", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"stored": 2, "by_account": {"a": 1, "b": 1}, "errors": []}
    rows = snapshots(published)
    assert len(rows) == 2 * len(COMMON_METRICS)
    assert all(v is None and "file platform" in why and snap == "manual" for _, _, snap, _, v, why in rows)
    assert not any(p.suffix != ".yaml" for p in (published / "posts").iterdir())   # never in the post files


needs_faketime = pytest.mark.skipif(shutil.which("faketime") is None,
                                    reason="needs Debian's faketime (apt-get install faketime)")


@needs_faketime
def test_due_snapshots_at_48_hours_and_7_days_each_once(published):
    assert spi(published, "metrics", "fetch", "--due").stdout.strip() == "no published publication to read"
    r = spi(published, "metrics", "fetch", "--due", "--format", "json", faketime="+49h")
    assert json.loads(r.stdout)["stored"] == 2, r.stderr
    assert json.loads(spi(published, "metrics", "fetch", "--due", "--format", "json",
                          faketime="+50h").stdout)["stored"] == 0
    assert json.loads(spi(published, "metrics", "fetch", "--due", "--format", "json",
                          faketime="+8d").stdout)["stored"] == 2
    assert json.loads(spi(published, "metrics", "fetch", "--due", "--format", "json",
                          faketime="+9d").stdout)["stored"] == 0
    assert sorted({(a, s) for _, a, s, *_ in snapshots(published)}) == [("a", "48h"), ("a", "7d"), ("b", "48h"),
                                                                       ("b", "7d")]


@needs_faketime
def test_the_daemon_takes_due_snapshots_itself(published):
    proc = subprocess.Popen(["faketime", "-f", "+49h", kit.SPI, "--config", str(published / "config.yaml"), "post",
                             "schedule", "--no-watch"], cwd=published, env=kit.env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        got = kit.wait_for(lambda: len({a for _, a, s, *_ in snapshots(published) if s == "48h"}) == 2,
                           timeout=30)
    finally:
        kit.stop(proc)
    assert got, proc.stdout.read().decode()


@responses.activate
def test_missing_permission_is_one_message_and_other_accounts_still_read(tmp_path):
    from spi_campaign.cli import cli
    from spi_campaign.ledger import Publication, SqliteLedger

    kit.write_config(tmp_path, kit.file_accounts(["arsip"]) | {"fb": {"platform": "facebook",
                                                                       "page_id": '"1234567890"'}})
    led = SqliteLedger.open(tmp_path / ".spi" / "state.db")
    now = kit.now()
    rows = [Publication(f"p{i}", "fb", now - timedelta(days=i + 1), state="published", remote_id=f"{POST}{i}",
                        published_at=now - timedelta(days=i + 1)) for i in range(3)]
    rows.append(Publication("p0", "arsip", now - timedelta(days=1), state="published", remote_id="x",
                            published_at=now - timedelta(days=1)))
    led.insert(rows, now)
    led.close()
    for i in range(3):
        responses.add(responses.GET, f"{GRAPH}/{POST}{i}", json=fb_fields())
        responses.add(responses.GET, f"{GRAPH}/{POST}{i}/insights", status=403, json={"error": {
            "message": "(#10) Application does not have permission for this action", "type": "OAuthException",
            "code": 10}})
    r = CliRunner().invoke(cli, ["--config", str(tmp_path / "config.yaml"), "metrics", "fetch"],
                           env={"SPI_FB_PAGE_TOKEN": FBTOKEN})
    assert r.exit_code == 1, r.output
    errors = [line for line in r.output.splitlines() if "read_insights" in line]
    assert len(errors) == 1 and "SPI_FB_PAGE_TOKEN" in errors[0] and FBTOKEN not in r.output
    assert "arsip: 1 snapshot(s) stored" in r.output and "Traceback" not in r.output
    assert sorted((x.post, x.account, x.state) for x in kit.ledger_rows(tmp_path)) == [("p0", "arsip", "published"), ("p0", "fb", "published"),
                                         ("p1", "fb", "published"), ("p2", "fb", "published")]
