"""Importing a school's existing change log (CSV or XLSX): upload, map, check, confirm,
apply; the checking and the applying done by the worker, with progress the page shows.

1. *Upload* (`start`): the head of the file is read (`reading`), its header row found and
   each column's field guessed from its name, or from what the school mapped that name to
   last time (`ColumnMapping`). The upload is kept as a `ChangeImport` (`uploaded`) with its
   first rows, so the columns can be chosen at once however long the file is.
2. *Check* (`check` queues it, the worker's `check_job` does it): with the mapping the
   person who uploaded it chose, every row is read and checked (dates, states, outcomes,
   people, the window, references already imported); nothing is written but the preview:
   the row errors by row and field, and the first rows. The mapping is kept for the
   school's next file.
3. *Apply* (`apply` confirms it, the worker's `apply_job` does it): in one transaction, with
   the school locked (as raising an RFC locks it, so the references do not collide), every
   row is checked again and the RFCs written, each with one `imported` event opening its
   history (sealed into the hash chain as any event is), or nothing is written at all.

A small file (`INLINE_MAX_BYTES`) is checked and applied at once, in the request, through
the same claim the worker makes (`lib.jobs.process_now`); a larger one waits for the worker,
whose claim, lease, fencing and progress reports are `lib.jobs`'s (`QUEUE`).

An imported RFC keeps the dates the file gives: when it was raised (its `created_at`), its
planned window, and the day it was closed (kept in the imported event's data, with the
file's own reference and the row it came from). Its history starts on the day of the import:
the event says who imported it and when, as the chain's times are when things were recorded.

The row errors and the refusal of a whole file are the item import's
(`configuration.importer`'s `RowError` and `ImportRefused`). A cell is read as a date by
`dates.parse_when`. A trust's change log (`trust_importer`) is read, checked and written by
these same steps (`read_head`, `data_rows`, the row checks, `write`), school by school.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from changedesk.accounts import permissions
from changedesk.accounts.models import School, User
from changedesk.changes.choices import EventKind, Outcome, State
from changedesk.changes.models import Change, ChangeEvent, field_value
from changedesk.configuration.importer import ImportRefused, RowError
from changedesk.lib import jobs as lib_jobs
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.spreadsheets import reading
from changedesk.spreadsheets.dates import parse_when
from changedesk.spreadsheets.models import (
    ChangeImport,
    ColumnMapping,
    ImportState,
    TrustChangeImport,
    TrustColumnMapping,
)

__all__ = ["ImportRefused", "RowError"]

MAX_BYTES = 10 * 1024 * 1024
# Checked and applied by the worker, a file's rows are bounded by the worker's memory (each
# row is held as cells, values, an RFC and its event until the transaction commits: about
# 10 KB) and by the length of that transaction, not by a request's time.
MAX_ROWS = 20_000
PREVIEW_ROWS = 200
KEPT_ERRORS = 500
# A file this small is checked and applied in the request; a larger one by the worker.
INLINE_MAX_BYTES = 64 * 1024
# How long a worker's claim on an import lasts unless its progress renews it.
LEASE_SECONDS = 600
# Rows between two reports of progress (each is sent at most every half second).
REPORT_EVERY = 250
# The oldest date an imported RFC may have, and how far ahead a window may be.
EARLIEST = date(1990, 1, 1)
HORIZON = timedelta(days=20 * 366)
BATCH = 500

# The imports as the worker takes them (lib.jobs): claimed, leased, fenced, reported on.
QUEUE = lib_jobs.upload_queue(
    ChangeImport,
    "Change log import",
    folder="change-imports",
    file_field="content",
    empty_file=b"",
    lease_seconds=LEASE_SECONDS,
)

# The fields a column may be mapped to: each one's label, and the header names (as `normal`
# writes them) that are taken to mean it.
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "reference": (
        "Reference (kept in the history)",
        ("reference", "ref", "rfc", "rfc number", "rfc no", "rfc ref", "change number",
         "change no", "change ref", "change id", "id", "number", "no"),
    ),
    "title": (
        "Title",
        ("title", "name", "change", "summary", "subject", "change title", "change name",
         "short description"),
    ),
    "description": (
        "Description",
        ("description", "brief description", "change description", "description of change"),
    ),
    "reason": (
        "Reason",
        ("reason", "reason for change", "reason for the change", "justification", "why",
         "business reason", "business justification"),
    ),
    "details": (
        "Full details",
        ("details", "full details", "full details of the change", "implementation plan",
         "plan", "steps"),
    ),
    "impact": (
        "Impact",
        ("impact", "impact on services", "impact on ict services and users", "service impact"),
    ),
    "risk": ("Risk", ("risk", "risks", "risk assessment", "risk level", "risk of failure")),
    "fallback_plan": (
        "Fallback plan",
        ("fallback plan", "fallback", "backout plan", "back out plan", "backout",
         "rollback plan", "roll back plan", "rollback", "remediation plan"),
    ),
    "type": ("Type (normal, emergency, standard)", ("type", "change type", "kind")),
    "emergency": ("Emergency (yes or no)", ("emergency", "emergency change", "urgent")),
    "emergency_justification": (
        "Why it was an emergency",
        ("emergency justification", "emergency reason", "why emergency"),
    ),
    "state": ("State", ("state", "status", "stage", "current status")),
    "outcome": ("Outcome", ("outcome", "result", "success", "was it successful")),
    "raised": (
        "Date raised",
        ("raised", "date raised", "raised on", "date", "date logged", "logged", "logged on",
         "created", "date created", "created on", "requested", "date requested",
         "request date", "submitted", "date submitted", "opened", "date opened"),
    ),
    "planned_start": (
        "Planned start",
        ("planned start", "start", "start date", "planned start date", "scheduled",
         "scheduled date", "scheduled start", "implementation date", "date of change",
         "change date", "planned date", "planned for", "window start", "start time"),
    ),
    "planned_end": (
        "Planned end",
        ("planned end", "end", "end date", "planned end date", "scheduled end", "finish",
         "window end", "end time"),
    ),
    "closed": (
        "Date closed",
        ("closed", "date closed", "closed on", "close date", "completed", "date completed",
         "completion date", "completed on"),
    ),
    "originator": (
        "Originator (raised by)",
        ("originator", "raised by", "requested by", "requester", "requestor", "submitted by",
         "logged by", "owner"),
    ),
    "initial_approver": ("Initial approver", ("initial approver", "first approver")),
    "peer_reviewer": ("Peer reviewer", ("peer reviewer", "reviewer", "reviewed by")),
    "final_approver": (
        "Final approver",
        ("final approver", "approver", "approved by", "authorised by", "authorized by"),
    ),
    "implementer": (
        "Implementer",
        ("implementer", "implemented by", "engineer", "assigned to", "technician",
         "carried out by"),
    ),
    "notes": ("Notes (kept in the history)", ("notes", "note", "comments", "comment", "remarks")),
}  # fmt: skip
FIELD_CHOICES = [(name, label) for name, (label, _) in FIELDS.items()]
PEOPLE = ("originator", "initial_approver", "peer_reviewer", "final_approver", "implementer")
TEXT_LIMITS = {"title": 200}
TEXT_FIELDS = (
    "description", "reason", "details", "impact", "risk", "fallback_plan",
    "emergency_justification",
)  # fmt: skip


def normal(name: str) -> str:
    """A header's name as it is compared: lower case, words only, "(dd/mm/yyyy)" dropped."""
    name = re.sub(r"\([^)]*\)", " ", name.lower())
    return " ".join(re.sub(r"[^\w]+", " ", name).split())


SYNONYMS: dict[str, str] = {
    **{normal(name): key for key, (_, names) in FIELDS.items() for name in names},
    **{normal(label): key for key, (label, _) in FIELDS.items()},
    **{normal(key.replace("_", " ")): key for key in FIELDS},
}


def known(name: str) -> str | None:
    """The field a header's name means, or None."""
    return SYNONYMS.get(normal(name)) if name else None


def guess_mapping(
    names: list[str],
    saved: dict[str, str],
    fields: Mapping[str, Any] = FIELDS,
    know: Callable[[str], str | None] = known,
) -> list[str]:
    """Each column's field: what the school mapped its name to last time, else what its name
    means; "" for a column left out. No field is taken twice (the first column keeps it).
    (The trust's import passes its own `fields` and `know`, with the school's column.)"""
    mapping: list[str] = []
    for name in names:
        key = normal(name)
        guess = saved.get(key, know(name) or "") if key else ""
        if guess not in fields or guess in mapping:
            guess = ""
        mapping.append(guess)
    return mapping


def saved_mapping(school: School) -> dict[str, str]:
    row = ColumnMapping.objects.filter(school=school).first()
    return dict(row.fields) if row is not None else {}


def may_import(user: Any, school: School) -> bool:
    """Importing a change log is the school administrator's (a superuser is one anywhere)."""
    return permissions.is_school_admin(user, school)


def _refuse_unless_admin(user: User, school: School) -> None:
    if not may_import(user, school):
        raise NotPermitted(f"Only a school administrator of {school.name} may import a change log.")


# --- Upload. ---


def too_big(size: int) -> str:
    return (
        f"The file is {size / 1048576:.1f} MB; the most that can be imported at once is "
        f"{MAX_BYTES // 1048576} MB ({MAX_ROWS:,} rows). Split it into smaller files."
    )


def start(school: School, user: User, data: bytes, file_name: str) -> ChangeImport:
    """Keep an uploaded file with its header, its first rows and the mapping guessed for it;
    refuses a file that cannot be read (`ImportRefused`). Reads only the head of the file
    (the header and the first PREVIEW_ROWS rows), so a long file answers at once; the rest
    is read when the worker checks it."""
    _refuse_unless_admin(user, school)
    header, first_rows, whole, samples = read_head(data, file_name, known)
    return ChangeImport.objects.create(
        school=school,
        created_by=user,
        file_name=file_name[:255],
        size=len(data),
        content=data,
        header_row=header.row + 1,
        columns=header.names,
        mapping=guess_mapping(header.names, saved_mapping(school)),
        # Counted now if the head is the whole file, else when the worker checks it.
        rows=len(first_rows) if whole else 0,
        preview=samples,
    )


def read_head(
    data: bytes, file_name: str, know: Callable[[str], str | None]
) -> tuple[reading.Header, list[tuple[int, list[Any]]], bool, list[dict[str, Any]]]:
    """The head of an uploaded file: its header (found by the names `know` recognises), its
    first data rows (numbered as a spreadsheet numbers them), whether that is the whole
    file, and those rows as the preview shows them before they are checked."""
    if len(data) > MAX_BYTES:
        raise ImportRefused(too_big(len(data)))
    head, whole = reading.read_head(
        data, file_name, MAX_ROWS, reading.HEADER_SEARCH_ROWS + PREVIEW_ROWS + 1
    )
    header = reading.find_header(head, know)
    found = [
        (number, cells)
        for number, cells in enumerate(head[header.row + 1 :], start=header.row + 2)
        if not reading.is_blank(cells)
    ]
    if not found and whole:
        raise ImportRefused("The file has a header row but no changes under it.")
    if len(found) > MAX_ROWS:
        raise ImportRefused(reading.too_many(MAX_ROWS))
    # At most `reading.MAX_COLUMNS`: the reading refuses a wider row.
    width = len(header.names)
    # The first rows as they are, for choosing the columns (checked, they show problems).
    samples = [
        {"number": number, "cells": _cells(cells, width), "problem": False}
        for number, cells in found[:PREVIEW_ROWS]
    ]
    return header, found, whole, samples


def _cells(cells: list[Any], width: int) -> list[str]:
    """A row's cells as text, one for each of the header's `width` columns."""
    padded = list(cells[:width]) + [None] * (width - len(cells))
    return [reading.cell_text(cell) for cell in padded]


# --- Reading and checking the rows. ---


@dataclass
class Row:
    """One data row: its number as a spreadsheet shows it, its cells, and what they mean."""

    number: int
    cells: list[str]
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    def error(self, name: str, message: str) -> None:
        self.errors.append(RowError(self.number, name, message))


# Told how far a step has got: (rows done, rows in all).
Progress = Callable[[int, int], None]


@dataclass
class Plan:
    school: School
    rows: list[Row]

    @property
    def errors(self) -> list[RowError]:
        return [error for row in self.rows for error in row.errors]


def _no_progress(done: int, total: int) -> None:
    pass


def read(
    job: ChangeImport,
    data: bytes,
    mapping: list[str],
    actor: User,
    progress: Progress = _no_progress,
) -> Plan:
    """Parse and check every row of `job`'s file with `mapping`; writes nothing. Told
    `progress` (rows done, rows in all) as it goes: reading the file is the first half of
    the work, checking its rows the second."""
    school = job.school
    numbered = data_rows(job, data, progress)
    total = len(numbered)
    rows: list[Row] = []
    for index, cells in numbered:
        rows.append(_parse(index, cells, mapping, school.zone))
        if len(rows) % REPORT_EVERY == 0:
            progress(total + len(rows), 2 * total)
    del numbered
    plan = Plan(school, rows)
    _check_people(plan, actor)
    _check_references(plan)
    progress(2 * total, 2 * total)
    return plan


def data_rows(
    job: ChangeImport | TrustChangeImport, data: bytes, progress: Progress
) -> list[tuple[int, Any]]:
    """Every data row of `job`'s file under its header, numbered as a spreadsheet numbers
    them (refusing a file with none, or too many); told `progress` as the file is read (the
    first half of a check's work)."""
    expected = job.rows

    def tick(read_so_far: int) -> None:
        # The rows are known once checked (or if the upload read them all); until then the
        # bar waits for the first count.
        if expected:
            progress(min(read_so_far, expected), 2 * expected)

    table = reading.read_table(data, job.file_name, MAX_ROWS, tick=tick)
    start_row = job.header_row  # the header's 1-based number is the first data row's index
    numbered = [
        (index, cells)
        for index, cells in enumerate(table[start_row:], start=start_row + 1)
        if not reading.is_blank(cells)
    ]
    del table
    if len(numbered) > MAX_ROWS:
        raise ImportRefused(reading.too_many(MAX_ROWS))
    if not numbered:
        raise ImportRefused("The file has a header row but no changes under it.")
    total = len(numbered)
    progress(total, 2 * total)
    return numbered


def _parse(number: int, cells: list[Any], mapping: list[str], zone: ZoneInfo) -> Row:
    padded = list(cells[: len(mapping)]) + [None] * (len(mapping) - len(cells))
    row = Row(number, _cells(cells, len(mapping)))
    raw = {name: cell for name, cell in zip(mapping, padded, strict=True) if name}
    for name in TEXT_FIELDS:
        row.values[name] = reading.cell_text(raw.get(name))
    title = reading.cell_text(raw.get("title"))
    if not title:
        row.error("title", "Every change needs a title.")
    elif len(title) > TEXT_LIMITS["title"]:
        row.error("title", f"At most 200 characters (this has {len(title)}).")
    row.values["title"] = title
    row.values["reference"] = reading.cell_text(raw.get("reference"))[:100]
    row.values["notes"] = reading.cell_text(raw.get("notes"))
    for name in PEOPLE:
        row.values[name] = reading.cell_text(raw.get(name))
    _parse_kind(row, raw)
    _parse_dates(row, raw, zone)
    _parse_state(row, raw)
    return row


def _parse_kind(row: Row, raw: dict[str, Any]) -> None:
    emergency = _yes_no(row, "emergency", raw.get("emergency"))
    kind = reading.cell_text(raw.get("type")).lower()
    standard = False
    if kind in ("emergency", "urgent", "e"):
        emergency = True
    elif kind in ("standard", "std", "s", "pre-approved", "preapproved"):
        standard = True
    elif kind not in ("", "normal", "n", "routine"):
        row.error("type", f"“{kind[:30]}” is not a type; use normal, emergency or standard.")
    if standard and emergency:
        row.error("type", "A change is standard or an emergency, not both.")
    row.values["is_emergency"] = emergency
    row.values["is_standard"] = standard


YES = {"yes", "y", "true", "1", "x", "✓", "✔", "emergency"}
NO = {"", "no", "n", "false", "0", "-", "normal"}


def _yes_no(row: Row, name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = reading.cell_text(value).lower()
    if text in YES:
        return True
    if text not in NO:
        row.error(name, f"“{text[:30]}” is not yes or no.")
    return False


STATES: dict[str, str] = {
    **{value: value for value in State.values},
    **{label.lower(): value for value, label in State.choices},
    **{value.replace("_", " "): value for value in State.values},
    "complete": State.CLOSED, "completed": State.CLOSED, "done": State.CLOSED,
    "finished": State.CLOSED, "resolved": State.CLOSED,
    "cancelled": State.WITHDRAWN, "canceled": State.WITHDRAWN, "abandoned": State.WITHDRAWN,
    "declined": State.REJECTED, "refused": State.REJECTED, "not approved": State.REJECTED,
    "new": State.DRAFT, "open": State.DRAFT, "logged": State.DRAFT, "raised": State.DRAFT,
    "pending approval": State.AWAITING_INITIAL_APPROVAL,
    "awaiting approval": State.AWAITING_INITIAL_APPROVAL,
    "scheduled": State.APPROVED, "in progress": State.APPROVED,
}  # fmt: skip
OUTCOMES: dict[str, str] = {
    **{value: value for value in Outcome.values},
    **{label.lower(): value for value, label in Outcome.choices},
    **{value.replace("_", " "): value for value in Outcome.values},
    "success": Outcome.SUCCEEDED, "successful": Outcome.SUCCEEDED, "ok": Outcome.SUCCEEDED,
    "yes": Outcome.SUCCEEDED, "worked": Outcome.SUCCEEDED,
    "failed": Outcome.FAILED_BACKED_OUT, "failure": Outcome.FAILED_BACKED_OUT,
    "backed out": Outcome.FAILED_BACKED_OUT, "rolled back": Outcome.FAILED_BACKED_OUT,
    "no": Outcome.FAILED_BACKED_OUT,
    "partial": Outcome.PARTIALLY_SUCCEEDED, "partly": Outcome.PARTIALLY_SUCCEEDED,
    "partially": Outcome.PARTIALLY_SUCCEEDED, "partial success": Outcome.PARTIALLY_SUCCEEDED,
}  # fmt: skip
TERMINAL = (State.CLOSED, State.REJECTED, State.WITHDRAWN)
# Where a standard change may be imported: the workflow carries a standard change on only
# from its template (`raise_standard`), so one in any other state could never move again.
STANDARD_STATES = (State.IMPLEMENTED, *TERMINAL)


def _parse_state(row: Row, raw: dict[str, Any]) -> None:
    text = " ".join(reading.cell_text(raw.get("state")).lower().replace("_", " ").split())
    outcome_text = " ".join(reading.cell_text(raw.get("outcome")).lower().split())
    outcome = OUTCOMES.get(outcome_text, "") if outcome_text else ""
    if outcome_text and not outcome:
        row.error(
            "outcome",
            f"“{outcome_text[:30]}” is not an outcome; use succeeded, partially succeeded or "
            "failed (backed out).",
        )
    if text:
        state = STATES.get(text, "")
        if not state:
            row.error("state", f"“{text[:30]}” is not a state; use one of: {_states()}.")
    else:
        # Left empty: a change with a closing date or an outcome is over, else a draft.
        state = State.CLOSED if row.values.get("closed") or outcome else State.DRAFT
    if outcome and state and state not in (State.IMPLEMENTED, State.CLOSED):
        row.error("outcome", "An outcome is kept only for a change implemented or closed.")
    if row.values.get("closed") and state and state not in TERMINAL:
        row.error("closed", "Only a closed, rejected or withdrawn change has a closing date.")
    if row.values.get("is_standard") and state and state not in STANDARD_STATES:
        row.error(
            "type",
            "A standard change is imported only once it is over (implemented, closed, rejected "
            "or withdrawn); import this one as a normal change, or raise it from its template.",
        )
    row.values["state"] = state
    row.values["outcome"] = outcome


def _states() -> str:
    return ", ".join(label.lower() for _, label in State.choices)


def _parse_dates(row: Row, raw: dict[str, Any], zone: ZoneInfo) -> None:
    now = timezone.now()
    parsed: dict[str, tuple[datetime, bool] | None] = {}
    for name in ("raised", "planned_start", "planned_end", "closed"):
        value = raw.get(name)
        when = parse_when(value, zone) if value not in (None, "") else None
        if value not in (None, "") and when is None:
            row.error(
                name,
                f"“{reading.cell_text(value)[:30]}” is not a date; write it as dd/mm/yyyy "
                "(with hh:mm if you like) or use a date cell.",
            )
        elif when is not None and (when[0].date() < EARLIEST or abs(when[0] - now) > HORIZON):
            row.error(name, f"Choose a date from {EARLIEST.year} to 20 years from today.")
            when = None
        parsed[name] = when
    raised, start, end, closed = (parsed[n] for n in ("raised", "planned_start", "planned_end",
                                                      "closed"))  # fmt: skip
    today = timezone.localdate(now, zone)
    for name, when in (("raised", raised), ("closed", closed)):
        # Compared as days at the school: today is fine, tomorrow has not happened yet.
        if when is not None and when[0].astimezone(zone).date() > today:
            row.error(name, "This is in the future; an imported change has already happened.")
    if end is not None and end[1]:
        # A day alone ends the window at the end of that day.
        end = (end[0] + timedelta(days=1), True)
    if start is not None and end is not None and end[0] <= start[0]:
        row.error("planned_end", "The planned end must be after the planned start.")
    if raised is not None and closed is not None and closed[0].date() < raised[0].date():
        row.error("closed", "The change was closed before it was raised.")
    row.values["raised"] = raised[0] if raised else None
    row.values["planned_start"] = start[0] if start else None
    row.values["planned_end"] = end[0] if end else None
    if closed is None:
        row.values["closed"] = ""
    else:
        row.values["closed"] = closed[0].date().isoformat() if closed[1] else closed[0].isoformat()


def _people_of(school: School) -> dict[str, list[User]]:
    """The school's members (one query) by username, e-mail address and full name."""
    found: dict[str, list[User]] = {}
    members = User.objects.filter(memberships__school=school, is_active=True).order_by("pk")
    for user in members:
        keys = {user.username.lower(), user.email.lower(), user.get_full_name().lower()}
        for key in keys - {""}:
            found.setdefault(key, []).append(user)
    return found


def _check_people(plan: Plan, actor: User) -> None:
    people = _people_of(plan.school)
    for row in plan.rows:
        for name in PEOPLE:
            text = row.values.pop(name)
            if not text:
                row.values[name] = actor if name == "originator" else None
                continue
            matches = people.get(" ".join(text.lower().split()), [])
            if len(matches) == 1:
                row.values[name] = matches[0]
                continue
            row.values[name] = None
            if matches:
                row.error(name, f"{len(matches)} members are called “{text[:40]}”; "
                                "give the username.")  # fmt: skip
            else:
                row.error(
                    name,
                    f"No member of {plan.school.name} is “{text[:40]}” (a username, e-mail "
                    "address or full name); add them to the school, or leave the cell empty.",
                )


def imported_references(school: School) -> set[str]:
    """The file references of the school's RFCs imported before (one query)."""
    values = ChangeEvent.objects.filter(kind=EventKind.IMPORTED, change__school=school).values_list(
        "data__reference", flat=True
    )
    return {str(value).lower() for value in values if value}


def _check_references(plan: Plan) -> None:
    before = imported_references(plan.school)
    seen: dict[str, int] = {}
    for row in plan.rows:
        reference = row.values["reference"].lower()
        if not reference:
            continue
        if reference in before:
            row.error("reference", f"{row.values['reference']} was imported before.")
        elif reference in seen:
            row.error("reference", f"Row {seen[reference]} has the same reference.")
        else:
            seen[reference] = row.number


# --- The steps. ---


def bad_mapping(
    mapping: list[str], columns: int, fields: Mapping[str, tuple[str, Any]] = FIELDS
) -> dict[str, str]:
    if len(mapping) != columns:
        return {"mapping": f"Give a field (or nothing) for each of the {columns} columns."}
    unknown = [name for name in mapping if name and name not in fields]
    if unknown:
        return {"mapping": f"Unknown field: {unknown[0][:40]}."}
    taken = sorted({name for name in mapping if name and mapping.count(name) > 1})
    if taken:
        return {"mapping": f"More than one column is mapped to {fields[taken[0]][0].lower()}."}
    if "title" not in mapping:
        return {"mapping": "Choose the column that holds each change's title."}
    return {}


def _refuse_unless_uploader(job: ChangeImport, user: User) -> None:
    _refuse_unless_admin(user, job.school)
    # The RFCs' originator (where the file names none) and their history's actor.
    if job.created_by_id != user.pk:
        raise NotPermitted("Only the person who uploaded the file may import it.")


def check(job: ChangeImport, user: User, mapping: list[str]) -> ChangeImport:
    """Have every row of `job` (found among the imports `user` sees) checked with `mapping`
    by the worker (a small file at once), and keep the mapping for the school's next file.
    Refuses a bad mapping (400), a job that is over or being worked on (400), anyone but
    the school's administrator who uploaded it (403)."""
    _refuse_unless_uploader(job, user)
    queue_check(QUEUE, job, mapping, bad_mapping(mapping, len(job.columns)), remember, user)
    return _worked_on(job)


def queue_check(
    queue: lib_jobs.Queue[Any],
    job: Any,
    mapping: list[str],
    errors: dict[str, str],
    keep: Callable[[Any, User], None],
    user: User,
) -> None:
    """Hand an open import (a school's or a trust's) to the worker to check with `mapping`,
    and `keep` the mapping for the next file; refuses one over or being worked on, or a
    mapping with `errors` (400)."""
    if job.state not in (ImportState.UPLOADED, ImportState.PREVIEWED):
        raise InvalidAction(_not_now(job))
    if errors:
        raise InvalidAction("Choose the columns again.", errors)
    with transaction.atomic():
        # Only while the import is still open: an `apply` that finished (or failed)
        # meanwhile must not be turned back into an import to check.
        handed = lib_jobs.hand_over(
            queue,
            job.pk,
            ImportState.QUEUED,
            "Waiting for the worker to check it",
            only_from=(ImportState.UPLOADED, ImportState.PREVIEWED),
            mapping=mapping,
            # The last check's problems were of the last mapping.
            error_count=0,
            errors=[],
        )
        if not handed:
            raise InvalidAction("This import is over; upload the file again.")
        job.mapping = mapping
        keep(job, user)


def _not_now(job: lib_jobs.Upload) -> str:
    if job.running:
        return "The worker is working on this file; wait for it."
    return "This import is over; upload the file again."


def _worked_on(job: ChangeImport) -> ChangeImport:
    """`job` as it is now: worked on at once if its file is small, else left to the worker."""
    if job.size <= INLINE_MAX_BYTES:
        process_now(job.pk)
    fresh = ChangeImport.objects.light().get(pk=job.pk)
    fresh.school = job.school
    return fresh


def remember(job: ChangeImport, user: User) -> None:
    """Keep the school's mapping: each mapped header's name and its field."""
    keep_columns(ColumnMapping.objects.get_or_create(school_id=job.school_id)[0], job, user)


def keep_columns(
    row: ColumnMapping | TrustColumnMapping, job: ChangeImport | TrustChangeImport, user: User
) -> None:
    """Write into a remembered mapping (a school's or a trust's) each of `job`'s mapped
    headers' names and its field."""
    fields = dict(row.fields)
    for name, chosen in zip(job.columns, job.mapping, strict=True):
        if normal(name):
            fields[normal(name)] = chosen
    row.fields = fields
    row.updated_by = user
    row.save()


def apply(job: ChangeImport, user: User) -> ChangeImport:
    """The person who uploaded a checked import (found among those `user` sees), still its
    school's administrator, confirms it: the worker writes every row as an RFC, all in one
    transaction, or none (a small file at once). Refuses an import not checked, with
    problems, or over (400), and anyone else (403)."""
    _refuse_unless_uploader(job, user)
    confirm(QUEUE, job)
    return _worked_on(job)


def confirm(queue: lib_jobs.Queue[Any], job: lib_jobs.Upload) -> None:
    """Hand a checked import (a school's or a trust's) to the worker to apply; refuses one
    not checked, with problems, or over (400)."""
    with transaction.atomic():
        locked = queue.light().select_for_update(of=("self",)).get(pk=job.pk)
        if locked.state != ImportState.PREVIEWED:
            raise InvalidAction(
                "Choose the columns and check the rows first."
                if locked.state == ImportState.UPLOADED
                else _not_now(locked)
            )
        if locked.error_count:
            raise InvalidAction(
                f"{locked.error_count} problem{'s' if locked.error_count != 1 else ''} in the "
                "file; correct them (or the columns) and check again. Nothing was imported."
            )
        lib_jobs.hand_over(
            queue,
            job.pk,
            ImportState.APPLYING,
            "Waiting for the worker to import it",
            # Read and check again, then save: a third of the work each.
            total=3 * locked.rows,
            confirmed_at=timezone.now(),
        )


# --- The worker's steps (see `jobs`). ---


def live_progress(job: ChangeImport) -> ChangeImport:
    """`job` with the progress its worker reported from inside the transaction that applies
    it (see `lib.jobs.live_progress`)."""
    return lib_jobs.live_progress(QUEUE, job)


def process(job: ChangeImport) -> None:
    """Run the step a claimed import is in; an unexpected error fails it, never half-done."""
    lib_jobs.work(QUEUE, job, {ImportState.CHECKING: check_job, ImportState.APPLYING: apply_job})


def process_now(job_id: int) -> None:
    """Check or apply one import at once, in the request (a small file): the same steps the
    worker takes, claimed the same way."""
    lib_jobs.process_now(QUEUE, job_id, process)


def _uploader(job: ChangeImport) -> tuple[School, User | None]:
    """The import's school, and the person who uploaded it if they may still import."""
    school = School.objects.get(pk=job.school_id)
    job.school = school
    uploader = job.created_by_id
    actor = User.objects.filter(pk=uploader, is_active=True).first() if uploader else None
    if actor is None or not may_import(permissions.with_roles(actor), school):
        return school, None
    return school, actor


def _no_longer(school: School) -> str:
    return f"The person who uploaded it is no longer an administrator of {school.name}."


def _content(job: ChangeImport) -> bytes:
    return bytes(ChangeImport.objects.values_list("content", flat=True).get(pk=job.pk))


def _kept(errors: list[RowError]) -> list[list[Any]]:
    return [[e.row, e.field, e.message] for e in errors[:KEPT_ERRORS]]


def check_job(job: ChangeImport) -> None:
    """The worker's first step (the job claimed, `checking`): read and check every row and
    keep the preview; or say why the file cannot be imported."""
    school, actor = _uploader(job)
    if actor is None:
        fail(job, _no_longer(school))
        return
    progress = lib_jobs.JobProgress(QUEUE, job, "Checking the rows")

    def step() -> dict[str, Any]:
        plan = read(job, _content(job), list(job.mapping), actor, progress)
        return checked(plan.rows, plan.errors)

    lib_jobs.check_and_preview(QUEUE, job, progress, step)


def checked(rows: list[Row], errors: list[RowError]) -> dict[str, Any]:
    """What a check of `rows` (a school's file or a trust's) keeps: the counts, the first
    problems and the preview."""
    return {
        "rows": len(rows),
        "error_count": len(errors),
        "errors": _kept(errors),
        "preview": [
            {"number": row.number, "cells": row.cells, "problem": bool(row.errors)}
            for row in rows[:PREVIEW_ROWS]
        ],
        "progress_done": 2 * len(rows),
        "progress_total": 2 * len(rows),
    }


def apply_job(job: ChangeImport) -> None:
    """The worker's second step (confirmed, the job claimed): check every row again as the
    database is now and write them all as RFCs, in one transaction, or none.

    A row with a problem now (a person who left, a reference imported meanwhile) fails the
    import, with the errors kept and nothing written."""
    school, actor = _uploader(job)
    if actor is None:
        fail(job, _no_longer(school))
        return
    total = job.progress_total or 3 * job.rows
    checking = lib_jobs.JobProgress(QUEUE, job, "Checking the rows again", total=total)
    saving = lib_jobs.JobProgress(QUEUE, job, "Saving the RFCs", total=total)

    def step() -> dict[str, Any]:
        # Locking the school serialises numbering, as raising an RFC does.
        School.objects.select_for_update().filter(pk=school.pk).first()
        plan = read(job, _content(job), list(job.mapping), actor, checking)
        if plan.errors:
            raise lib_jobs.Refused(
                "Some rows cannot be imported now (the school's members or RFCs changed since "
                "the file was checked); nothing was imported. Correct the file and upload it "
                "again.",
                error_count=len(plan.errors),
                errors=_kept(plan.errors),
            )
        saving.offset = 2 * len(plan.rows)
        first, last = write(plan, job, actor, saving)
        return {
            "rows": len(plan.rows),
            "created_count": len(plan.rows),
            "first_number": first,
            "last_number": last,
            "progress_done": total,
            "progress_total": total,
        }

    try:
        lib_jobs.apply_all_or_nothing(QUEUE, job, step)
    finally:
        checking.close()
        saving.close()


def fail(job: ChangeImport, reason: str, **values: Any) -> None:
    """End the import with `reason`; nothing it would have written is kept."""
    lib_jobs.fail(QUEUE, job, reason, **values)


MODEL_FIELDS = (
    "title", "description", "reason", "details", "impact", "risk", "fallback_plan",
    "emergency_justification", "is_emergency", "is_standard", "planned_start", "planned_end",
    "state", "outcome", *PEOPLE,
)  # fmt: skip
RECORDED = tuple(name for name in MODEL_FIELDS if name != "state")


def write(
    plan: Plan,
    job: lib_jobs.Upload,
    actor: User,
    progress: Progress = _no_progress,
    key: str = "import",
) -> tuple[int, int]:
    """Make the RFCs and their `imported` events, BATCH rows at a time, telling `progress`
    after each batch (the caller holds the school's lock and the transaction); returns the
    first and last reference numbers given. The events name the import by `key` ("import",
    or the trust's "trust_import") and its id."""
    school = plan.school
    last = Change.objects.filter(school=school).aggregate(n=Max("number"))["n"] or 0
    now = timezone.now()
    total = len(plan.rows)
    progress(0, total)
    for start in range(0, total, BATCH):
        rows = plan.rows[start : start + BATCH]
        changes = [
            Change(
                school=school,
                number=last + start + offset,
                **{name: row.values[name] for name in MODEL_FIELDS},
            )
            for offset, row in enumerate(rows, start=1)
        ]
        Change.objects.bulk_create(changes)
        # Kept as the file gives it (auto_now_add set it to now): when the change was raised.
        for change, row in zip(changes, rows, strict=True):
            change.created_at = row.values["raised"] or now
        _set_raised(changes)
        pairs = zip(changes, rows, strict=True)
        ChangeEvent.objects.bulk_create([_event(c, row, job, actor, now, key) for c, row in pairs])
        progress(start + len(rows), total)
    return last + 1, last + total


def _set_raised(changes: list[Change]) -> None:
    """Set the RFCs' `created_at` as they hold it. Not `bulk_update`: it builds a CASE
    expression per row in Python (a third of an import's time); this is one statement,
    prepared once and run for each RFC (`executemany`)."""
    created = Change._meta.get_field("created_at")
    assert isinstance(created, models.Field)
    quote = connection.ops.quote_name
    sql = (
        f"UPDATE {quote(Change._meta.db_table)} SET {quote(created.attname)} = %s "  # noqa: S608
        f"WHERE {quote('id')} = %s"
    )
    params = [(created.get_db_prep_save(c.created_at, connection), c.pk) for c in changes]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _event(
    change: Change, row: Row, job: lib_jobs.Upload, actor: User, now: datetime, key: str
) -> ChangeEvent:
    """The event opening an imported RFC's history: the first link of its chain, made and
    sealed as `history.record_event` makes one (sequence 1, no previous hash)."""
    diffs = [
        {"field": name, "before": None, "after": field_value(change, name)}
        for name in ("originator", *RECORDED)
        if field_value(change, name) not in (None, "", False)
    ]
    data = {
        key: job.pk,
        "file": job.file_name,
        "row": row.number,
        "reference": row.values["reference"],
        "raised": change.created_at.isoformat(),
        "closed": row.values["closed"],
    }
    event = ChangeEvent(
        change=change,
        sequence=1,
        kind=EventKind.IMPORTED,
        actor=actor,
        from_state="",
        to_state=change.state,
        comment=row.values["notes"],
        diffs=diffs,
        data={key: value for key, value in data.items() if value not in ("", None)},
        previous_hash="",
        created_at=now,
    )
    event.hash = event.compute_hash()
    return event


def recent(school: School) -> Iterable[ChangeImport]:
    return ChangeImport.objects.light().filter(school=school).select_related("created_by")[:10]
