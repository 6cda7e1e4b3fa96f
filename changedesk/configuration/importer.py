"""Importing a school's configuration items from a CSV file: read, check, preview, apply.

The file is read and every row checked before anything is written; the preview shows each
row and every problem (row, column, message). Applying is all-or-nothing: it checks the rows
again against the database as it is then, inside one transaction, and writes every row or
none. A row updates the item with the same identifier when it gives one, else the item with
the same name, else it adds a new item. A column left out of the file leaves that field of
an existing item alone; a column present but empty clears it. An identifier is never
cleared by an import.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction

from changedesk.accounts.models import School, User
from changedesk.accounts.permissions import with_roles
from changedesk.configuration.models import ConfigurationItem, ItemKind
from changedesk.configuration.services import (
    MAX_USERS,
    TEXT_LIMITS,
    may_import,
    school_members,
)
from changedesk.lib.errors import NotPermitted

COLUMNS = ("name", "kind", "identifier", "location", "owner", "users_affected", "notes")
REQUIRED_COLUMNS = ("name",)
MAX_BYTES = 512 * 1024
MAX_ROWS = 5000
# Spreadsheets save a byte-order mark; it is not part of the first column's name.
BOM = "\ufeff"


class ImportRefused(Exception):
    """The file as a whole cannot be read: wrong encoding, no header row, too big."""


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str


@dataclass
class Row:
    """One data row: its number as a spreadsheet shows it (the header is row 1)."""

    number: int
    values: dict[str, Any]
    # The cells as the file has them, one per column, for the preview.
    cells: list[str] = field(default_factory=list)
    action: str = "create"  # create | update | unchanged
    item: ConfigurationItem | None = None
    errors: list[RowError] = field(default_factory=list)


@dataclass
class ImportPlan:
    school: School
    columns: tuple[str, ...]
    rows: list[Row]

    @property
    def errors(self) -> list[RowError]:
        return [error for row in self.rows for error in row.errors]

    @property
    def counts(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "unchanged": 0}
        for row in self.rows:
            counts[row.action] += 1
        return counts


def decode(data: bytes) -> str:
    """The file's text; refuses anything that is not UTF-8 (with or without a BOM)."""
    if len(data) > MAX_BYTES:
        raise ImportRefused(
            f"The file is {len(data) // 1024} KB; the most that can be imported at once is "
            f"{MAX_BYTES // 1024} KB. Split it into smaller files."
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ImportRefused(
            f"The file is not UTF-8 text (byte {error.start + 1} cannot be read). "
            "Save it from your spreadsheet as “CSV UTF-8” and try again."
        ) from None
    if "\x00" in text:
        raise ImportRefused("The file contains NUL characters: is it really a CSV file?")
    return text.removeprefix(BOM)


def read(school: School, text: str) -> ImportPlan:
    """Parse and check `text` against `school`'s items and members; writes nothing."""
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise ImportRefused(f"The file cannot be read as CSV: {error}.") from None
    unclosed = _unclosed_quote(text)
    if unclosed is not None:
        raise ImportRefused(
            f'Row {unclosed}: a cell opens a quote (") that is never closed, so the rest of the '
            "file would be read as that one cell. Close the quote, or double a quote inside a "
            'cell (""), and try again.'
        )
    start = next((i for i, cells in enumerate(records) if any(c.strip() for c in cells)), None)
    if start is None:
        raise ImportRefused("The file is empty. The first row must name the columns.")
    columns = _columns(records[start])
    rows: list[Row] = []
    # Numbered as a spreadsheet numbers its rows, so a problem can be found in the file.
    for index, cells in enumerate(records[start + 1 :], start=start + 2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise ImportRefused(
                f"The file has more than {MAX_ROWS} rows; split it into smaller files."
            )
        rows.append(_parse_row(index, columns, cells))
    if not rows:
        raise ImportRefused("The file has a header row but no items under it.")
    plan = ImportPlan(school, columns, rows)
    _check(plan)
    return plan


def _unclosed_quote(text: str) -> int | None:
    """The row (as a spreadsheet numbers it) whose quoted cell runs to the end of the file,
    or None. A lenient reader takes the rest of the file as that one cell."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = 0
    try:
        for _ in reader:
            rows += 1
    except csv.Error as error:
        if "end of data" in str(error):
            return rows + 1
    return None


def _columns(header: list[str]) -> tuple[str, ...]:
    names = [cell.strip().lower().replace(" ", "_") for cell in header]
    while names and not names[-1]:
        names.pop()  # spreadsheets often save empty cells after the last column
    known = ", ".join(COLUMNS)
    if not any(names) or not any(name in COLUMNS for name in names):
        raise ImportRefused(
            f"The first row must name the columns ({known}); it reads “{', '.join(header)[:120]}”."
        )
    if "" in names:
        raise ImportRefused(f"Column {names.index('') + 1} of the first row has no name.")
    unknown = [header[i].strip() for i, name in enumerate(names) if name not in COLUMNS]
    if unknown:
        raise ImportRefused(
            f"Unknown column{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)[:200]}. "
            f"The columns are: {known}."
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ImportRefused(f"The column {', '.join(repeated)} appears more than once.")
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise ImportRefused(f"The column “{missing[0]}” is missing from the first row.")
    return tuple(names)


def _parse_row(number: int, columns: tuple[str, ...], cells: list[str]) -> Row:
    row = Row(number, {})
    if len(cells) > len(columns) and any(cell.strip() for cell in cells[len(columns) :]):
        row.errors.append(
            RowError(number, "", f"This row has {len(cells)} cells but there are only "
                                 f"{len(columns)} columns.")
        )  # fmt: skip
    padded = [cell.strip() for cell in cells[: len(columns)]]
    row.cells = padded + [""] * (len(columns) - len(padded))
    for name, text in zip(columns, row.cells, strict=True):
        value: Any = text
        if name == "kind":
            value = _kind(row, text)
        elif name == "users_affected":
            value = _users(row, text)
        elif name in TEXT_LIMITS and len(text) > TEXT_LIMITS[name]:
            row.errors.append(
                RowError(number, name, f"At most {TEXT_LIMITS[name]} characters "
                                       f"(this has {len(text)}).")
            )  # fmt: skip
        row.values[name] = value
    if not row.values.get("name"):
        row.errors.append(RowError(number, "name", "Every item needs a name."))
    return row


KINDS = {
    **{value: value for value in ItemKind.values},
    **{label.lower(): value for value, label in ItemKind.choices},
    **{value.replace("_", " "): value for value in ItemKind.values},
}


def _kind(row: Row, value: str) -> Any:
    if not value:
        return ItemKind.OTHER
    kind = KINDS.get(value.lower())
    if kind is None:
        row.errors.append(
            RowError(
                row.number,
                "kind",
                f"“{value[:40]}” is not a kind; use one of: {', '.join(ItemKind.values)}.",
            )
        )
    return kind


def _users(row: Row, value: str) -> int | None:
    if not value:
        return 0
    if not (value.isascii() and value.isdecimal()):
        row.errors.append(
            RowError(row.number, "users_affected", f"“{value[:20]}” is not a whole number.")
        )
        return None
    digits = value.lstrip("0") or "0"  # a long number is not read: int() is quadratic
    if len(digits) > len(str(MAX_USERS)) or int(digits) > MAX_USERS:
        row.errors.append(
            RowError(row.number, "users_affected", f"It must be at most {MAX_USERS:,}.")
        )
        return None
    return int(value)


def _check(plan: ImportPlan) -> None:
    """Match each row to an existing item and check what only the database can tell."""
    school = plan.school
    existing = list(ConfigurationItem.objects.filter(school=school).select_related("owner"))
    by_identifier = {item.identifier.lower(): item for item in existing if item.identifier}
    by_name: dict[str, list[ConfigurationItem]] = {}
    for item in existing:
        by_name.setdefault(item.name.lower(), []).append(item)
    usernames = {row.values.get("owner") for row in plan.rows} - {None, ""}
    members = {u.username: u for u in school_members(school).filter(username__in=usernames)}
    seen_identifiers: dict[str, int] = {}
    seen_names: dict[str, int] = {}
    for row in plan.rows:
        values = row.values
        identifier = values.get("identifier", "")
        name = values.get("name", "")
        owner = values.get("owner")
        if owner:
            person = members.get(owner)
            if person is None:
                row.errors.append(
                    RowError(row.number, "owner",
                             f"No active member of {school.name} has the username “{owner[:40]}”.")
                )  # fmt: skip
            values["owner"] = person
        elif "owner" in values:
            values["owner"] = None
        if identifier:
            key = identifier.lower()
            if key in seen_identifiers:
                row.errors.append(
                    RowError(row.number, "identifier",
                             f"Row {seen_identifiers[key]} has the same identifier.")
                )  # fmt: skip
                continue
            seen_identifiers[key] = row.number
            row.item = by_identifier.get(key)
        elif name:
            key = name.lower()
            if key in seen_names:
                row.errors.append(
                    RowError(row.number, "name",
                             f"Row {seen_names[key]} has the same name and no identifier "
                             "either; give each an identifier.")
                )  # fmt: skip
                continue
            seen_names[key] = row.number
            matches = by_name.get(key, [])
            if len(matches) > 1:
                row.errors.append(
                    RowError(row.number, "name",
                             f"{len(matches)} items at {school.name} are called “{name[:60]}”; "
                             "give the identifier of the one you mean.")
                )  # fmt: skip
                continue
            row.item = matches[0] if matches else None
            # Keyed by name: the item keeps its identifier.
            values.pop("identifier", None)
        if row.item is not None:
            changed = any(_differs(row.item, n, v) for n, v in values.items())
            row.action = "update" if changed else "unchanged"


def _differs(item: ConfigurationItem, name: str, value: Any) -> bool:
    if name == "owner":
        return item.owner_id != (value.pk if value is not None else None)
    return bool(getattr(item, name) != value)


def apply(school: School, text: str, actor: User) -> ImportPlan:
    """Check `text` again, as the database is now, and write every row or none.

    Returns the plan; when it has errors nothing was written.
    """
    actor = with_roles(actor)
    if not may_import(actor, school):
        raise NotPermitted(f"Only a school administrator of {school.name} may import items.")
    try:
        with transaction.atomic():
            # Imports into one school take turns, so two cannot both add one identifier.
            School.objects.select_for_update().filter(pk=school.pk).first()
            plan = read(school, text)
            if not plan.errors:
                for row in plan.rows:
                    _write(school, row)
    except IntegrityError:
        # An item was saved from a page between the check and the write: nothing is kept.
        raise ImportRefused(
            "The items changed while the file was being imported, so nothing was imported. "
            "Try again."
        ) from None
    return plan


def _write(school: School, row: Row) -> None:
    if row.action == "unchanged":
        return
    item = row.item or ConfigurationItem(school=school)
    for name, value in row.values.items():
        setattr(item, name, value)
    item.save()
