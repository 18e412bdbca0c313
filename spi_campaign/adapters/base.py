"""The adapter contract.

An adapter is a class, one per platform. The class itself (no credentials,
no network, no SDK import) is what ``validate`` and ``preview`` use: its
``platform``, ``limits``, ``options``, ``credentials``, ``compose`` and
``measure``. An *instance* is bound to one configured account and does the
network work: ``publish``, ``check`` and ``reconcile``.

Rules every adapter follows:

- Import the platform SDK (tweepy, facebook, requests ...) inside methods or
  in ``__init__``, never at module top level: ``spi --help`` and ``validate``
  must not pay for it.
- Credentials come only from environment variables named
  ``SPI_<ACCOUNT>_<FIELD>`` (see ``models.env_prefix``), read with
  ``self.secret(FIELD)``. Never put a secret into an exception message, a log
  record or a return value.
- ``publish`` raises exactly one of the ``errors`` classes on failure:
  ``TransientError`` (nothing happened, try again; may carry
  ``retry_after``), ``PermanentError``, ``AuthError`` (message names the env
  var to fix), ``UnknownOutcomeError`` (the request left; it may be live), or
  ``QuotaDeferred`` (the platform's quota is used up; not a failure).
  Anything else escaping ``publish`` is treated by the engine as
  ``UnknownOutcomeError``, because it cannot tell whether the request left.
- Multi-request posts (threads, carousels) report progress through
  ``checkpoint`` after every request that made something live, and accept that
  progress back in ``progress`` on a retry, so a retry continues where it
  stopped and never reposts a part that is already out.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Callable, ClassVar, Mapping

from spi_campaign import redact
from spi_campaign.errors import AuthError
from spi_campaign.i18n import N_, _
from spi_campaign.models import Account, Content, Rendered


@dataclass(frozen=True)
class Limits:
    """What a platform accepts; ``validate`` and ``preview`` judge posts by it.

    text:            maximum length in the platform's own unit (``Adapter.measure``); None = no limit
    max_media:       maximum images per post (0 = the adapter publishes no media)
    min_media:       minimum images per post (Instagram: 1)
    media_types:     accepted MIME types, detected from the file's bytes
    max_media_bytes: maximum size of one image file; None = no limit
    max_hashtags:    maximum hashtags in the final text; None = no limit
    max_mentions:    maximum @mentions in the final text; None = no limit
    media_needs_url: every image needs a public ``url:`` (the platform fetches it)
    media_needs_file: every image needs a local ``path:`` (the platform uploads files)
    thread:          the platform publishes ``thread:`` parts as a reply chain
    """

    text: int | None = None
    max_media: int = 0
    min_media: int = 0
    media_types: frozenset[str] = frozenset()
    max_media_bytes: int | None = None
    max_hashtags: int | None = None
    max_mentions: int | None = None
    media_needs_url: bool = False
    media_needs_file: bool = False
    thread: bool = False


@dataclass(frozen=True)
class Option:
    """One platform-specific key of an account in config.yaml.

    kind:     python type the YAML value must have (str, int, float, bool)
    required: the key must be present
    default:  used when absent
    help:     one line for the README and error messages
    is_path:  a path, resolved relative to config.yaml by the config loader
    """

    kind: type = str
    required: bool = False
    default: Any = None
    help: str = ""
    is_path: bool = False


@dataclass(frozen=True)
class PublishResult:
    """remote_id: the platform's id of the (first) post; url: its public URL;
    extra: anything worth keeping (e.g. every part id of a thread)."""

    remote_id: str
    url: str | None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Identity:
    """What ``check()`` found: who an account posts as (e.g. ``@diskominfobali``
    on X, the Page name on Facebook) and what publishing will need soon.

    expires_at:             when the token stops working (None: never, or unknown)
    data_access_expires_at: Meta: when the app's access to the user's data
                            expires (publishing stops too); None if not told
    usage:                  the platform's usage/quota as data, e.g. ``{"used": 3,
                            "cap": 100, "remaining": 97, "resets": "..."}``
    notes:                  things worth knowing that are not failures
    """

    id: str
    name: str
    url: str | None = None
    detail: str | None = None     # e.g. remaining quota, in words
    expires_at: datetime | None = None
    data_access_expires_at: datetime | None = None
    usage: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()


CheckResult = Identity            # the name the alerting code uses for what ``check()`` returns


@dataclass(frozen=True)
class PublicationRef:
    """What ``reconcile`` gets about an ``unknown`` publication."""

    post_id: str
    account: str
    occurrence: datetime          # UTC
    claimed_at: datetime | None   # when the lost attempt started (UTC)
    rendered: Rendered | None     # what was being published, if the post still exists
    remote_id: str | None = None
    progress: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReconcileResult:
    """state: ``published`` (with url/remote_id), ``not_found`` or ``cannot_tell``."""

    state: str
    url: str | None = None
    remote_id: str | None = None
    detail: str | None = None

    @classmethod
    def cannot_tell(cls, detail: str | None = None) -> "ReconcileResult":
        return cls("cannot_tell", detail=detail)


#: the reason of a metric a platform does not give (translated where used)
NOT_GIVEN = N_("not given by the platform")

#: the message of ``Adapter.secret`` for a credential that is not set; its
#: ``AuthError`` also carries ``missing_env`` (the variable's name), which is
#: how ``dispatch_outcome`` recognises it in any language
NOT_SET = N_("{who}: environment variable {name} is not set")

#: the engagement metrics every platform is asked for (``Adapter.metrics``)
COMMON_METRICS = ("views", "reach", "likes", "comments", "shares")


@dataclass(frozen=True)
class MetricsRef:
    """What ``metrics`` gets about one published publication."""

    remote_id: str
    published_at: datetime | None = None     # UTC
    url: str | None = None


@dataclass(frozen=True)
class MetricsResult:
    """Engagement of one publication. ``values``: metric -> count, or None
    when the platform does not give it, with the reason in ``reasons``.
    Always has the ``COMMON_METRICS``; a platform may add more (``saved``)."""

    values: dict[str, int | None]
    reasons: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, values: dict[str, int | None], reasons: dict[str, str],
              default_reason: str | None = None) -> "MetricsResult":
        if default_reason is None:
            default_reason = _(NOT_GIVEN)
        vals = {m: None for m in COMMON_METRICS}
        vals.update(values)
        why = {m: reasons.get(m, default_reason) for m, v in vals.items() if v is None}
        return cls(vals, why)

    @classmethod
    def unsupported(cls, reason: str) -> "MetricsResult":
        return cls({m: None for m in COMMON_METRICS}, {m: reason for m in COMMON_METRICS})


# reconcile: how far before a lost attempt started a platform's list of recent posts is read
RECONCILE_MARGIN = timedelta(minutes=5)

_HASHTAG_PRESENT = re.compile(r"#(\w+)", re.UNICODE)


class Adapter:
    """Base class. Subclasses set the class attributes and implement ``publish``
    and ``check``; ``reconcile`` is optional.

    platform:    the name used in config.yaml (``platform: x``)
    label:       a human name for previews (``X``, ``Facebook Page``)
    style:       Rich style of the preview panel border
    limits:      see ``Limits``
    options:     the platform-specific account keys, name -> ``Option``
    credentials: env var field names, read as ``SPI_<ACCOUNT>_<FIELD>``
    optional_credentials: fields that enable extra behaviour when set
                 (``APP_SECRET``, ``BEARER_TOKEN``); read with ``optional_secret``
    link_card:   the link goes in a separate field (a preview card) instead of
                 being appended to the text, when the post has no media
    """

    platform: ClassVar[str] = ""
    label: ClassVar[str] = ""
    style: ClassVar[str] = "white"
    limits: ClassVar[Limits] = Limits()
    options: ClassVar[dict[str, Option]] = {}
    credentials: ClassVar[tuple[str, ...]] = ()
    optional_credentials: ClassVar[tuple[str, ...]] = ()
    link_card: ClassVar[bool] = False
    # The platform's API host; ``spi doctor --online`` compares the clock with its Date header.
    api_base: ClassVar[str | None] = None

    def __init__(self, account: Account, env: Mapping[str, str] | None = None, *,
                 tz: tzinfo | None = None):
        """``env``: where credentials are read (default ``os.environ``);
        ``tz``: the campaign timezone, for times the adapter writes."""
        self.account = account
        self.env = os.environ if env is None else env
        self.tz = tz or timezone.utc

    # ----- class side: pure, used by validate/preview -----------------------

    @classmethod
    def measure(cls, text: str) -> int:
        """Length of ``text`` in the platform's own unit (default: code points)."""
        return len(text)

    @classmethod
    def fits(cls, text: str) -> bool:
        """``measure(text) <= limits.text``; adapters may answer faster."""
        return cls.limits.text is None or cls.measure(text) <= cls.limits.text

    @classmethod
    def part_limits(cls, rendered: Rendered, account: Account | None = None) -> tuple[int | None, ...]:
        """The text limit of each of ``rendered.parts``, in ``measure``'s unit
        (None: no limit). Default: ``limits.text`` for every part. Adapters
        whose limit depends on the post (Telegram: a caption when there are
        images) or on the account (Mastodon: the instance's limit) override it.
        ``validate`` and ``preview`` judge every part by it."""
        return tuple(cls.limits.text for _ in rendered.parts)

    @classmethod
    def compose(cls, post_id: str, account: str, content: Content) -> Rendered:
        """Join text, link and hashtags into the final text.

        Default (documented in the README, "How text is composed"):
        ``text`` + blank line + ``link`` (unless already in the text, or sent
        as a link card) + blank line + ``#Tag #Tag`` (tags already written in
        the text are not repeated). For threads the link and hashtags go with
        the first part.
        """
        link_in_text = content.link and not (cls.link_card and not content.media)
        first = content.thread[0] if content.thread else content.text
        text = join_text(first, content.link if link_in_text else None, content.hashtags)
        thread = (text, *content.thread[1:]) if content.thread else ()
        return Rendered(
            post_id=post_id, account=account, platform=cls.platform, text=text,
            link=None if link_in_text else content.link, hashtags=content.hashtags,
            media=content.media, thread=thread,
        )

    @classmethod
    def problems(cls, rendered: Rendered) -> list[str]:
        """Platform rules ``validate`` checks beyond ``limits`` (e.g. Threads'
        five links per post), one message per problem; publish refuses them too."""
        return []

    @classmethod
    def env_names(cls, account: Account) -> list[str]:
        return [account.env_prefix + f for f in cls.credentials]

    @classmethod
    def api_url(cls, account: Account) -> str | None:
        """Where this account's requests go (``api_base`` unless an adapter
        knows better from the account's options); None: no network."""
        return cls.api_base

    @classmethod
    def optional_env_names(cls, account: Account) -> list[str]:
        return [account.env_prefix + f for f in cls.optional_credentials]

    # ----- instance side: talks to the platform -----------------------------

    @property
    def who(self) -> str:
        """How messages name the account."""
        return _("account '{name}'").format(name=self.account.name)

    def secret(self, fieldname: str) -> str:
        """The credential ``SPI_<ACCOUNT>_<FIELD>``; AuthError naming the variable if unset."""
        name = self.account.env_prefix + fieldname
        value = self.env.get(name, "")
        if not value.strip():
            err = AuthError(_(NOT_SET).format(who=self.who, name=name))
            err.missing_env = name
            raise err
        redact.register(value.strip())
        return value.strip()

    def optional_secret(self, fieldname: str) -> str | None:
        """The optional credential ``SPI_<ACCOUNT>_<FIELD>``, or None when unset."""
        value = self.env.get(self.account.env_prefix + fieldname, "").strip()
        if not value:
            return None
        redact.register(value)
        return value

    def publish(self, post: Rendered, *, progress: dict[str, Any] | None = None,
                checkpoint: Callable[[dict[str, Any]], None] | None = None) -> PublishResult:
        raise NotImplementedError

    def check(self) -> Identity:
        raise NotImplementedError

    def reconcile(self, pub: PublicationRef) -> ReconcileResult:
        return ReconcileResult.cannot_tell(_("this platform cannot look posts up"))

    #: whether ``metrics`` reads anything back (False: every value is null with a reason)
    supports_metrics: ClassVar[bool] = False

    def metrics(self, refs: list[MetricsRef]) -> dict[str, MetricsResult]:
        """Engagement of published posts: ``{remote_id: MetricsResult}``.

        Read-only and never part of publishing. A platform that cannot say
        returns every metric as None with a reason (this default); a metric
        the platform retired or has no data for is None with the reason, the
        others still count. A failure of the whole account (credentials, a
        missing permission: the message names it) raises an ``AdapterError``.
        """
        why = _("{platform} does not report engagement").format(platform=self.label or self.platform)
        return {r.remote_id: MetricsResult.unsupported(why) for r in refs}

    def close(self) -> None:
        """Release network resources (sessions)."""


def join_text(text: str, link: str | None, hashtags: tuple[str, ...] | list[str]) -> str:
    parts = [text]
    if link and link not in text:
        parts.append(link)
    present = {m.lower() for m in _HASHTAG_PRESENT.findall(text)}
    tags = [f"#{h}" for h in hashtags if h.lower() not in present]
    if tags:
        parts.append(" ".join(tags))
    return "\n\n".join(p for p in parts if p)
