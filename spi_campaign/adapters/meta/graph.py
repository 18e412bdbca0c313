"""``GraphClient``: facebook-sdk's ``GraphAPI`` as the Meta adapters need it
(Facebook Page, Instagram with either login, Threads), with one access token, a
current Graph API version and a timeout. facebook-sdk and requests are
imported inside methods only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any, Callable, Mapping

from spi_campaign.adapters._transport import new_session, transport_error
from spi_campaign.adapters.meta.errors import graph_error
from spi_campaign.errors import AdapterError, PermanentError
from spi_campaign.i18n import _

FACEBOOK_GRAPH = "https://graph.facebook.com"
DEFAULT_GRAPH_VERSION = "v27.0"     # see docs/platforms.md, "Graph API version"
_GRAPH_VERSION = re.compile(r"^v\d{1,3}\.\d{1,2}$")


def graph_version(value: Any, default: str) -> str:
    """``v27.0`` from ``v27.0`` / ``27.0`` / ``27``; PermanentError if it is not a version."""
    text = str(value if value not in (None, "") else default).strip()
    if not text.startswith("v"):
        text = "v" + text
    if re.fullmatch(r"v\d{1,3}", text):
        text += ".0"
    if not _GRAPH_VERSION.match(text):
        raise PermanentError(_("graph_version must look like v27.0, got {value}").format(value=repr(text)))
    return text


class GraphClient:
    """facebook-sdk's ``GraphAPI`` as the adapters need it.

    - facebook-sdk 3.1.0's constructor accepts only versions 2.8-3.1, long
      retired (Meta silently upgrades calls to a retired version), so the
      configured version is set on the object after construction; every path
      is built from ``graph.version``.
    - It sends with no timeout unless given one; ours always has one.
    - It catches only ``requests.HTTPError`` (which a Session never raises), so
      connection errors and timeouts arrive here as requests exceptions, and it
      raises ``GraphAPIError`` for error bodies (losing the HTTP status, which
      the session remembers for us) and ``KeyError``/``ValueError`` for
      answers without a usable content type or body.
    - Lists and booleans are encoded by the callers (see ``form``): facebook-sdk
      hands ``post_args`` to requests, which would send ``False`` and repeat a
      list's key.
    """

    def __init__(self, *, token: str, version: str, timeout: float, who: str, token_env: str,
                 product: str = "Facebook", app_secret: str | None = None, app_secret_env: str | None = None,
                 base_url: str = FACEBOOK_GRAPH):
        import facebook

        # facebook-sdk builds every URL on graph.facebook.com; Threads (graph.threads.net) and
        # Instagram Login (graph.instagram.com) get their host through the session's host map.
        base = base_url.rstrip("/")
        hosts = {FACEBOOK_GRAPH + "/": base + "/"} if base != FACEBOOK_GRAPH else None
        self.session = new_session(timeout, hosts=hosts)
        if app_secret:
            self.session.auth = _app_secret_proof(appsecret_proof(token, app_secret))
        self.graph = facebook.GraphAPI(access_token=token, timeout=timeout, session=self.session)
        self.graph.version = version
        self.who = who
        self.token_env = token_env
        self.app_secret_env = app_secret_env
        self.product = product
        self._token = token

    @property
    def version(self) -> str:
        return self.graph.version

    def get(self, node: str, edge: str | None = None, *, what: str, **params: Any) -> dict:
        if edge:
            return self._call(lambda: self.graph.get_connections(node, edge, **params), what=what, live=False)
        return self._call(lambda: self.graph.get_object(node, **params), what=what, live=False)

    def debug_token(self) -> dict:
        """``data`` of ``GET /debug_token?input_token=<the token>``: ``is_valid``,
        ``expires_at`` and ``data_access_expires_at`` (epoch seconds; 0 = never),
        ``scopes``. The token inspects itself (facebook-sdk adds it as ``access_token``)."""
        result = self._call(lambda: self.graph.request(f"{self.version}/debug_token", {"input_token": self._token}),
                            what=_("reading the token's expiry (GET /debug_token)"), live=False)
        data = result.get("data")
        return data if isinstance(data, dict) else {}

    def post(self, node: str, edge: str, data: Mapping[str, Any], *, what: str, live: bool,
             files: Mapping[str, Any] | None = None) -> dict:
        args = form(data)
        if files:
            return self._call(lambda: self.graph.put_photo(files["source"], album_path=f"{node}/{edge}", **args),
                              what=what, live=live)
        return self._call(lambda: self.graph.put_object(node, edge, **args), what=what, live=live)

    def _call(self, fn: Callable[[], Any], *, what: str, live: bool) -> dict:
        import facebook
        import requests

        self.session.last_response = None
        try:
            result = fn()
        except facebook.GraphAPIError as exc:
            raise self._error(exc.result, what=what, live=live) from None
        except requests.exceptions.JSONDecodeError:
            raise self._error(None, what=what, live=live) from None
        except requests.RequestException as exc:
            raise transport_error(exc, who=self.who, what=what, live=live) from None
        except (KeyError, ValueError):
            # facebook-sdk reads headers["content-type"] and response.json() unguarded
            raise self._error(None, what=what, live=live) from None
        if not isinstance(result, dict):
            raise self._error(None, what=what, live=live)
        return result

    def _error(self, result: Any, *, what: str, live: bool) -> AdapterError:
        resp = self.session.last_response
        status = resp.status_code if resp is not None else None
        headers = resp.headers if resp is not None else None
        exc = graph_error(result, status=status, headers=headers, who=self.who, what=what,
                          token_env=self.token_env, live=live, product=self.product,
                          app_secret_env=self.app_secret_env)
        # the Graph error body, for callers that judge codes themselves (metrics: a retired metric)
        exc.graph = result.get("error") if isinstance(result, dict) and isinstance(result.get("error"), dict) else None
        return exc

    def close(self) -> None:
        self.session.close()


def form(data: Mapping[str, Any]) -> dict[str, str]:
    """Graph API form values: booleans as ``true``/``false``, lists and dicts as
    JSON, None dropped. Keys such as ``attached_media[0]`` pass through."""
    out: dict[str, str] = {}
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, (list, tuple, dict)):
            out[key] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        else:
            out[key] = str(value)
    return out


def appsecret_proof(token: str, app_secret: str) -> str:
    """Meta's ``appsecret_proof``: HMAC-SHA256 of the access token keyed with the app secret, hex."""
    return hmac.new(app_secret.encode("utf-8"), token.encode("utf-8"), hashlib.sha256).hexdigest()


def _app_secret_proof(proof: str):
    """A requests auth hook that adds ``appsecret_proof`` to the query string of
    every request of the session (GET and POST alike: the Graph API reads
    parameters from the query string and the body)."""
    import requests

    class AppSecretProof(requests.auth.AuthBase):
        def __call__(self, r):
            r.prepare_url(r.url, {"appsecret_proof": proof})
            return r

    return AppSecretProof()
