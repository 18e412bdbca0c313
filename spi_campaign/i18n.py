"""Interface language: English, or Bahasa Indonesia (docs/i18n.md).

The language is ``SPI_LANG`` when set (``id``/``id_ID`` -> Indonesian,
anything else -> English), otherwise the first of ``LANGUAGE``, ``LC_ALL``,
``LC_MESSAGES``, ``LANG`` that is set: Indonesian when it starts with ``id``.

Cheap on purpose (``spi --help`` imports this): stdlib ``gettext`` only, and
only when Indonesian is chosen; the compiled catalogs
``locale/id/LC_MESSAGES/{spi,click}.mo`` are package data. Babel is a
development tool (``pybabel extract/update/compile``), never imported here.

``_`` is looked up at call time, so a message is translated in the language
of the process that shows it. ``N_`` only marks a string for extraction
(translated later with ``_``).
"""

from __future__ import annotations

import os
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "id")
_ENV_ORDER = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_catalogs: dict[tuple[str, str], object] = {}


def current_language(environ=None) -> str:
    """``"id"`` or ``"en"`` from the environment (see the module doc)."""
    env = os.environ if environ is None else environ
    chosen = env.get("SPI_LANG", "").strip()
    if not chosen:
        for name in _ENV_ORDER:
            chosen = env.get(name, "").strip()
            if chosen:
                break
        if chosen.startswith("id"):
            return "id"
        return "en"
    return "id" if chosen.lower().replace("-", "_").split("_")[0] in ("id", "in") else "en"


def _catalog(domain: str, lang: str | None = None):
    """The ``gettext`` translation of ``domain`` for ``lang`` (default: the
    current language), or None for English (the source language: no file is
    read)."""
    lang = lang or current_language()
    if lang == "en":
        return None
    key = (domain, lang)
    cat = _catalogs.get(key)
    if cat is None:
        import gettext

        cat = gettext.translation(domain, localedir=str(LOCALE_DIR), languages=[lang], fallback=True)
        _catalogs[key] = cat
    return cat


def gettext(message: str) -> str:
    cat = _catalog("spi")
    return message if cat is None else cat.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    cat = _catalog("spi")
    if cat is None:
        return singular if n == 1 else plural
    return cat.ngettext(singular, plural, n)


_ = gettext


_patterns: dict[tuple[str, str], object] = {}


def _pattern(msgid: str, lang: str):
    """``msgid`` as shown in ``lang``, as a regex whatever its ``{fields}`` hold."""
    import re

    key = (msgid, lang)
    pat = _patterns.get(key)
    if pat is None:
        cat = _catalog("spi", lang)
        parts = re.split(r"\{[^{}]*\}", msgid if cat is None else cat.gettext(msgid))
        pat = _patterns[key] = re.compile("^" + ".+?".join(re.escape(p) for p in parts) + "$", re.S)
    return pat


def message_pattern(msgid: str):
    """A compiled regex matching ``_(msgid).format(...)`` in the current
    language, whatever the ``{fields}`` hold: for the few places that
    recognise a message they made (never match English text directly)."""
    return _pattern(msgid, current_language())


def made_from(text: str | None, msgid: str) -> bool:
    """``text`` is ``msgid`` formatted in any language spi speaks: for text
    stored in the ledger, which is in the language of the process that wrote
    it, not of the one reading it."""
    return bool(text) and any(_pattern(msgid, lang).match(text) for lang in LANGUAGES)


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it now."""
    return message


def click_gettext(message: str) -> str:
    """Click's own messages (domain ``click``), then ours (for the help texts
    Click assembles from ours)."""
    cat = _catalog("click")
    return message if cat is None else cat.gettext(message)


def click_ngettext(singular: str, plural: str, n: int) -> str:
    cat = _catalog("click")
    if cat is None:
        return singular if n == 1 else plural
    return cat.ngettext(singular, plural, n)


_CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "shell_completion", "termui",
                  "types", "utils")


def install_click() -> None:
    """Make Click show its own messages ("Usage:", "No such option", "Error:")
    in the interface language. Click calls ``gettext.gettext`` of the global
    ``messages`` domain, which follows ``LANG`` but not ``SPI_LANG``; we
    replace the ``_``/``ngettext`` names its modules imported with ours (domain
    ``click``, shipped with spi). Nothing is replaced for English."""
    if current_language() == "en":
        return
    import importlib
    import sys

    for name in _CLICK_MODULES:
        mod = sys.modules.get(f"click.{name}") or importlib.import_module(f"click.{name}")
        if hasattr(mod, "_"):
            mod._ = click_gettext
        if hasattr(mod, "ngettext"):
            mod.ngettext = click_ngettext


def translate_command_tree(cmd) -> None:
    """Translate the help texts of a Click command tree in place: a command's
    docstring/``help``, ``short_help`` and ``epilog``, and each parameter's
    ``help`` and ``prompt``. The msgids are the English texts as written
    (docstrings cleaned like ``inspect.cleandoc``), extracted by
    ``spi_campaign/babel_extract.py``."""
    if current_language() == "en":
        return
    import inspect

    def tr(text):
        if not text:
            return text
        clean = inspect.cleandoc(text)
        out = gettext(clean)
        if out == clean:
            out = click_gettext(clean)
        return out

    seen = set()

    def walk(c):
        if id(c) in seen:
            return
        seen.add(id(c))
        c.help = tr(c.help)
        c.short_help = tr(c.short_help)
        c.epilog = tr(c.epilog)
        for p in c.params:
            if getattr(p, "help", None):
                p.help = tr(p.help)
            if isinstance(getattr(p, "prompt", None), str):
                p.prompt = tr(p.prompt)
        for sub in getattr(c, "commands", {}).values():
            walk(sub)

    walk(cmd)
