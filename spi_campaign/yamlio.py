"""Safe, bounded YAML reading that remembers line numbers.

- Safe loading only (libyaml's CSafeLoader when available): tags such as
  ``!!python/object`` are errors, never executed.
- Timestamps are *not* resolved by YAML: ``2026-02-30 09:00`` must become a
  clear "not a real date" problem on its post, not a constructor crash that
  takes the whole file down. Dates are parsed by ``timeutil``.
- Every mapping is a ``LineDict`` carrying its own line and the line of each
  key's value, so problems can name a line without a second parse.
- Bounded: files over ``MAX_BYTES`` are refused, merge-key expansion is capped
  (aliases are otherwise shared, not copied, so "billion laughs" stays a small
  graph; nothing downstream expands it), and deep nesting is an error.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

try:
    from yaml import CSafeLoader as _Base
except ImportError:  # pragma: no cover - libyaml missing
    from yaml import SafeLoader as _Base  # type: ignore[assignment]

MAX_BYTES = 5 * 1024 * 1024
MAX_MERGED_KEYS = 10_000


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


class _Loader(_Base):  # type: ignore[misc, valid-type]
    pass


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}


def _construct_map(loader: _Loader, node: MappingNode):
    data = LineDict()
    data.line = node.start_mark.line + 1
    key_lines: dict[Any, int] = {}
    data.key_lines = key_lines
    data.dupes = None
    yield data
    if len(node.value) > MAX_MERGED_KEYS:
        raise YamlProblem(data.line, "mapping is too large (alias or merge-key expansion?)")
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
    data = LineList()
    data.line = node.start_mark.line + 1
    data.item_lines = [child.start_mark.line + 1 for child in node.value]
    yield data
    data.extend(loader.construct_sequence(node))


def _flatten_mapping(loader: _Loader, node: MappingNode) -> None:
    _Base.flatten_mapping(loader, node)
    if len(node.value) > MAX_MERGED_KEYS:
        raise YamlProblem(node.start_mark.line + 1, "mapping is too large (alias or merge-key expansion?)")


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


def _fast(loader: _Loader, node, memo: dict):
    cls = type(node)
    if cls is ScalarNode:
        tag = node.tag
        if tag == _STR:
            return node.value
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return loader.bool_values[node.value.lower()]
        if tag == _INT:
            return loader.construct_yaml_int(node)
        if tag == _FLOAT:
            return loader.construct_yaml_float(node)
        raise _Fallback
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
            raise YamlProblem(line, "mapping is too large")
        for k_node, v_node in node.value:
            if k_node.tag == _MERGE:
                raise _Fallback
            key = _fast(loader, k_node, memo)
            try:
                hash(key)
            except TypeError:
                raise YamlProblem(k_node.start_mark.line + 1, "YAML syntax error: a key must be a plain value") from None
            kline = k_node.start_mark.line + 1
            if key in key_lines:
                if data.dupes is None:
                    data.dupes = []
                data.dupes.append((key, kline))
            key_lines[key] = kline
            data[key] = _fast(loader, v_node, memo)
        return data
    raise _Fallback


def _construct_document(loader: _Loader, node):
    try:
        return _fast(loader, node, {})
    except _Fallback:
        return _Base.construct_document(loader, node)


_Loader.construct_document = _construct_document  # type: ignore[method-assign]


def decode(data: bytes) -> str:
    """UTF-8 (a BOM is allowed). Raises YamlProblem naming the line of a bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise YamlProblem(line, f"file is not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line})") from None


def load_text(text: str) -> list[Any]:
    """Every document of a YAML stream. Raises YamlProblem."""
    import yaml.reader  # noqa: F401  (ReaderError)
    try:
        return list(yaml.load_all(text, Loader=_Loader))
    except YamlProblem:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or "invalid YAML"
        if "could not determine a constructor" in what:
            m = re.search(r"'([^']*)'", what)
            tag = (m.group(1) if m else "?").replace("tag:yaml.org,2002:", "!!")
            raise YamlProblem(line, f"YAML tag {tag} is not allowed (only plain YAML is read)") from None
        raise YamlProblem(line, f"YAML syntax error: {what}{_quote_hint(text, line)}") from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1 if isinstance(exc.position, int) else None
        char = exc.character if isinstance(exc.character, str) else chr(exc.character or 0)
        raise YamlProblem(line, f"YAML syntax error: control character 0x{ord(char):02x} is not allowed") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(None, f"YAML error: {str(exc).splitlines()[0] if str(exc) else 'invalid YAML'}") from None
    except RecursionError:
        raise YamlProblem(None, "YAML is nested too deeply") from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise YamlProblem(None, f"YAML value cannot be read: {str(exc)[:120]}") from None


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
    return f' (a value starting with {value[0]!r} must be quoted: {key}: "{value}")'


def load_file(path: Path) -> list[Any]:
    """Read and parse one file. Raises YamlProblem (including for I/O errors)."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):   # a FIFO or device would block or never end
            raise YamlProblem(None, "not a regular file")
        size = st.st_size
        if size > MAX_BYTES:
            raise YamlProblem(None, f"file is {size // 1024} KiB; the limit is {MAX_BYTES // 1024 // 1024} MiB")
        data = path.read_bytes()
    except OSError as exc:
        raise YamlProblem(None, f"cannot read file: {exc.strerror or exc}") from None
    return load_text(decode(data))
