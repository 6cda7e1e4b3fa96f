"""The patch list as CSV, for the API's export and the page's: the filtered patches read as
columns (`values_list`, one query streamed in chunks, never a Patch object each) and written
a chunk at a time, so memory stays flat however many rows there are.

    response = export.streaming_response(queryset)      # a view's answer
    for text in export.csv_rows(queryset): ...          # the CSV's text, a chunk at a time

Every cell is quoted, and one a spreadsheet would read as a formula starts with a quote mark
(as the change log's CSV does).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from changedesk.changes.models import format_reference
from changedesk.lib.cells import csv_cell
from changedesk.patches.models import Patch


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _on_time(deployed_on: date | None, due_on: date) -> str:
    if deployed_on is None:
        return ""
    return "yes" if deployed_on <= due_on else "no"


def _reference(number: int | None) -> str:
    return format_reference(number) if number is not None else ""


# The CSV's columns: a name, the values it is made of (read as columns of the row) and how
# they are written.
COLUMNS: tuple[tuple[str, tuple[str, ...], Callable[..., str]], ...] = (
    ("id", ("pk",), str),
    ("school", ("school__slug",), str),
    ("vendor", ("vendor__name",), str),
    ("product", ("product",), str),
    ("title", ("title",), str),
    ("reference", ("reference",), str),
    ("cves", ("cves",), str),
    ("release_date", ("release_date",), _day),
    ("severity", ("severity",), str),
    ("state", ("state",), str),
    ("due_on", ("due_on",), _day),
    ("deployed_on", ("deployed_on",), _day),
    ("on_time", ("deployed_on", "due_on"), _on_time),
    ("change", ("change__number",), _reference),
    ("link", ("link",), str),
)
HEADER = tuple(name for name, _, _ in COLUMNS)
# Rows read from the database at a time, and written out together.
EXPORT_CHUNK = 1000


def _cells(values: tuple[Any, ...]) -> list[str]:
    cells: list[str] = []
    at = 0
    for _, sources, show in COLUMNS:
        taken = values[at : at + len(sources)]
        at += len(sources)
        cells.append(csv_cell(show(*taken)))
    return cells


def _drained(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate(0)
    return text


def csv_rows(queryset: QuerySet[Patch]) -> Iterator[str]:
    """The CSV of `queryset` (filtered and ordered as the list is), header first, a chunk of
    `EXPORT_CHUNK` rows at a time."""
    fields = [source for _, sources, _ in COLUMNS for source in sources]
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(HEADER)
    yield _drained(out)
    rows = queryset.values_list(*fields).iterator(chunk_size=EXPORT_CHUNK)
    for written, values in enumerate(rows, start=1):
        writer.writerow(_cells(values))
        if written % EXPORT_CHUNK == 0:
            yield _drained(out)
    if out.tell():
        yield _drained(out)


def streaming_response(queryset: QuerySet[Patch], name: str = "patches") -> StreamingHttpResponse:
    """`queryset` as a CSV download, `<name>-<today>.csv`, written while it is read."""
    response = StreamingHttpResponse(csv_rows(queryset), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response
