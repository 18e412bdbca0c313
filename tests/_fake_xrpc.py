"""A local XRPC server (a fake Bluesky PDS) for the Bluesky adapter tests:
atproto talks httpx, which ``responses`` cannot intercept, so the real
client sends real HTTP to 127.0.0.1.

``add(nsid, json=..., status=...)`` queues an answer (the last one of a
method repeats); ``drop`` answers by closing the connection. Every request is
kept in ``requests`` (method, nsid, query, headers, body)."""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
HANDLE = "kpk-contoh.bsky.social"
CID = "bafyreib2rxk3rh6kzwq2ayhvxsxlqo7kxzdhcjbpdkgpjqgrp4ohitnroe"
BLOB_CID = "bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def jwt(sub: str = DID, scope: str = "com.atproto.appPass") -> str:
    now = int(time.time())
    return ".".join([_b64({"typ": "at+jwt", "alg": "ES256K"}),
                     _b64({"scope": scope, "sub": sub, "iat": now, "exp": now + 2 * 86400}), "c2lnbmF0dXJl"])


ACCESS_JWT = jwt()


def session(handle: str = HANDLE) -> dict:
    return {"accessJwt": ACCESS_JWT, "refreshJwt": jwt(scope="com.atproto.refresh"), "handle": handle, "did": DID}


def created(rkey: str) -> dict:
    return {"uri": f"at://{DID}/app.bsky.feed.post/{rkey}", "cid": CID}


@dataclass
class Req:
    method: str
    nsid: str
    query: dict
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


class FakeXrpc:
    def __init__(self):
        self.routes: dict[str, list] = {}
        self.requests: list[Req] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self):
                parts = urlsplit(self.path)
                nsid = parts.path.rsplit("/", 1)[-1]
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Req(self.command, nsid, {k: v[0] for k, v in parse_qs(parts.query).items()},
                          {k.lower(): v for k, v in self.headers.items()}, body)
                fake.requests.append(req)
                queue = fake.routes.get(nsid)
                if not queue:
                    answer = {"status": 501, "json": {"error": "MethodNotImplemented", "message": nsid}}
                else:
                    answer = queue.pop(0) if len(queue) > 1 else queue[0]
                if callable(answer):
                    answer = answer(req)
                if answer.get("drop"):
                    self.close_connection = True
                    return
                data = json.dumps(answer.get("json", {})).encode()
                self.send_response(answer.get("status", 200))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (answer.get("headers") or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def reset(self) -> "FakeXrpc":
        self.routes.clear()
        self.requests.clear()
        return self

    def add(self, nsid: str, json=None, status: int = 200, headers=None, drop: bool = False, fn=None) -> None:
        self.routes.setdefault(nsid, []).append(fn or {"json": json or {}, "status": status,
                                                       "headers": headers, "drop": drop})

    def calls(self, nsid: str) -> list[Req]:
        return [r for r in self.requests if r.nsid == nsid]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


_shared: FakeXrpc | None = None


def shared() -> FakeXrpc:
    """One server per test process (started on first use)."""
    global _shared
    if _shared is None:
        _shared = FakeXrpc()
    return _shared
