"""The Bluesky adapter at the wire: the real atproto client (httpx) talking
to a local fake PDS (tests/_fake_xrpc.py). Every request body is checked
against the lexicons copied into tests/data/platform/bluesky/."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from _fake_xrpc import ACCESS_JWT, BLOB_CID, CID, DID, HANDLE, FakeXrpc, created, session
from _support import PNG
from spi_campaign.adapters.base import PublicationRef
from spi_campaign.adapters.bluesky import BlueskyAdapter
from spi_campaign.adapters.bluesky.text import graphemes, is_tid
from spi_campaign.errors import AuthError, PermanentError, TransientError
from spi_campaign.models import Account, Content, Media

LEX = Path(__file__).parent / "data" / "platform" / "bluesky" / "lexicons"
PASSWORD = "abcd-efgh-ijkl-mnop"
ENV = {"SPI_KPK_BSKY_APP_PASSWORD": PASSWORD}
TEXT = "Gratifikasi bukan budaya kita 🙅🏽‍♀️🇮🇩 Laporkan di https://www.kpk.go.id/lapor sekarang!"


def lexicon(nsid: str) -> dict:
    return json.loads((LEX / (nsid.replace(".", "/") + ".json")).read_text(encoding="utf-8"))


def check_object(value: dict, schema: dict, where: str) -> None:
    assert set(schema.get("required", ())) <= set(value), (where, value)
    props = schema.get("properties", {})
    assert set(value) - {"$type"} <= set(props), (where, set(value) - set(props))
    for key, val in value.items():
        rule = props.get(key, {})
        if rule.get("type") == "string":
            assert isinstance(val, str)
            if "maxGraphemes" in rule:
                assert graphemes(val) <= rule["maxGraphemes"]
            if "maxLength" in rule:
                assert len(val.encode()) <= rule["maxLength"]
        if rule.get("type") == "array" and "maxLength" in rule:
            assert len(val) <= rule["maxLength"], (where, key)


def check_post_record(record: dict) -> None:
    post = lexicon("app.bsky.feed.post")["defs"]
    assert record["$type"] == "app.bsky.feed.post"
    check_object(record, post["main"]["record"], "post")
    datetime.fromisoformat(record["createdAt"].replace("Z", "+00:00"))
    facet = lexicon("app.bsky.richtext.facet")["defs"]
    raw = record["text"].encode("utf-8")
    for f in record.get("facets") or ():
        check_object(f, facet["main"], "facet")
        check_object(f["index"], facet["byteSlice"], "byteSlice")
        for feat in f["features"]:
            assert feat["$type"] in {f"app.bsky.richtext.facet#{k}" for k in ("mention", "link", "tag")}
            covered = raw[f["index"]["byteStart"]:f["index"]["byteEnd"]].decode("utf-8")
            assert covered == (feat.get("uri") or "#" + feat.get("tag", ""))
    if "embed" in record:
        assert record["embed"]["$type"] in post["main"]["record"]["properties"]["embed"]["refs"]
    if "reply" in record:
        ref = lexicon("com.atproto.repo.strongRef")["defs"]["main"]
        for k in ("root", "parent"):
            check_object(record["reply"][k], ref, "strongRef")


def check_create(req) -> dict:
    assert req.method == "POST" and req.headers["authorization"] == f"Bearer {ACCESS_JWT}"
    body = req.json()
    check_object(body, lexicon("com.atproto.repo.createRecord")["defs"]["main"]["input"]["schema"], "createRecord")
    assert body["repo"] == DID and body["collection"] == "app.bsky.feed.post" and is_tid(body["rkey"])
    check_post_record(body["record"])
    return body


@pytest.fixture
def pds():
    fake = FakeXrpc()
    fake.add("com.atproto.server.createSession", json=session())
    yield fake
    fake.close()


def adapter(pds, env=ENV, **opts) -> BlueskyAdapter:
    options = {"handle": HANDLE, "service": pds.url, "timeout": 5.0, **opts}
    return BlueskyAdapter(Account(name="kpk-bsky", platform="bluesky", options=options), env=env)


def echo_created(req):
    return {"json": created(req.json()["rkey"])}


def compose(**kw):
    return BlueskyAdapter.compose("tolak-gratifikasi", "kpk-bsky", Content(**kw))


# ----- class side ---------------------------------------------------------------

def test_length_is_graphemes_on_indonesian_text_with_emoji():
    assert BlueskyAdapter.limits.text == 300 and BlueskyAdapter.limits.thread
    assert BlueskyAdapter.measure("Halo 👋🏽 keluarga 👨‍👩‍👧 🇮🇩") == 19     # one grapheme per emoji
    text = "Jujur itu hebat 🇮🇩" * 17                              # 17 graphemes each
    assert len(text) > 300 and BlueskyAdapter.measure(text) == 289 and BlueskyAdapter.fits(text)
    assert not BlueskyAdapter.fits(text + "x" * 12)


def test_link_goes_to_a_card_without_media_and_into_the_text_with_media(tmp_path):
    r = compose(text="Tolak gratifikasi.", link="https://www.kpk.go.id", hashtags=("TolakGratifikasi",))
    assert r.link == "https://www.kpk.go.id" and "kpk.go.id" not in r.text
    img = tmp_path / "poster.png"
    img.write_bytes(PNG)
    r2 = compose(text="Tolak gratifikasi.", link="https://www.kpk.go.id",
                 media=(Media(path=img, url=None, alt="Poster"),))
    assert r2.link is None and "https://www.kpk.go.id" in r2.text


# ----- publish ------------------------------------------------------------------

def test_text_post_with_facets_card_and_checkpoint_before_create(pds):
    pds.add("com.atproto.repo.createRecord", fn=echo_created)
    saved = []
    post = compose(text=TEXT, link="https://www.kpk.go.id", hashtags=("TolakGratifikasi", "SahabatKPK"))
    result = adapter(pds).publish(post, checkpoint=saved.append)

    login, create = pds.requests
    assert login.nsid == "com.atproto.server.createSession" and login.method == "POST"
    check_object(login.json(), lexicon("com.atproto.server.createSession")["defs"]["main"]["input"]["schema"],
                 "createSession")
    assert login.json() == {"identifier": HANDLE, "password": PASSWORD}
    body = check_create(create)
    rec = body["record"]
    assert rec["text"] == TEXT + "\n\n#TolakGratifikasi #SahabatKPK" and rec["langs"] == ["id"]
    kinds = sorted(f["features"][0]["$type"].rsplit("#")[1] for f in rec["facets"])
    assert kinds == ["link", "tag", "tag"]
    link = next(f for f in rec["facets"] if "uri" in f["features"][0])
    assert link["index"]["byteStart"] == len(TEXT[:TEXT.index("https")].encode("utf-8"))   # bytes, not chars
    assert link["index"]["byteStart"] != TEXT.index("https")
    ext = lexicon("app.bsky.embed.external")["defs"]
    assert rec["embed"]["$type"] == "app.bsky.embed.external"
    check_object(rec["embed"]["external"], ext["external"], "external")
    assert rec["embed"]["external"]["uri"] == "https://www.kpk.go.id"
    rkey = body["rkey"]
    assert saved[0] == {"pending": {"index": 0, "rkey": rkey}}            # recorded before the create
    assert saved[-1]["parts"] == [{"uri": f"at://{DID}/app.bsky.feed.post/{rkey}", "cid": CID, "rkey": rkey}]
    assert result.remote_id == f"at://{DID}/app.bsky.feed.post/{rkey}"
    assert result.url == f"https://bsky.app/profile/{HANDLE}/post/{rkey}"


def test_images_are_uploaded_with_alt_text(pds, tmp_path):
    paths = []
    for n in range(2):
        p = tmp_path / f"poster-{n}.png"
        p.write_bytes(PNG)
        paths.append(p)
    pds.add("com.atproto.repo.uploadBlob",
            json={"blob": {"$type": "blob", "ref": {"$link": BLOB_CID}, "mimeType": "image/png", "size": len(PNG)}})
    pds.add("com.atproto.repo.createRecord", fn=echo_created)
    post = compose(text="Berani jujur hebat!", link="https://www.kpk.go.id",
                   media=tuple(Media(path=p, url=None, alt=f"Poster ajakan {n}") for n, p in enumerate(paths)))
    adapter(pds).publish(post)
    uploads = pds.calls("com.atproto.repo.uploadBlob")
    assert [u.body for u in uploads] == [PNG, PNG]
    assert lexicon("com.atproto.repo.uploadBlob")["defs"]["main"]["input"]["encoding"] == "*/*"
    rec = check_create(pds.calls("com.atproto.repo.createRecord")[0])["record"]
    img = lexicon("app.bsky.embed.images")["defs"]
    assert rec["embed"]["$type"] == "app.bsky.embed.images"
    check_object(rec["embed"], img["main"], "images")
    for n, item in enumerate(rec["embed"]["images"]):
        check_object(item, img["image"], "image")
        assert item["alt"] == f"Poster ajakan {n}" and item["image"]["ref"]["$link"] == BLOB_CID


def test_image_over_the_lexicon_size_is_refused_before_any_request(pds, tmp_path):
    big = tmp_path / "besar.png"
    big.write_bytes(PNG + b"\0" * 2_000_000)
    assert lexicon("app.bsky.embed.images")["defs"]["image"]["properties"]["image"]["maxSize"] == 2_000_000
    with pytest.raises(PermanentError, match="2 MB"):
        adapter(pds).publish(compose(text="Poster", media=(Media(path=big, url=None, alt="x"),)))
    assert pds.requests == []


def test_thread_is_a_reply_chain_and_a_lost_answer_resumes_without_reposting(pds):
    made = {}

    def create(req):
        rkey = req.json()["rkey"]
        if len(made) == 1 and "lost" not in made:      # part 2 is created but its answer is lost
            made["lost"] = rkey
            made[rkey] = req.json()
            return {"drop": True}
        made[rkey] = req.json()
        return {"json": created(rkey)}

    def get_record(req):
        rkey = req.query["rkey"]
        if rkey in made:
            return {"json": {**created(rkey), "value": made[rkey]["record"]}}
        return {"status": 400, "json": {"error": "RecordNotFound", "message": "Could not locate record"}}

    pds.add("com.atproto.repo.createRecord", fn=create)
    pds.add("com.atproto.repo.getRecord", fn=get_record)
    post = compose(text="1/3 Apa itu gratifikasi?", thread=("1/3 Apa itu gratifikasi?", "2/3 Hadiah untuk pejabat.",
                                                            "3/3 Laporkan ke KPK 🙏"))
    progress: dict = {}
    with pytest.raises(TransientError, match="never posts twice"):
        adapter(pds).publish(post, checkpoint=progress.update)
    assert len(progress["parts"]) == 1 and progress["pending"]["index"] == 1
    result = adapter(pds).publish(post, progress=dict(progress), checkpoint=progress.update)

    creates = [r.json() for r in pds.calls("com.atproto.repo.createRecord")]
    assert [c["record"]["text"][:3] for c in creates] == ["1/3", "2/3", "3/3"]     # part 2 sent once
    assert pds.calls("com.atproto.repo.getRecord")[0].query == {"repo": DID, "collection": "app.bsky.feed.post",
                                                                 "rkey": made["lost"]}
    first, second, third = creates
    assert "reply" not in first
    check_create(pds.calls("com.atproto.repo.createRecord")[2])
    assert third["record"]["reply"]["root"]["uri"].endswith(first["rkey"])
    assert third["record"]["reply"]["parent"]["uri"].endswith(second["rkey"])
    assert len(result.extra["parts"]) == 3 and progress["pending"] is None


# ----- errors -------------------------------------------------------------------

def test_wrong_password_is_an_auth_error_naming_the_variable(pds):
    pds.reset().add("com.atproto.server.createSession", status=401,
                    json={"error": "AuthenticationRequired", "message": "Invalid identifier or password"})
    with pytest.raises(AuthError) as info:
        adapter(pds).publish(compose(text="Halo"))
    assert "SPI_KPK_BSKY_APP_PASSWORD" in str(info.value) and PASSWORD not in str(info.value)


@pytest.mark.parametrize("status,body,headers,cls", [
    (429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, {"ratelimit-reset": "4102444800"},
     TransientError),
    (400, {"error": "InvalidRequest", "message": "Invalid app.bsky.feed.post record"}, None, PermanentError),
    (500, {"error": "InternalServerError", "message": "Internal Server Error"}, None, TransientError),
    (400, {"error": "ExpiredToken", "message": "Token has expired"}, None, AuthError),
])
def test_create_errors_map_to_the_errors_classes(pds, status, body, headers, cls):
    pds.add("com.atproto.repo.createRecord", status=status, json=body, headers=headers)
    with pytest.raises(cls) as info:
        adapter(pds).publish(compose(text="Halo"))
    assert ACCESS_JWT not in str(info.value) and PASSWORD not in str(info.value)
    if status == 429:
        assert info.value.retry_after == datetime(2100, 1, 1, tzinfo=timezone.utc)


def test_unreachable_service_is_transient():
    closed = FakeXrpc()
    closed.close()
    with pytest.raises(TransientError):
        adapter(closed).publish(compose(text="Halo"))


# ----- check and reconcile ------------------------------------------------------

def test_check_answers_identity_and_warns_about_a_main_password(pds):
    ident = adapter(pds).check()
    assert (ident.id, ident.name, ident.url) == (DID, f"@{HANDLE}", f"https://bsky.app/profile/{HANDLE}")
    assert ident.notes == ()
    ident2 = adapter(pds, env={"SPI_KPK_BSKY_APP_PASSWORD": "rahasia-sekali-123"}).check()
    assert "app password" in ident2.notes[0] and "rahasia" not in ident2.notes[0]


def _ref(post, progress):
    return PublicationRef(post_id="tolak-gratifikasi", account="kpk-bsky",
                          occurrence=datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc),
                          claimed_at=datetime(2026, 12, 7, 1, 0, 2, tzinfo=timezone.utc),
                          rendered=post, progress=progress)


def test_reconcile_asks_for_the_recorded_record_key(pds):
    rkey = "3lbv2zfk4fs2s"
    pds.add("com.atproto.repo.getRecord", json={**created(rkey), "value": {"text": "Halo"}})
    pds.add("com.atproto.repo.getRecord", status=400, json={"error": "RecordNotFound", "message": "no"})
    post = compose(text="Halo")
    found = adapter(pds).reconcile(_ref(post, {"pending": {"index": 0, "rkey": rkey}}))
    assert found.state == "published" and found.url.endswith(f"/post/{rkey}")
    missing = adapter(pds).reconcile(_ref(post, {"pending": {"index": 0, "rkey": rkey}}))
    assert missing.state == "not_found"


def test_reconcile_without_progress_reads_recent_posts(pds):
    post = compose(text="Halo Sahabat Antikorupsi")
    pds.add("com.atproto.repo.listRecords", json={"records": [
        {"uri": f"at://{DID}/app.bsky.feed.post/3lbv2zfk4fs2s", "cid": CID,
         "value": {"$type": "app.bsky.feed.post", "text": "Halo Sahabat Antikorupsi",
                   "createdAt": "2026-12-07T01:00:05.000Z"}}]})
    res = adapter(pds).reconcile(_ref(post, {}))
    assert res.state == "published" and res.remote_id.endswith("3lbv2zfk4fs2s")


@pytest.mark.parametrize("fail", [None, "login", "create"])
def test_no_secret_in_any_log_or_error_with_library_debug_on(pds, caplog, capsys, fail):
    import logging

    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "httpcore.http11", "httpcore.connection", "atproto_client"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    if fail == "login":
        pds.reset().add("com.atproto.server.createSession", status=401,
                        json={"error": "AuthenticationRequired", "message": "Invalid identifier or password"})
    elif fail == "create":
        pds.add("com.atproto.repo.createRecord", status=500, json={"error": "InternalServerError", "message": "x"})
    else:
        pds.add("com.atproto.repo.createRecord", fn=echo_created)
    errors = []
    try:
        adapter(pds, **{"timeout": 5.0}).publish(compose(text="Halo #SahabatKPK"))
    except (AuthError, TransientError) as exc:
        errors.append(str(exc))
    out, err = capsys.readouterr()
    assert bool(errors) is bool(fail)
    assert any(r.name.startswith("httpx") or r.name.startswith("httpcore") for r in caplog.records)
    for text in (out, err, caplog.text, *errors, *(r.getMessage() for r in caplog.records)):
        assert PASSWORD not in text and ACCESS_JWT not in text
