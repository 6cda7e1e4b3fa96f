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

# Cells are text (CSV) or typed values (XLSX: str, int, float, datetime, bool, None).
Table = list[list[Any]]

BOM = "\ufeff"
# How far down a file its header row may be.
HEADER_SEARCH_ROWS = 15
SNIFF_BYTES = 16 * 1024
DELIMITERS = ",;\t|"


def is_xlsx(data: bytes, file_name: str) -> bool:
    """An XLSX workbook (a ZIP archive), by its name or its first bytes."""
    return file_name.lower().endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04"


def read_table(data: bytes, file_name: str, max_rows: int) -> Table:
    """The file's rows of cells, trailing empty cells dropped; refuses what cannot be read."""
    if is_xlsx(data, file_name):
        return _xlsx_rows(data, max_rows)
    return _csv_rows(decode(data), max_rows)


def decode(data: bytes) -> str:
    """The text of a CSV file: UTF-8 (its BOM dropped) or else Windows-1252."""
    if b"\x00" in data[:SNIFF_BYTES]:
        raise ImportRefused(
            "The file has NUL characters: save it from your spreadsheet as CSV or XLSX."
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as error:
            raise ImportRefused(
                f"The file is neither UTF-8 nor Windows-1252 text (byte {error.start + 1} "
                "cannot be read). Save it as “CSV UTF-8” or as XLSX and try again."
            ) from None
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


def _csv_rows(text: str, max_rows: int) -> Table:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter(text))
    rows: Table = []
    try:
        for cells in reader:
            if len(rows) > max_rows + HEADER_SEARCH_ROWS:
                raise ImportRefused(too_many(max_rows))
            rows.append(_trimmed(cells))
    except csv.Error as error:
        raise ImportRefused(f"The file cannot be read as CSV: {error}.") from None
    return rows


def _xlsx_rows(data: bytes, max_rows: int) -> Table:
    # Imported here: openpyxl takes a moment to load, and only an XLSX upload needs it.
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as error:
        raise ImportRefused(
            f"The file cannot be read as an Excel workbook (XLSX): {str(error)[:120]}."
        ) from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise ImportRefused("The workbook has no sheets.")
        # Some programs write a wrong size for the sheet (or none): read to its real end.
        sheet.reset_dimensions()
        rows: Table = []
        for cells in sheet.iter_rows(values_only=True):
            if len(rows) > max_rows + HEADER_SEARCH_ROWS:
                raise ImportRefused(too_many(max_rows))
            rows.append(_trimmed(list(cells)))
        return rows
    finally:
        book.close()


def too_many(max_rows: int) -> str:
    return f"The file has more than {max_rows:,} rows; split it into smaller files."


def _trimmed(cells: list[Any]) -> list[Any]:
    cells = [cell.strip() if isinstance(cell, str) else cell for cell in cells]
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
            raise ImportRefused("The file is empty.")
        raise ImportRefused(
            "No row of the file names the columns of a change log (such as “Title”, "
            "“Date raised”, “Status”). Add a header row and try again."
        )
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
