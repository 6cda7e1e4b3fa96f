"""The next safe slots: windows free of every conflict, for a change of a given length.

The school's calendar and the busy times of the items are loaded once (four queries),
then the search is interval arithmetic: the maintenance windows (or all time, for a
school without any), minus exam periods, freezes, the teaching day and the windows of
other open changes touching the same items. A slot starts on a 15-minute step; at most
one slot is offered per stretch of free time per local day, so that the few offered are
different choices rather than the same evening a quarter of an hour apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from changedesk.accounts.models import School
from changedesk.changes.choices import OPEN_STATES
from changedesk.changes.models import Change
from changedesk.schedule.calendar import (
    Interval,
    intersect,
    load_calendar,
    local_midnight,
    merge,
    subtract,
)
from changedesk.schedule.models import PeriodKind

STEP = timedelta(minutes=15)
HORIZON = timedelta(days=60)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ceil_to_step(moment: datetime, step: timedelta = STEP) -> datetime:
    remainder = (moment - _EPOCH) % step
    return moment + (step - remainder) if remainder else moment


def busy_intervals(
    item_ids: Iterable[int],
    start: datetime,
    end: datetime,
    *,
    exclude_change_id: int | None = None,
) -> list[Interval]:
    """The planned windows of open changes touching any of `item_ids`, in [start, end)."""
    items = list(item_ids)
    if not items:
        return []
    others = Change.objects.filter(
        state__in=OPEN_STATES,
        planned_start__lt=end,
        planned_end__gt=start,
        item_links__item_id__in=items,
    )
    if exclude_change_id is not None:
        others = others.exclude(pk=exclude_change_id)
    windows = others.values_list("planned_start", "planned_end").distinct()
    return merge((s, e) for s, e in windows if s is not None and e is not None)


def next_safe_slots(
    school: School,
    duration: timedelta,
    item_ids: Iterable[int],
    *,
    after: datetime | None = None,
    count: int = 5,
    exclude_change_id: int | None = None,
    horizon: timedelta = HORIZON,
) -> list[Interval]:
    """Up to `count` (start, end) windows of length `duration` free of every conflict.

    Searches forward from `after` (default: now) for up to `horizon`. `exclude_change_id`
    leaves the change being planned out of the busy times, so moving an RFC does not
    collide with itself.
    """
    if duration <= timedelta(0) or count <= 0:
        return []
    first = ceil_to_step(after if after is not None else timezone.now())
    last_start = first + horizon
    span_end = last_start + duration
    calendar = load_calendar(school, first, span_end)
    everything = [(first, span_end)]
    allowed = (
        intersect(calendar.window_intervals(first, span_end), everything)
        if calendar.windows
        else everything
    )
    blocked = merge(
        [
            *calendar.period_intervals([PeriodKind.EXAM, PeriodKind.FREEZE], first, span_end),
            *calendar.teaching_intervals(first, span_end),
            *busy_intervals(item_ids, first, span_end, exclude_change_id=exclude_change_id),
        ]
    )
    slots: list[Interval] = []
    for gap_start, gap_end in subtract(allowed, blocked):
        candidate = ceil_to_step(gap_start)
        while candidate <= last_start and candidate + duration <= gap_end:
            slots.append((candidate, candidate + duration))
            if len(slots) >= count:
                return slots
            next_day = local_midnight(
                candidate.astimezone(calendar.tz).date() + timedelta(days=1), calendar.tz
            )
            candidate = ceil_to_step(max(candidate + duration, next_day))
    return slots
