"""A cell of a CSV file that a spreadsheet opens as text, never as a formula.

A cell starting with `=`, `+`, `-` or `@` (or their full-width forms, which Excel reads the
same, or a tab or carriage return) is a formula to a spreadsheet: `=HYPERLINK(...)` or
`=cmd|...` in an RFC's title would run on the reader's machine. Such a cell gets a leading
quote mark. Every CSV changedesk writes quotes every cell besides (`csv.QUOTE_ALL`), so that
a spreadsheet splitting on ";" (as Excel does in many locales) cannot cut a cell into a
formula after the ";"."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value: str) -> str:
    """Text a spreadsheet keeps as text: a formula-like start is escaped with a quote mark."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value
