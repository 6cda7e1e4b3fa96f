"""A school's calendar as the conflict engine and the slot finder read it.

Everything here works in aware datetimes and returns UTC-comparable intervals, but every
rule is stated in the school's local time: the teaching day is 08:40-15:20 *local*, a
maintenance window is "after 17:30" *local*, and an all-day period runs from local
midnight to local midnight. Local times are turned into instants one local day at a
time with `zoneinfo`, so days of 23 and 25 hours (the last Sundays of March and October in
Europe/London) come out right.

A calendar is loaded once (`load_calendars`: two queries for any number of schools)
and then answers any number of questions without touching the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils.dates import MONTHS, MONTHS_3, WEEKDAYS, WEEKDAYS_ABBR
from django.utils.translation import get_language, gettext

from changedesk.accounts.models import School
from changedesk.lib.compiled import Compiled
from changedesk.schedule.models import (
    CalendarPeriod,
    MaintenanceWindow,
    PeriodKind,
    default_school_days,
)

Interval = tuple[datetime, datetime]

DEFAULT_TEACHING_START = time(8, 40)
DEFAULT_TEACHING_END = time(15, 20)
EN_DASH = "\u2013"  # between the ends of a range: 3\u201314 March, 18:00\u201319:00
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DAY_FULL_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def day_name(weekday: int) -> str:
    """ "Monday", in the active language (Django's own catalogue names the days)."""
    return str(WEEKDAYS[weekday])


def day_abbr(weekday: int) -> str:
    """ "Mon", in the active language."""
    return str(WEEKDAYS_ABBR[weekday])


def month_name(value: date) -> str:
    """ "March", in the active language."""
    return str(MONTHS[value.month])


def month_abbr(value: date) -> str:
    """ "Mar", in the active language (as the `date` filter's "M")."""
    return str(MONTHS_3[value.month]).title()


# --- Time zones and local days. ---


def local_at(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The instant of `at` o'clock on `day` in `tz`.

    A wall time skipped by the spring clock change (01:30 in London) is read with the
    offset before the change, i.e. as 02:30 summer time; a repeated autumn time is its
    first occurrence. Both are what a person means by "half past one".
    """
    return datetime.combine(day, at, tzinfo=tz)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return local_at(day, time(0, 0), tz)


def all_day_bounds(first: date, last: date, tz: ZoneInfo) -> Interval:
    """An all-day period from local midnight before `first` to local midnight after `last`."""
    return local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz)


def local_days(start: datetime, end: datetime, tz: ZoneInfo) -> Iterator[date]:
    """Every local date that [start, end) touches, and the one before (for overnight rules)."""
    day = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date()
    while day <= last:
        yield day
        day += timedelta(days=1)


def is_all_day(start: datetime, end: datetime, tz: ZoneInfo) -> bool:
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    return local_start.time() == time(0) and local_end.time() == time(0)


# --- Interval arithmetic on sorted, half-open [start, end) intervals. ---


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort and join intervals that overlap or touch: 17:30-24:00 and 00:00-24:00 are one."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """The parts of merged `a` that lie in merged `b`."""
    result: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            result.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return result


def subtract(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """The parts of merged `a` outside merged `b`."""
    result: list[Interval] = []
    j = 0
    for start, end in a:
        current = start
        while j < len(b) and b[j][1] <= current:
            j += 1
        k = j
        while k < len(b) and b[k][0] < end:
            if b[k][0] > current:
                result.append((current, b[k][0]))
            current = max(current, b[k][1])
            k += 1
        if current < end:
            result.append((current, end))
    return result


def covers(intervals: list[Interval], start: datetime, end: datetime) -> bool:
    """Whether one of the merged `intervals` holds all of [start, end)."""
    return any(s <= start and end <= e for s, e in intervals)


# --- Words for people. ---


def short_day(moment: datetime) -> str:
    """Tue 4 Mar."""
    return f"{day_abbr(moment.weekday())} {moment.day} {month_abbr(moment)}"


def hhmm(value: time | datetime) -> str:
    return f"{value:%H:%M}"


def describe_span(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """Tue 4 Mar 18:00-19:00, or Fri 7 Mar 18:00 - Sat 8 Mar 02:00."""
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    if local_start.date() == local_end.date():
        return f"{short_day(local_start)} {hhmm(local_start)}{EN_DASH}{hhmm(local_end)}"
    if local_end.time() == time(0) and local_end.date() - local_start.date() == timedelta(days=1):
        return f"{short_day(local_start)} {hhmm(local_start)}{EN_DASH}24:00"
    return (
        f"{short_day(local_start)} {hhmm(local_start)} {EN_DASH} "
        f"{short_day(local_end)} {hhmm(local_end)}"
    )


def describe_dates(first: date, last: date) -> str:
    """4 March; 3-14 March; 28 February - 4 March; 20 December 2025 - 5 January 2026."""
    first_month, last_month = month_name(first), month_name(last)
    if first == last:
        return f"{first.day} {first_month}"
    if first.year != last.year:
        return (
            f"{first.day} {first_month} {first.year} {EN_DASH} {last.day} {last_month} {last.year}"
        )
    if first.month == last.month:
        return f"{first.day}{EN_DASH}{last.day} {last_month}"
    return f"{first.day} {first_month} {EN_DASH} {last.day} {last_month}"


def describe_period_span(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """The dates of a period: whole days when it runs midnight to midnight, else times."""
    if is_all_day(start, end, tz):
        first = start.astimezone(tz).date()
        last = end.astimezone(tz).date() - timedelta(days=1)
        return describe_dates(first, last)
    return describe_span(start, end, tz)


def describe_weekdays(days: Iterable[int]) -> str:
    """Mon-Fri; Sat-Sun; Mon, Wed, Fri; every day."""
    ordered = sorted(set(days))
    if len(ordered) == 7:
        return gettext("every day")
    runs: list[list[int]] = []
    for day in ordered:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3 or (len(run) == 2 and run == [5, 6]):
            parts.append(f"{day_abbr(run[0])}{EN_DASH}{day_abbr(run[-1])}")
        else:
            parts.extend(day_abbr(d) for d in run)
    return ", ".join(parts)


def describe_window(window: MaintenanceWindow) -> str:
    """Weekday evenings (Mon-Fri, 17:30-24:00)."""
    start, end = window.start_time, window.end_time
    if start == time(0) and end is None:
        hours = gettext("all day")
    else:
        hours = f"{hhmm(start)}{EN_DASH}{hhmm(end) if end is not None else '24:00'}"
        if end is not None and end <= start:
            hours += " " + gettext("next day")
    return f"{window.name} ({describe_weekdays(window.weekdays)}, {hours})"


# --- One school's calendar, loaded once. ---

# What `load_calendars` reads of a school's calendar and of each of its windows.
_CALENDAR_COLUMNS = ("calendar__teaching_day_start", "calendar__teaching_day_end",
                     "calendar__school_days")  # fmt: skip
_WINDOW_COLUMNS = ("id", "name", "weekdays", "start_time", "end_time")
_WINDOW_LOOKUPS = tuple(f"maintenance_windows__{c}" for c in _WINDOW_COLUMNS)
_PERIOD_COLUMNS = [f.attname for f in CalendarPeriod._meta.concrete_fields]

# The two queries of `load_calendars`, compiled once per shape (`lib/compiled.py`).
_SCHOOL_ROWS = Compiled(
    lambda schools: (
        School.objects.filter(pk__in=schools)
        .values_list("pk", *_CALENDAR_COLUMNS, *_WINDOW_LOOKUPS)
        .order_by("maintenance_windows__id")
    )
)
_PERIOD_ROWS = Compiled(
    lambda schools, start, end: (
        CalendarPeriod.objects.filter(school_id__in=schools, starts_at__lt=end, ends_at__gt=start)
        .values_list(*_PERIOD_COLUMNS)
        .order_by("starts_at", "id")
    )
)


@dataclass
class CalendarData:
    """What the engine needs of one school's calendar, for a stretch of time."""

    school: School
    tz: ZoneInfo
    teaching_start: time = DEFAULT_TEACHING_START
    teaching_end: time = DEFAULT_TEACHING_END
    school_days: frozenset[int] = frozenset(default_school_days())
    periods: list[CalendarPeriod] = field(default_factory=list)
    windows: list[MaintenanceWindow] = field(default_factory=list)
    # `describe_windows()` in each language asked: a page of fifty RFCs outside them asked
    # it fifty times (a third of the agenda's conflict check).
    # Not given, so not carried over by `dataclasses.replace` (a copy with other windows).
    _described: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def periods_of(
        self, kinds: Iterable[str], start: datetime, end: datetime
    ) -> list[CalendarPeriod]:
        wanted = set(kinds)
        return [
            p
            for p in self.periods
            if p.kind in wanted and overlaps(p.starts_at, p.ends_at, start, end)
        ]

    def period_intervals(
        self, kinds: Iterable[str], start: datetime, end: datetime
    ) -> list[Interval]:
        return merge((p.starts_at, p.ends_at) for p in self.periods_of(kinds, start, end))

    def teaching_intervals(self, start: datetime, end: datetime) -> list[Interval]:
        """The teaching day on each school day in term, holidays and INSET days taken out."""
        if self.teaching_end <= self.teaching_start:
            return []
        days = merge(
            (local_at(day, self.teaching_start, self.tz), local_at(day, self.teaching_end, self.tz))
            for day in local_days(start, end, self.tz)
            if day.weekday() in self.school_days
        )
        terms = self.period_intervals([PeriodKind.TERM], start, end)
        closed = self.period_intervals([PeriodKind.HOLIDAY, PeriodKind.INSET], start, end)
        teaching = subtract(intersect(days, terms), closed)
        return [(s, e) for s, e in teaching if overlaps(s, e, start, end)]

    def window_intervals(self, start: datetime, end: datetime) -> list[Interval]:
        """The maintenance windows around [start, end), joined where they meet."""
        spans: list[Interval] = []
        for day in local_days(start, end, self.tz):
            for window in self.windows:
                if day.weekday() not in window.weekdays:
                    continue
                opens = local_at(day, window.start_time, self.tz)
                if window.end_time is None:
                    closes = local_midnight(day + timedelta(days=1), self.tz)
                elif window.end_time <= window.start_time:  # overnight, e.g. 22:00-06:00
                    closes = local_at(day + timedelta(days=1), window.end_time, self.tz)
                else:
                    closes = local_at(day, window.end_time, self.tz)
                spans.append((opens, closes))
        return merge(spans)

    def describe_windows(self) -> str:
        language = get_language() or ""
        described = self._described.get(language)
        if described is None:
            described = self._described[language] = "; ".join(
                describe_window(w) for w in self.windows
            )
        return described


def load_calendars(
    schools: Iterable[School], start: datetime, end: datetime
) -> dict[int, CalendarData]:
    """The calendars of `schools` for [start, end), in two queries whatever their number:
    each school's teaching day and maintenance windows (joined to the school), then the
    periods.

    Periods are loaded with a day's margin either side so that questions about the
    edges (a window that opens the evening before) see them too.
    """
    by_id = {school.pk: school for school in schools}
    if not by_id:
        return {}
    margin = timedelta(days=2)
    data = {pk: CalendarData(school=school, tz=school.zone) for pk, school in by_id.items()}
    # One row per window (or one with none), each with its school's teaching day (None
    # where the school has no calendar).
    db = School.objects.db
    for pk, teaching_start, teaching_end, school_days, *window in _SCHOOL_ROWS.rows(
        db, schools=sorted(by_id)
    ):
        target = data[pk]
        if teaching_start is not None:
            target.teaching_start = teaching_start
            target.teaching_end = teaching_end
            target.school_days = frozenset(int(d) for d in school_days)
        window_id, *window_values = window
        if window_id is not None:
            found = MaintenanceWindow.from_db(
                db, ["id", "school_id", *_WINDOW_COLUMNS[1:]], [window_id, pk, *window_values]
            )
            found.weekdays = [int(d) for d in found.weekdays]
            target.windows.append(found)
    periods = _PERIOD_ROWS.rows(
        CalendarPeriod.objects.db, schools=sorted(by_id), end=end + margin, start=start - margin
    )
    for row in periods:
        period = CalendarPeriod.from_db(CalendarPeriod.objects.db, _PERIOD_COLUMNS, row)
        data[period.school_id].periods.append(period)
    return data


def load_calendar(school: School, start: datetime, end: datetime) -> CalendarData:
    return load_calendars([school], start, end)[school.pk]


# Dates a school calendar deals in; outside them date arithmetic would overflow.
FIRST_YEAR, LAST_YEAR = 1900, 2999


def sane_year(year: int) -> bool:
    return FIRST_YEAR <= year <= LAST_YEAR
