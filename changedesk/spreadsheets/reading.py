"""Reading a spreadsheet as a school saved it: a table of cells, whatever the file's shape.

A CSV file may be UTF-8 (with or without the byte-order mark Excel writes) or Windows-1252
(what Excel's plain "CSV" saves in Britain), and its cells may be separated by commas or by
semicolons (Excel in much of Europe): the encoding is tried in that order and the separator
sniffed. An XLSX file is read in openpyxl's read-only mode from its first sheet, its cells
as they are typed (a date cell is a `datetime`, a number a number).

Which row names the columns is found, not assumed: a change log often has a title row or
two above its header, and a header of two rows where a merged cell ("Planned") spans the
columns below it ("Start", "End"). `find_header` picks the row that names the most known
columns and, for a column it does not know, tries the cell above it (a merged cell's value
carried across the columns it spans).

What a file may hold is bounded, so that a hostile or broken file is refused quickly rather
than read into memory: an XLSX workbook is a ZIP archive, and its entries' sizes (as the
archive declares them: `zipfile` never inflates an entry past its declared size) are checked
before it is opened; a row may have at most `MAX_COLUMNS` cells and a cell at most
`MAX_CELL_CHARS` characters; a CSV file may not hold a NUL character (PostgreSQL cannot keep
one in text). Blank lines are kept (they number the rows as the spreadsheet does) but do not
count as rows, and those at the end of a file are dropped.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from changedesk.configuration.importer import ImportRefused
from changedesk.spreadsheets import wording
from changedesk.spreadsheets.wording import say

# Cells are text (CSV) or typed values (XLSX: str, int, float, datetime, bool, None).
Table = list[list[Any]]

BOM = "\ufeff"
# How far down a file its header row may be.
HEADER_SEARCH_ROWS = 15
SNIFF_BYTES = 16 * 1024
DELIMITERS = ",;\t|"
# The most cells a row may have (a change log has a few dozen columns at most).
MAX_COLUMNS = 200
# The most cells a CSV line may have, trailing empty ones included: Excel's own maximum (XFD).
MAX_RAW_CELLS = 16384
MAX_CELL_CHARS = 10_000
# The last line a row may be on, blank lines above it included (blank lines after the last
# row are read and dropped, however many).
MAX_LINES = 100_000
# An XLSX archive: the most its entries may hold uncompressed, and the most an entry over
# RATIO_FROM bytes may be compressed (a "ZIP bomb" is a tiny file that inflates enormously).
MAX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_RATIO = 100
RATIO_FROM = 1024 * 1024
NUL_REFUSED = wording.NUL_REFUSED


def is_xlsx(data: bytes, file_name: str) -> bool:
    """An XLSX workbook (a ZIP archive), by its name or its first bytes."""
    return file_name.lower().endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04"


# Told how many rows (with something in them) have been read so far, every TICK_ROWS.
Tick = Callable[[int], None]
TICK_ROWS = 1000


def read_table(data: bytes, file_name: str, max_rows: int, tick: Tick | None = None) -> Table:
    """The file's rows of cells, trailing empty cells dropped; refuses what cannot be read."""
    rows = _Rows(max_rows, tick=tick)
    _read(data, file_name, rows)
    return rows.rows


def read_head(data: bytes, file_name: str, max_rows: int, head: int) -> tuple[Table, bool]:
    """The file's first `head` rows with something in them (what an upload shows at once,
    however long the file), and whether that is the whole file. Checked as `read_table`
    checks every row."""
    rows = _Rows(max_rows, head=head)
    _read(data, file_name, rows)
    return rows.rows, not rows.cut


def _read(data: bytes, file_name: str, rows: _Rows) -> None:
    if is_xlsx(data, file_name):
        _xlsx_rows(data, rows)
    else:
        _csv_rows(decode(data), rows)


class _Enough(Exception):
    """The head of the file has been read."""


def decode(data: bytes) -> str:
    """The text of a CSV file: UTF-8 (its BOM dropped) or else Windows-1252."""
    if b"\x00" in data[:SNIFF_BYTES]:
        # Most likely UTF-16 text: said before trying to decode it.
        raise ImportRefused(NUL_REFUSED)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as error:
            raise ImportRefused(say(wording.NOT_TEXT, byte=error.start + 1)) from None
    # Anywhere in the file, not only at its start: PostgreSQL refuses NUL in text.
    if "\x00" in text:
        raise ImportRefused(NUL_REFUSED)
    return text.removeprefix(BOM)


def delimiter(text: str) -> str:
    """The separator of a CSV file's cells: sniffed, else the commonest in its first lines."""
    sample = text[:SNIFF_BYTES]
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        lines = [line for line in sample.splitlines()[:20] if line.strip()]
        counts = {d: sum(line.count(d) for line in lines) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


class _Rows:
    """The rows read so far, counting only those with something in them against the limit;
    blank lines are kept only once a row follows them (a file's trailing blanks dropped)."""

    def __init__(self, max_rows: int, head: int | None = None, tick: Tick | None = None) -> None:
        self.rows: Table = []
        self.limit = max_rows + HEADER_SEARCH_ROWS
        self.max_rows = max_rows
        self.filled = 0
        self.blanks = 0
        self.head = head
        self.tick = tick
        # Whether the reading stopped at `head`, before the end of the file.
        self.cut = False

    def add(self, cells: list[Any] | tuple[Any, ...]) -> None:
        if cells.count(None) == len(cells):
            # Quickly: a workbook gives each of its missing rows as a row of empty cells.
            self.blanks += 1
            return
        number = len(self.rows) + self.blanks + 1
        if len(cells) > MAX_RAW_CELLS:
            raise ImportRefused(say(wording.TOO_MANY_CELLS, row=number, most=f"{MAX_RAW_CELLS:,}"))
        trimmed = _trimmed(list(cells))
        if not trimmed or is_blank(trimmed):
            self.blanks += 1
            return
        if number > MAX_LINES:
            raise ImportRefused(say(wording.TOO_FAR_DOWN, row=f"{number:,}", last=f"{MAX_LINES:,}"))
        if len(trimmed) > MAX_COLUMNS:
            raise ImportRefused(
                say(wording.TOO_WIDE, row=number, columns=f"{len(trimmed):,}", most=MAX_COLUMNS)
            )
        for column, cell in enumerate(trimmed, start=1):
            if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS:
                raise ImportRefused(
                    say(
                        wording.CELL_TOO_LONG,
                        row=number,
                        column=column,
                        count=f"{len(cell):,}",
                        most=f"{MAX_CELL_CHARS:,}",
                    )
                )
        if self.head is not None and self.filled >= self.head:
            self.cut = True
            raise _Enough
        self.filled += 1
        if self.filled > self.limit:
            raise ImportRefused(too_many(self.max_rows))
        if self.tick is not None and self.filled % TICK_ROWS == 0:
            self.tick(self.filled)
        self.rows.extend([] for _ in range(self.blanks))
        self.blanks = 0
        self.rows.append(trimmed)


def _csv_rows(text: str, rows: _Rows) -> None:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter(text))
    try:
        for cells in reader:
            rows.add(cells)
    except csv.Error as error:
        raise ImportRefused(say(wording.NOT_CSV, error=error)) from None
    except _Enough:
        pass


def check_archive(data: bytes) -> None:
    """Refuse an XLSX file whose archive would inflate to too much (a "ZIP bomb"): its
    entries' declared sizes in all, and each large entry's compression ratio."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ImportRefused(_not_xlsx(error)) from None
    total = sum(entry.file_size for entry in entries)
    if total > MAX_UNCOMPRESSED:
        raise ImportRefused(
            say(
                wording.UNPACKS_TOO_BIG,
                size=f"{total / 1048576:,.0f}",
                most=MAX_UNCOMPRESSED // 1048576,
            )
        )
    for entry in entries:
        if entry.file_size > RATIO_FROM and entry.file_size > MAX_RATIO * max(
            entry.compress_size, 1
        ):
            raise ImportRefused(
                say(wording.TOO_COMPRESSED, part=entry.filename[:60], ratio=MAX_RATIO)
            )


def _not_xlsx(error: Exception) -> str:
    return say(wording.NOT_XLSX, error=str(error)[:120])


XLSX_ERRORS = (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError)


def _xlsx_rows(data: bytes, rows: _Rows) -> None:
    # Imported here: openpyxl takes a moment to load, and only an XLSX upload needs it.
    from openpyxl import load_workbook

    check_archive(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except XLSX_ERRORS as error:
        raise ImportRefused(_not_xlsx(error)) from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise ImportRefused(wording.NO_SHEETS)
        # Some programs write a wrong size for the sheet (or none): read to its real end.
        sheet.reset_dimensions()
        # One column more than may be imported: enough to tell a sheet that is too wide.
        for cells in sheet.iter_rows(max_col=MAX_COLUMNS + 1, values_only=True):
            rows.add(cells)
    except _Enough:
        pass
    except XLSX_ERRORS as error:
        # A sheet is read as it is iterated: a broken part shows only then.
        raise ImportRefused(_not_xlsx(error)) from None
    finally:
        book.close()


def too_many(max_rows: int) -> str:
    return say(wording.TOO_MANY_ROWS, rows=f"{max_rows:,}")


def _trimmed(cells: list[Any]) -> list[Any]:
    # NUL is dropped from a workbook's text (written there as `_x0000_`): PostgreSQL refuses it.
    cells = [cell.replace("\x00", "").strip() if isinstance(cell, str) else cell for cell in cells]
    while cells and cells[-1] in (None, ""):
        cells.pop()
    return cells


def is_blank(cells: list[Any]) -> bool:
    return all(cell in (None, "") for cell in cells)


def cell_text(value: Any) -> str:
    """A cell as a person reads it (for headers and the preview)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ").removesuffix(" 00:00:00")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@dataclass(frozen=True)
class Header:
    """Where the header is (0-based row index) and each column's name, as the file says it
    (a two-row header's names joined: "Planned start")."""

    row: int
    names: list[str]


def find_header(table: Table, known: Callable[[str], str | None]) -> Header:
    """The header row: among the first non-blank rows, the one whose cells name the most
    columns `known` recognises (a title row above names none); refuses a file without one."""
    best: Header | None = None
    best_score = 0
    seen = 0
    above: list[str] = []
    for index, cells in enumerate(table):
        if is_blank(cells):
            continue
        seen += 1
        if seen > HEADER_SEARCH_ROWS:
            break
        names = _names(cells, above, known)
        score = sum(1 for name in names if known(name))
        if score > best_score:
            best, best_score = Header(index, names), score
        above = _carried([cell_text(c) for c in cells])
    if best is None:
        if not any(not is_blank(cells) for cells in table):
            raise ImportRefused(wording.EMPTY)
        raise ImportRefused(wording.NO_HEADER)
    return best


def _names(cells: list[Any], above: list[str], known: Callable[[str], str | None]) -> list[str]:
    """Each column's name; where a cell names no known column, the merged cell above it
    joined with it may ("Planned" over "Start")."""
    names: list[str] = []
    for column, cell in enumerate(cells):
        name = cell_text(cell)
        over = above[column] if column < len(above) else ""
        if over and not known(name) and known(f"{over} {name}".strip()):
            name = f"{over} {name}".strip()
        names.append(name)
    return names


def _carried(cells: list[str]) -> list[str]:
    """A row's cells with each value carried into the empty cells after it: how a merged
    cell reads across the columns it spans (openpyxl gives its value to the first only)."""
    carried: list[str] = []
    last = ""
    for cell in cells:
        last = cell or last
        carried.append(last)
    return carried
