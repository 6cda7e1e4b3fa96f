"""The queries behind the forward schedule: month, week and agenda.

A day of the month or week view shows at most a few RFCs starting that day (the first
ones, by start time) and says how many more there are, so a school with thousands of
RFCs in a month costs the same few queries and the same page size as one with fifty:

1. how many RFCs start on, or run on into, each local day (one GROUP BY);
2. the first N starting on each local day (one query with ROW_NUMBER() OVER the day);
3. RFCs that run on from an earlier day (a window over midnight), capped;
4. the calendar periods (holidays, exams, INSET days, freezes) over the range.

Days are local days in the time zone the page is shown in; which day a time falls on is
worked out in SQL against the local midnights, computed here.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, F, IntegerField, QuerySet
from django.db.models.expressions import RawSQL, Window
from django.db.models.functions import RowNumber

from changedesk.accounts.models import School
from changedesk.changes.choices import State
from changedesk.changes.models import Change
from changedesk.schedule.calendar import local_midnight
from changedesk.schedule.models import CalendarPeriod, PeriodKind
from changedesk.schedule.windows import meeting

APPROVED_STATES = frozenset({State.APPROVED, State.IMPLEMENTED, State.CLOSED})
NOT_YET_APPROVED_STATES = frozenset(
    {
        State.DRAFT,
        State.AWAITING_INITIAL_APPROVAL,
        State.PLANNING,
        State.AWAITING_PEER_REVIEW,
        State.AWAITING_FINAL_APPROVAL,
    }
)
# What the schedule shows unless a state is asked for: rejected and withdrawn RFCs will
# not happen, so they would only clutter it.
DEFAULT_STATES = APPROVED_STATES | NOT_YET_APPROVED_STATES
SHOWN_PERIODS = (PeriodKind.HOLIDAY, PeriodKind.EXAM, PeriodKind.INSET, PeriodKind.FREEZE)
CONTINUING_LIMIT = 200
PERIOD_LIMIT = 300


@dataclass
class DayCell:
    day: date
    in_range: bool = True
    is_today: bool = False
    starting: list[Change] = field(default_factory=list)
    more: int = 0
    continuing: list[Change] = field(default_factory=list)
    periods: list[CalendarPeriod] = field(default_factory=list)
    link: str = ""  # the query string of the agenda from this day

    @property
    def is_weekend(self) -> bool:
        return self.day.weekday() >= 5

    @property
    def is_empty(self) -> bool:
        return not (self.starting or self.continuing or self.more)


def day_range(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz)


def _day_index(column: str, bounds: list[datetime], *, ends: bool = False) -> RawSQL:
    """The index of the local day `column` falls on, as a plain SQL CASE.

    `bounds` are the local midnights from the first day to the day after the last; -1
    is before the first day and len(bounds) - 1 after the last. An end at midnight
    belongs to the day before it. Comparing with precomputed midnights keeps the work
    in the database engine (a per-row time zone function is far slower on SQLite), and
    writing the CASE out by hand keeps it cheap to compile.
    """
    qn = connection.ops.quote_name
    field = f"{qn(Change._meta.db_table)}.{qn(column)}"
    compare = "<=" if ends else "<"
    params: list[Any] = []

    def search(low: int, high: int) -> str:
        # The day index of `field` knowing bounds[low - 1] <= it < bounds[high]: a binary
        # search, so each row costs a handful of comparisons rather than one per day.
        if low == high:
            return str(low - 1)
        middle = (low + high) // 2
        params.append(connection.ops.adapt_datetimefield_value(bounds[middle]))
        before = search(low, middle)
        after = search(middle + 1, high)
        return f"CASE WHEN {field} {compare} %s THEN {before} ELSE {after} END"

    # Safe: the SQL holds only quoted column names and integers; the times are parameters.
    sql = search(0, len(bounds))
    return RawSQL(sql, params, output_field=IntegerField())  # noqa: S611


# What a day of the month or week, or a row of the agenda, shows of an RFC.
SHOWN_FIELDS = ("id", "number", "title", "state", "is_emergency", "planned_start",
                "planned_end", "school__id", "school__name", "school__slug",
                "school__timezone")  # fmt: skip


def day_cells(
    queryset: QuerySet[Change],
    schools: list[School],
    first: date,
    last: date,
    tz: ZoneInfo,
    *,
    per_day: int,
    today: date,
    month: int | None = None,
) -> list[DayCell]:
    """One cell per local day from `first` to `last`, in a fixed number of queries.

    A cell lists at most `per_day` RFCs starting that day and `per_day` running on from
    an earlier day; `more` counts the rest exactly. `queryset` is bounded by school (the
    schedule's filter set); the window is bounded in time here (`windows.meeting`), so
    a long window that started weeks before the first day still runs on into it.
    """
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    bounds = [local_midnight(day, tz) for day in [*days, last + timedelta(days=1)]]
    start, end = bounds[0], bounds[-1]
    cells = [
        DayCell(day, in_range=month is None or day.month == month, is_today=day == today)
        for day in days
    ]
    in_range = queryset.filter(meeting(start, end)).annotate(
        start_index=_day_index("planned_start", bounds),
        end_index=_day_index("planned_end", bounds, ends=True),
    )

    # 1. How many start on, or run on into, each day: one GROUP BY of at most days² rows.
    counted = [0] * len(days)
    spans = in_range.values("start_index", "end_index").annotate(n=Count("id")).order_by()
    for row in spans:
        first_index = max(row["start_index"], 0)
        last_index = min(max(row["end_index"], row["start_index"]), len(days) - 1)
        for index in range(first_index, last_index + 1):
            counted[index] += row["n"]

    # 2. The first few starting on each day: their ids, ranked in the database, then them.
    first_ids = (
        in_range.filter(planned_start__gte=start)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("start_index")],
                order_by=[F("planned_start").asc(), F("id").asc()],
            )
        )
        .filter(rank__lte=per_day)
        .values_list("id", flat=True)
        .order_by()  # the ids only: not sorted by the model's ordering
    )
    first_ones = (
        Change.objects.filter(pk__in=list(first_ids))
        .select_related("school")
        .only(*SHOWN_FIELDS)
        .order_by("planned_start", "id")
    )
    for change in first_ones:
        assert change.planned_start is not None
        cells[bisect_right(bounds, change.planned_start) - 1].starting.append(change)

    # 3. Those running on from an earlier day, the earliest first, a few per day.
    running_on = (
        in_range.filter(end_index__gt=F("start_index"))
        .select_related("school")
        .only(*SHOWN_FIELDS)
        .order_by("planned_start", "id")[:CONTINUING_LIMIT]
    )
    for running in running_on:
        for index in range(
            max(running.start_index + 1, 0), min(running.end_index, len(days) - 1) + 1
        ):
            if len(cells[index].continuing) < per_day:
                cells[index].continuing.append(running)
    for cell, count in zip(cells, counted, strict=True):
        cell.more = max(count - len(cell.starting) - len(cell.continuing), 0)

    # 4. The calendar periods over the range.
    for period in periods_between(schools, start, end):
        index = max((period.starts_at.astimezone(tz).date() - first).days, 0)
        until = (period.ends_at.astimezone(tz) - timedelta(microseconds=1)).date()
        while index < len(days) and days[index] <= until:
            cells[index].periods.append(period)
            index += 1
    return cells


def periods_between(
    schools: list[School], start: datetime, end: datetime, kinds: tuple[str, ...] = SHOWN_PERIODS
) -> list[CalendarPeriod]:
    return list(
        CalendarPeriod.objects.filter(
            school_id__in=[s.pk for s in schools],
            kind__in=kinds,
            starts_at__lt=end,
            ends_at__gt=start,
        )
        .select_related("school")
        .order_by("starts_at", "id")[:PERIOD_LIMIT]
    )


def agenda(queryset: QuerySet[Change], start: datetime, end: datetime) -> QuerySet[Change]:
    """The RFCs whose window meets [start, end), by start, with what the agenda (and its
    conflicts) show: `queryset` is bounded by school, and the window here by time."""
    return (
        queryset.filter(meeting(start, end))
        .select_related("school")
        .only(*SHOWN_FIELDS)
        .order_by("planned_start", "id")
    )


def group_by_day(
    changes: list[Change], tz: ZoneInfo, first: date
) -> list[tuple[date, list[Change]]]:
    """Agenda entries under the local day they start (or the first day, if earlier)."""
    groups: dict[date, list[Change]] = defaultdict(list)
    for change in changes:
        assert change.planned_start is not None
        groups[max(change.planned_start.astimezone(tz).date(), first)].append(change)
    return sorted(groups.items())
