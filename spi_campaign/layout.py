"""Tables that never break a word: ids, account names, environment variable
names, page ids, times and URLs stay whole, so they can be copied from the
terminal and grepped in logs.

``show`` prints a grid (one row per record, aligned columns, every line of a
cell kept whole) when the widest row fits the console; otherwise each record
is printed as a block of ``label: value`` lines ("stacked"). Free text (an
error, a URL, a list of accounts) goes in a record's ``detail`` lines, printed
under the row in the grid (the stacked form has it among its ``fields``).
Every wrap is made at spaces; a
word longer than the line is put on a line of its own, whole (the terminal
may fold it visually, the text itself is never cut).

Rich's ``Table`` is not used for this: when a table is too wide it folds or
crops cells in the middle of a word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

GAP = 2          # spaces between columns
INDENT = 2       # detail lines under a grid row, fields under a stacked title


@dataclass
class Record:
    """One row. ``cells``: one per column, each line of a cell is atomic.
    ``title``: the first line of the stacked form. ``fields``: (label, value)
    of the stacked form, everything the row shows. ``detail``: free text
    under the row in the grid form."""

    cells: list[Text]
    title: Text
    fields: list[tuple[str, Text]] = field(default_factory=list)
    detail: list[Text] = field(default_factory=list)


def _as_text(value: Text | str) -> Text:
    return value if isinstance(value, Text) else Text(value)


def wrap(text: Text, width: int) -> list[Text]:
    """``text`` split into lines of at most ``width`` cells, at spaces only;
    a longer word gets a line of its own, whole. Existing newlines are kept."""
    out: list[Text] = []
    for line in text.split("\n", allow_blank=True):
        plain = line.plain
        offsets: list[int] = []
        start = 0
        for m in re.finditer(r"\S+", plain):
            if m.start() > start and cell_len(plain[start:m.end()]) > width:
                offsets.append(m.start())
                start = m.start()
        for piece in line.divide(offsets):
            piece.rstrip()
            out.append(piece)
    return out


def grid_width(headers: list[str], records: list[Record]) -> int:
    """Width of the widest grid line (details excluded: they wrap)."""
    widths = _column_widths(headers, records)
    return sum(widths) + GAP * (len(widths) - 1)


def _column_widths(headers: list[str], records: list[Record]) -> list[int]:
    widths = [cell_len(h) for h in headers]
    for r in records:
        for i, cell in enumerate(r.cells):
            for line in cell.plain.split("\n"):
                widths[i] = max(widths[i], cell_len(line))
    return widths


def fits(console: Console, headers: list[str], records: list[Record]) -> bool:
    return grid_width(headers, records) <= console.width


def show(console: Console, headers: list[str], records: list[Record], *, blank_between: bool = False) -> None:
    """The grid if it fits the console's width, else the stacked form."""
    if fits(console, headers, records):
        grid(console, headers, records, blank_between=blank_between)
    else:
        stacked(console, records)


def _print(console: Console, text: Text) -> None:
    console.print(text, soft_wrap=True, highlight=False)


def grid(console: Console, headers: list[str], records: list[Record], *, blank_between: bool = False) -> None:
    widths = _column_widths(headers, records)
    last = len(widths) - 1

    def line(cells: list[Text]) -> Text:
        t = Text()
        for i, c in enumerate(cells):
            t.append_text(c)
            if i < last:
                t.append(" " * (widths[i] - c.cell_len + GAP))
        t.rstrip()
        return t

    _print(console, line([Text(h, style="bold") for h in headers]))
    for n, r in enumerate(records):
        if blank_between and n:
            _print(console, Text())
        split = [_as_text(c).split("\n", allow_blank=True) for c in r.cells]
        for k in range(max(len(s) for s in split)):
            _print(console, line([s[k] if k < len(s) else Text() for s in split]))
        for d in r.detail:
            for piece in wrap(d, max(20, console.width - INDENT)):
                _print(console, Text(" " * INDENT).append_text(piece))


def stacked(console: Console, records: list[Record]) -> None:
    for n, r in enumerate(records):
        if n:
            _print(console, Text())
        _print(console, r.title)
        if not r.fields:
            continue
        label_w = max((cell_len(label) for label, _ in r.fields), default=0) + 2
        room = max(20, console.width - INDENT - label_w)
        for label, value in r.fields:
            for k, piece in enumerate(wrap(_as_text(value), room)):
                head = f"{label}:".ljust(label_w) if k == 0 else " " * label_w
                _print(console, Text(" " * INDENT + head, style="dim" if k == 0 else "").append_text(piece))
