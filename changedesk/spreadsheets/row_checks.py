"""Reading and checking the rows of a change log, for a school's import and a trust's:
the head of an upload (`read_head`: its header, its first rows), every data row under the
header (`data_rows`), each row parsed as an RFC's values with its problems (`parse`: dates,
states, outcomes, the kind of change), and the checks that need the school (`check_people`,
`check_references`). Nothing here writes.

The row errors and the refusal of a whole file are the item import's
(`configuration.importer`'s `RowError` and `ImportRefused`), their messages `wording`'s
(kept in English, shown in the reader's language). A cell is read as a date by
`dates.parse_when`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from changedesk.accounts.models import School, User
from changedesk.changes.choices import EventKind, Outcome, State
from changedesk.changes.models import ChangeEvent
from changedesk.configuration.importer import ImportRefused, RowError
from changedesk.spreadsheets import reading, wording
from changedesk.spreadsheets.dates import parse_when
from changedesk.spreadsheets.models import ChangeImport, ChangeLogImport
from changedesk.spreadsheets.wording import say

MAX_BYTES = 10 * 1024 * 1024
# Checked and applied by the worker, a file's rows are bounded by the worker's memory (each
# row is held as cells, values, an RFC and its event until the transaction commits: about
# 10 KB) and by the length of that transaction, not by a request's time.
MAX_ROWS = 20_000
PREVIEW_ROWS = 200
# Rows between two reports of progress (each is sent at most every half second).
REPORT_EVERY = 250
# The oldest date an imported RFC may have, and how far ahead a window may be.
EARLIEST = date(1990, 1, 1)
HORIZON = timedelta(days=20 * 366)
PEOPLE = ("originator", "initial_approver", "peer_reviewer", "final_approver", "implementer")
TEXT_LIMITS = {"title": 200}
TEXT_FIELDS = (
    "description", "reason", "details", "impact", "risk", "fallback_plan",
    "emergency_justification",
)  # fmt: skip


def too_big(size: int) -> str:
    return say(
        wording.TOO_BIG,
        size=f"{size / 1048576:.1f}",
        most=MAX_BYTES // 1048576,
        rows=f"{MAX_ROWS:,}",
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
        raise ImportRefused(wording.NO_CHANGES)
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


def no_progress(done: int, total: int) -> None:
    pass


def read(
    job: ChangeImport,
    data: bytes,
    mapping: list[str],
    actor: User,
    progress: Progress = no_progress,
) -> Plan:
    """Parse and check every row of `job`'s file with `mapping`; writes nothing. Told
    `progress` (rows done, rows in all) as it goes: reading the file is the first half of
    the work, checking its rows the second."""
    school = job.school
    numbered = data_rows(job, data, progress)
    total = len(numbered)
    rows: list[Row] = []
    for index, cells in numbered:
        rows.append(parse(index, cells, mapping, school.zone))
        if len(rows) % REPORT_EVERY == 0:
            progress(total + len(rows), 2 * total)
    del numbered
    plan = Plan(school, rows)
    check_people(plan, actor)
    check_references(plan)
    progress(2 * total, 2 * total)
    return plan


def data_rows(job: ChangeLogImport, data: bytes, progress: Progress) -> list[tuple[int, Any]]:
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
        raise ImportRefused(wording.NO_CHANGES)
    total = len(numbered)
    progress(total, 2 * total)
    return numbered


def parse(number: int, cells: list[Any], mapping: list[str], zone: ZoneInfo) -> Row:
    padded = list(cells[: len(mapping)]) + [None] * (len(mapping) - len(cells))
    row = Row(number, _cells(cells, len(mapping)))
    raw = {name: cell for name, cell in zip(mapping, padded, strict=True) if name}
    for name in TEXT_FIELDS:
        row.values[name] = reading.cell_text(raw.get(name))
    title = reading.cell_text(raw.get("title"))
    if not title:
        row.error("title", wording.TITLE_NEEDED)
    elif len(title) > TEXT_LIMITS["title"]:
        row.error("title", say(wording.TOO_LONG, most=TEXT_LIMITS["title"], count=len(title)))
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
        row.error("type", say(wording.NOT_A_TYPE, text=kind[:30]))
    if standard and emergency:
        row.error("type", wording.STANDARD_AND_EMERGENCY)
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
        row.error(name, say(wording.NOT_YES_OR_NO, text=text[:30]))
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
        row.error("outcome", say(wording.NOT_AN_OUTCOME, text=outcome_text[:30]))
    if text:
        state = STATES.get(text, "")
        if not state:
            row.error("state", say(wording.NOT_A_STATE, text=text[:30], states=_states()))
    else:
        # Left empty: a change with a closing date or an outcome is over, else a draft.
        state = State.CLOSED if row.values.get("closed") or outcome else State.DRAFT
    if outcome and state and state not in (State.IMPLEMENTED, State.CLOSED):
        row.error("outcome", wording.OUTCOME_NOT_KEPT)
    if row.values.get("closed") and state and state not in TERMINAL:
        row.error("closed", wording.CLOSED_ONLY)
    if row.values.get("is_standard") and state and state not in STANDARD_STATES:
        row.error("type", wording.STANDARD_NOT_OVER)
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
            row.error(name, say(wording.NOT_A_DATE, text=reading.cell_text(value)[:30]))
        elif when is not None and (when[0].date() < EARLIEST or abs(when[0] - now) > HORIZON):
            row.error(name, say(wording.DATE_OUT_OF_RANGE, year=EARLIEST.year))
            when = None
        parsed[name] = when
    raised, start, end, closed = (parsed[n] for n in ("raised", "planned_start", "planned_end",
                                                      "closed"))  # fmt: skip
    today = timezone.localdate(now, zone)
    for name, when in (("raised", raised), ("closed", closed)):
        # Compared as days at the school: today is fine, tomorrow has not happened yet.
        if when is not None and when[0].astimezone(zone).date() > today:
            row.error(name, wording.IN_THE_FUTURE)
    if end is not None and end[1]:
        # A day alone ends the window at the end of that day.
        end = (end[0] + timedelta(days=1), True)
    if start is not None and end is not None and end[0] <= start[0]:
        row.error("planned_end", wording.END_BEFORE_START)
    if raised is not None and closed is not None and closed[0].date() < raised[0].date():
        row.error("closed", wording.CLOSED_BEFORE_RAISED)
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


def check_people(plan: Plan, actor: User) -> None:
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
                row.error(name, say(wording.MEMBERS_SHARE_NAME, count=len(matches), name=text[:40]))
            else:
                row.error(
                    name, say(wording.NO_SUCH_MEMBER, school=plan.school.name, name=text[:40])
                )


def imported_references(school: School) -> set[str]:
    """The file references of the school's RFCs imported before (one query)."""
    values = ChangeEvent.objects.filter(kind=EventKind.IMPORTED, change__school=school).values_list(
        "data__reference", flat=True
    )
    return {str(value).lower() for value in values if value}


def check_references(plan: Plan) -> None:
    before = imported_references(plan.school)
    seen: dict[str, int] = {}
    for row in plan.rows:
        reference = row.values["reference"].lower()
        if not reference:
            continue
        if reference in before:
            row.error("reference", say(wording.IMPORTED_BEFORE, reference=row.values["reference"]))
        elif reference in seen:
            row.error("reference", say(wording.SAME_REFERENCE, row=seen[reference]))
        else:
            seen[reference] = row.number
