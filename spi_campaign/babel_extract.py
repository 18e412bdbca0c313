"""Babel extraction method for spi's Python sources (development only; never
imported by ``spi``). Used by ``babel.cfg``::

    [spi_campaign.babel_extract:extract_spi: spi_campaign/**.py]

It yields what Babel's own Python extractor finds (``_()``, ``N_()``,
``ngettext()``) plus the Click help texts that are written as plain strings:
the docstring of every function decorated with ``...command(...)`` or
``...group(...)``, and the literal ``help=``, ``short_help=``, ``epilog=`` and
``prompt=`` arguments of any call. ``spi_campaign.i18n.translate_command_tree``
translates those at run time with the same msgids.
"""

from __future__ import annotations

import ast
import io

HELP_KEYWORDS = ("help", "short_help", "epilog", "prompt")


def _literal(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _is_command_decorator(dec) -> bool:
    target = dec.func if isinstance(dec, ast.Call) else dec
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
    return name in ("command", "group")


def extract_spi(fileobj, keywords, comment_tags, options):
    from babel.messages.extract import extract_python

    data = fileobj.read()
    yield from extract_python(io.BytesIO(data), keywords, comment_tags, options)
    tree = ast.parse(data)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                _is_command_decorator(d) for d in node.decorator_list):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                yield node.body[0].lineno, "", doc, ["Click help text (docstring)"]
        elif isinstance(node, ast.Call):
            for kw in node.keywords:
                text = _literal(kw.value)
                if kw.arg in HELP_KEYWORDS and text and text.strip():
                    yield kw.value.lineno, "", text, [f"Click {kw.arg}="]
