"""Spreadsheet import and export of posts (``spi post import|export``; README,
"Spreadsheets").

Import is all or nothing: every row becomes the YAML a person would write
(sheets_yaml), which is read by the loader and checked by validate exactly
like a post file, with its final path; any error (named by row and column,
in validate's words), a file or id that exists already, or an id twice in
the sheet, and nothing is written. Files are created exclusively, never
overwritten.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from spi_campaign.errors import SpiError
from spi_campaign.i18n import _, ngettext
from spi_campaign.models import Campaign, Config, Post, Problem, suggest

COLUMNS = ("id", "title", "topic", "status", "publish_at", "repeat", "until", "accounts", "text", "link",
           "hashtags", "media", "alt", "thread", "variants")
REQUIRED = ("id", "text")
THREAD_SEPARATOR = "---"             # a line of its own between thread parts
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(.*))?$")   # 09/12/2026 09.30, the Indonesian order


class SheetError(SpiError):
    """The sheet cannot be imported. ``problems``: every finding, each
    naming its row and column; nothing was written."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


@dataclass
class Planned:
    """One row to be written as ``path``."""

    row: int
    path: Path
    text: str
    post_id: str
    columns: dict[str, int] = field(default_factory=dict)   # key -> first line in ``text``


# ----- reading the sheet ------------------------------------------------------------

def read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(spreadsheet row number, column -> cell) of every non-empty row."""
    name = path.name.lower()
    if name.endswith((".xlsx", ".xlsm")):
        header, rows = _read_xlsx(path)
    elif name.endswith((".csv", ".txt")):
        header, rows = _read_csv(path)
    else:
        raise SheetError(_("{sheet}: import reads .csv and .xlsx files").format(sheet=path))
    cols = [str(h).strip().lower() if h is not None else "" for h in header]
    problems = []
    for i, col in enumerate(cols):
        if col and col not in COLUMNS:
            problems.append(_("{where}: unknown column '{name}'{hint}; columns: {columns}").format(
                where=_where(path, 1, _letter(i)), name=col, hint=suggest(col, COLUMNS), columns=", ".join(COLUMNS)))
    for col in REQUIRED:
        if col not in cols:
            problems.append(_("{where}: the sheet needs a column '{name}' (columns: {columns})").format(
                where=_where(path, 1, None), name=col, columns=", ".join(COLUMNS)))
    dupes = {c for c in cols if c and cols.count(c) > 1}
    for col in sorted(dupes):
        problems.append(_("{where}: column '{name}' appears twice").format(where=_where(path, 1, None), name=col))
    if problems:
        raise SheetError(_("{sheet}: the header row is not usable; nothing was imported").format(sheet=path),
                         problems)
    out = []
    for number, cells in rows:
        record = {col: _cell(cells[i] if i < len(cells) else None, col)
                  for i, col in enumerate(cols) if col}
        if any(v != "" for v in record.values()):
            out.append((number, record))
    return out


def _where(sheet: Path, row: int, column: str | None) -> str:
    """``sheet: row 3, column text`` (the start of every row problem)."""
    if column:
        return _("{sheet}: row {row}, column {column}").format(sheet=sheet, row=row, column=column)
    return _("{sheet}: row {row}").format(sheet=sheet, row=row)


def _letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _read_csv(path: Path):
    try:
        data = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SheetError(_("{sheet}: not UTF-8 text (save the CSV as 'CSV UTF-8')").format(sheet=path)) from None
    first = data.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)         # Indonesian Excel writes ';'
    reader = csv.reader(io.StringIO(data, newline=""), delimiter=delimiter)
    records = list(reader)
    if not records:
        raise SheetError(_("{sheet}: the sheet is empty").format(sheet=path))
    # The row number a spreadsheet shows: one per record (a cell may hold line breaks).
    return records[0], [(i + 2, r) for i, r in enumerate(records[1:])]


def _read_xlsx(path: Path):
    try:
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException
    except ImportError:   # pragma: no cover - a dependency
        raise SheetError(_("reading .xlsx needs openpyxl (pip install openpyxl)")) from None
    import zipfile

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise SheetError(_("{sheet}: not a readable .xlsx workbook ({reason})").format(sheet=path, reason=exc)) from None
    try:
        ws = wb.worksheets[0]
        rows = [(r[0].row if r and hasattr(r[0], "row") else i + 1, [c.value for c in r])
                for i, r in enumerate(ws.iter_rows())]
    finally:
        wb.close()
    if not rows:
        raise SheetError(_("{sheet}: the first sheet is empty").format(sheet=path))
    return rows[0][1], rows[1:]


def _cell(value: Any, col: str) -> str:
    """A cell as text; a real date cell as ``2026-12-09 09:00`` (``until``:
    a date alone when it has no time of day)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if col == "until" and value.time() == time(0, 0):
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M" + (":%S" if value.second else ""))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return text if col in ("text", "thread", "variants", "alt", "media") else text.strip()


# ----- rows -> posts ------------------------------------------------------------------

def row_post(record: dict[str, str], target: Path, root: Path) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The post mapping a row describes (keys in the README's order) and
    problems that need no loader (a variants cell that is not YAML...), as
    (column, message)."""
    from spi_campaign.yamlio import YamlProblem, load_text

    post: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for key in ("id", "title", "topic", "status", "publish_at", "repeat", "until"):
        value = record.get(key, "")
        if value:
            post[key] = _date_text(value) if key in ("publish_at", "until") else value
    if record.get("accounts"):
        post["accounts"] = [a for a in re.split(r"[,;\s]+", record["accounts"]) if a]
    text = record.get("text", "").strip("\n")
    if text:
        post["text"] = text
    if record.get("link"):
        post["link"] = record["link"]
    if record.get("hashtags"):
        tags = []
        for piece in re.split(r"[,;\n]+", record["hashtags"]):
            piece = piece.strip()
            if "{{" in piece or "{%" in piece:
                tags.append(piece)
            else:
                tags += [t.lstrip("#") for t in piece.split() if t.lstrip("#")]
        post["hashtags"] = tags
    media_lines = [m.strip() for m in record.get("media", "").split("\n")]
    alt_lines = [a.strip() for a in record.get("alt", "").split("\n")]
    media_lines = media_lines if any(media_lines) else []
    if media_lines:
        items = []
        for i, entry in enumerate(media_lines):
            if not entry:
                continue
            item: dict[str, str] = {}
            for part in (p.strip() for p in entry.split(" | ")):
                if re.match(r"^https?://", part, re.I):
                    item["url"] = part
                elif part:   # relative to the campaign folder in the sheet, to the post file in YAML
                    full = part if os.path.isabs(part) else os.path.join(root, part)
                    item["path"] = os.path.relpath(full, target.parent)
            if i < len(alt_lines) and alt_lines[i]:
                item["alt"] = alt_lines[i]
            items.append(item)
        post["media"] = items
    elif any(alt_lines):
        problems.append(("alt", _("there is alt text but no media")))
    if record.get("thread", "").strip():
        parts = re.split(rf"\n[ \t]*{THREAD_SEPARATOR}[ \t]*\n", "\n" + record["thread"].strip("\n") + "\n")
        post["thread"] = [p.strip("\n") for p in parts if p.strip()]
    if record.get("variants", "").strip():
        try:
            docs = [d for d in load_text(record["variants"]) if d is not None]
        except YamlProblem as exc:
            problems.append(("variants", exc.message + (_(" (line {line} of the cell)").format(line=exc.line)
                                                        if exc.line else "")))
        else:
            if len(docs) != 1 or not isinstance(docs[0], dict):
                problems.append(("variants", _("must be YAML mapping a platform or account to text, link, hashtags, "
                                               "media or thread (as under variants: in a post file)")))
            else:
                post["variants"] = _plain(docs[0])
    return post, problems


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _date_text(value: str) -> str:
    m = _DMY.match(value)
    if m:
        d, mo, y, rest = m.groups()
        return f"{y}-{int(mo):02d}-{int(d):02d}" + (f" {rest.strip()}" if rest else "")
    return value


# ----- import ---------------------------------------------------------------------------

def plan_import(sheet: Path, campaign: Campaign, into: Path) -> tuple[list[Planned], list[str]]:
    """Every row checked as the post file it becomes; (files to write,
    warnings). SheetError with every problem when any row has an error."""
    from spi_campaign.loader import _read_post, variant_keys
    from spi_campaign.sheets_yaml import emit
    from spi_campaign.validate import check_posts
    from spi_campaign.yamlio import YamlProblem, load_text

    cfg = campaign.config
    keys = variant_keys(cfg)
    rows = read_rows(sheet)
    if not rows:
        raise SheetError(_("{sheet}: the sheet has no rows below its header; nothing to import").format(sheet=sheet))
    errors: list[tuple[int, str]] = []    # (row, message): reported by row
    warnings: list[str] = []
    planned: list[Planned] = []
    new_posts: list[Post] = []
    by_file: dict[str, Planned] = {}
    existing = {p.id: p for p in campaign.posts}
    first_row: dict[str, int] = {}

    def where(row: int, col: str | None) -> str:
        return _where(sheet, row, col)

    def error(row: int, col: str | None, message: str) -> None:
        errors.append((row, f"{where(row, col)}: {message}"))

    for number, record in rows:
        post_id = record.get("id", "")
        if not post_id:
            error(number, "id", _("every row needs an id (letters, digits, '.', '_' or '-')"))
            continue
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", post_id)[:120] or f"row-{number}"
        target = into / f"{safe}.yaml"
        raw, cell_problems = row_post(record, target, cfg.root)
        for col, message in cell_problems:
            error(number, col, message)
        text, columns = emit(raw)
        item = Planned(row=number, path=target, text=text, post_id=post_id, columns=columns)
        if post_id in first_row:
            error(number, "id", _("post id '{post}' is also on row {row}").format(post=post_id,
                                                                                  row=first_row[post_id]))
        first_row.setdefault(post_id, number)
        if post_id in existing:
            error(number, "id", _("post id '{post}' already exists in {file}; an import never replaces a post")
                  .format(post=post_id, file=cfg.rel(existing[post_id].file)))
        if os.path.lexists(target):
            error(number, "id", _("{file} already exists; an import never overwrites a file").format(
                file=cfg.rel(target)))
        try:
            doc = load_text(text)[0]
        except YamlProblem as exc:   # pragma: no cover - emit() checks what it writes
            error(number, None, _("cannot be written as YAML ({problem})").format(problem=exc.message))
            continue
        found: list[Problem] = []
        post = _read_post(doc, 0, 1, True, target, cfg, keys, found)
        if post is not None:
            post.targets = post.targets or post.accounts
            new_posts.append(post)
        planned.append(item)
        by_file[str(target)] = item
        _sort(found, item, where, errors, warnings)
    if new_posts:
        scratch = Campaign(config=cfg, posts=list(campaign.posts) + new_posts, problems=[], files=0)
        check_posts(scratch, new_posts)
        for p in scratch.problems:
            item = by_file.get(str(p.file))
            if item is not None:
                _sort([p], item, where, errors, warnings)
    if errors:
        errors.sort(key=lambda e: e[0])   # by row, stable
        raise SheetError(ngettext("{sheet}: {n} error; nothing was imported",
                                  "{sheet}: {n} errors; nothing was imported", len(errors)).format(
                                      sheet=sheet, n=len(errors)), [text for _row, text in errors])
    return planned, warnings


def _sort(found: list[Problem], item: Planned, where, errors: list[tuple[int, str]], warnings: list[str]) -> None:
    for p in found:
        col = _column(item, p.line)
        acc = _(" (account {account})").format(account=p.account) if p.account else ""
        text = f"{where(item.row, col)}{acc}: {p.message}"
        if p.severity == "error":
            errors.append((item.row, text))
        else:
            warnings.append(text)


def _column(item: Planned, line: int | None) -> str | None:
    if line is None:
        return None
    best = None
    for key, start in item.columns.items():
        if start <= line and (best is None or start >= item.columns[best]):
            best = key
    return best


def write_planned(planned: list[Planned]) -> None:
    """Create every file (exclusively: never over an existing one); on any
    failure remove those already written and raise."""
    done: list[Path] = []
    try:
        for item in planned:
            item.path.parent.mkdir(parents=True, exist_ok=True)
            with open(item.path, "x", encoding="utf-8") as fh:
                done.append(item.path)
                fh.write(item.text)
    except OSError as exc:
        for path in done:
            try:
                path.unlink()
            except OSError:
                pass
        raise SheetError(_("{file}: {reason}; nothing was imported").format(
            file=exc.filename or item.path, reason=exc.strerror or exc)) from None

