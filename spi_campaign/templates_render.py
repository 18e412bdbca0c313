"""Jinja2 templates in posts, rendered per account (docs/templates.md).

Only a text holding ``{{`` or ``{%`` is a template; every other post goes
through ``compose.render`` untouched and this module (and Jinja2) is never
imported for it.

Safety: templates run in a ``SandboxedEnvironment`` (no ``''.__class__``
tricks, no access to Python internals), with ``StrictUndefined`` (a name the
account lacks is an error, never an empty string) and autoescape off (posts
are plain text). Arithmetic that could build huge values (``'a' * 10**9``,
``9**99999``) and long ``range()`` loops are refused, and the result is bounded
like any text (``loader.MAX_TEXT``).

Speed: a template is compiled once per distinct source (an LRU cache), so ten
accounts of one post cost one compile and ten cheap renders.
"""

from __future__ import annotations

import operator
import re
from dataclasses import replace
from functools import lru_cache
from typing import Any, Iterator

from spi_campaign.errors import SpiError
from spi_campaign.i18n import _
from spi_campaign.models import Account, Content, Media, Post

MAX_RANGE = 1_000      # longest range() a template may loop over
MAX_POWER = 64         # largest exponent of **
_MAX_OUT = 65_536      # = loader.MAX_TEXT (not imported: the loader is heavier)
_HASHTAG = re.compile(r"^#?(\w+)$", re.UNICODE)
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_BAD_CHARS = re.compile("[\ud800-\udfff\ufffe\uffff]")


def is_template(value: object) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def content_has_template(c: Content) -> bool:
    return (is_template(c.text) or is_template(c.link) or any(is_template(t) for t in c.hashtags)
            or any(is_template(t) for t in c.thread) or any(is_template(m.alt) for m in c.media))


class TemplateError(SpiError):
    """A template cannot be rendered. ``field``: ``text``, ``link``,
    ``hashtags``, ``thread``, ``media`` (an alt text) or ``title``;
    ``inner_line``: the line inside the field's text, when known; ``media``:
    the image whose alt text it is."""

    def __init__(self, message: str, *, field: str, inner_line: int | None = None, media: Media | None = None,
                 syntax: bool = False):
        super().__init__(message)
        self.message = message
        self.field = field
        self.inner_line = inner_line
        self.media = media
        self.syntax = syntax


# ----- the environment ------------------------------------------------------------

_ENV = None


def _env():
    global _ENV
    if _ENV is None:
        from jinja2 import StrictUndefined
        from jinja2.sandbox import SandboxedEnvironment, SecurityError

        class Env(SandboxedEnvironment):
            intercepted_binops = frozenset(["*", "**"])

            def call_binop(self, context, op, left, right):
                if op == "**":
                    if isinstance(right, (int, float)) and abs(right) > MAX_POWER:
                        raise SecurityError(_("the power {power} is too large (at most {most})").format(
                            power=right, most=MAX_POWER))
                    return operator.pow(left, right)
                for seq, n in ((left, right), (right, left)):
                    if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * n > _MAX_OUT:
                        raise SecurityError(_("repeating a text or list {n} times is too long "
                                              "(at most {most} characters)").format(n=n, most=f"{_MAX_OUT:,}"))
                return operator.mul(left, right)

        def safe_range(*args: int):
            r = range(*args)
            if len(r) > MAX_RANGE:
                raise SecurityError(_("range() of {n} items is too long (at most {most})").format(
                    n=f"{len(r):,}", most=f"{MAX_RANGE:,}"))
            return r

        env = Env(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True, cache_size=0)
        env.globals["range"] = safe_range
        _ENV = env
    return _ENV


_SIMPLE = re.compile(r"\{\{ *([A-Za-z_][A-Za-z0-9_]*) *\}\}")
_CONSTANTS = frozenset(["true", "false", "none", "True", "False", "None"])


@lru_cache(maxsize=16_384)
def _simple(source: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(literal pieces, names) when ``source`` only substitutes plain names
    (``Sahabat {{ wilayah }}``), the common case: such a template renders to
    exactly what Jinja2 would give (each name's ``str()``) without a Jinja2
    compile (~0.5 ms each, most of the cost of 1,000 templated posts). None
    for anything else (filters, statements, attributes...): Jinja2 renders it.
    The check is strict: no other ``{{``, ``{%`` or ``{#`` may remain."""
    pieces: list[str] = []
    names: list[str] = []
    last = 0
    for m in _SIMPLE.finditer(source):
        piece = source[last:m.start()]
        if piece.endswith("{") or m.group(1) in _CONSTANTS:
            return None
        pieces.append(piece)
        names.append(m.group(1))
        last = m.end()
    pieces.append(source[last:])
    if not names or any("{{" in p or "{%" in p or "{#" in p for p in pieces):
        return None
    return tuple(pieces), tuple(names)


@lru_cache(maxsize=16_384)
def _compile(source: str):
    """The compiled template, or the TemplateSyntaxError (cached too: a
    broken template is reported for every account without recompiling)."""
    from jinja2 import TemplateSyntaxError

    try:
        return _env().from_string(source)
    except TemplateSyntaxError as exc:
        return exc


def _syntax_error(exc, field: str, label: str) -> TemplateError:
    line = exc.lineno if exc.lineno and exc.lineno > 0 else None
    where = _(" on line {line} of the {label}").format(line=line, label=label) if line else ""
    return TemplateError(_("{label}: template syntax error{where}: {error}").format(
        label=label, where=where, error=exc.message), field=field, inner_line=line, syntax=True)


def check_syntax(source: str, field: str, label: str) -> TemplateError | None:
    """The syntax error of ``source`` (a template), or None."""
    if _simple(source) is not None:
        return None
    compiled = _compile(source)
    return _syntax_error(compiled, field, label) if isinstance(compiled, Exception) else None


def render_text(source: str, names: dict[str, Any], account: Account, field: str, label: str) -> str:
    """``source`` rendered with ``names``; TemplateError (never another
    exception, never a traceback) when it cannot be."""
    simple = _simple(source)
    if simple is not None and all(n in names for n in simple[1]):   # a missing name: Jinja2 says where
        pieces, used = simple
        out = pieces[0] + "".join(str(names[n]) + p for n, p in zip(used, pieces[1:]))
        return _checked(out, account, field, label)
    from jinja2 import UndefinedError
    from jinja2.sandbox import SecurityError

    compiled = _compile(source)
    if isinstance(compiled, Exception):
        raise _syntax_error(compiled, field, label)
    try:
        out = compiled.render(names)
    except UndefinedError as exc:
        line = _template_line(exc)
        m = re.match(r"'([^']+)' is undefined", str(exc.message or ""))
        what = f"'{m.group(1)}'" if m else None
        at = _(" (line {line} of the {label})").format(line=line, label=label) if line and "\n" in source else ""
        if what:
            raise TemplateError(_("{label} uses {expr}{at}, which account '{account}' does not define: add {name}: "
                                  "under vars: of the account or of the campaign in config.yaml").format(
                label=label, expr="{{ " + m.group(1) + " }}", at=at, account=account.name, name=m.group(1)),
                field=field, inner_line=line) from None
        raise TemplateError(_("{label}: {error}{at} for account '{account}'").format(
            label=label, error=exc.message, at=at, account=account.name), field=field, inner_line=line) from None
    except SecurityError as exc:
        raise TemplateError(_("{label}: refused by the template sandbox: {reason} (nothing was run)").format(
            label=label, reason=str(exc).rstrip('.')), field=field, inner_line=_template_line(exc)) from None
    except RecursionError:
        raise TemplateError(_("{label}: the template recurses too deeply").format(label=label), field=field) from None
    except Exception as exc:   # a template may divide by zero, add text to a number ...
        line = _template_line(exc)
        at = _(" (line {line} of the {label})").format(line=line, label=label) if line and "\n" in source else ""
        raise TemplateError(_("{label}: template error{at} for account '{account}': {error}").format(
            label=label, at=at, account=account.name, error=f"{type(exc).__name__}: {exc}"),
            field=field, inner_line=line) from None
    return _checked(out, account, field, label)


def _checked(out: str, account: Account, field: str, label: str) -> str:
    if len(out) > _MAX_OUT:
        raise TemplateError(_("{label} renders to {n} characters for account '{account}'; spi reads "
                              "at most {most}").format(label=label, n=f"{len(out):,}", account=account.name,
                                                       most=f"{_MAX_OUT:,}"), field=field)
    bad = _BAD_CHARS.search(out)
    if bad:
        raise TemplateError(_("{label} renders to a text with an invalid character {char} "
                              "for account '{account}'").format(label=label, char=f"U+{ord(bad.group()):04X}",
                                                                account=account.name), field=field)
    return out


def _template_line(exc: BaseException) -> int | None:
    """The template line an exception was raised at (Jinja2 rewrites
    tracebacks so template frames carry template lines)."""
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def names_for(account: Account) -> dict[str, Any]:
    """What a template sees: the account's merged vars, ``account`` and ``platform``."""
    return {**account.vars, "account": account.name, "platform": account.platform}


# ----- whole posts ------------------------------------------------------------------

def render_content(c: Content, account: Account) -> Content:
    """``c`` with every template field rendered for ``account``."""
    names = names_for(account)
    text = c.text
    if is_template(text):
        text = render_text(text, names, account, "text", "text")
        if not text.strip():
            raise TemplateError(_("text renders empty for account '{account}'").format(account=account.name),
                                field="text")
    link = c.link
    if is_template(link):
        link = render_text(link, names, account, "link", "link").strip()
        if not _URL.match(link):
            raise TemplateError(_("link renders to {value} for account '{account}', not an http(s) URL").format(
                value=repr(link), account=account.name), field="link")
    tags = c.hashtags
    if any(is_template(t) for t in tags):
        out = []
        for tag in tags:
            if is_template(tag):
                value = render_text(tag, names, account, "hashtags", "hashtag").strip()
                m = _HASHTAG.match(value)
                if m is None or m.group(1).isdigit():
                    raise TemplateError(_("hashtag {tag} renders to {value} for account '{account}'; a "
                                          "hashtag must be one word of letters, digits or _ (not only digits), "
                                          "without spaces").format(tag=repr(tag), value=repr(value),
                                                                   account=account.name), field="hashtags")
                tag = m.group(1)
            out.append(tag)
        tags = tuple(out)
    thread = c.thread
    if any(is_template(t) for t in thread):
        parts = []
        for i, part in enumerate(thread):
            if is_template(part):
                part = render_text(part, names, account, "thread", _("thread part {i}").format(i=i + 1))
                if not part.strip():
                    raise TemplateError(_("thread part {n} renders empty for account '{account}'").format(
                        n=i + 1, account=account.name), field="thread")
            parts.append(part)
        thread = tuple(parts)
    media = c.media
    if any(is_template(m.alt) for m in media):
        items = []
        for m in media:
            if is_template(m.alt):
                try:
                    m = replace(m, alt=render_text(m.alt, names, account, "media", _("alt text")).strip() or None)
                except TemplateError as exc:
                    exc.media = m
                    raise
            items.append(m)
        media = tuple(items)
    return Content(text=text, link=link, hashtags=tags, media=media, thread=thread)


def render_title(post: Post, account: Account) -> str | None:
    """The post's title for ``account`` (a template like the text)."""
    if not is_template(post.title):
        return post.title
    return render_text(post.title, names_for(account), account, "title", "title")


def sources(post: Post) -> Iterator[tuple[str, str, str, str | None, Media | None]]:
    """Every template of ``post``: (source, field, label, variant key or None, media)."""
    if is_template(post.title):
        yield post.title, "title", "title", None, None
    contents: list[tuple[str | None, dict[str, Any]]] = [(None, {
        "text": post.content.text, "link": post.content.link, "hashtags": post.content.hashtags,
        "thread": post.content.thread, "media": post.content.media})]
    contents += list(post.variants.items())
    for vkey, values in contents:
        prefix = f"variants.{vkey}." if vkey else ""
        for key in ("text", "link"):
            if is_template(values.get(key)):
                yield values[key], key, prefix + key, vkey, None
        for tag in values.get("hashtags") or ():
            if is_template(tag):
                yield tag, "hashtags", prefix + "hashtags", vkey, None
        for i, part in enumerate(values.get("thread") or ()):
            if is_template(part):
                yield part, "thread", prefix + _("thread part {i}").format(i=i + 1), vkey, None
        for m in values.get("media") or ():
            if is_template(m.alt):
                yield m.alt, "media", prefix + _("alt text"), vkey, m

