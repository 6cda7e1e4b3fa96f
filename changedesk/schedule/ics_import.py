"""Importing term dates, holidays, INSET days and exams from an iCalendar (.ics) file.

Two steps, both built on `read_ics`: a preview of what would be created, updated or
deleted, then `import_ics`, which applies exactly that in one transaction. An event's
UID is kept as the period's `source_uid`, so importing the same file again (or next
term's version of it) updates the periods rather than duplicating them, and an event
marked CANCELLED removes its period.

All-day events (DTSTART;VALUE=DATE) run from local midnight to local midnight in the
school's time zone, DTEND being the day after the last day as RFC 5545 says; timed
events keep their TZID (or UTC "Z"); a time without either is read as the school's.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import icalendar
from django.db import transaction

from changedesk.accounts.models import School
from changedesk.schedule.calendar import all_day_bounds, describe_period_span
from changedesk.schedule.models import CalendarPeriod, PeriodKind

MAX_BYTES = 2 * 1024 * 1024
MAX_EVENTS = 2000

CREATE, UPDATE, UNCHANGED, DELETE, SKIP = "create", "update", "unchanged", "delete", "skip"
ACTION_LABELS = {
    CREATE: "New",
    UPDATE: "Updated",
    UNCHANGED: "Unchanged",
    DELETE: "Removed (cancelled)",
    SKIP: "Not imported",
}

# Checked in this order: "half term" is a holiday, not a term; "exam" wins over "term".
KIND_WORDS: list[tuple[str, re.Pattern[str]]] = [
    (PeriodKind.INSET, re.compile(r"\b(inset|training day|staff development|pd day)\b", re.I)),
    (
        PeriodKind.EXAM,
        re.compile(
            r"\b(exams?|examinations?|mocks?|gcses?|a[- ]levels?|sats|tests? week|papers? \d)\b",
            re.I,
        ),
    ),
    (
        PeriodKind.HOLIDAY,
        re.compile(
            r"\b(holidays?|half[- ]term|bank holiday|christmas|easter|summer break|"
            r"break|school closed|closure)\b",
            re.I,
        ),
    ),
    (PeriodKind.FREEZE, re.compile(r"\b(change freeze|freeze)\b", re.I)),
    (PeriodKind.TERM, re.compile(r"\b(term|semester)\b", re.I)),
]


class IcsError(Exception):
    """The file as a whole cannot be read; `message` says why, in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def guess_kind(summary: str) -> str | None:
    """The kind of period an event's name suggests, or None if it says nothing."""
    for kind, words in KIND_WORDS:
        if words.search(summary):
            return kind
    return None


@dataclass
class IcsRow:
    """One event of the file and what importing it would do."""

    uid: str
    name: str
    kind: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    action: str = SKIP
    note: str = ""
    period_id: int | None = None
    when: str = ""

    @property
    def action_label(self) -> str:
        return ACTION_LABELS[self.action]

    @property
    def kind_label(self) -> str:
        return PeriodKind(self.kind).label if self.kind else "—"


@dataclass
class IcsPreview:
    school: School
    rows: list[IcsRow] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def created(self) -> int:
        return self.count(CREATE)

    @property
    def updated(self) -> int:
        return self.count(UPDATE)

    @property
    def unchanged(self) -> int:
        return self.count(UNCHANGED)

    @property
    def deleted(self) -> int:
        return self.count(DELETE)

    @property
    def skipped(self) -> int:
        return self.count(SKIP)

    @property
    def has_work(self) -> bool:
        return any(row.action in (CREATE, UPDATE, DELETE) for row in self.rows)


def _parse_calendar(data: bytes | str) -> icalendar.Calendar:
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_BYTES:
        raise IcsError(f"The file is too large: at most {MAX_BYTES // (1024 * 1024)} MB.")
    if not raw.strip():
        raise IcsError("The file is empty.")
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IcsError(
            "This is not an iCalendar file: it is not text. Export the calendar as .ics."
        ) from None
    if b"BEGIN:VCALENDAR" not in raw[:4096].upper():
        raise IcsError("This is not an iCalendar file: it should begin with BEGIN:VCALENDAR.")
    try:
        calendar = icalendar.Calendar.from_ical(raw.lstrip(b"\xef\xbb\xbf"))
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise IcsError(f"The iCalendar file cannot be read: {error}") from None
    if not isinstance(calendar, icalendar.Calendar) or calendar.name != "VCALENDAR":
        raise IcsError("This is not an iCalendar file: it should begin with BEGIN:VCALENDAR.")
    return calendar


def _uid(event: icalendar.Event, summary: str) -> str:
    uid = str(event.get("UID", "")).strip()
    if uid and len(uid) <= 255:
        return uid
    # No UID (or an absurd one): one made from the event itself is stable across imports.
    basis = uid or f"{summary}|{event.get('DTSTART').to_ical() if event.get('DTSTART') else ''}"
    return "sha256:" + hashlib.sha256(basis.encode()).hexdigest()


def _bounds(event: icalendar.Event, school: School) -> tuple[datetime, datetime, str]:
    """The event's [start, end) as aware datetimes, and a note; ValueError if unreadable."""
    tz = school.zone
    try:
        start = event.start
        end = event.end
    except ValueError as error:
        if "same type" in str(error):
            raise ValueError("its start and end mix a date with a date and time") from None
        if "DTSTART" in str(error) or "start" not in locals():
            raise ValueError("its start (DTSTART) is missing or cannot be read") from None
        raise ValueError("its end (DTEND) cannot be read") from None
    note = ""
    if not isinstance(start, datetime) and isinstance(start, date):
        assert isinstance(end, date) and not isinstance(end, datetime)
        if end <= start:
            raise ValueError("it ends before it starts")
        first, last = start, end - timedelta(days=1)
        starts_at, ends_at = all_day_bounds(first, last, tz)
        return starts_at, ends_at, note
    assert isinstance(start, datetime) and isinstance(end, datetime)
    if start.tzinfo is None or end.tzinfo is None:
        tzid = event["DTSTART"].params.get("TZID")
        note = (
            f"Its time zone “{tzid}” is unknown: read in {school.timezone}."
            if tzid
            else f"No time zone given: read in {school.timezone}."
        )
        start = start.replace(tzinfo=tz) if start.tzinfo is None else start
        end = end.replace(tzinfo=tz) if end.tzinfo is None else end
    if end <= start:
        raise ValueError("it has no length: give it an end (DTEND) after its start")
    return start, end, note


def read_ics(data: bytes | str, school: School, *, kind: str | None = None) -> IcsPreview:
    """What importing `data` into `school` would do; `kind=None` guesses from each name.

    Raises `IcsError` when the file as a whole is unreadable; an unreadable event is a
    row that is not imported, with a note saying why.
    """
    if kind is not None and kind not in PeriodKind.values:
        raise IcsError(f"Unknown kind of period “{kind}”.")
    calendar = _parse_calendar(data)
    events = [e for e in calendar.walk("VEVENT") if isinstance(e, icalendar.Event)]
    if not events:
        raise IcsError("The file has no events (VEVENT) in it: nothing to import.")
    if len(events) > MAX_EVENTS:
        raise IcsError(f"The file has {len(events)} events: at most {MAX_EVENTS} at a time.")
    tz = school.zone
    preview = IcsPreview(school)
    seen: set[str] = set()
    for event in events:
        summary = " ".join(str(event.get("SUMMARY", "")).split())[:200]
        row = IcsRow(uid=_uid(event, summary), name=summary or "(no name)")
        preview.rows.append(row)
        if row.uid in seen:
            row.note = "Its UID appears earlier in the file: only the first is imported."
            continue
        seen.add(row.uid)
        if event.get("RRULE") or event.get("RDATE") or event.get("RECURRENCE-ID"):
            row.note = "Repeating events are not imported: give each date as its own event."
            continue
        row.kind = kind or guess_kind(summary)
        try:
            row.starts_at, row.ends_at, row.note = _bounds(event, school)
        except ValueError as error:
            row.note = f"Not imported: {error}."
            continue
        row.when = describe_period_span(row.starts_at, row.ends_at, tz)
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            row.action = DELETE  # resolved against existing periods below
            continue
        if row.kind is None:
            row.note = "Its name does not say what kind of period it is: choose a kind."
            continue
        row.action = CREATE
    _match_existing(preview)
    return preview


def _match_existing(preview: IcsPreview) -> None:
    uids = [row.uid for row in preview.rows if row.action in (CREATE, DELETE)]
    existing = {
        p.source_uid: p
        for p in CalendarPeriod.objects.filter(school=preview.school, source_uid__in=uids)
    }
    for row in preview.rows:
        period = existing.get(row.uid)
        if row.action == DELETE:
            if period is None:
                row.action = SKIP
                row.note = "Cancelled in the file, and not in the calendar."
            else:
                row.period_id = period.pk
                row.kind = period.kind
            continue
        if row.action != CREATE or period is None:
            continue
        row.period_id = period.pk
        same = (period.name, period.kind, period.starts_at, period.ends_at) == (
            row.name,
            row.kind,
            row.starts_at,
            row.ends_at,
        )
        row.action = UNCHANGED if same else UPDATE


@transaction.atomic
def import_ics(data: bytes | str, school: School, *, kind: str | None = None) -> IcsPreview:
    """Import `data` into `school`'s calendar: all of it or, on an error, none of it."""
    preview = read_ics(data, school, kind=kind)
    for row in preview.rows:
        if row.action == CREATE:
            assert row.kind and row.starts_at and row.ends_at
            period = CalendarPeriod.objects.create(
                school=school,
                kind=row.kind,
                name=row.name,
                starts_at=row.starts_at,
                ends_at=row.ends_at,
                source_uid=row.uid,
            )
            row.period_id = period.pk
        elif row.action == UPDATE:
            assert row.kind and row.starts_at and row.ends_at and row.period_id
            changes = {
                "kind": row.kind,
                "name": row.name,
                "starts_at": row.starts_at,
                "ends_at": row.ends_at,
            }
            if row.kind != PeriodKind.FREEZE:
                # Only a freeze is hard; a freeze keeps the hardness set here (a calendar
                # file cannot say it).
                changes["is_hard"] = False
            CalendarPeriod.objects.filter(id=row.period_id, school=school).update(**changes)
        elif row.action == DELETE:
            assert row.period_id
            CalendarPeriod.objects.filter(id=row.period_id, school=school).delete()
    return preview
