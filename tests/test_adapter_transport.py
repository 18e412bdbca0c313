"""What -vv shows about the network (adapters/_transport.py): one line per
request with method, host and path only, and for a failure the exception
class and the reason (DNS, refused, TLS, timeout), never a query string or a
token. Real processes and real sockets where the failure can be made locally;
real urllib3/requests exception objects for DNS and TLS."""

from __future__ import annotations

import logging
import os
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError, SSLError as U3SSLError

from _support import GRAPH, IG, load
from spi_campaign.adapters._transport import describe_network_error, new_session, where
from spi_campaign.errors import TransientError, UnknownOutcomeError
from spi_campaign.models import Account

SPI = Path(sys.executable).with_name("spi")
TOKENS = {
    "SPI_KOMINFO_X_API_KEY": "tok-SECRET-1234567890-xkey",
    "SPI_KOMINFO_X_API_SECRET": "tok-SECRET-1234567890-xsecret",
    "SPI_KOMINFO_X_ACCESS_TOKEN": "2244994945-tok-SECRET-1234567890-xtoken",
    "SPI_KOMINFO_X_ACCESS_TOKEN_SECRET": "tok-SECRET-1234567890-xtokensecret",
    "SPI_KOMINFO_FB_PAGE_TOKEN": "tok-SECRET-1234567890-fb",
    "SPI_KOMINFO_FB_APP_SECRET": "tok-SECRET-1234567890-appsecret",
}


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_where_drops_query_fragment_and_user_info():
    assert where("https://user:pw@graph.facebook.com:443/v27.0/123/feed?access_token=abc#x") == \
        "https://graph.facebook.com:443/v27.0/123/feed"
    assert where("https://api.x.com/2/tweets") == "https://api.x.com/2/tweets"


def _dns():
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/v27.0/1?access_token=tok-SECRET", NameResolutionError(
        "graph.facebook.com", None, socket.gaierror(-2, "Name or service not known"))))


def _tls():
    inner = ssl.SSLCertVerificationError(1, "certificate verify failed: self-signed certificate")
    return requests.exceptions.SSLError(MaxRetryError(None, "/?access_token=tok-SECRET", U3SSLError(inner)))


@pytest.mark.parametrize("make,words", [
    (_dns, "ConnectionError (NameResolutionError): DNS lookup failed"),
    (_tls, "SSLError (SSLCertVerificationError): TLS failed: the server's certificate is not trusted"),
    (lambda: requests.exceptions.ConnectTimeout("connect"), "ConnectTimeout: timed out connecting"),
    (lambda: requests.exceptions.ReadTimeout("read"), "ReadTimeout: no answer before the timeout"),
    (lambda: requests.exceptions.ConnectionError(MaxRetryError(None, "/", NewConnectionError(
        None, "Failed to establish a new connection: [Errno 111] Connection refused"))),
     "ConnectionError"),
])
def test_describe_network_error(make, words):
    text = describe_network_error(make())
    assert text.startswith(words), text
    assert "access_token" not in text and "SECRET" not in text and "?" not in text


@responses.activate
def test_session_logs_method_host_path_and_the_failure_at_debug(caplog):
    caplog.set_level(logging.DEBUG, logger="spi_campaign")
    responses.add(responses.GET, f"{GRAPH}/1234567890", json=load("meta/page.json"))
    responses.add(responses.POST, f"{GRAPH}/1234567890/feed", body=_dns())
    session = new_session(5)
    session.get(f"{GRAPH}/1234567890", params={"access_token": "tok-SECRET-1234567890-fb", "fields": "id,name"})
    with pytest.raises(requests.ConnectionError):
        session.post(f"{GRAPH}/1234567890/feed?access_token=tok-SECRET-1234567890-fb", data={"message": "x"})
    lines = [r.getMessage() for r in caplog.records if r.name == "spi_campaign.adapters.net"]
    assert lines[0].startswith(f"GET {GRAPH}/1234567890 -> 200 in ")
    assert lines[1].startswith(f"POST {GRAPH}/1234567890/feed failed after ")
    assert lines[1].endswith("ConnectionError (NameResolutionError): DNS lookup failed (no such host, or no DNS server reachable)")
    assert not any("?" in line or "SECRET" in line or "access_token" in line for line in lines)


def test_refused_and_read_timeout_over_real_sockets(monkeypatch, caplog):
    """A closed local port (refused) and a server that accepts but never answers (read timeout)."""
    import facebook

    from spi_campaign.adapters.meta.facebook import FacebookAdapter

    caplog.set_level(logging.DEBUG, logger="spi_campaign")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    account = Account("kominfo-fb", "facebook", {"page_id": "1234567890", "graph_version": "v27.0", "timeout": 0.5})
    monkeypatch.setattr(facebook, "FACEBOOK_GRAPH_URL", f"http://127.0.0.1:{_closed_port()}/")
    with pytest.raises(TransientError) as info:
        FacebookAdapter(account, env=TOKENS).check()
    assert "connection refused" in str(info.value)

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)
    accepted = []
    threading.Thread(target=lambda: accepted.append(silent.accept()), daemon=True).start()
    monkeypatch.setattr(facebook, "FACEBOOK_GRAPH_URL", f"http://127.0.0.1:{silent.getsockname()[1]}/")
    from spi_campaign.models import Content

    post = FacebookAdapter.compose("p", "kominfo-fb", Content(text="Tolak gratifikasi"))
    try:
        with pytest.raises(UnknownOutcomeError) as info:
            FacebookAdapter(account, env=TOKENS).publish(post)
    finally:
        silent.close()
    assert "no answer before the timeout" in str(info.value)
    lines = [r.getMessage() for r in caplog.records if r.name == "spi_campaign.adapters.net"]
    assert any(line.startswith("GET http://127.0.0.1:") and "/v27.0/1234567890 failed after" in line
               and line.endswith(": connection refused") for line in lines), lines
    assert any("/v27.0/1234567890/feed failed after" in line and "ReadTimeout" in line and "no answer" in line
               for line in lines), lines
    for line in lines:
        assert "?" not in line and "SECRET" not in line


def test_spi_vv_in_a_real_process_names_the_failure_and_hides_tokens(camp):
    """`spi -vv accounts check` through a proxy that refuses: the request
    lines and the reason are on stderr; no token, no query string anywhere."""
    camp.write_config(f"""\
        accounts:
          kominfo-x: {{platform: x, timeout: 2}}
          kominfo-fb: {{platform: facebook, page_id: "1234567890", timeout: 2}}
        """)
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("SPI_")}
    env.update(TOKENS, HTTPS_PROXY=f"http://127.0.0.1:{_closed_port()}", COLUMNS="200")
    out = subprocess.run([str(SPI), "-vv", "--config", str(camp.config), "accounts", "check"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 1, out.stderr
    assert "GET https://graph.facebook.com/v27.0/1234567890 failed after" in out.stderr
    assert "GET https://api.x.com/2/users/me failed after" in out.stderr
    assert "ProxyError" in out.stderr and "proxy: connection refused" in out.stderr
    assert "proxy: connection refused" in out.stdout                 # the one-line error says why, too
    for text in (out.stdout, out.stderr):
        assert "access_token" not in text and "appsecret_proof" not in text and "?fields" not in text
        for value in TOKENS.values():
            assert value not in text
