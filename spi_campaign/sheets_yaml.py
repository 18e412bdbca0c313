"""A post file written the way a person writes one (``spi post import``).

Keys in the README's order, times and cron expressions in quotes, long or
multi-line texts as ``|`` blocks, short lists in flow style (``[a, b]``).
Every scalar is checked to read back as exactly the same text; one that
would not (``{{ x }}`` starts a YAML mapping, ``@bali`` is reserved) is
double-quoted. ``emit`` also returns the line each key starts on, so a
problem the loader finds in the file can be named by its spreadsheet column.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
QUOTED = ("publish_at", "until", "repeat")   # always in quotes: a time is text to spi, not a YAML timestamp


def scalar(value: str, quote: bool = False) -> str:
    if not quote and value and value == value.strip() and "\n" not in value and _reads_back(value, value):
        return value
    return json.dumps(value, ensure_ascii=False)   # a JSON string is a YAML double-quoted scalar


def _reads_back(text: str, value: str) -> bool:
    try:
        return yaml.load("k: " + text, Loader=_LOADER) == {"k": value}
    except yaml.YAMLError:
        return False


def block(key: str, value: str, indent: str) -> list[str]:
    """``key: |`` and the text, indented; or ``key: "..."`` when a block
    cannot hold it exactly (leading spaces, trailing blank lines, control
    characters)."""
    lines = value.split("\n")
    inner = indent + "  "
    out = [f"{indent}{key}: |"] + [(inner + line) if line else "" for line in lines]
    if _reads_back_block("\n".join(out), key, value, indent):
        return out
    return [f"{indent}{key}: {scalar(value, quote=True)}"]


def _reads_back_block(text: str, key: str, value: str, indent: str) -> bool:
    try:
        doc = yaml.load(text.replace("\n" + indent, "\n")[len(indent):] + "\n", Loader=_LOADER)
    except yaml.YAMLError:
        return False
    got = doc.get(key) if isinstance(doc, dict) else None
    return isinstance(got, str) and got[:-1] == value if got and got.endswith("\n") else False


def text_value(key: str, value: str, indent: str = "") -> list[str]:
    if "\n" in value or len(value) > 70:
        return block(key, value, indent)
    return [f"{indent}{key}: {scalar(value)}"]


def flow_list(items: list[str]) -> str:
    return "[" + ", ".join(scalar(i) if "," not in i and "]" not in i and "[" not in i else scalar(i, True)
                           for i in items) + "]"


def emit(post: dict[str, Any]) -> tuple[str, dict[str, int]]:
    """YAML text of one post (an ordered dict of key -> value as ``import``
    built it) and the line each key starts on."""
    out: list[str] = []
    lines: dict[str, int] = {}
    for key, value in post.items():
        lines[key] = len(out) + 1
        if key in ("text",):
            out += text_value(key, value)
        elif key in ("accounts", "hashtags"):
            out.append(f"{key}: {flow_list(value)}")
        elif key == "media":
            out.append("media:")
            for item in value:
                first = True
                for k in ("path", "url", "alt"):
                    if item.get(k):
                        prefix = "  - " if first else "    "
                        if k == "alt":
                            sub = text_value(k, item[k], "    ")
                            sub[0] = prefix + sub[0][4:]
                            out += sub
                        else:
                            out.append(f"{prefix}{k}: {scalar(item[k])}")
                        first = False
        elif key == "thread":
            out.append("thread:")
            for part in value:
                sub = text_value("-", part, "  ")
                sub[0] = sub[0].replace("  -: ", "  - ", 1)
                out += sub
        elif key == "variants":
            out.append("variants:")
            dumped = yaml.safe_dump(value, allow_unicode=True, sort_keys=False, default_flow_style=False, width=1000)
            out += ["  " + line if line else "" for line in dumped.rstrip("\n").split("\n")]
        else:
            out.append(f"{key}: {scalar(str(value), quote=key in QUOTED)}")
    return "\n".join(out) + "\n", lines
