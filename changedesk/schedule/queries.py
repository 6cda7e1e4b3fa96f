"""The queries behind the forward schedule: month, week and agenda.

A day of the month or week view shows at most a few RFCs starting that day (the first
ones, by start time) and says how many more there are, so a school with thousands of
RFCs in a month costs the same few queries and the same page size as one with fifty:

1. one query over one scan of the RFCs in range (`day_cells`, `_ranked`): the first N
   starting on each local day and the RFCs that run on from an earlier day (a window
   over midnight, capped), ranked in the database with window functions and read as
   values (`Entry`), not models; and how many start on, or run on into, each day;
2. the calendar periods (holidays, exams, INSET days, freezes) over the range.

Days are local days in the time zone the page is shown in; which day a time falls on is
worked out in SQL against the local midnights, computed here.

The agenda pages its RFCs ids first (`agenda`, `agenda_rows`); every page offers the
item filter's choices (`item_choices`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from django.db import connection, connections
from django.db.models import Field, IntegerField, QuerySet
from django.db.models.expressions import RawSQL

from changedesk.accounts.models import School
from changedesk.changes.choices import State
from changedesk.changes.models import Change, format_reference
from changedesk.configuration.models import ConfigurationItem
from changedesk.lib.paging import MERGE_MAX_SCHOOLS
from changedesk.schedule.calendar import day_name, local_midnight, month_name
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


class Entry(NamedTuple):
    """An RFC as a day of the month or week shows it, read as values: a busy month shows a
    few hundred, and a model instance each costs more than the query that finds them."""

    id: int
    number: int
    title: str
    state: str
    is_emergency: bool
    planned_start: datetime
    school_id: int

    @property
    def reference(self) -> str:
        return format_reference(self.number)


# The columns of an `Entry`, in its order.
ENTRY_FIELDS = Entry._fields


@dataclass
class DayCell:
    day: date
    in_range: bool = True
    is_today: bool = False
    starting: list[Entry] = field(default_factory=list)
    more: int = 0
    continuing: list[Entry] = field(default_factory=list)
    periods: list[CalendarPeriod] = field(default_factory=list)

    @property
    def is_weekend(self) -> bool:
        return self.day.weekday() >= 5

    @property
    def flags(self) -> str:
        """The day's classes after its own: " other-month", " today", " weekend"."""
        return (
            ("" if self.in_range else " other-month")
            + (" today" if self.is_today else "")
            + (" weekend" if self.is_weekend else "")
        )

    @property
    def weekday(self) -> str:
        return day_name(self.day.weekday())

    @property
    def day_month(self) -> str:
        return f"{self.day.day} {month_name(self.day)}"

    @property
    def month_year(self) -> str:
        return f"{month_name(self.day)} {self.day.year}"

    @property
    def is_empty(self) -> bool:
        return not (self.starting or self.continuing or self.more)


def day_range(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz)


def _day_index(column: str, bounds: list[datetime], *, ends: bool = False) -> RawSQL:
    """The index of the local day `column` falls on, as `bisect_right(bounds, value) - 1`.

    `bounds` are the local midnights from the first day to the day after the last; -1
    is before the first day and len(bounds) - 1 after the last. An end at midnight
    belongs to the day before it. Comparing with precomputed midnights keeps the work
    in the database engine (a per-row time zone function is far slower on SQLite) and
    exact in any time zone. PostgreSQL has the search built in (`width_bucket` over an
    array: one parameter, a short statement that the driver parses once and caches);
    elsewhere it is a plain SQL CASE written out by hand, cheap to compile.
    """
    qn = connection.ops.quote_name
    field = f"{qn(Change._meta.db_table)}.{qn(column)}"
    if connection.vendor == "postgresql":
        # Times are kept to the microsecond: "end <= bound" is "end - 1 µs < bound".
        value = f"{field} - interval '1 microsecond'" if ends else field
        # Safe: the SQL holds only a quoted column name; the times are one parameter.
        return RawSQL(  # noqa: S611
            f"width_bucket({value}, %s) - 1", [list(bounds)], output_field=IntegerField()
        )
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


# What a row of the agenda (and its conflicts) shows of an RFC.
SHOWN_FIELDS = ("id", "number", "title", "state", "is_emergency", "planned_start",
                "planned_end", "school__id", "school__name", "school__slug",
                "school__timezone")  # fmt: skip


# The days' query around the RFCs in range (`inner`): their ranks and counts, windows
# over one scan (see `_ranked`). Written on one line, as the driver and the logs see it.
RANKED_SQL = re.sub(
    r"\s+",
    " ",
    """
    SELECT {columns}, day_rank, run_rank, CASE WHEN group_row = 1 THEN group_count ELSE 0 END
    FROM (
        SELECT r.*,
            ROW_NUMBER() OVER (PARTITION BY {start_index} ORDER BY {start}, {pk}) AS day_rank,
            COUNT(*) FILTER (WHERE {end_index} > {start_index})
                OVER (ORDER BY {start_index}, {start}, {pk} ROWS UNBOUNDED PRECEDING) AS run_rank,
            COUNT(*) OVER (PARTITION BY {start_index}, {end_index}) AS group_count,
            ROW_NUMBER() OVER (PARTITION BY {start_index}, {end_index}) AS group_row
        FROM ({inner}) AS r
    ) AS ranked
    WHERE (day_rank <= %s AND {start_index} >= 0)
        OR ({end_index} > {start_index} AND run_rank <= %s)
        OR group_row = 1
    ORDER BY {start}, {pk}
    """,
).strip()


def _ranked(in_range: QuerySet[Change], per_day: int) -> list[tuple[Any, ...]]:
    """What the days show and count, in one query over one scan of the RFCs in range
    (`in_range`, annotated with `start_index` and `end_index`): each row is an `Entry`'s
    values, then its start and end day, its rank among those starting on its day, its
    rank among those running on over midnight, and, on one row of each (start day, end
    day), how many RFCs have those days (0 on the others).

    A row is returned if it is among the first `per_day` starting on its day, among the
    first `CONTINUING_LIMIT` running on, or the counting row of its (start, end); so at
    most days * per_day + CONTINUING_LIMIT + days² rows however many RFCs there are. The
    ranks are windows ordered by start, which the day index follows: the database sorts
    the rows twice (by day and start; by day and end day), not once per window.
    """
    db = in_range.db
    qn = connections[db].ops.quote_name
    inner, params = (
        in_range.values_list(*ENTRY_FIELDS, "start_index", "end_index")
        .order_by()
        .query.sql_with_params()
    )
    # The inner SQL is Django's (values as parameters); the rest names its columns.
    sql = RANKED_SQL.format(
        inner=inner,
        columns=", ".join(qn(c) for c in (*ENTRY_FIELDS, "start_index", "end_index")),
        start_index=qn("start_index"),
        end_index=qn("end_index"),
        start=qn("planned_start"),
        pk=qn("id"),
    )
    with connections[db].cursor() as cursor:
        cursor.execute(sql, [*params, per_day, CONTINUING_LIMIT])
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    converters = _entry_converters(db)
    if not converters:
        return rows
    converted = []
    for row in rows:
        values = list(row)
        for index, convert in converters:
            values[index] = convert(values[index])
        converted.append(tuple(values))
    return converted


def _entry_converters(db: str) -> list[tuple[int, Callable[[Any], Any]]]:
    """What turns an `Entry`'s column, read by hand, into what the ORM would give (on
    SQLite a time is text and a boolean 0 or 1; on PostgreSQL nothing needs turning)."""
    connection = connections[db]
    found: list[tuple[int, Callable[[Any], Any]]] = []
    for index, name in enumerate(ENTRY_FIELDS):
        column = Change._meta.get_field(name)
        assert isinstance(column, Field)
        expression = column.get_col(Change._meta.db_table)
        for convert in [
            *connection.ops.get_db_converters(expression),
            *column.get_db_converters(connection),
        ]:
            found.append((index, partial(_convert, convert, expression, connection)))
    return found


def _convert(convert: Callable[..., Any], expression: Any, connection: Any, value: Any) -> Any:
    return convert(value, expression, connection)


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
    # Each row as `_ranked` reads it: an RFC starting on its day, running on into the
    # next ones, and/or counting for its (start day, end day).
    counted = [0] * len(days)
    last_index = len(days) - 1
    for row in _ranked(in_range, per_day):
        entry = Entry._make(row[: len(ENTRY_FIELDS)])
        start_index, end_index, day_rank, run_rank, group_count = row[len(ENTRY_FIELDS) :]
        if group_count:  # one row of each (start day, end day): how many RFCs it has
            for index in range(
                max(start_index, 0), min(max(end_index, start_index), last_index) + 1
            ):
                counted[index] += group_count
        if start_index >= 0 and day_rank <= per_day:
            cells[start_index].starting.append(entry)
        if end_index > start_index and run_rank <= CONTINUING_LIMIT:
            for index in range(max(start_index + 1, 0), min(end_index, last_index) + 1):
                if len(cells[index].continuing) < per_day:
                    cells[index].continuing.append(entry)
    for cell, count in zip(cells, counted, strict=True):
        cell.more = max(count - len(cell.starting) - len(cell.continuing), 0)

    # The calendar periods over the range.
    for period in periods_between(schools, start, end):
        index = max((period.starts_at.astimezone(tz).date() - first).days, 0)
        until = (period.ends_at.astimezone(tz) - timedelta(microseconds=1)).date()
        while index < len(days) and days[index] <= until:
            cells[index].periods.append(period)
            index += 1
    return cells


PERIOD_FIELDS = ("id", "school_id", "kind", "name", "starts_at", "ends_at", "is_hard")


def periods_between(
    schools: list[School], start: datetime, end: datetime, kinds: tuple[str, ...] = SHOWN_PERIODS
) -> list[CalendarPeriod]:
    """The periods of `kinds` of `schools` meeting [start, end), with their school (taken
    from `schools`, not joined)."""
    by_id = {s.pk: s for s in schools}
    periods = list(
        CalendarPeriod.objects.filter(
            school_id__in=list(by_id),
            kind__in=kinds,
            starts_at__lt=end,
            ends_at__gt=start,
        )
        .only(*PERIOD_FIELDS)
        .order_by("starts_at", "id")[:PERIOD_LIMIT]
    )
    for period in periods:
        period.school = by_id[period.school_id]
    return periods


def agenda(
    queryset: QuerySet[Change], start: datetime, end: datetime, *, with_school: bool = True
) -> QuerySet[Change]:
    """The RFCs whose window meets [start, end), by start, with what the agenda (and its
    conflicts) show: `queryset` is bounded by school, and the window here by time.
    `with_school=False`: each row's school's id only, not joined (the page has its schools
    loaded and puts them in: `with_schools`)."""
    found = queryset.filter(meeting(start, end)).order_by("planned_start", "id")
    if not with_school:
        return found.only(*AGENDA_FIELDS)
    return found.select_related("school").only(*SHOWN_FIELDS)


# The columns the agenda's rows load, without their school's.
AGENDA_FIELDS = ("id", "number", "title", "state", "is_emergency", "planned_start",
                 "planned_end", "school")  # fmt: skip


def with_schools(changes: list[Change], schools: list[School]) -> list[Change]:
    """`changes` with their schools set from `schools` (loaded already: no query, no join)."""
    by_id = {s.pk: s for s in schools}
    for change in changes:
        change.school = by_id[change.school_id]
    return changes


ITEM_CHOICES_LIMIT = 500


def item_choices(schools: list[School]) -> list[tuple[int, str, str]]:
    """The item filter's choices: (id, name, school's name) of the first
    `ITEM_CHOICES_LIMIT` items of `schools` by name (hundreds for many schools).

    On PostgreSQL, for several schools (as many as `paging.MergedIds` merges), each
    school's first items come from the index on (school, name, id) and are merged (a
    `UNION ALL` of ordered branches, which the planner merges in order): sorting all the
    schools' items by name (a collation's comparison each) costs more.
    """
    names = {s.pk: s.name for s in schools}
    db = ConfigurationItem.objects.db
    merged = 1 < len(names) <= MERGE_MAX_SCHOOLS
    if merged and connections[db].vendor == "postgresql":
        qn = connections[db].ops.quote_name
        table = qn(ConfigurationItem._meta.db_table)
        pk, name, school = qn("id"), qn("name"), qn("school_id")
        # Safe: the SQL holds only quoted names; the values are parameters.
        branch = (
            f"(SELECT {pk}, {name}, {school} FROM {table} WHERE {school} = %s "  # noqa: S608
            f"ORDER BY {name}, {pk} LIMIT %s)"
        )
        sql = (
            f"SELECT * FROM ({' UNION ALL '.join([branch] * len(names))}) AS branches "  # noqa: S608
            f"ORDER BY {name}, {pk} LIMIT %s"
        )
        params = [v for school_id in names for v in (school_id, ITEM_CHOICES_LIMIT)]
        with connections[db].cursor() as cursor:
            cursor.execute(sql, [*params, ITEM_CHOICES_LIMIT])
            items: Any = cursor.fetchall()
    else:
        items = (
            ConfigurationItem.objects.filter(school_id__in=list(names))
            .order_by("name", "id")
            .values_list("id", "name", "school_id")[:ITEM_CHOICES_LIMIT]
        )
    return [(pk, name, names[school_id]) for pk, name, school_id in items]


def group_by_day(
    changes: list[Change], tz: ZoneInfo, first: date
) -> list[tuple[date, list[Change]]]:
    """Agenda entries under the local day they start (or the first day, if earlier)."""
    groups: dict[date, list[Change]] = defaultdict(list)
    for change in changes:
        assert change.planned_start is not None
        groups[max(change.planned_start.astimezone(tz).date(), first)].append(change)
    return sorted(groups.items())
