"""Safe, bounded YAML reading that remembers line numbers.

- Safe loading only (libyaml's CSafeLoader when available): tags such as
  ``!!python/object`` are errors, never executed.
- Timestamps are *not* resolved by YAML: ``2026-02-30 09:00`` must become a
  clear "not a real date" problem on its post, not a constructor crash that
  takes the whole file down. Dates are parsed by ``timeutil``.
- Every mapping is a ``LineDict`` carrying its own line and the line of each
  key's value, so problems can name a line without a second parse.
- Bounded, so any file loads in bounded time and memory (each bound is a
  problem naming the file and line, never a hang):
  files over ``MAX_BYTES`` are refused; a file has at most ``MAX_NODES`` YAML
  nodes (counted while libyaml composes, so composing stops at the bound);
  with every alias and merge key expanded, a document is at most
  ``MAX_EXPANDED_NODES`` nodes and ``MAX_EXPANDED_CHARS`` characters of
  scalars (aliases stay shared, not copied, but everything downstream, from
  the checks to rendering, walks the expanded tree); merge keys copy at most
  ``MAX_MERGED_KEYS`` keys into one mapping and ``MAX_MERGED_TOTAL`` in a
  file; recursive aliases and deep nesting are errors.
- Explicit tags (``!!bool maybe``, ``!!timestamp soon``, ``!!seq x``) are
  checked: a value that does not fit its tag is a problem on its line.
  ``!!timestamp`` gives the text (dates are parsed by ``timeutil``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from spi_campaign.i18n import _

try:
    from yaml import CSafeLoader as _Base
except ImportError:  # pragma: no cover - libyaml missing
    from yaml import SafeLoader as _Base  # type: ignore[assignment]

MAX_BYTES = 5 * 1024 * 1024
MAX_NODES = 100_000
MAX_EXPANDED_NODES = 200_000
MAX_EXPANDED_CHARS = 2 * MAX_BYTES
MAX_MERGED_KEYS = 10_000
MAX_MERGED_TOTAL = 100_000


class LineDict(dict):
    """A mapping from YAML with ``line`` (1-based) and ``key_lines``."""

    __slots__ = ("line", "key_lines", "dupes")


class LineList(list):
    """A sequence from YAML with ``line`` and ``item_lines`` (one per item)."""

    __slots__ = ("line", "item_lines")


class YamlProblem(Exception):
    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


class _TooManyNodes(Exception):
    pass


class _Loader(_Base):  # type: ignore[misc, valid-type]
    _nodes = 0
    _merged = 0

    # libyaml's composer calls these for every node (explicitly tagged ones
    # too): the one hook where composing can be stopped at a bound. Post files
    # use no path resolvers, so the base implementations would do nothing.
    def descend_resolver(self, parent, index):
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _TooManyNodes

    def ascend_resolver(self):
        pass


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}


def _construct_map(loader: _Loader, node: MappingNode):
    if not isinstance(node, MappingNode):
        raise YamlProblem(node.start_mark.line + 1, _("YAML tag {tag} needs a mapping (key: value)").format(
            tag=_short(node.tag)))
    data = LineDict()
    data.line = node.start_mark.line + 1
    key_lines: dict[Any, int] = {}
    data.key_lines = key_lines
    data.dupes = None
    yield data
    if len(node.value) > MAX_MERGED_KEYS:
        raise YamlProblem(data.line, _("mapping is too large (alias or merge-key expansion?)"))
    value = loader.construct_mapping(node)
    data.update(value)
    for k_node, v_node in node.value:
        if isinstance(k_node, ScalarNode):
            key = k_node.value
            if key in key_lines:
                if data.dupes is None:
                    data.dupes = []
                data.dupes.append((key, k_node.start_mark.line + 1))
            key_lines[key] = k_node.start_mark.line + 1


def _construct_seq(loader: _Loader, node):
    if not isinstance(node, SequenceNode):
        raise YamlProblem(node.start_mark.line + 1, _("YAML tag {tag} needs a list").format(tag=_short(node.tag)))
    data = LineList()
    data.line = node.start_mark.line + 1
    data.item_lines = [child.start_mark.line + 1 for child in node.value]
    yield data
    data.extend(loader.construct_sequence(node))


def _flatten_mapping(loader: _Loader, node: MappingNode) -> None:
    _Base.flatten_mapping(loader, node)
    if len(node.value) > MAX_MERGED_KEYS:
        raise YamlProblem(node.start_mark.line + 1, _("mapping is too large (alias or merge-key expansion?)"))
    loader._merged += len(node.value)
    if loader._merged > MAX_MERGED_TOTAL:
        raise YamlProblem(node.start_mark.line + 1, _("merge keys (<<) copy more than {most} keys "
                                                      "in this file").format(most=f"{MAX_MERGED_TOTAL:,}"))


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
_Loader.flatten_mapping = _flatten_mapping  # type: ignore[method-assign]

# Fast construction. PyYAML's constructor goes through generators and a
# per-node state machine; post files use only plain mappings, sequences and
# scalars, so we build those directly from libyaml's composed nodes (same
# resolution, same values, same sharing of aliased nodes). Anything else
# (merge keys, explicit tags such as !!set or !!python/...) falls back to the
# standard SafeConstructor path above, which also produces the errors.
_T = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ, _NULL, _BOOL, _INT, _FLOAT, _MERGE = (
    _T + "str", _T + "map", _T + "seq", _T + "null", _T + "bool", _T + "int", _T + "float", _T + "merge")


class _Fallback(Exception):
    pass


def _short(tag: str | None) -> str:
    return (tag or "?").replace(_T, "!!")


_TIMESTAMP = _T + "timestamp"
_NULLS = ("", "~", "null", "Null", "NULL")
_COLLECTION_TAGS = (_SEQ, _MAP, _T + "set", _T + "omap", _T + "pairs")


def _scalar(loader: _Loader, node: ScalarNode):
    """A scalar with a resolved or explicit core tag; a value that does not fit
    an explicit tag (``!!bool maybe``) is a problem on its line."""
    tag, value = node.tag, node.value
    try:
        if tag == _NULL:
            if value in _NULLS:
                return None
        elif tag == _BOOL:
            got = loader.bool_values.get(value.lower())
            if got is not None:
                return got
        elif tag == _INT:
            return loader.construct_yaml_int(node)
        elif tag == _FLOAT:
            return loader.construct_yaml_float(node)
        elif tag == _TIMESTAMP:
            if loader.timestamp_regexp.match(value):
                return value   # parsed later, with its field's rules (timeutil)
        elif tag in _COLLECTION_TAGS:
            raise YamlProblem(node.start_mark.line + 1, _("YAML tag {tag} cannot tag a plain value").format(
                tag=_short(tag)))
        else:
            raise _Fallback
    except (ValueError, OverflowError, IndexError):
        pass
    kind = _short(tag)
    raise YamlProblem(node.start_mark.line + 1, _("{value} is not a valid {kind} value").format(
        value=short_value(value), kind=kind))


def _construct_scalar(loader: _Loader, node):
    if not isinstance(node, ScalarNode):
        raise YamlProblem(node.start_mark.line + 1, _("YAML tag {tag} needs a plain value").format(
            tag=_short(node.tag)))
    return _scalar(loader, node)


for _tag in (_NULL, _BOOL, _INT, _FLOAT, _TIMESTAMP):
    _Loader.add_constructor(_tag, _construct_scalar)


def short_value(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:37] + "...")


def _fast(loader: _Loader, node, memo: dict):
    cls = type(node)
    if cls is ScalarNode:
        if node.tag == _STR:
            return node.value
        return _scalar(loader, node)
    got = memo.get(id(node))
    if got is not None:
        return got
    if cls is SequenceNode:
        if node.tag != _SEQ:
            raise _Fallback
        seq = LineList()
        seq.line = node.start_mark.line + 1
        memo[id(node)] = seq
        seq.item_lines = [child.start_mark.line + 1 for child in node.value]
        seq.extend([_fast(loader, child, memo) for child in node.value])
        return seq
    if cls is MappingNode:
        if node.tag != _MAP:
            raise _Fallback
        data = LineDict()
        line = data.line = node.start_mark.line + 1
        key_lines: dict[Any, int] = {}
        data.key_lines = key_lines
        data.dupes = None
        memo[id(node)] = data
        if len(node.value) > MAX_MERGED_KEYS:
            raise YamlProblem(line, _("mapping is too large"))
        for k_node, v_node in node.value:
            if k_node.tag == _MERGE:
                raise _Fallback
            key = _fast(loader, k_node, memo)
            try:
                hash(key)
            except TypeError:
                raise YamlProblem(k_node.start_mark.line + 1,
                                  _("YAML syntax error: a key must be a plain value")) from None
            kline = k_node.start_mark.line + 1
            if key in key_lines:
                if data.dupes is None:
                    data.dupes = []
                data.dupes.append((key, kline))
            key_lines[key] = kline
            data[key] = _fast(loader, v_node, memo)
        return data
    raise _Fallback


def _expanded(node, memo: dict) -> tuple[int, int]:
    """(nodes, scalar characters) of ``node`` with every alias expanded.
    Shared nodes are measured once. A node met again while it is being
    measured is a recursive alias."""
    key = id(node)
    got = memo.get(key)
    if got is not None:
        if got is _IN_PROGRESS:
            raise YamlProblem(node.start_mark.line + 1, _("recursive alias: a YAML node contains itself"))
        return got
    if type(node) is ScalarNode:
        got = (1, len(node.value))
    else:
        memo[key] = _IN_PROGRESS
        nodes, chars = 1, 0
        children = node.value if type(node) is SequenceNode else [c for pair in node.value for c in pair]
        for child in children:
            n, c = _expanded(child, memo)
            nodes += n
            chars += c
        if nodes > MAX_EXPANDED_NODES or chars > MAX_EXPANDED_CHARS:
            raise YamlProblem(node.start_mark.line + 1, _("aliases (*name) or merge keys (<<) expand this to more "
                                                          "than {nodes} values or {chars} characters").format(
                nodes=f"{MAX_EXPANDED_NODES:,}", chars=f"{MAX_EXPANDED_CHARS:,}"))
        got = (nodes, chars)
    memo[key] = got
    return got


_IN_PROGRESS = (-1, -1)


def _construct_document(loader: _Loader, node):
    _expanded(node, {})
    try:
        return _fast(loader, node, {})
    except _Fallback:
        return _Base.construct_document(loader, node)


_Loader.construct_document = _construct_document  # type: ignore[method-assign]


class _PlainLoader(_Loader):
    """For a text with neither ``&`` nor ``*``: it can hold no anchor or
    alias, so nothing expands beyond the nodes already counted while
    composing (and the file size bounds its characters): the expansion
    check would only cost a second walk of every document."""


def _construct_plain(loader: _Loader, node):
    try:
        return _fast(loader, node, {})
    except _Fallback:
        return _Base.construct_document(loader, node)


_PlainLoader.construct_document = _construct_plain  # type: ignore[method-assign]


def decode(data: bytes) -> str:
    """UTF-8 (a BOM is allowed). Raises YamlProblem naming the line of a bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise YamlProblem(line, _("file is not UTF-8 text (byte 0x{byte} at line {line})").format(
            byte=f"{data[exc.start]:02x}", line=line)) from None


def load_text(text: str) -> list[Any]:
    """Every document of a YAML stream. Raises YamlProblem."""
    import yaml.reader  # noqa: F401  (ReaderError)
    try:
        return list(yaml.load_all(text, Loader=_Loader if ("&" in text or "*" in text) else _PlainLoader))
    except YamlProblem:
        raise
    except _TooManyNodes:
        raise YamlProblem(_line_of_node(text, MAX_NODES + 1),
                          _("file has more than {most} YAML values; split it into several files").format(
                              most=f"{MAX_NODES:,}")) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or _("invalid YAML")
        if exc.context_mark is not None and "quoted scalar" in (exc.context or "") and "end of stream" in what:
            # An unclosed quote: the useful line is where it opened, not the end of the file.
            raise YamlProblem(exc.context_mark.line + 1, _("YAML syntax error: a quote opened here is never "
                                                           "closed")) from None
        line = mark.line + 1 if mark else None
        if "could not determine a constructor" in what:
            m = re.search(r"'([^']*)'", what)
            tag = (m.group(1) if m else "?").replace("tag:yaml.org,2002:", "!!")
            raise YamlProblem(line, _("YAML tag {tag} is not allowed (only plain YAML is read)").format(tag=tag)) from None
        raise YamlProblem(line, _("YAML syntax error: {what}").format(what=what) + _quote_hint(text, line)) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1 if isinstance(exc.position, int) else None
        char = exc.character if isinstance(exc.character, str) else chr(exc.character or 0)
        raise YamlProblem(line, _("YAML syntax error: control character 0x{code} is not allowed").format(
            code=f"{ord(char):02x}")) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(None, _("YAML error: {what}").format(
            what=str(exc).splitlines()[0] if str(exc) else _("invalid YAML"))) from None
    except RecursionError:
        raise YamlProblem(None, _("YAML is nested too deeply")) from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise YamlProblem(None, _("YAML value cannot be read: {reason}").format(reason=str(exc)[:120])) from None
    except Exception as exc:  # a bug in a constructor must not take every command down
        raise YamlProblem(None, _("YAML cannot be read ({kind})").format(kind=type(exc).__name__)) from None



def _line_of_node(text: str, n: int) -> int | None:
    """The line of the ``n``-th node of ``text`` (only on the error path)."""
    from yaml.events import CollectionStartEvent, ScalarEvent

    loader = _Base(text)
    try:
        seen = 0
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, (ScalarEvent, CollectionStartEvent)):
                seen += 1
                if seen >= n:
                    return event.start_mark.line + 1
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
    return None


# ``repeat: */15 * * * *`` unquoted: YAML reads '*' as an alias and '@' as reserved.
_UNQUOTED = re.compile(r"^\s*(?:-\s+)?([A-Za-z_][\w.-]*)\s*:\s+([*@][^#\r\n]*?)\s*(?:#.*)?$")


def _quote_hint(text: str, line: int | None) -> str:
    """A hint when the line is ``key: *...`` or ``key: @...`` (a cron expression)."""
    if not line:
        return ""
    lines = text.splitlines()
    m = _UNQUOTED.match(lines[line - 1]) if 0 < line <= len(lines) else None
    if m is None:
        return ""
    key, value = m.groups()
    value = value.replace('"', "'")
    return _(' (a value starting with {char} must be quoted: {key}: "{value}")').format(char=repr(value[0]), key=key,
                                                                                         value=value)


def load_file(path: Path) -> list[Any]:
    """Read and parse one file. Raises YamlProblem (including for I/O errors)."""
    from spi_campaign.safeio import NOT_REGULAR, FileTooLarge, NotRegularFile, read_regular

    try:
        # A FIFO or device would block or never end: opened without blocking, refused.
        data = read_regular(path, MAX_BYTES)
    except NotRegularFile:
        raise YamlProblem(None, NOT_REGULAR) from None
    except FileTooLarge as exc:
        raise YamlProblem(None, str(exc)) from None
    except OSError as exc:
        raise YamlProblem(None, _("cannot read file: {reason}").format(reason=exc.strerror or exc)) from None
    except ValueError:   # a NUL byte in the name
        raise YamlProblem(None, _("cannot read file: invalid file name")) from None
    return load_text(decode(data))
