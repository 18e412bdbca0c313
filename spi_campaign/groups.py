"""``vars:`` and ``groups:`` of config.yaml (docs/templates.md).

- ``vars:`` (top level and on each account): names a post's templates may
  use. An account's vars override the campaign's; ``Account.vars`` holds the
  merged mapping, so rendering needs only the account.
- ``groups:``: named sets of accounts. A member is an account name or
  ``@other-group``; groups of groups are expanded here, once, so posts (and
  every command after the loader) only ever see account names.
"""

from __future__ import annotations

import keyword
import re
from typing import Any, Callable, Iterable

from spi_campaign.i18n import _
from spi_campaign.models import suggest
from spi_campaign.timeutil import short_repr, type_name
from spi_campaign.yamlio import LineDict

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED = ("account", "platform")          # given by spi to every template
# Jinja2's own words: ``{{ if }}`` cannot name a variable.
_JINJA_WORDS = {"and", "or", "not", "in", "is", "if", "else", "elif", "endif", "for", "endfor", "true", "false",
                "none", "True", "False", "None", "block", "set", "macro", "import", "include", "with", "loop"}


def read_vars(value: Any, line: int | None, where: str, err: Callable[[int | None, str], None]) -> dict[str, Any]:
    """A ``vars:`` mapping, checked: names usable in a template, values that
    are text, numbers, yes/no, or lists/mappings of them. ``where`` prefixes
    messages (``vars`` or ``account 'x': vars``)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        err(line, _("{where} must be a mapping of name: value (e.g. instansi: Pemerintah Kota Denpasar), "
                    "got {type}").format(where=where, type=type_name(value)))
        return {}
    lines = value.key_lines if isinstance(value, LineDict) else {}
    out: dict[str, Any] = {}
    for name, val in value.items():
        vline = lines.get(name, line)
        if not isinstance(name, str) or not _NAME.match(name) or keyword.iskeyword(name) or name in _JINJA_WORDS:
            err(vline, _("{where}: {name} cannot be used as a template name; use letters, digits and _ "
                         "(not starting with a digit), e.g. kanal_aduan").format(where=where, name=short_repr(name)))
            continue
        if name in RESERVED:
            if name == "account":
                msg = _("{where}: '{name}' is given by spi to every template (the account's name); "
                        "choose another name")
            else:
                msg = _("{where}: '{name}' is given by spi to every template (the account's platform); "
                        "choose another name")
            err(vline, msg.format(where=where, name=name))
            continue
        if not _plain(val):
            if val is not None:
                err(vline, _("{where}: {name} must be text, a number, yes/no, or a list or mapping of those, "
                             "got {type}").format(where=where, name=name, type=type_name(val)))
            else:
                err(vline, _("{where}: {name} has no value (write a text, or remove it)").format(where=where,
                                                                                             name=name))
            continue
        out[name] = val
    return out


def _plain(value: Any, depth: int = 0) -> bool:
    if isinstance(value, (str, int, float, bool)):
        return True
    if depth > 4:
        return False
    if isinstance(value, list):
        return all(_plain(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v, depth + 1) for k, v in value.items())
    return False


def read_groups(value: Any, line: int | None, accounts: Iterable[str],
                err: Callable[[int | None, str], None]) -> dict[str, tuple[str, ...]]:
    """``groups:`` -> group name -> account names (groups of groups expanded,
    order kept, each account once). Unknown accounts or groups and cycles are
    errors; a bad group still maps to its good members."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        err(line, _("groups must be a mapping of group name to a list of accounts, got {type}").format(
            type=type_name(value)))
        return {}
    known = list(accounts)
    glines = value.key_lines if isinstance(value, LineDict) else {}
    raw: dict[str, list[str]] = {}
    for name, members in value.items():
        gline = glines.get(name, line)
        if not isinstance(name, str) or not name.strip() or name.startswith("@"):
            err(gline, _("group name {name} must be a word such as kabupaten (without '@')").format(
                name=short_repr(name)))
            continue
        if isinstance(members, str):
            members = [members]
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            err(gline, _("group '{name}' must be a list of account names or @groups, got {type}").format(
                name=name, type=type_name(members)))
            raw[name] = []
            continue
        raw[name] = list(members)
    known_set = set(known)
    for name, members in raw.items():
        for m in members:
            if m.startswith("@"):
                if m[1:] not in raw:
                    err(glines.get(name, line), _("group '{name}': unknown group '{member}'{hint}; groups: {groups}")
                        .format(name=name, member=m, hint=suggest(m, ['@' + g for g in raw]),
                                groups=", ".join('@' + g for g in raw)))
            elif m not in known_set:
                hint = _(" (a group is written '@{name}')").format(name=m) if m in raw else suggest(m, known)
                err(glines.get(name, line), _("group '{name}': unknown account '{member}'{hint}").format(
                    name=name, member=m, hint=hint))

    out: dict[str, tuple[str, ...]] = {}
    reported: set[str] = set()

    def expand(name: str, path: list[str]) -> list[str]:
        if name in out:
            return list(out[name])
        if name in path:
            cycle = path[path.index(name):] + [name]
            if name not in reported:
                reported.update(cycle)
                err(glines.get(name, line), _("groups form a cycle: {cycle}").format(
                    cycle=" -> ".join('@' + g for g in cycle)))
            return []
        result: list[str] = []
        for m in raw.get(name, ()):
            if m.startswith("@"):
                if m[1:] in raw:
                    result.extend(expand(m[1:], path + [name]))
            elif m in known_set:
                result.append(m)
        out[name] = tuple(dict.fromkeys(result))
        return result

    for name in raw:
        expand(name, [])
    return {name: out[name] for name in raw}     # in the order written


def expand_accounts(names: Iterable[str], groups: dict[str, tuple[str, ...]]) -> tuple[tuple[str, ...], list[str]]:
    """A post's ``accounts`` with every ``@group`` replaced by its accounts
    (order kept, each account once), and the messages for unknown groups."""
    out: list[str] = []
    bad: list[str] = []
    for name in names:
        if name.startswith("@"):
            members = groups.get(name[1:])
            if members is None:
                bad.append(_("unknown group '{name}'{hint}; groups in config.yaml: {groups}").format(
                    name=name, hint=suggest(name, ['@' + g for g in groups]),
                    groups=", ".join('@' + g for g in groups) or _("(none)")))

                continue
            out.extend(members)
        else:
            out.append(name)
    return tuple(dict.fromkeys(out)), bad
