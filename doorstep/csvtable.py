"""The CSV table reader and cell parsers shared by every input file (docs/input-files.md).

A file is described by a `FileSpec`; `read_table` checks the file as a whole (encoding,
delimiter, header) and `Cells` parses one row's cells. Both record an `InputProblem` naming the
file, the row (the header is row 1) and the field instead of stopping, so that a reader can
report every problem of a file at once. Nothing here logs cell text: files hold borrower data.
"""

from __future__ import annotations

import csv
import difflib
import enum
import io
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from doorstep.errors import InputProblem
from doorstep.timeparse import format_window, parse_clock, parse_instant, parse_window
from optimizer.model import TimeWindow

__all__ = [
    "INTEGER",
    "SAVE_AS",
    "Cells",
    "FileSpec",
    "Row",
    "Table",
    "closest",
    "in_row_order",
    "items",
    "one_of",
    "read_table",
    "write_rows",
]

SAVE_AS = "in Excel: Save As > 'CSV UTF-8 (Comma delimited)'"
INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
"""A whole number as a cell may write it."""
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)

_E = TypeVar("_E", bound=enum.StrEnum)


@dataclass(frozen=True)
class FileSpec:
    """What one kind of file holds.

    `thing` names what a row is ("visit"); `id_column` the column that names it. When the
    header lacks `id_column` but has `other_id_column`, the user most likely gave the other
    file (`other_thing`s) instead, and the problem says so. `allow_no_rows` accepts a file
    with a header and no rows (a history with no contacts yet).
    """

    thing: str
    id_column: str
    columns: tuple[str, ...]
    required: frozenset[str]
    other_thing: str | None = None
    other_id_column: str | None = None
    allow_no_rows: bool = False


@dataclass(frozen=True)
class Row:
    """One data row: its line number (the header is row 1) and its cells."""

    number: int
    cells: Mapping[str, str]
    """Known column present in the header -> the cell's text, stripped."""


@dataclass(frozen=True)
class Table:
    """A file's rows that have the header's number of cells, and every row's id cell."""

    file: str
    rows: tuple[Row, ...]
    ids: frozenset[str]
    has_id_column: bool


def read_table(path: Path, spec: FileSpec, problems: list[InputProblem]) -> Table | None:
    """The file's rows, or None when the file as a whole cannot be read (with a problem)."""
    file = path.name

    def add(row: int | None, column: str | None, message: str) -> None:
        problems.append(InputProblem(file, row, column, message))

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        add(None, None, f"file {str(path)!r} not found; check the path and the file name")
        return None
    except IsADirectoryError:
        add(None, None, f"{str(path)!r} is a folder; give the path of the CSV file")
        return None
    except OSError as exc:
        add(None, None, f"cannot read {str(path)!r} ({exc.strerror}); check its permissions")
        return None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        add(None, None, f"the file is UTF-16 text; save it as UTF-8 ({SAVE_AS})")
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = (
            f"the file is not UTF-8 (byte 0x{data[exc.start]:02X} on line {line} is not UTF-8 "
            f"text); save it as UTF-8 ({SAVE_AS})"
        )
        add(line, None, message)
        return None
    if not text.strip():
        add(None, None, f"the file is empty; it needs a header row and a row per {spec.thing}")
        return None
    first_line = text.splitlines()[0]
    if "," not in first_line and (";" in first_line or "\t" in first_line):
        sep = "';'" if ";" in first_line else "tab"
        message = (
            f"the header has no comma: the file looks {sep}-separated, but it must be "
            f"comma-separated; save it with commas ({SAVE_AS})"
        )
        add(1, None, message)
        return None

    records: list[list[str]] = []
    broken = False
    try:
        for record in csv.reader(io.StringIO(text, newline="")):
            records.append(record)
    except csv.Error as exc:
        broken = True
        add(len(records) + 1, None, f"cannot read this row as CSV ({exc}); check its quotes")
    if not records or not any(cell.strip() for cell in records[0]):
        add(1, None, "row 1 is empty; put the header (the column names) on row 1")
        return None

    header = [name.strip() for name in records[0]]
    if (
        spec.other_id_column is not None
        and spec.id_column not in header
        and spec.other_id_column in header
    ):
        message = (
            f"this looks like the {spec.other_thing}s file (its header has "
            f"{spec.other_id_column!r}, not {spec.id_column!r}); are the two files swapped?"
        )
        add(1, None, message)
        return None
    position: dict[str, int] = {}
    seen: set[str] = set()
    for k, name in enumerate(header):
        if not name:
            message = (
                f"column {k + 1} of the header has no name; name it or delete the column "
                "(a comma at the end of the header makes an empty column)"
            )
            add(1, None, message)
        elif name in seen:
            add(1, name, f"column {name!r} appears twice in the header; keep one")
        elif name not in spec.columns:
            add(1, name, _unknown_column_message(name, spec))
        else:
            position[name] = k
        seen.add(name)
    for name in spec.columns:
        if name in spec.required and name not in position:
            add(1, name, f"required column {name!r} is missing; add it to the header")

    rows: list[Row] = []
    ids: set[str] = set()
    id_position = position.get(spec.id_column)
    num_data_rows = 0
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # blank lines and rows of empty cells, as spreadsheets leave them
        num_data_rows += 1
        if id_position is not None and id_position < len(record) and record[id_position].strip():
            ids.add(record[id_position].strip())
        if len(record) != len(header):
            add(number, None, _cell_count_message(record, len(header)))
            continue
        rows.append(Row(number, {name: record[k].strip() for name, k in position.items()}))
    if num_data_rows == 0 and not broken and not spec.allow_no_rows:
        add(None, None, f"the file has a header but no rows; add a row per {spec.thing}")
        return None
    return Table(file, tuple(rows), frozenset(ids), id_position is not None)


def _unknown_column_message(name: str, spec: FileSpec) -> str:
    close = closest(name, spec.columns)
    if close is not None:
        return f"unknown column {name!r}; did you mean {close!r}?"
    return f"unknown column {name!r}; remove it (the columns are {', '.join(spec.columns)})"


def _cell_count_message(record: list[str], num_columns: int) -> str:
    counts = f"this row has {len(record)} cells but the header has {num_columns} columns"
    if any("\n" in cell for cell in record):
        return f'{counts}; a quote (") in it is not closed, so the row runs on over later lines'
    if len(record) > num_columns:
        return (
            f"{counts}; put quotes around a value that contains a comma "
            '("Mannerheimintie 5, A 3") or remove the extra comma'
        )
    return f"{counts}; add the missing commas (an empty cell still needs its comma)"


class Cells:
    """One data row, with parsers that record a problem naming the field on bad input.

    Each parser returns None for an empty optional cell (unless given a default) and for a
    bad cell; `ok` says whether the row can become a model object.
    """

    def __init__(self, file: str, row: Row, problems: list[InputProblem]) -> None:
        self.file = file
        self.number = row.number
        self._cells = row.cells
        self._problems = problems
        self._missing_column = False
        self.bad_columns: set[str | None] = set()

    @property
    def ok(self) -> bool:
        return not self.bad_columns and not self._missing_column

    def problem(self, column: str | None, message: str) -> None:
        self.bad_columns.add(column)
        self._problems.append(InputProblem(self.file, self.number, column, message))

    def text(self, column: str) -> str:
        return self._cells.get(column, "")

    def required(self, column: str, hint: str) -> str | None:
        """The cell's text; None, with a problem, when empty (or the header lacks it)."""
        if column not in self._cells:
            self._missing_column = True  # the header's problem says so, once
            return None
        value = self._cells[column]
        if not value:
            self.problem(column, f"{column} is empty; {hint}")
        return value or None

    def integer(
        self,
        column: str,
        lo: int,
        hi: int | None,
        hint: str,
        *,
        default: int | None = None,
        required: bool = False,
    ) -> int | None:
        text = self.required(column, hint) if required else self.text(column)
        if not text:
            return None if required else default
        if not INTEGER.fullmatch(text):
            self.problem(column, f"{column} {text!r} is not a whole number; {hint}")
            return None
        value = int(text)
        if value < lo or (hi is not None and value > hi):
            self.problem(column, f"{column} {value} is out of range; {hint}")
            return None
        return value

    def degrees(
        self, column: str, limit: float, *, required: bool = True, or_else: str = ""
    ) -> float | None:
        """Decimal degrees in -limit..limit; `or_else` adds another way out to the message
        for an empty required cell."""
        hint = "give WGS84 decimal degrees, e.g. 60.1699"
        text = self.required(column, hint + or_else) if required else self.text(column)
        if not text:
            return None
        if not _DECIMAL.fullmatch(text):
            comma = "; use a dot as the decimal separator" if "," in text else ""
            self.problem(column, f"{column} {text!r} is not a number{comma}; {hint}")
            return None
        value = float(text)
        if not -limit <= value <= limit:
            message = (
                f"{column} {text} is outside -{limit:g}..{limit:g}; check the coordinates "
                "(lat and lon swapped?)"
            )
            self.problem(column, message)
            return None
        return value

    def choice(self, column: str, kind: type[_E]) -> _E | None:
        """A required member of `kind`, written as its value in any case."""
        value = self.word(column, [member.value for member in kind])
        return None if value is None else kind(value)

    def word(
        self, column: str, allowed: Sequence[str], *, required: bool = True, what: str = ""
    ) -> str | None:
        """One of `allowed` (lower-case words), written in any case; None when empty or bad.

        `what` qualifies the message ("for a visit") when the allowed words depend on it.
        """
        words = one_of(allowed)
        text = self.required(column, f"use {words}") if required else self.text(column)
        if not text:
            return None
        if text.lower() not in allowed:
            self.problem(column, f"unknown {column} {text!r}{what}; use {words}")
            return None
        return text.lower()

    def instant(self, column: str, *, required: bool = True) -> datetime | None:
        """An ISO 8601 date-time with its UTC offset (`timeparse.parse_instant`)."""
        hint = "give the date-time with its UTC offset, e.g. 2026-11-20T15:30+02:00"
        text = self.required(column, hint) if required else self.text(column)
        if not text:
            return None
        try:
            return parse_instant(text)
        except ValueError as exc:
            self.problem(column, f"{column} {exc}")
            return None

    def clock(self, column: str) -> int | None:
        text = self.required(column, "give a time as HH:MM, e.g. 08:30")
        if text is None:
            return None
        try:
            return parse_clock(text)
        except ValueError as exc:
            self.problem(column, str(exc))
            return None

    def window(self, column: str) -> TimeWindow | None:
        text = self.text(column)
        if not text:
            return None
        try:
            return parse_window(text)
        except ValueError as exc:
            self.problem(column, str(exc))
            return None

    def windows(self, column: str) -> tuple[TimeWindow, ...]:
        windows: list[TimeWindow] = []
        for item in items(self.text(column)):
            try:
                windows.append(parse_window(item))
            except ValueError as exc:
                self.problem(column, str(exc))
        for a, b in itertools.pairwise(sorted(windows)):
            if b.start <= a.end:
                merged = format_window(TimeWindow(a.start, max(a.end, b.end)))
                message = (
                    f"windows {format_window(a)} and {format_window(b)} overlap or touch; "
                    f"merge them into {merged}"
                )
                self.problem(column, message)
        return tuple(windows)


def one_of(words: Sequence[str]) -> str:
    """`a, b or c`: the words a message offers."""
    return ", ".join(words[:-1]) + f" or {words[-1]}" if len(words) > 1 else words[0]


def items(text: str) -> list[str]:
    """The `;`-separated items of a list cell, stripped, empty items dropped."""
    return [item.strip() for item in text.split(";") if item.strip()]


def closest(name: str, known: Sequence[str]) -> str | None:
    """The known name closest to `name`, ignoring case, if any is close."""
    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1)
    return by_lower[close[0]] if close else None


def in_row_order(problems: list[InputProblem]) -> list[InputProblem]:
    """The problems of one file sorted by row, the whole-file ones first (a stable sort)."""
    return sorted(problems, key=lambda p: p.row or 0)


def write_rows(path: Path, lines: Sequence[Sequence[str]]) -> None:
    """Write the rows as UTF-8 CSV without a BOM, `\\n` line ends, all at once."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(lines)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
