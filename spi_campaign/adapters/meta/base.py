"""``GraphAdapter``: what the Meta adapters (Facebook Page, Instagram) share.

They talk to Meta's Graph API through ``meta.graph.GraphClient`` with one access
token, a configurable ``graph_version`` and ``timeout``; this base class
builds that client once per adapter instance and closes it, and looks a lost
post up among the account's recent posts for ``reconcile``.

This module is imported when the adapter *class* is looked up (``validate``,
``preview``), so it imports requests and facebook-sdk only inside methods
(through ``GraphClient``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from spi_campaign.adapters._content import normalise_text
from spi_campaign.adapters._transport import from_epoch, option_float
from spi_campaign.adapters.base import RECONCILE_MARGIN, Adapter, PublicationRef, ReconcileResult
from spi_campaign.adapters.meta.graph import DEFAULT_GRAPH_VERSION, GraphClient, graph_version
from spi_campaign.errors import AdapterError, PermanentError
from spi_campaign.i18n import _


class GraphAdapter(Adapter):
    """Base class of the Graph API adapters.

    credentials: exactly one field, the access token
    product:     the platform's name in error messages ("Facebook", "Instagram")
    """

    product: ClassVar[str] = ""
    api_base = "https://graph.facebook.com"
    default_version: ClassVar[str] = DEFAULT_GRAPH_VERSION
    optional_credentials = ("APP_SECRET",)     # when set, every call carries appsecret_proof

    def __init__(self, account, env=None, *, tz=None):
        super().__init__(account, env, tz=tz)
        self._graph = None

    # ----- plumbing -----------------------------------------------------------

    @property
    def token_env(self) -> str:
        return self.account.env_prefix + self.credentials[0]

    def _required_option(self, key: str) -> str:
        """A required id option (``page_id``, ``ig_user_id``), stripped; PermanentError if unset."""
        value = str(self.account.options.get(key) or "").strip()
        if not value:
            raise PermanentError(_("{who}: {key} is not set in config.yaml").format(who=self.who, key=key))
        return value

    def _client(self):
        if self._graph is None:
            token = self.secret(self.credentials[0])
            try:
                version = graph_version(self.account.options.get("graph_version"), self.default_version)
            except PermanentError as exc:
                raise PermanentError(f"{self.who}: {exc}") from None
            self._graph = GraphClient(token=token, version=version,
                                      timeout=option_float(self.account.options, "timeout", 30.0),
                                      who=self.who, token_env=self.token_env, product=self.product,
                                      app_secret=self.optional_secret("APP_SECRET"),
                                      app_secret_env=self.account.env_prefix + "APP_SECRET",
                                      base_url=self.api_url(self.account) or self.api_base)
        return self._graph

    def _token_expiry(self) -> tuple[datetime | None, datetime | None, tuple[str, ...]]:
        """(expires_at, data_access_expires_at, notes) of the token, from
        ``debug_token``; Meta writes 0 for "never". A failure is a note, not a
        failed check: the token did work for the read before."""
        try:
            data = self._client().debug_token()
        except AdapterError as exc:
            return None, None, (_("token expiry not readable: {error}").format(error=exc),)
        if data.get("is_valid") is False:
            return None, None, (_("Meta says the token in {env} is not valid (debug_token)").format(env=self.token_env),)
        expires, data_access = (from_epoch(data.get(k)) if data.get(k) else None
                                for k in ("expires_at", "data_access_expires_at"))
        return expires, data_access, ()

    def _search_recent(self, pub: PublicationRef, id_option: str, edge: str, *, text_field: str, noun: str,
                       what: str, fields: str, **params: Any) -> dict | ReconcileResult | None:
        """Look for ``pub``'s text among the items of ``GET /{id}/{edge}``
        (``id`` from the account option ``id_option``) created since its
        attempt started, comparing each item's ``text_field`` after
        ``normalise_text``.

        Returns the first matching item, None if no item matches, or a
        ``cannot_tell`` ReconcileResult when there is nothing to compare with
        or the platform cannot be asked (``noun``: what the list holds, for
        that message)."""
        if pub.rendered is None:
            return ReconcileResult.cannot_tell(_("the post is no longer in the campaign; nothing to compare with"))
        since = (pub.claimed_at or pub.occurrence) - RECONCILE_MARGIN
        want = normalise_text(pub.rendered.text)
        try:
            result = self._client().get(self._required_option(id_option), edge, what=what, fields=fields,
                                        since=int(since.timestamp()), **params)
        except AdapterError as exc:
            return ReconcileResult.cannot_tell(_("{platform} could not be asked: {error}").format(
                platform=self.product, error=exc))
        items = result.get("data")
        if not isinstance(items, list):
            return ReconcileResult.cannot_tell(_("{platform} answered without a list of {noun}").format(
                platform=self.product, noun=noun))
        for item in items:
            if isinstance(item, dict) and normalise_text(item.get(text_field)) == want:
                return item
        return None

    def close(self) -> None:
        if self._graph is not None:
            self._graph.close()
