"""The next safe slots: windows free of every conflict, for a change of a given length,
that people would pick.

The school's calendar and the busy times of the items are loaded once (four queries),
then the search is interval arithmetic: the maintenance windows (or all time, for a
school without any), cut to what the registered conflict rules allow the change
(`schedule.conflicts.Rule.allowed`, e.g. the release windows for a change in an open
release: each rule a fixed number of queries more), minus exam periods, freezes, the
teaching day, the night and the windows of other open changes touching the same items.
A slot starts on a 15-minute step; at most one slot is offered per stretch of free time
per local day, so that the few offered are different choices rather than the same evening
a quarter of an hour apart.

**The lead time.** No slot starts before there is time to approve the change and to tell
its users: the school's lead time from now (`School.normal_lead_days`,
`School.standard_lead_hours`). An `after` earlier than that is raised to it; a later one
wins. The lead only shapes the suggestions: a person may still type any window into an
RFC, and the conflicts say what is wrong with it.

- A *normal* change waits N working days, counted in the school's time zone and kept to
  the same time of day: raised on Monday at 10:00, two working days are up on Wednesday
  at 10:00, on Tuesday at 10:00 if raised on Friday at 10:00. Raised on a day that is not
  a working day, the count starts with the next one: from Saturday, two working days are
  Monday and Tuesday, and the slots start on Wednesday at 00:00.
- A *working day* is one of the school's days (its `SchoolCalendar.school_days`, Monday to
  Friday by default) that no holiday period touches. INSET days, exam periods and freezes
  are working days (the staff are in, and approvers can decide). Days between terms count
  too unless a holiday period covers them: many schools' support staff work through the
  summer, and a school that closes enters the holiday in its calendar.
- A *standard* change (pre-approved) waits `standard_lead_hours` clock hours, to tell its
  users; an *emergency* does not wait. Until the RFC has a type of its own, the caller
  says which kind of change it searches for (`ChangeKind`, normal by default).

**The night.** No slot touches the night (`NIGHT_STARTS` to `NIGHT_ENDS`, 22:00-06:00
local) unless a maintenance window says so: one that runs overnight or whose own times
fall in the night (22:00-06:00 every weekday, or 17:30-23:30). A whole-day window
(00:00 to the end of the day) or one left open to the end of the day does not: "weekends"
means the weekend's days, not Saturday 00:00-01:00. A change longer than the day between
two nights (16 hours) must run through one; it still only starts and ends in the day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from changedesk.accounts.models import School
from changedesk.changes.models import Change
from changedesk.lib.compiled import Compiled
from changedesk.schedule.calendar import (
    EN_DASH,
    CalendarData,
    Interval,
    hhmm,
    intersect,
    load_calendar,
    local_at,
    local_days,
    local_midnight,
    merge,
    overlaps,
    subtract,
)
from changedesk.schedule.conflicts import allowed_by_rules
from changedesk.schedule.models import MaintenanceWindow, PeriodKind
from changedesk.schedule.windows import LONG_WINDOW, OPEN_STATE_LIST, meeting

STEP = timedelta(minutes=15)
HORIZON = timedelta(days=60)
# How far ahead a normal change's lead is counted before giving up: 30 working days (the
# most a school may set) with a summer holiday in the way fit well inside.
LEAD_LOOKAHEAD = timedelta(days=183)
NIGHT_STARTS = time(22, 0)
NIGHT_ENDS = time(6, 0)
# The day between two nights: a change longer than this cannot avoid running through one.
LONGEST_DAY = datetime.combine(date.min, NIGHT_STARTS) - datetime.combine(date.min, NIGHT_ENDS)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ChangeKind(StrEnum):
    """The kinds of change a slot search can be for, which set its lead time."""

    NORMAL = "normal"
    STANDARD = "standard"
    EMERGENCY = "emergency"


CHANGE_KIND_CHOICES = [
    (ChangeKind.NORMAL.value, _("Normal")),
    (ChangeKind.STANDARD.value, _("Standard (pre-approved)")),
    (ChangeKind.EMERGENCY.value, _("Emergency")),
]


@dataclass(frozen=True)
class SlotSearch:
    """What a search found, and where it started looking (to say why)."""

    slots: list[Interval]
    kind: ChangeKind
    # The first start looked at: the lead time's end, or a later `after`.
    earliest: datetime
    # Whether the lead time (rather than `after`, or now) set `earliest`.
    by_lead: bool


def ceil_to_step(moment: datetime, step: timedelta = STEP) -> datetime:
    remainder = (moment - _EPOCH) % step
    return moment + (step - remainder) if remainder else moment


# --- The lead time. ---


def describe_lead(school: School, kind: ChangeKind) -> str:
    """2 working days; 1 working day; 4 hours; empty when there is none."""
    if kind == ChangeKind.NORMAL and school.normal_lead_days:
        days = school.normal_lead_days
        return ngettext("%(count)s working day", "%(count)s working days", days) % {"count": days}
    if kind == ChangeKind.STANDARD and school.standard_lead_hours:
        hours = school.standard_lead_hours
        return ngettext("%(count)s hour", "%(count)s hours", hours) % {"count": hours}
    return ""


def _lead_reach(school: School, kind: ChangeKind, now: datetime) -> datetime:
    """The latest the lead time can end, before the calendar is known."""
    if kind == ChangeKind.NORMAL and school.normal_lead_days:
        return now + LEAD_LOOKAHEAD
    if kind == ChangeKind.STANDARD:
        return now + timedelta(hours=school.standard_lead_hours)
    return now


def lead_end(calendar: CalendarData, kind: ChangeKind, now: datetime) -> datetime:
    """When the school's lead time for `kind` from `now` is up (see the module's docstring).

    `calendar` must hold the holidays from `now` for `LEAD_LOOKAHEAD`.
    """
    school = calendar.school
    if kind == ChangeKind.EMERGENCY:
        return now
    if kind == ChangeKind.STANDARD:
        return now + timedelta(hours=school.standard_lead_hours)
    wanted = school.normal_lead_days
    if not wanted:
        return now
    tz = calendar.tz
    holidays = calendar.period_intervals([PeriodKind.HOLIDAY], now, now + LEAD_LOOKAHEAD)

    def working(day: date) -> bool:
        if day.weekday() not in calendar.school_days:
            return False
        start, end = local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)
        return not any(overlaps(s, e, start, end) for s, e in holidays)

    local_now = now.astimezone(tz)
    today = local_now.date()
    counted = 0
    day = today
    last = (now + LEAD_LOOKAHEAD).astimezone(tz).date()
    while counted < wanted and day < last:
        day += timedelta(days=1)
        counted += working(day)
    if counted < wanted:  # a calendar closed for half a year: start when the look ends
        return local_midnight(last, tz)
    if working(today):
        return local_at(day, local_now.time(), tz)
    return local_midnight(day + timedelta(days=1), tz)


# --- The night. ---


def _in_night(moment: time) -> bool:
    return moment >= NIGHT_STARTS or moment < NIGHT_ENDS


def window_allows_night(window: MaintenanceWindow) -> bool:
    """Whether a maintenance window says changes may run at night.

    It does when it runs overnight or one of its own times falls in the night; a window
    from 00:00 (the whole day) or left open to the end of the day does not.
    """
    start, end = window.start_time, window.end_time
    if start != time(0) and _in_night(start):
        return True
    return end is not None and (end <= start or end > NIGHT_STARTS or end <= NIGHT_ENDS)


def describe_night() -> str:
    """22:00-06:00."""
    return f"{hhmm(NIGHT_STARTS)}{EN_DASH}{hhmm(NIGHT_ENDS)}"


def night_intervals(calendar: CalendarData, start: datetime, end: datetime) -> list[Interval]:
    """The nights around [start, end), less the parts a maintenance window opens to changes."""
    tz = calendar.tz
    nights = merge(
        (local_at(day, NIGHT_STARTS, tz), local_at(day + timedelta(days=1), NIGHT_ENDS, tz))
        for day in local_days(start, end, tz)
    )
    open_at_night = [w for w in calendar.windows if window_allows_night(w)]
    if not open_at_night:
        return nights
    opened = replace(calendar, windows=open_at_night).window_intervals(start, end)
    return subtract(nights, opened)


def _clear_of_nights(start: datetime, duration: timedelta, nights: list[Interval]) -> datetime:
    """The first start from `start` at which a change neither starts nor ends at night.

    For a change too long to fit between two nights; it may run through the ones between.
    Every move is forward, and each night moves it at most twice, so this ends.
    """
    moved = True
    while moved:
        moved = False
        for night_start, night_end in nights:
            if night_end <= start:
                continue
            end = start + duration
            if end <= night_start:
                break
            if night_start <= start:
                start, moved = ceil_to_step(night_end), True
            elif end < night_end:
                start, moved = ceil_to_step(night_end - duration), True
    return start


# --- The search. ---


def busy_intervals(
    school_id: int,
    item_ids: Iterable[int],
    start: datetime,
    end: datetime,
    *,
    exclude_change_id: int | None = None,
) -> list[Interval]:
    """The planned windows of the school's open changes touching any of `item_ids` that
    meet [start, end), merged; one query, of the two columns."""
    items = sorted(set(item_ids))
    if not items:
        return []
    values: dict[str, Any] = {} if exclude_change_id is None else {"exclude": exclude_change_id}
    windows = _BUSY.rows(
        Change.objects.db,
        school=school_id,
        items=items,
        start=start,
        end=end,
        lowest=start - LONG_WINDOW,
        **values,
    )
    return merge((s, e) for s, e in windows if s is not None and e is not None)


def _busy(
    school: int,
    items: list[int],
    start: datetime,
    end: datetime,
    lowest: datetime,
    exclude: int | None = None,
) -> QuerySet[Change, tuple[Any, ...]]:
    others = Change.objects.filter(
        meeting(start, end, lowest=lowest),
        school_id=school,
        state__in=OPEN_STATE_LIST,
        item_links__item_id__in=items,
    )
    if exclude is not None:
        others = others.exclude(pk=exclude)
    # One row per window, however many of the items it touches: the model's ordering
    # cleared, or DISTINCT would also be over the columns it sorts by.
    return others.values_list("planned_start", "planned_end").order_by().distinct()


# Asked by every slot search: compiled once per shape (`lib/compiled.py`).
_BUSY = Compiled(_busy)


def find_safe_slots(
    school: School,
    duration: timedelta,
    item_ids: Iterable[int],
    *,
    kind: ChangeKind = ChangeKind.NORMAL,
    after: datetime | None = None,
    count: int = 5,
    exclude_change_id: int | None = None,
    horizon: timedelta = HORIZON,
) -> SlotSearch:
    """Up to `count` (start, end) windows of length `duration` free of every conflict.

    Searches forward for up to `horizon` from the end of the school's lead time for `kind`
    from now, or from `after` when that is later. `exclude_change_id` is the change being
    planned: it is left out of the busy times, so moving an RFC does not collide with
    itself, and the registered conflict rules are asked what they allow it.
    """
    now = timezone.now()
    if duration <= timedelta(0) or count <= 0:
        return SlotSearch([], kind, ceil_to_step(max(now, after or now)), by_lead=False)
    reach = _lead_reach(school, kind, now)
    # One calendar serves the lead (holidays from now) and the search; when `after` is
    # beyond any lead, the calendar starts there.
    begin = after if after is not None and after >= reach else now
    calendar = load_calendar(school, begin, max(reach, begin) + horizon + duration)
    ready = min(lead_end(calendar, kind, now), reach) if begin == now else now
    by_lead = ready > now and (after is None or after < ready)
    first = ceil_to_step(max(ready, after if after is not None else now))
    return SlotSearch(
        _search(calendar, duration, item_ids, first, count, exclude_change_id, horizon),
        kind,
        first,
        by_lead,
    )


def next_safe_slots(
    school: School, duration: timedelta, item_ids: Iterable[int], **options: Any
) -> list[Interval]:
    """The slots of `find_safe_slots` (which takes the same `options`), without saying
    where the search started."""
    return find_safe_slots(school, duration, item_ids, **options).slots


def _search(
    calendar: CalendarData,
    duration: timedelta,
    item_ids: Iterable[int],
    first: datetime,
    count: int,
    exclude_change_id: int | None,
    horizon: timedelta,
) -> list[Interval]:
    last_start = first + horizon
    span_end = last_start + duration
    everything = [(first, span_end)]
    allowed = (
        intersect(calendar.window_intervals(first, span_end), everything)
        if calendar.windows
        else everything
    )
    for by_rule in allowed_by_rules(calendar.school.pk, exclude_change_id, first, span_end):
        allowed = intersect(allowed, merge(by_rule))
    nights = night_intervals(calendar, first, span_end)
    # A change that fits between two nights keeps out of them; a longer one must run
    # through one, and only its start and end keep out.
    long = duration > LONGEST_DAY
    blocked = merge(
        [
            *calendar.period_intervals([PeriodKind.EXAM, PeriodKind.FREEZE], first, span_end),
            *calendar.teaching_intervals(first, span_end),
            *busy_intervals(
                calendar.school.pk,
                item_ids,
                first,
                span_end,
                exclude_change_id=exclude_change_id,
            ),
            *([] if long else nights),
        ]
    )
    ends_clear = nights if long else []
    slots: list[Interval] = []
    for gap_start, gap_end in subtract(allowed, blocked):
        candidate = _clear_of_nights(ceil_to_step(gap_start), duration, ends_clear)
        while candidate <= last_start and candidate + duration <= gap_end:
            slots.append((candidate, candidate + duration))
            if len(slots) >= count:
                return slots
            next_day = local_midnight(
                candidate.astimezone(calendar.tz).date() + timedelta(days=1), calendar.tz
            )
            candidate = _clear_of_nights(
                ceil_to_step(max(candidate + duration, next_day)), duration, ends_clear
            )
    return slots
