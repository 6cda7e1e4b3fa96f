"""Importing a school's patches from a CSV file, all or nothing, after a preview.

`parse` reads the file and checks every row as `services.create_patch` would (its own
checks, `services._check_patch`, run on each row), against the school's vendors, items and
patches, each loaded once; it writes nothing and says what an import would do: the
patches to add, the vendors to add, the rows already there, and every problem by row and
column. `apply` asks who may (`services.may_manage`), parses the file again as the
database is then and, only if no row has a problem, adds the new vendors
(`services.save_vendor`) and every new patch (`services.create_patch`) in one
transaction: every row is saved, or none is.

The file: UTF-8 (a byte-order mark is fine), comma- or semicolon-separated, its first row
naming the columns (any case; a space and an underscore are the same). A row whose vendor
and reference (not empty) are those of a patch the school has already is already there:
skipped, not a problem.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models.functions import Upper
from django.utils.translation import gettext, ngettext

from changedesk.accounts import permissions
from changedesk.accounts.models import School, User
from changedesk.configuration.models import ConfigurationItem
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.patches import services
from changedesk.patches.choices import Severity
from changedesk.patches.models import Patch, PatchPolicy, Vendor, today_in

COLUMNS = ("vendor", "product", "title", "reference", "cves", "release_date", "severity",
           "link", "description", "items")  # fmt: skip
REQUIRED_COLUMNS = ("vendor", "title", "release_date")
MOST_ROWS = 2000
MOST_BYTES = 2 * 1024 * 1024
# Spreadsheets save a byte-order mark; it is not part of the first column's name.
BOM = "\ufeff"
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
SEVERITIES = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "important": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "moderate": Severity.MEDIUM,
    "low": Severity.LOW,
}
ITEM_SEPARATOR = ";"
# References looked up per query (well under any database's limit of parameters).
LOOKUP_BATCH = 500

# What a row does.
NEW = "new"
THERE = "there"
PROBLEM = "problem"


@dataclass(frozen=True, slots=True)
class RowError:
    """A problem: its row as a spreadsheet numbers it (the first row, naming the columns,
    is 1; 0 is the file as a whole), its column ("" for the row or the file) and what is
    wrong."""

    row: int
    field: str
    message: str


@dataclass(slots=True)
class Row:
    number: int
    # The file's cells, by column (every column, "" where the file has none).
    cells: dict[str, str]
    vendor_name: str = ""
    # The school's vendor; None: a new one, added by the import (or none named).
    vendor: Vendor | None = None
    # What `services.create_patch` is given, but the vendor.
    data: dict[str, Any] = field(default_factory=dict)
    items: list[ConfigurationItem] = field(default_factory=list)
    status: str = NEW
    errors: list[RowError] = field(default_factory=list)

    @property
    def new_vendor(self) -> bool:
        return self.vendor is None and bool(self.vendor_name)

    def fail(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.number, column, message))
        self.status = PROBLEM


@dataclass
class Preview:
    """What importing the file would do; nothing is written to make it."""

    school: School
    columns: tuple[str, ...] = ()
    rows: list[Row] = field(default_factory=list)
    # The file's own problems (unreadable, its columns, too many rows): no rows then.
    problems: list[RowError] = field(default_factory=list)
    # The vendors the import adds, as the file first names them.
    new_vendors: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[RowError]:
        return [*self.problems, *(error for row in self.rows for error in row.errors)]

    @property
    def to_create(self) -> list[Row]:
        return [row for row in self.rows if row.status == NEW]

    @property
    def already_there(self) -> list[Row]:
        return [row for row in self.rows if row.status == THERE]

    @property
    def ok(self) -> bool:
        return not self.errors


class _Refused(Exception):
    """The file as a whole cannot be read."""

    def __init__(self, message: str, row: int = 0) -> None:
        super().__init__(message)
        self.row = row


# --- Reading the file. ---


def parse(school: School, text: str) -> Preview:
    """Read and check `text` against `school`'s vendors, items and patches; writes nothing."""
    preview = Preview(school)
    try:
        records = _records(text)
        number, header = records[0]
        preview.columns = _columns(number, header)
        if len(records) == 1:
            raise _Refused(gettext("The file has no patches under its first row."), number)
    except _Refused as refusal:
        preview.problems.append(RowError(refusal.row, "", str(refusal)))
        return preview
    known = _Known.load(school, preview.columns, records[1:])
    for number, cells in records[1:]:
        preview.rows.append(_row(known, preview.columns, number, cells))
    preview.new_vendors = list(known.new_vendors.values())
    return preview


def _records(text: str) -> list[tuple[int, list[str]]]:
    """The file's rows that hold anything, each with its number (the first row is 1): the
    column names first."""
    # Measured with its line breaks as one character each: a browser posting the previewed
    # file back sends each as two.
    size = len(text.encode("utf-8", "surrogatepass")) - text.count("\r\n")
    if size > MOST_BYTES:
        raise _Refused(
            gettext("The file is over %(most)s MB; split it in two.")
            % {"most": MOST_BYTES // (1024 * 1024)}
        )
    if "\x00" in text:
        raise _Refused(gettext("The file holds NUL characters: is it really a CSV file?"))
    text = text.removeprefix(BOM)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    records: list[tuple[int, list[str]]] = []
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            if not any(cell.strip() for cell in cells):
                continue
            if len(records) > MOST_ROWS:
                raise _Refused(
                    gettext(
                        "The file has more than %(most)s patches (rows under the first); "
                        "split it into smaller files."
                    )
                    % {"most": f"{MOST_ROWS:,}"}
                )
            records.append((number, cells))
    except csv.Error as error:
        if "end of data" in str(error):
            raise _Refused(
                gettext(
                    'Row %(row)s: a cell opens a quote (") that is never closed. Close it, '
                    'or double a quote inside a cell (""), and try again.'
                )
                % {"row": number + 1},
                number + 1,
            ) from None
        raise _Refused(
            gettext(
                'Row %(row)s cannot be read as CSV (%(error)s). A cell holding a quote (") '
                "must be quoted itself, the quote doubled."
            )
            % {"row": number + 1, "error": error},
            number + 1,
        ) from None
    if not records:
        raise _Refused(
            gettext("The file is empty. Its first row names the columns: %(columns)s.")
            % {"columns": ", ".join(COLUMNS)}
        )
    return records


def _delimiter(text: str) -> str:
    """A comma or a semicolon, as the first row (the column names) uses; else a comma."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    try:
        return csv.Sniffer().sniff(first[:4096], delimiters=",;").delimiter
    except csv.Error:
        return ","


def column_name(cell: str) -> str:
    """A column as the file names it, as the import knows it: "Release date" is
    `release_date`."""
    return re.sub(r"[\s_]+", "_", cell.strip().lower())


def _columns(number: int, cells: list[str]) -> tuple[str, ...]:
    """The columns the first row (`number`) names, in order; every problem with them."""
    names = [column_name(cell) for cell in cells]
    while names and not names[-1]:
        names.pop()  # spreadsheets often save empty cells after the last column
    problems = []
    if "" in names:
        problems.append(
            gettext("Column %(number)s of the first row has no name.")
            % {"number": names.index("") + 1}
        )
    unknown = [cells[i].strip() for i, name in enumerate(names) if name and name not in COLUMNS]
    if unknown:
        problems.append(
            ngettext(
                "Unknown column: %(unknown)s. The columns are: %(columns)s.",
                "Unknown columns: %(unknown)s. The columns are: %(columns)s.",
                len(unknown),
            )
            % {"unknown": ", ".join(unknown)[:200], "columns": ", ".join(COLUMNS)}
        )
    repeated = sorted(name for name, count in Counter(names).items() if name and count > 1)
    if repeated:
        problems.append(
            gettext("More than one column is called %(names)s.") % {"names": ", ".join(repeated)}
        )
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        problems.append(
            ngettext(
                "The first row must name the column %(names)s: every patch needs them.",
                "The first row must name the columns %(names)s: every patch needs them.",
                len(missing),
            )
            % {"names": ", ".join(missing)}
        )
    if problems:
        raise _Refused(" ".join(problems), number)
    return tuple(names)


# --- What the school has, loaded once. ---


@dataclass
class _Known:
    school: School
    today: date
    vendors: dict[str, Vendor]
    items: dict[str, list[ConfigurationItem]]
    # (vendor id, reference in capitals) of the school's patches the file names.
    patches: set[tuple[int, str]]
    # The vendors to add: their name's key, and the name as the file first spells it.
    new_vendors: dict[str, str] = field(default_factory=dict)
    # A new vendor's name's problem, checked once.
    vendor_problems: dict[str, str] = field(default_factory=dict)
    # (vendor's key, reference in capitals) of the rows read so far: their row.
    seen: dict[tuple[str, str], int] = field(default_factory=dict)

    @classmethod
    def load(
        cls, school: School, columns: tuple[str, ...], records: list[tuple[int, list[str]]]
    ) -> _Known:
        vendors = {v.name.strip().casefold(): v for v in Vendor.objects.filter(school=school)}
        items: dict[str, list[ConfigurationItem]] = {}
        if "items" in columns:
            found = ConfigurationItem.objects.filter(school=school).only(
                "pk", "school_id", "name", "is_active"
            )
            for item in found.order_by("name", "id"):
                items.setdefault(item.name.strip().casefold(), []).append(item)
        return cls(school, today_in(school), vendors, items, _patches(school, columns, records))

    def vendor_problem(self, name: str) -> str:
        """What is wrong with a new vendor's name, as `services.save_vendor` checks it."""
        key = name.casefold()
        if key not in self.vendor_problems:
            try:
                services._clean(Vendor(school=self.school, name=name), exclude=["school"])
            except InvalidAction as error:
                self.vendor_problems[key] = " ".join(error.fields.values()) or error.message
            else:
                self.vendor_problems[key] = ""
        return self.vendor_problems[key]


def _patches(
    school: School, columns: tuple[str, ...], records: list[tuple[int, list[str]]]
) -> set[tuple[int, str]]:
    """The school's patches with a reference the file gives: (vendor id, reference)."""
    if "reference" not in columns:
        return set()
    at = columns.index("reference")
    references = sorted(
        {cells[at].strip().upper() for _, cells in records if len(cells) > at and cells[at].strip()}
    )
    found: set[tuple[int, str]] = set()
    for start in range(0, len(references), LOOKUP_BATCH):
        rows = (
            Patch.objects.filter(school=school)
            .annotate(ref=Upper("reference"))
            .filter(ref__in=references[start : start + LOOKUP_BATCH])
            .order_by()
            .values_list("vendor_id", "ref")
        )
        found.update((vendor_id, ref) for vendor_id, ref in rows)
    return found


# --- A row. ---


def _row(known: _Known, columns: tuple[str, ...], number: int, cells: list[str]) -> Row:
    # A row may have fewer cells than there are columns (the rest are empty), or more.
    pairs = zip(columns, cells, strict=False)
    values = {name: cell.strip().replace("\r\n", "\n") for name, cell in pairs}
    row = Row(number, {name: values.get(name, "") for name in COLUMNS})
    if len(cells) > len(columns) and any(cell.strip() for cell in cells[len(columns) :]):
        row.fail(
            "",
            gettext("This row has %(cells)s cells but there are %(columns)s columns.")
            % {"cells": len(cells), "columns": len(columns)},
        )
    text = row.cells
    row.vendor_name = text["vendor"]
    reference = text["reference"]
    if row.vendor_name:
        key = row.vendor_name.casefold()
        row.vendor = known.vendors.get(key)
        ref = reference.upper()
        there = row.vendor is not None and bool(ref) and (row.vendor.pk, ref) in known.patches
        if there and not row.errors:
            row.status = THERE  # skipped, whatever else the row says
            return row
        if row.vendor is None:
            known.new_vendors.setdefault(key, row.vendor_name)
            problem = known.vendor_problem(row.vendor_name)
            if problem:
                row.fail("vendor", problem)
        if ref:
            first = known.seen.setdefault((key, ref), number)
            if first != number:
                row.fail(
                    "reference",
                    gettext("Row %(row)s has the same vendor and reference.") % {"row": first},
                )
    else:
        row.fail("vendor", gettext("Give the vendor's name."))
    if not text["title"]:
        row.fail("title", gettext("Give the patch's title."))
    released = _date(row, text["release_date"])
    severity = _severity(row, text["severity"])
    row.items = _items(known, row, text["items"])
    row.data = {
        "product": text["product"],
        "title": text["title"],
        "reference": reference,
        "cves": text["cves"],
        "release_date": released,
        "severity": severity,
        "link": text["link"],
        "description": text["description"],
    }
    _check(known, row)
    row.errors.sort(key=lambda error: _ORDER.get(error.field, -1))  # the file's own order
    return row


_ORDER = {name: index for index, name in enumerate(COLUMNS)}


def _date(row: Row, text: str) -> date | None:
    if not text:
        row.fail("release_date", gettext("Give the date the vendor released it."))
        return None
    for form in DATE_FORMATS:
        try:
            return datetime.strptime(text, form).date()
        except ValueError:
            continue
    row.fail(
        "release_date",
        gettext("“%(text)s” is not a date: give it as YYYY-MM-DD or DD/MM/YYYY.")
        % {"text": text[:20]},
    )
    return None


def _severity(row: Row, text: str) -> str:
    if not text:
        return Severity.MEDIUM
    severity = SEVERITIES.get(text.lower())
    if severity is None:
        row.fail(
            "severity",
            gettext(
                "“%(text)s” is not a severity: give critical, high (or important), "
                "medium (or moderate) or low."
            )
            % {"text": text[:20]},
        )
        return Severity.MEDIUM
    return severity


def _items(known: _Known, row: Row, text: str) -> list[ConfigurationItem]:
    names: dict[str, str] = {}  # each once, however it is spelt
    for part in text.split(ITEM_SEPARATOR):
        if part.strip():
            names.setdefault(part.strip().casefold(), part.strip())
    chosen: list[ConfigurationItem] = []
    unknown, retired, several = [], [], []
    for key, name in names.items():
        found = known.items.get(key, [])
        active = [item for item in found if item.is_active]
        if len(active) == 1:
            chosen.append(active[0])
        elif len(active) > 1:
            several.append(name)
        elif found:
            retired.append(name)
        else:
            unknown.append(name)
    school = known.school.name
    if unknown:
        row.fail(
            "items",
            gettext("%(school)s has no item called %(names)s.")
            % {"school": school, "names": _listed(unknown)},
        )
    if retired:
        row.fail("items", gettext("Retired: %(names)s.") % {"names": _listed(retired)})
    if several:
        row.fail(
            "items",
            gettext("%(school)s has several items called %(names)s; rename them.")
            % {"school": school, "names": _listed(several)},
        )
    return chosen


def _listed(names: list[str]) -> str:
    return ", ".join(f"“{name[:60]}”" for name in names[:10]) + (
        gettext(" and %(more)s more") % {"more": len(names) - 10} if len(names) > 10 else ""
    )


def _check(known: _Known, row: Row) -> None:
    """The checks `services.create_patch` makes, each problem on the row (once per column)."""
    vendor = row.vendor or Vendor(school=known.school, name=row.vendor_name)
    data = {**row.data, "vendor": vendor}
    patch = Patch(school=known.school, **data)
    checks = (
        lambda: services._unknown(data, services.PATCH_FIELDS),
        lambda: services._check_patch(patch, known.today),
        lambda: services._check_items(known.school, row.items),
    )
    for check in checks:
        try:
            check()
        except InvalidAction as error:
            flagged = {e.field for e in row.errors}
            for name, message in (error.fields or {"": error.message}).items():
                column = "" if name == "__all__" else name
                if column not in flagged:
                    row.fail(column, message)


# --- Importing. ---


def apply(school: School, actor: User, text: str) -> int:
    """Check the file again, as the database is now, and add its new vendors and patches:
    all, or (any problem: `InvalidAction`) none. How many patches it added."""
    actor = permissions.with_roles(actor)
    if not services.may_manage(actor, school):
        raise NotPermitted(
            gettext(
                "Only a patch administrator or a school administrator of %(school)s may "
                "import patches."
            )
            % {"school": school.name}
        )
    with transaction.atomic():
        # Imports into one school take turns, so two cannot both add a patch or a vendor.
        # (Not FOR UPDATE: that would also hold up every row written meanwhile that points
        # at the school.)
        School.objects.select_for_update(no_key=True).filter(pk=school.pk).first()
        preview = parse(school, text)
        errors = preview.errors
        if errors:
            first = errors[0]
            where = gettext("Row %(row)s: ") % {"row": first.row} if first.row else ""
            raise InvalidAction(
                ngettext(
                    "The file has %(count)s problem; nothing was imported.",
                    "The file has %(count)s problems; nothing was imported.",
                    len(errors),
                )
                % {"count": len(errors)},
                {"file": f"{where}{first.message}"},
            )
        added = {
            name.casefold(): services.save_vendor(school, actor, {"name": name})
            for name in preview.new_vendors
        }
        rows = preview.to_create
        policy = PatchPolicy.of(school)
        for row in rows:
            vendor = row.vendor or added[row.vendor_name.casefold()]
            try:
                services.create_patch(
                    school, actor, {**row.data, "vendor": vendor}, items=row.items, policy=policy
                )
            except InvalidAction as error:
                raise InvalidAction(
                    gettext("Row %(row)s: %(problem)s")
                    % {"row": row.number, "problem": error.message},
                    error.fields,
                ) from error
    return len(rows)
