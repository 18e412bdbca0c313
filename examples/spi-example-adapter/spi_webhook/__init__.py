"""``webhook``: an example spi-campaign adapter that POSTs each publication
as JSON to a URL from config.yaml.

It shows everything an adapter needs (see docs/writing-an-adapter.md):
class attributes for ``validate``/``preview``, a credential read through
``self.secret``, ``requests`` imported inside methods, and every failure
mapped to one of the ``spi_campaign.errors`` classes.
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlparse

from spi_campaign.adapters.base import Adapter, Identity, Limits, Option, PublishResult
from spi_campaign.errors import AuthError, PermanentError, TransientError, UnknownOutcomeError
from spi_campaign.models import Rendered

__all__ = ["WebhookAdapter"]


class WebhookAdapter(Adapter):
    platform = "webhook"
    label = "Webhook"
    style = "cyan"
    limits = Limits(text=None, max_media=10, thread=True,
                    media_types=frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"}))
    options = {
        "url": Option(str, required=True, help="HTTPS URL that receives one JSON POST per publication"),
        "timeout": Option(float, default=10.0, help="seconds to wait for the receiver"),
    }
    credentials = ("TOKEN",)            # SPI_<ACCOUNT>_TOKEN, sent as a Bearer token

    @property
    def url(self) -> str:
        return str(self.account.options["url"])

    @property
    def timeout(self) -> float:
        return float(self.account.options.get("timeout") or 10.0)

    def _send(self, method: str, what: str, *, live: bool, **kwargs):
        import requests  # lazily: `spi --help` and `spi post validate` never pay for it

        headers = {"Authorization": f"Bearer {self.secret('TOKEN')}", **kwargs.pop("headers", {})}
        who = f"account '{self.account.name}'"
        try:
            resp = requests.request(method, self.url, headers=headers, timeout=self.timeout, **kwargs)
        except requests.ConnectTimeout:
            raise TransientError(f"{who}: {what}: could not connect to the webhook") from None
        except requests.ReadTimeout:
            if live:
                raise UnknownOutcomeError(f"{who}: {what}: no answer in time; the receiver may have it") from None
            raise TransientError(f"{who}: {what}: no answer in time") from None
        except requests.ConnectionError:
            raise TransientError(f"{who}: {what}: connection to the webhook failed") from None
        except requests.RequestException as exc:
            raise PermanentError(f"{who}: {what}: {type(exc).__name__}") from None
        if resp.status_code in (401, 403):
            raise AuthError(f"{who}: the webhook refused the token in {self.account.env_prefix}TOKEN "
                            f"({resp.status_code})")
        if resp.status_code == 429 or resp.status_code >= 500:
            raise TransientError(f"{who}: {what}: the webhook answered {resp.status_code}")
        if resp.status_code >= 400:
            raise PermanentError(f"{who}: {what}: the webhook answered {resp.status_code}")
        return resp

    def publish(self, post: Rendered, *, progress: dict[str, Any] | None = None,
                checkpoint: Callable[[dict[str, Any]], None] | None = None) -> PublishResult:
        occurrence = post.occurrence.isoformat() if post.occurrence else None
        key = f"{post.post_id}@{occurrence}"
        payload = {
            "post": post.post_id, "account": post.account, "occurrence": occurrence,
            "text": post.text, "link": post.link, "hashtags": list(post.hashtags),
            "media": [{"url": m.url, "alt": m.alt} for m in post.media], "thread": list(post.thread),
        }
        resp = self._send("POST", "publishing", live=True, json=payload, headers={"Idempotency-Key": key})
        try:
            body = resp.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        return PublishResult(remote_id=str(body.get("id") or key), url=body.get("url"))

    def check(self) -> Identity:
        self._send("GET", "checking the webhook", live=False)
        host = urlparse(self.url).hostname or self.url
        return Identity(id=self.url, name=f"webhook {host}", url=self.url)
