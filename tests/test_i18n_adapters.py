"""The platform adapters' messages in Bahasa Indonesia, through real ``spi``
processes (docs/i18n.md): ``accounts check`` with missing credentials, a
refusal and a network failure at the wire (Bluesky talks to a local fake PDS,
tests/_fake_xrpc.py), and a missing credential recognised in Indonesian (the
publication waits for it instead of retrying on a timer)."""

from __future__ import annotations

import json
import textwrap
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from _fake_xrpc import FakeXrpc, session
from test_i18n import spi

WITA = ZoneInfo("Asia/Makassar")
PASSWORD = "abcd-efgh-ijkl-mnop"


def _campaign(root, service: str) -> None:
    (root / "posts").mkdir(parents=True, exist_ok=True)
    (root / "outbox" / "folder.jsonl").mkdir(parents=True, exist_ok=True)
    (root / "config.yaml").write_text(textwrap.dedent(f"""\
        name: kampanye-uji
        timezone: Asia/Makassar
        posts_dir: posts
        state: .spi/state.db
        accounts:
          kanal:
            platform: telegram
            chat_id: "@kpk_kanal"
          masto:
            platform: mastodon
            instance: https://mastodon.example
          langit:
            platform: bluesky
            handle: kpk-contoh.bsky.social
            service: {service}
          arsip:
            platform: file
            path: outbox/folder.jsonl
        """), encoding="utf-8")
    due = (datetime.now(WITA) - timedelta(minutes=3)).strftime("%Y-%m-%d %H:%M")
    (root / "posts" / "lapor.yaml").write_text(textwrap.dedent(f"""\
        id: lapor
        status: approved
        publish_at: "{due}"
        accounts: [langit]
        text: Terima gratifikasi? Laporkan ke KPK paling lambat 30 hari kerja.
        """), encoding="utf-8")


@pytest.fixture
def pds():
    fake = FakeXrpc()
    yield fake
    fake.close()


@pytest.fixture
def kampanye(tmp_path, pds):
    _campaign(tmp_path, pds.url)
    return tmp_path


def test_accounts_check_missing_credentials_in_indonesian(kampanye):
    idn = spi(["accounts", "check"], kampanye, "id")
    assert idn.returncode == 1, idn.stderr
    out = " ".join(idn.stdout.split())          # the table wraps long lines
    assert "akun 'kanal': variabel lingkungan SPI_KANAL_BOT_TOKEN belum diisi" in out
    assert "akun 'masto': variabel lingkungan SPI_MASTO_ACCESS_TOKEN belum diisi" in out
    assert "akun 'langit': variabel lingkungan SPI_LANGIT_APP_PASSWORD belum diisi" in out
    assert f"akun 'arsip': {kampanye / 'outbox' / 'folder.jsonl'} sudah ada dan bukan berkas" in out
    for english in ("environment variable", "is not set", "account '", "exists and is not a file"):
        assert english not in out, english
    # the same run in English is unchanged
    en = spi(["accounts", "check"], kampanye, "en")
    en_out = " ".join(en.stdout.split())
    assert "account 'kanal': environment variable SPI_KANAL_BOT_TOKEN is not set" in en_out
    assert "variabel lingkungan" not in en_out


def test_refusal_and_network_failure_at_the_wire_in_indonesian(kampanye, pds):
    """Our wording around the platform's answer is translated; the platform's
    own text (``InvalidRequest: ...``) stays as the platform wrote it."""
    pds.add("com.atproto.server.createSession", json=session())
    pds.add("com.atproto.repo.createRecord", status=400,
            json={"error": "InvalidRequest", "message": "Invalid app.bsky.feed.post record"})
    pub = spi(["post", "publish", "lapor", "--account", "langit", "--yes"], kampanye, "id",
              SPI_LANGIT_APP_PASSWORD=PASSWORD)
    assert pub.returncode == 1, pub.stderr
    text = " ".join((pub.stdout + pub.stderr).split())
    assert ("akun 'langit': pembuatan unggahan (com.atproto.repo.createRecord): Bluesky menolak permintaan "
            "(InvalidRequest: Invalid app.bsky.feed.post record)") in text
    assert "refused the request" not in text and "creating the post" not in text
    rows = json.loads(spi(["post", "status", "--format", "json"], kampanye, "id").stdout)
    assert rows[0]["state"] == "failed"                     # JSON data values stay English
    assert "Bluesky menolak permintaan" in rows[0]["error"]

    # the login refused, and nothing listening at all
    pds.reset().add("com.atproto.server.createSession", status=401,
                    json={"error": "AuthenticationRequired", "message": "Invalid identifier or password"})
    chk = spi(["accounts", "check", "langit"], kampanye, "id", SPI_LANGIT_APP_PASSWORD=PASSWORD)
    out = " ".join(chk.stdout.split())
    assert chk.returncode == 1
    assert ("akun 'langit': Bluesky menolak proses masuk atau sesi (AuthenticationRequired: Invalid identifier "
            "or password); periksa handle dan kata sandi aplikasi di SPI_LANGIT_APP_PASSWORD") in out
    assert PASSWORD not in chk.stdout + chk.stderr
    pds.close()
    down = spi(["accounts", "check", "langit"], kampanye, "id", SPI_LANGIT_APP_PASSWORD=PASSWORD)
    out = " ".join(down.stdout.split())
    assert down.returncode == 1
    assert ("akun 'langit': proses masuk (com.atproto.server.createSession) gagal: sambungan gagal; "
            "akan dicoba lagi") in out
    assert "connection failed" not in out and "will retry" not in out


@pytest.mark.parametrize("lang", ["en", "id"])
def test_a_missing_credential_waits_for_it_in_both_languages(kampanye, lang):
    """dispatch_outcome recognises "credential not set" by the error's
    ``missing_env``, not by its English text: held with no retry timer in
    Indonesian as in English (a message it did not recognise would get a
    recheck time)."""
    pub = spi(["post", "publish", "lapor", "--account", "langit", "--yes"], kampanye, lang)
    assert pub.returncode == 1
    rows = json.loads(spi(["post", "status", "--format", "json"], kampanye, lang).stdout)
    (row,) = rows
    # held (shown as pending, no attempt counted) until the variable is set: no retry time
    assert row["state"] == "pending" and row["attempts"] == 0 and row["next_attempt"] is None, row
    assert "SPI_LANGIT_APP_PASSWORD" in row["error"]
    assert ("belum diisi" if lang == "id" else "is not set") in row["error"]
