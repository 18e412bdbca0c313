"""End to end through real ``spi`` processes: a Bluesky thread whose second
part is created but its answer lost resumes on the next run without
reposting any part (the engine's progress checkpoints + the adapter's record
keys). The PDS is the local fake of tests/_fake_xrpc.py; the second run's
clock is moved with ``faketime`` past the retry backoff."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import timedelta
from zoneinfo import ZoneInfo

from _fake_xrpc import FakeXrpc, created, session
from _support import load_plugin

kit = load_plugin("spi_testkit")
PASSWORD = "abcd-efgh-ijkl-mnop"


def _env():
    return {**kit.env(), "SPI_KPK_BSKY_APP_PASSWORD": PASSWORD}


def _spi(root, *args, offset=None):
    prefix = [shutil.which("faketime"), "-f", offset] if offset else []
    return subprocess.run([*prefix, kit.SPI, "--config", str(root / "config.yaml"), *args], cwd=root, env=_env(),
                          capture_output=True, text=True, timeout=90)


def test_bluesky_thread_resumes_after_a_lost_answer(tmp_path):
    assert shutil.which("faketime"), "faketime is not installed: apt-get install -y faketime"
    pds = FakeXrpc()
    made: dict[str, dict] = {}

    def create(req):
        rkey = req.json()["rkey"]
        made[rkey] = req.json()["record"]
        if len(made) == 2 and not pds.routes.get("dropped"):
            pds.routes["dropped"] = [True]
            return {"drop": True}                # part 2 is live, its answer is lost
        return {"json": created(rkey)}

    def get_record(req):
        rkey = req.query["rkey"]
        if rkey in made:
            return {"json": {**created(rkey), "value": made[rkey]}}
        return {"status": 400, "json": {"error": "RecordNotFound", "message": "Could not locate record"}}

    pds.add("com.atproto.server.createSession", json=session())
    pds.add("com.atproto.repo.createRecord", fn=create)
    pds.add("com.atproto.repo.getRecord", fn=get_record)
    try:
        (tmp_path / "posts").mkdir()
        (tmp_path / "config.yaml").write_text(
            "timezone: Asia/Makassar\nstate: .spi/state.db\naccounts:\n"
            f"  kpk-bsky: {{platform: bluesky, handle: kpk-contoh.bsky.social, service: '{pds.url}', timeout: 5}}\n",
            encoding="utf-8")
        kit.init_ledger(tmp_path, "2026-01-01T00:00:00.000000Z")
        due = (kit.now() - timedelta(minutes=2)).astimezone(ZoneInfo("Asia/Makassar")).strftime("%Y-%m-%d %H:%M")
        (tmp_path / "posts" / "utas.yaml").write_text(
            "id: utas\nstatus: approved\n"
            f"publish_at: {due}\naccounts: [kpk-bsky]\ntext: 1/3 Apa itu gratifikasi? 🤔\n"
            "thread:\n  - 1/3 Apa itu gratifikasi? 🤔\n  - 2/3 Hadiah untuk pejabat karena jabatannya.\n"
            "  - 3/3 Tolak, atau laporkan ke KPK dalam 30 hari kerja. 🙏🏽\n"
            "hashtags: [TolakGratifikasi]\n", encoding="utf-8")

        first = _spi(tmp_path, "post", "publish-due")
        rows = json.loads(_spi(tmp_path, "post", "status", "--format", "json").stdout)
        assert rows[0]["state"] == "pending", (first.stdout, first.stderr, rows)
        assert len(pds.calls("com.atproto.repo.createRecord")) == 2, (first.stdout, first.stderr, rows, pds.requests)

        second = _spi(tmp_path, "post", "publish-due", offset="+3h")
        rows = json.loads(_spi(tmp_path, "post", "status", "--format", "json", offset="+3h").stdout)
        assert rows[0]["state"] == "published", (second.stdout, second.stderr, rows)
        texts = [c.json()["record"]["text"][:3] for c in pds.calls("com.atproto.repo.createRecord")]
        assert texts == ["1/3", "2/3", "3/3"]                    # no part sent twice
        assert len(pds.calls("com.atproto.repo.getRecord")) == 1
        third = pds.calls("com.atproto.repo.createRecord")[2].json()["record"]
        assert third["reply"]["parent"]["uri"].endswith(pds.calls("com.atproto.repo.createRecord")[1].json()["rkey"])
        ledger = (tmp_path / ".spi" / "state.db").read_bytes()
        assert PASSWORD not in first.stdout + first.stderr + second.stdout + second.stderr
        assert PASSWORD.encode() not in ledger
    finally:
        pds.close()
