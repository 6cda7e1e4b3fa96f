"""The change log as an Excel workbook (XLSX): the CSV export's columns, typed cells.

The columns are the CSV export's (`changes.views.CSV_COLUMNS`, and the apps' columns), so
a column added there is here too; a column whose values are dates, numbers or yes/no is
written as such (`TYPED`), the rest as the CSV writes them, as text. Times are the school's
local time (a spreadsheet's dates have no time zone), so a row is read as the school reads
it. The workbook is written in openpyxl's write-only mode, the RFCs read in chunks, so the
memory used stays flat however long the log: the rows go to a temporary file, which is then
sent.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.http import QueryDict

from changedesk.accounts.models import School, User
from changedesk.changes import extensions, queries
from changedesk.changes.filters import ChangeFilterSet
from changedesk.changes.models import Change
from changedesk.changes.views import CSV_COLUMNS, EXPORT_CHUNK

DATE_TIME = "yyyy-mm-dd hh:mm"
# Characters an XLSX file cannot hold (openpyxl refuses them): control characters.
ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
WIDTHS = {"title": 40, "description": 50, "reference": 18, "school": 24}


def _local(zone: ZoneInfo) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        return value.astimezone(zone).replace(tzinfo=None) if value else None

    return convert


# Typed values by column name: the CSV column's sources in, a cell's value out (a `zone`
# argument: the row's school's time zone).
TYPED: dict[str, Callable[..., Any]] = {
    "emergency": lambda zone, emergency: bool(emergency),
    "planned_start": lambda zone, when: _local(zone)(when),
    "planned_end": lambda zone, when: _local(zone)(when),
    "created_at": lambda zone, when: _local(zone)(when),
}


def filtered(user: User, query: QueryDict) -> QuerySet[Change] | None:
    """The RFCs `user` sees, as the change log's filters in `query` choose them (a search
    exports every match); None when the filters are not valid."""
    base = Change.objects.visible_to(user)
    filterset = ChangeFilterSet(query, queryset=base, search_limit=None)
    if not filterset.is_valid():
        return None
    return filterset.qs


def text_cell(value: str) -> str:
    return ILLEGAL.sub("", value)


def write_changes(queryset: QuerySet[Change], zones: dict[int, ZoneInfo]) -> IO[bytes]:
    """The workbook of `queryset`'s RFCs, in a temporary file at its start."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    app_columns = extensions.columns()
    header = [name for name, _, _ in CSV_COLUMNS] + [column.name for column in app_columns]
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Change log")
    sheet.freeze_panes = "A2"
    for index, name in enumerate(header):
        width = WIDTHS.get(name, 16)
        sheet.column_dimensions[_letter(index)].width = width
    bold = Font(bold=True)

    def cell(value: Any) -> Any:
        if isinstance(value, str):
            made = WriteOnlyCell(sheet, value=text_cell(value))
            made.data_type = "s"  # never a formula, whatever it starts with
            return made
        made = WriteOnlyCell(sheet, value=value)
        if isinstance(value, datetime):
            made.number_format = DATE_TIME
        return made

    heading = []
    for name in header:
        made = WriteOnlyCell(sheet, value=name)
        made.font = bold
        heading.append(made)
    sheet.append(heading)
    for values, change in _rows(queryset, app_columns):
        zone = zones.get(values[1])
        cells: list[Any] = []
        at = 2
        for name, sources, write in CSV_COLUMNS:
            parts = values[at : at + len(sources)]
            at += len(sources)
            if name in TYPED and zone is not None:
                cells.append(cell(TYPED[name](zone, *parts)))
            else:
                cells.append(cell(write(*parts)))
        for column in app_columns:
            cells.append(cell(_plain(column.value(change))))
        sheet.append(cells)
    out = tempfile.TemporaryFile()  # noqa: SIM115  (handed to the response, which closes it)
    book.save(out)
    out.seek(0)
    return out


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    letter: str = get_column_letter(index + 1)
    return letter


def _rows(queryset: QuerySet[Change], app_columns: list[Any]) -> Iterator[tuple[Any, Any]]:
    """Each RFC's values (its id, its school's id, then the columns' sources), read in
    chunks, with the RFC itself where the apps' columns need it (loaded once a chunk)."""
    fields = ["pk", "school_id", *(f for _, sources, _ in CSV_COLUMNS for f in sources)]
    chunk: list[tuple[Any, ...]] = []

    def flush() -> Iterator[tuple[Any, Any]]:
        changes = (
            queries.with_people(Change.objects.all()).in_bulk([v[0] for v in chunk])
            if app_columns
            else {}
        )
        for values in chunk:
            yield values, changes.get(values[0])

    for values in queryset.values_list(*fields).iterator(chunk_size=EXPORT_CHUNK):
        chunk.append(values)
        if len(chunk) == EXPORT_CHUNK:
            yield from flush()
            chunk = []
    yield from flush()


def zones_of(user: User) -> dict[int, ZoneInfo]:
    """The time zones of the schools `user` sees, by id (one query at most)."""
    schools = School.objects.for_user(user).only("pk", "timezone")
    return {school.pk: school.zone for school in schools}
