"""Importing a school's configuration items from a CSV file: upload, check, preview, apply.

An upload is kept as an `ItemImport` and worked on by the worker (`jobs`), in two steps,
each with progress the page shows:

1. *Check* (`check_job`): every row is read and checked against the school's items and
   members, loaded once each; nothing is written but the preview (the counts of items to
   add, to update and unchanged, the row errors by row and column, the first rows).
2. *Apply* (`apply_job`), once the person who uploaded it confirms (`confirm`): in one
   transaction, with the school's imports taking turns, every row is checked again against
   the database as it is then, and written in batches (`bulk_create`, `bulk_update`), or
   none is. A problem found then is shown as the preview's were, and nothing is kept.

A row updates the item with the same identifier when it gives one, else the item with the
same name, else it adds a new item. A column left out of the file leaves that field of an
existing item alone; a column present but empty clears it. An identifier is never cleared
by an import.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from changedesk.accounts.models import School, User
from changedesk.accounts.permissions import with_roles
from changedesk.configuration.models import (
    ConfigurationItem,
    ImportState,
    ItemImport,
    ItemKind,
)
from changedesk.configuration.services import (
    MAX_USERS,
    TEXT_LIMITS,
    may_import,
    school_members,
)
from changedesk.lib import jobs as lib_jobs
from changedesk.lib.errors import InvalidAction, NotPermitted

COLUMNS = ("name", "kind", "identifier", "location", "owner", "users_affected", "notes")
REQUIRED_COLUMNS = ("name",)
MAX_BYTES = 32 * 1024 * 1024
MAX_ROWS = 100_000
# Spreadsheets save a byte-order mark; it is not part of the first column's name.
BOM = "\ufeff"
# What the preview keeps: the first rows of the file, and the first row errors.
PREVIEW_ROWS = 500
KEPT_ERRORS = 1000
# Rows written per statement, and rows between two reports of progress.
BATCH = 1000
REPORT_EVERY = 2000
# How long a worker's claim on an import lasts unless its progress renews it; an import of
# MAX_ROWS takes well under a minute.
LEASE_SECONDS = 600

# The imports as the worker takes them (lib.jobs): claimed, leased, fenced, reported on.
QUEUE = lib_jobs.upload_queue(
    ItemImport,
    "Item import",
    folder="imports",
    file_field="text",
    empty_file="",
    lease_seconds=LEASE_SECONDS,
)

# Told how far a step has got: (rows done, rows in all).
Progress = Callable[[int, int], None]


def _no_progress(done: int, total: int) -> None:
    pass


class ImportRefused(lib_jobs.Refused):
    """The file as a whole cannot be read: wrong encoding, no header row, too big."""


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    field: str
    message: str


class Existing(NamedTuple):
    """An item of the school as the import compares it: loaded once, as plain values."""

    pk: int
    name: str
    kind: str
    identifier: str
    location: str
    owner_id: int | None
    users_affected: int
    notes: str


EXISTING_FIELDS = Existing._fields


@dataclass(slots=True)
class Row:
    """One data row: its number as a spreadsheet shows it (the header is row 1)."""

    number: int
    values: dict[str, Any]
    # The cells as the file has them, one per column, for the preview.
    cells: list[str] = field(default_factory=list)
    action: str = "create"  # create | update | unchanged
    item: Existing | None = None
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
        raise ImportRefused(too_big(len(data)))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ImportRefused(
            gettext(
                "The file is not UTF-8 text (byte %(byte)s cannot be read). Save it "
                "from your spreadsheet as “CSV UTF-8” and try again."
            )
            % {"byte": error.start + 1}
        ) from None
    if "\x00" in text:
        raise ImportRefused(gettext("The file contains NUL characters: is it really a CSV file?"))
    return text.removeprefix(BOM)


def too_big(size: int) -> str:
    return gettext(
        "The file is %(size)s; the most that can be imported at once is "
        "%(most)s (%(rows)s rows). Split it into smaller files."
    ) % {"size": _size(size), "most": _size(MAX_BYTES), "rows": f"{MAX_ROWS:,}"}


def _size(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"


def header(text: str) -> tuple[str, ...]:
    """The columns the first row names; refuses a file without a usable first row. Reads
    only as far as that row, so the upload can answer at once."""
    try:
        for cells in csv.reader(io.StringIO(text, newline="")):
            if any(cell.strip() for cell in cells):
                return _columns(cells)
    except csv.Error as error:
        raise ImportRefused(
            gettext("The file cannot be read as CSV: %(error)s.") % {"error": error}
        ) from None
    raise ImportRefused(gettext("The file is empty. The first row must name the columns."))


def read(school: School, text: str, progress: Progress = _no_progress) -> ImportPlan:
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
    total = len(records) - start - 1
    progress(0, total)
    rows: list[Row] = []
    # Numbered as a spreadsheet numbers its rows, so a problem can be found in the file.
    for index, cells in enumerate(records[start + 1 :], start=start + 2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise ImportRefused(
                f"The file has more than {MAX_ROWS:,} rows; split it into smaller files."
            )
        rows.append(_parse_row(index, columns, cells))
        if len(rows) % REPORT_EVERY == 0:
            # Reading is about half the work of a check; matching is the other half.
            progress((index - start - 1) // 2, total)
    del records
    if not rows:
        raise ImportRefused("The file has a header row but no items under it.")
    plan = ImportPlan(school, columns, rows)
    _check(plan, lambda done, _: progress((total + done) // 2, total))
    progress(total, total)
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
            gettext("The first row must name the columns (%(known)s); it reads “%(reads)s”.")
            % {"known": known, "reads": ", ".join(header)[:120]}
        )
    if "" in names:
        raise ImportRefused(
            gettext("Column %(number)s of the first row has no name.")
            % {"number": names.index("") + 1}
        )
    unknown = [header[i].strip() for i, name in enumerate(names) if name not in COLUMNS]
    if unknown:
        raise ImportRefused(
            ngettext(
                "Unknown column: %(unknown)s. The columns are: %(columns)s.",
                "Unknown columns: %(unknown)s. The columns are: %(columns)s.",
                len(unknown),
            )
            % {"unknown": ", ".join(unknown)[:200], "columns": known}
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ImportRefused(
            gettext("The column %(names)s appears more than once.") % {"names": ", ".join(repeated)}
        )
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise ImportRefused(
            gettext("The column “%(name)s” is missing from the first row.") % {"name": missing[0]}
        )
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


def existing_items(school: School) -> list[Existing]:
    """The school's items as plain values, in one query."""
    rows = ConfigurationItem.objects.filter(school=school).order_by().values_list(*EXISTING_FIELDS)
    return [Existing(*row) for row in rows]


def _check(plan: ImportPlan, progress: Progress = _no_progress) -> None:
    """Match each row to an existing item and check what only the database can tell."""
    school = plan.school
    existing = existing_items(school)
    by_identifier = {item.identifier.lower(): item for item in existing if item.identifier}
    by_name: dict[str, list[Existing]] = {}
    for item in existing:
        by_name.setdefault(item.name.lower(), []).append(item)
    del existing
    usernames = {row.values.get("owner") for row in plan.rows} - {None, ""}
    members = {u.username: u for u in school_members(school).filter(username__in=usernames)}
    seen_identifiers: dict[str, int] = {}
    seen_names: dict[str, int] = {}
    for count, row in enumerate(plan.rows, start=1):
        if count % REPORT_EVERY == 0:
            progress(count, len(plan.rows))
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


def _differs(item: Existing, name: str, value: Any) -> bool:
    if name == "owner":
        return item.owner_id != (value.pk if value is not None else None)
    return bool(getattr(item, name) != value)


def write(plan: ImportPlan, progress: Progress = _no_progress) -> None:
    """Write the rows of a checked plan without errors: new items with `bulk_create`, and
    the changed ones with one prepared UPDATE run for a batch of rows at a time (see
    `_update`), each setting only the file's columns. Call it inside the transaction that
    checked the plan."""
    school = plan.school
    now = timezone.now()
    creates = [row for row in plan.rows if row.action == "create"]
    updates = [row for row in plan.rows if row.action == "update"]
    total = len(creates) + len(updates)
    done = 0
    progress(done, total)
    for batch in _batches(creates):
        ConfigurationItem.objects.bulk_create(
            [ConfigurationItem(school=school, **row.values) for row in batch]
        )
        done += len(batch)
        progress(done, total)
    names = [name for name in plan.columns if name in COLUMNS]
    for batch in _batches(updates):
        _update(school, batch, names, now)
        done += len(batch)
        progress(done, total)


def _update(school: School, rows: Sequence[Row], names: list[str], now: datetime) -> None:
    """Set the columns `names` (and `updated_at`) of the items the rows matched.

    Not `bulk_update`: it builds a CASE expression per field and row in Python (about 7 ms
    a row: 10,000 rows took 70 s); this is one statement, prepared once and run for each
    row of the batch (`executemany`), with each value made ready for the database by its
    model field as `save()` would.
    """
    meta = ConfigurationItem._meta
    fields: list[models.Field[Any, Any]] = []
    for name in [*names, "updated_at"]:
        found = meta.get_field(name)
        assert isinstance(found, models.Field)
        fields.append(found)
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column or f.attname)} = %s" for f in fields)
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {assignments} "  # noqa: S608 (names from the model)
        f"WHERE {quote('id')} = %s AND {quote('school_id')} = %s"
    )
    params = []
    for row in rows:
        item = row.item
        assert item is not None
        # A row matched by its name keeps the item's identifier.
        values = {"identifier": item.identifier, **row.values, "updated_at": now}
        owner = values.get("owner")
        values["owner"] = owner.pk if owner is not None else None
        prepared = [f.get_db_prep_save(values[f.name], connection) for f in fields]
        params.append([*prepared, item.pk, school.pk])
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _batches(rows: Sequence[Row]) -> Iterator[Sequence[Row]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


# --- The import as a job: uploaded, checked, confirmed, applied. ---


def start(school: School, actor: User, text: str, file_name: str = "") -> ItemImport:
    """Keep an uploaded file (already `decode`d) as an import for the worker to check.
    Refuses a file whose first row is not a header (`ImportRefused`), or an `actor` who may
    not import into `school` (`NotPermitted`)."""
    actor = with_roles(actor)
    if not may_import(actor, school):
        raise NotPermitted(
            gettext("Only a school administrator of %(school)s may import items.")
            % {"school": school.name}
        )
    columns = header(text)
    return ItemImport.objects.create(
        school=school,
        created_by=actor,
        file_name=file_name[:255],
        size=len(text.encode("utf-8")),
        text=text,
        columns=list(columns),
        phase="Waiting for the worker to check it",
    )


def confirm(job_id: int, actor: User) -> ItemImport:
    """The person who uploaded a checked file, still its school's administrator, asks for it
    to be imported: the worker applies it next."""
    actor = with_roles(actor)
    with transaction.atomic():
        job = (
            ItemImport.objects.light()
            .select_for_update(of=("self",))
            .select_related("school")
            .get(pk=job_id)
        )
        if not may_import(actor, job.school):
            raise NotPermitted(
                gettext("Only a school administrator of %(school)s may import items.")
                % {"school": job.school.name}
            )
        if job.created_by_id != actor.pk:
            raise NotPermitted(gettext("Only the person who uploaded the file may import it."))
        if job.state != ImportState.PREVIEWED:
            raise InvalidAction(
                gettext("This file cannot be imported now: it is %(state)s.")
                % {"state": job.get_state_display().lower()}
            )
        if job.error_count:
            raise InvalidAction(gettext("The file has problems; correct it and upload it again."))
        writes = job.created_count + job.updated_count
        lib_jobs.hand_over(
            QUEUE,
            job.pk,
            ImportState.APPLYING,
            "Waiting for the worker to import it",
            total=job.rows + writes,
            confirmed_at=timezone.now(),
        )
    job.refresh_from_db()
    return job


class JobProgress(lib_jobs.JobProgress):
    """Reports a step's progress on its import's row, renewing the worker's lease (see
    `lib.jobs.JobProgress`)."""

    def __init__(self, job: ItemImport, phase: str, offset: int = 0, total: int = 0) -> None:
        super().__init__(QUEUE, job, phase, offset, total)


def live_progress(job: ItemImport) -> ItemImport:
    """`job` with the progress its worker reported from inside the transaction that applies
    it, where that went to a file (SQLite) rather than the row."""
    return lib_jobs.live_progress(QUEUE, job)


def _school_of(job: ItemImport) -> School:
    return School.objects.get(pk=job.school_id)


def check_job(job: ItemImport) -> None:
    """The worker's first step (the job claimed, `checking`): read and check every row and
    keep the preview; or say why the file cannot be imported."""
    school = _school_of(job)
    progress = JobProgress(job, "Checking the rows")
    text = ItemImport.objects.values_list("text", flat=True).get(pk=job.pk)

    def step() -> dict[str, Any]:
        plan = read(school, text, progress)
        counts = plan.counts
        errors = plan.errors
        return {
            "rows": len(plan.rows),
            "columns": list(plan.columns),
            "created_count": counts["create"],
            "updated_count": counts["update"],
            "unchanged_count": counts["unchanged"],
            "error_count": len(errors),
            "errors": [[e.row, e.field, e.message] for e in errors[:KEPT_ERRORS]],
            "preview": [_preview(row) for row in plan.rows[:PREVIEW_ROWS]],
            "progress_done": len(plan.rows),
            "progress_total": len(plan.rows),
        }

    lib_jobs.check_and_preview(QUEUE, job, progress, step)


def _preview(row: Row) -> dict[str, Any]:
    item = row.item
    return {
        "number": row.number,
        "action": "problem" if row.errors else row.action,
        "cells": row.cells,
        "item": [item.pk, item.name] if item is not None and row.action == "update" else None,
    }


def apply_job(job: ItemImport) -> None:
    """The worker's second step (confirmed, the job claimed): check every row again as the
    database is now and write them all, in one transaction, or none."""
    school = _school_of(job)
    uploader = job.created_by_id
    actor = User.objects.filter(pk=uploader, is_active=True).first() if uploader else None
    if actor is None or not may_import(with_roles(actor), school):
        fail(job, f"The person who uploaded it is no longer an administrator of {school.name}.")
        return
    total = job.progress_total or 2 * job.rows
    checking = JobProgress(job, "Checking the rows again", total=total)
    writing = JobProgress(job, "Saving the items", total=total)

    def step() -> dict[str, Any]:
        # Imports into one school take turns, so two cannot both add one identifier.
        School.objects.select_for_update().filter(pk=school.pk).first()
        text = ItemImport.objects.values_list("text", flat=True).get(pk=job.pk)
        plan = read(school, text, checking)
        if plan.errors:
            raise lib_jobs.Refused(
                "The items or the school's members changed since the file was checked, and "
                "some rows cannot be imported now; nothing was imported. Correct the file and "
                "upload it again.",
                error_count=len(plan.errors),
                errors=[[e.row, e.field, e.message] for e in plan.errors[:KEPT_ERRORS]],
            )
        writing.offset = len(plan.rows)
        write(plan, writing)
        counts = plan.counts
        return {
            "rows": len(plan.rows),
            "created_count": counts["create"],
            "updated_count": counts["update"],
            "unchanged_count": counts["unchanged"],
            "progress_done": total,
            "progress_total": total,
        }

    try:
        lib_jobs.apply_all_or_nothing(QUEUE, job, step)
    except IntegrityError:
        # An item was saved from a page between the check and the write: nothing is kept.
        fail(
            job,
            "The items changed while the file was being imported, so nothing was imported. "
            "Upload it again.",
        )
    finally:
        checking.close()
        writing.close()


def fail(job: ItemImport, reason: str, **values: Any) -> None:
    """End the import with `reason`; nothing it would have written is kept."""
    lib_jobs.fail(QUEUE, job, reason, **values)
