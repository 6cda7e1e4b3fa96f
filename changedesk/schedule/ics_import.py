"""Importing term dates, holidays, INSET days and exams from an iCalendar (.ics) file.

Two steps: `read_ics`, a preview of what would be created, updated or deleted, then
`import_ics`, which applies exactly that in one transaction. The file is parsed once: the
preview's rows (`preview_rows`, signed into the confirm form) are what the second step
applies, matched again against the calendar as it is then. An event's
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
from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from changedesk.accounts.models import School
from changedesk.schedule.calendar import (
    FIRST_YEAR,
    LAST_YEAR,
    all_day_bounds,
    describe_period_span,
    sane_year,
)
from changedesk.schedule.models import CalendarPeriod, PeriodKind

MAX_BYTES = 2 * 1024 * 1024
MAX_EVENTS = 2000
# Reading a time zone's rules costs time for each rule (every one is expanded from its
# start, often 1601): a calendar export needs one or two zones of two rules each. These
# are counted in the text before the file is parsed, so that a file of thousands of rules
# is refused at once rather than after a minute's work.
MAX_TIMEZONES = 10
MAX_ZONE_RULES = 6
MAX_RULES = 24
# And each time given in one of those zones (DTSTART;TZID=…) walks every rule: at most this
# many (times by rules), about three seconds' work; 2,000 events in a zone of two rules pass.
MAX_ZONE_WORK = 8000
MAX_COMPONENTS = 2 * MAX_EVENTS + MAX_TIMEZONES + MAX_RULES + 1

CREATE, UPDATE, UNCHANGED, DELETE, SKIP = "create", "update", "unchanged", "delete", "skip"
ACTION_LABELS = {
    CREATE: _("New"),
    UPDATE: _("Updated"),
    UNCHANGED: _("Unchanged"),
    DELETE: _("Removed (cancelled)"),
    SKIP: _("Not imported"),
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
    # What the file asks for (create or delete), before it is matched against the calendar.
    intent: str = SKIP

    @property
    def action_label(self) -> str:
        return str(ACTION_LABELS[self.action])

    @property
    def kind_label(self) -> str:
        return str(PeriodKind(self.kind).label) if self.kind else "—"


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


def _not_icalendar() -> str:
    """The refusal of a file that is no calendar (said in two places)."""
    return gettext("This is not an iCalendar file: it should begin with BEGIN:VCALENDAR.")


def _parse_calendar(data: bytes | str) -> icalendar.Calendar:
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_BYTES:
        raise IcsError(
            gettext("The file is too large: at most %(size)s MB.")
            % {"size": MAX_BYTES // (1024 * 1024)}
        )
    if not raw.strip():
        raise IcsError(gettext("The file is empty."))
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IcsError(
            gettext("This is not an iCalendar file: it is not text. Export the calendar as .ics.")
        ) from None
    if b"BEGIN:VCALENDAR" not in raw[:4096].upper():
        raise IcsError(_not_icalendar())
    check_size(raw)
    # The library keeps the time zones a file defines (an unknown TZID) in a process-wide
    # cache, first definition winning: start each file afresh, so that no school's file
    # decides how another's times are read.
    icalendar.use_zoneinfo()  # type: ignore[no-untyped-call]  # (untyped in icalendar)
    try:
        calendar = icalendar.Calendar.from_ical(raw.lstrip(b"\xef\xbb\xbf"))
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise IcsError(
            gettext("The iCalendar file cannot be read: %(error)s") % {"error": error}
        ) from None
    if not isinstance(calendar, icalendar.Calendar) or calendar.name != "VCALENDAR":
        raise IcsError(_not_icalendar())
    return calendar


FOLD = re.compile(rb"\r?\n[ \t]")
BEGIN = re.compile(rb"^BEGIN:([A-Z0-9-]+)[ \t]*\r?$", re.I | re.M)
ZONED_TIME = re.compile(rb"^(?:DTSTART|DTEND)[^:\r\n]*;TZID=", re.I | re.M)


def check_size(raw: bytes) -> None:
    """Refuse a file with more events, time zones or time-zone rules than a calendar
    export has, counting its components in the (unfolded) text, before it is parsed."""
    counts: dict[str, int] = {}
    zone_rules = most_rules = 0
    unfolded = FOLD.sub(b"", raw)
    for match in BEGIN.finditer(unfolded):
        name = match[1].upper().decode("ascii")
        counts[name] = counts.get(name, 0) + 1
        if name == "VTIMEZONE":
            zone_rules = 0
        elif name in ("STANDARD", "DAYLIGHT"):
            zone_rules += 1
            most_rules = max(most_rules, zone_rules)
    zones = counts.get("VTIMEZONE", 0)
    rules = counts.get("STANDARD", 0) + counts.get("DAYLIGHT", 0)
    if zones > MAX_TIMEZONES:
        raise IcsError(
            f"The file defines {zones} time zones (VTIMEZONE); a calendar needs only the "
            f"few its events use, at most {MAX_TIMEZONES}. Export it again, or in one zone."
        )
    if most_rules > MAX_ZONE_RULES or rules > MAX_RULES:
        raise IcsError(
            f"The file's time zones have {rules} rules (STANDARD and DAYLIGHT), up to "
            f"{most_rules} in one zone; at most {MAX_ZONE_RULES} in a zone and {MAX_RULES} "
            "in all can be read. Export it again, or in one zone."
        )
    zoned = len(ZONED_TIME.findall(unfolded)) if rules else 0
    if zoned * rules > MAX_ZONE_WORK:
        raise IcsError(
            f"The file gives {zoned} times in its own time zones, which have {rules} rules: "
            "too much to read at once. Split it into smaller files, or export it in one zone."
        )
    if counts.get("VEVENT", 0) > MAX_EVENTS:
        raise IcsError(f"The file has {counts['VEVENT']} events: at most {MAX_EVENTS} at a time.")
    if sum(counts.values()) > MAX_COMPONENTS:
        raise IcsError(
            f"The file has {sum(counts.values())} parts (BEGIN: lines): at most "
            f"{MAX_COMPONENTS}. Split it into smaller files."
        )


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
            raise ValueError(gettext("its start and end mix a date with a date and time")) from None
        if "DTSTART" in str(error) or "start" not in locals():
            raise ValueError(gettext("its start (DTSTART) is missing or cannot be read")) from None
        raise ValueError(gettext("its end (DTEND) cannot be read")) from None
    note = ""
    if not isinstance(start, datetime) and isinstance(start, date):
        assert isinstance(end, date) and not isinstance(end, datetime)
        if end <= start:
            raise ValueError(gettext("it ends before it starts"))
        first, last = start, end - timedelta(days=1)
        starts_at, ends_at = all_day_bounds(first, last, tz)
        return starts_at, ends_at, note
    assert isinstance(start, datetime) and isinstance(end, datetime)
    if start.tzinfo is None or end.tzinfo is None:
        tzid = event["DTSTART"].params.get("TZID")
        note = (
            gettext("Its time zone “%(tzid)s” is unknown: read in %(zone)s.")
            % {"tzid": tzid, "zone": school.timezone}
            if tzid
            else gettext("No time zone given: read in %(zone)s.") % {"zone": school.timezone}
        )
        start = start.replace(tzinfo=tz) if start.tzinfo is None else start
        end = end.replace(tzinfo=tz) if end.tzinfo is None else end
    # Once, here: each reading of a file's own time zone (VTIMEZONE) walks its rules.
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        raise ValueError(gettext("it has no length: give it an end (DTEND) after its start"))
    return start, end, note


def read_ics(data: bytes | str, school: School, *, kind: str | None = None) -> IcsPreview:
    """What importing `data` into `school` would do; `kind=None` guesses from each name.

    Raises `IcsError` when the file as a whole is unreadable; an unreadable event is a
    row that is not imported, with a note saying why.
    """
    if kind is not None and kind not in PeriodKind.values:
        raise IcsError(gettext("Unknown kind of period “%(kind)s”.") % {"kind": kind})
    calendar = _parse_calendar(data)
    events = [e for e in calendar.walk("VEVENT") if isinstance(e, icalendar.Event)]
    if not events:
        raise IcsError(gettext("The file has no events (VEVENT) in it: nothing to import."))
    if len(events) > MAX_EVENTS:
        raise IcsError(
            gettext("The file has %(count)s events: at most %(most)s at a time.")
            % {"count": len(events), "most": MAX_EVENTS}
        )
    tz = school.zone
    preview = IcsPreview(school)
    seen: set[str] = set()
    for event in events:
        summary = " ".join(str(event.get("SUMMARY", "")).split())[:200]
        row = IcsRow(uid=_uid(event, summary), name=summary or gettext("(no name)"))
        preview.rows.append(row)
        if row.uid in seen:
            row.note = gettext("Its UID appears earlier in the file: only the first is imported.")
            continue
        seen.add(row.uid)
        if event.get("RRULE") or event.get("RDATE") or event.get("RECURRENCE-ID"):
            row.note = gettext(
                "Repeating events are not imported: give each date as its own event."
            )
            continue
        row.kind = kind or guess_kind(summary)
        try:
            row.starts_at, row.ends_at, row.note = _bounds(event, school)
        except ValueError as error:
            row.note = gettext("Not imported: %(reason)s.") % {"reason": error}
            continue
        row.when = describe_period_span(row.starts_at, row.ends_at, tz)
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            row.action = row.intent = DELETE  # resolved against existing periods below
            continue
        if row.kind is None:
            row.note = gettext("Its name does not say what kind of period it is: choose a kind.")
            continue
        if not (sane_year(row.starts_at.year) and sane_year(row.ends_at.year)):
            row.note = gettext("Not imported: give dates between %(first)s and %(last)s.") % {
                "first": FIRST_YEAR,
                "last": LAST_YEAR,
            }
            continue
        row.action = row.intent = CREATE
    _match_existing(preview)
    return preview


ROW_FIELDS = ("uid", "name", "kind", "note", "when", "intent")


def preview_rows(preview: IcsPreview) -> list[dict[str, Any]]:
    """The preview's rows as plain data (for the signed confirm form): what `import_ics`
    applies, without reading the file again."""
    return [
        {
            **{name: getattr(row, name) for name in ROW_FIELDS},
            "starts_at": row.starts_at.isoformat() if row.starts_at else None,
            "ends_at": row.ends_at.isoformat() if row.ends_at else None,
        }
        for row in preview.rows
    ]


def _rows_preview(rows: list[dict[str, Any]], school: School) -> IcsPreview:
    """The preview `preview_rows` gave, matched again against `school`'s calendar now."""
    preview = IcsPreview(school)
    try:
        for data in rows:
            row = IcsRow(**{name: data[name] for name in ROW_FIELDS})
            row.starts_at = datetime.fromisoformat(data["starts_at"]) if data["starts_at"] else None
            row.ends_at = datetime.fromisoformat(data["ends_at"]) if data["ends_at"] else None
            if row.intent != SKIP and not (
                row.starts_at and row.ends_at and (row.kind or row.intent == DELETE)
            ):
                raise ValueError(row.uid)
            row.action = row.intent
            preview.rows.append(row)
    except (KeyError, TypeError, ValueError):
        raise IcsError(gettext("The preview cannot be read: choose the file again.")) from None
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
                row.note = gettext("Cancelled in the file, and not in the calendar.")
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
def import_ics(
    data: bytes | str | list[dict[str, Any]], school: School, *, kind: str | None = None
) -> IcsPreview:
    """Import `data` into `school`'s calendar: all of it or, on an error, none of it.

    `data` is the file, or the rows of its preview (`preview_rows`), which are not read again.
    """
    if isinstance(data, list):
        preview = _rows_preview(data, school)
    else:
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
