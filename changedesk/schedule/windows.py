"""RFCs' planned windows as the schedule's queries read them: bounded in time.

A window is [planned_start, planned_end). One that meets [start, end) starts before `end`
and ends after `start`, but "ends after `start`" alone gives the index on
`(school, planned_start)` nothing to start from: it reads a school's whole history
before `end` to keep the few that are still running. The product puts no limit on a
window's length (only that both ends are within 20 years of today), so the lower bound
on `planned_start` is exact in two parts:

- a window of up to `LONG_WINDOW` that ends after `start` starts at or after
  `start - LONG_WINDOW` (a range of the index on `(school, planned_start)`);
- a longer one may start any time before, and is found among the long windows (a
  partial index on `(school, planned_end)` where `planned_end - planned_start >
  LONG_WINDOW`, which holds a handful of rows per school).

`since(start)` is that bound, or-ed; `meeting(start, end)` adds the overlap itself. On
PostgreSQL the two parts are two index scans joined by a BitmapOr, given the partial
index (its condition written with the same `LONG_WINDOW`) and statistics on the
expression `planned_end - planned_start` (`CREATE STATISTICS ... ON (planned_end -
planned_start) FROM changes_change`): without them the planner guesses a third of all
windows are long and reads the schools' whole history instead. Either way the answer is
exact; only its cost depends on them.

SQLite cannot split an `OR` nested among other conditions over two indexes: given the
`OR`, it reads every window of the schools' history before `end` (11,600 rows for ten
schools at 20,000 RFCs, 15 ms). There `since(start)` is one range instead: `planned_start`
at or after the earlier of `start - LONG_WINDOW` and the earliest start of a long window
that ends at or after `start`, found by a scalar subquery on its own partial index
(`change_long_window` on `(planned_end, planned_start)`, migration 0013 of changes). Its
condition counts a window's length in whole seconds of times rounded to the millisecond
(`strftime('%s', ...)`), so that it is exact where SQLite keeps times as text: a window
longer than `LONG_WINDOW` by a microsecond is at least `LONG_WINDOW` long counted so, and
the subquery finds it (one exactly as long is found too, which loses nothing).

The subquery is not bounded by school or state: a long window still running in any school,
even a draft's, widens the range for every school's queries, back to what they cost with
the `OR` (exact, only slower). SQLite serves a school or a few, where that is the same
school anyway. Django does not know this index (nor PostgreSQL's: both are made by their
migrations' own SQL): a migration that rebuilds the table on SQLite (altering a column)
drops it, so such a migration must create it again; `test_bounds` fails without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    BooleanField,
    DurationField,
    Expression,
    ExpressionWrapper,
    F,
    Q,
)
from django.db.models.lookups import GreaterThan

from changedesk.changes.choices import OPEN_STATES
from changedesk.changes.models import Change

# Windows longer than this are rare (an upgrade over a half term); the partial index of
# long windows holds them. Changing it means changing that index's condition too.
LONG_WINDOW = timedelta(days=7)
# The open states in a fixed order, so that a query's SQL is the same on every run.
OPEN_STATE_LIST = sorted(OPEN_STATES)


def long_window(prefix: str = "") -> Q:
    """Windows longer than `LONG_WINDOW` (the condition of their partial index).

    Written as `planned_end - planned_start > LONG_WINDOW`: on PostgreSQL a timestamp
    minus a timestamp is immutable (an index's condition may use it), while a timestamp
    plus an interval depends on the session's time zone. `prefix` reaches the RFC from
    another model (`"change__"` from its item links).
    """
    length = F(f"{prefix}planned_end") - F(f"{prefix}planned_start")
    return Q(GreaterThan(ExpressionWrapper(length, output_field=DurationField()), LONG_WINDOW))


# On SQLite: a window at least `LONG_WINDOW` long in whole seconds (SQLite rounds a time
# to the millisecond, then `%s` drops the fraction: both ends alike, so every window longer
# than `LONG_WINDOW` is caught, and one exactly as long too). It is the condition of
# SQLite's partial index `change_long_window` (migration 0013 of changes), written with the
# same constant: SQLite uses a partial index only for a query that repeats its condition,
# and not for a parameter in its place.
_LONG_SECONDS = int(LONG_WINDOW.total_seconds())
_SQLITE_LONG = (
    "CAST(strftime('%%s', w.planned_end) AS INTEGER) - "
    f"CAST(strftime('%%s', w.planned_start) AS INTEGER) >= {_LONG_SECONDS}"
)


class _Since(Expression):
    """`since()`'s bound on `planned_start` (`column`): `general` on PostgreSQL (an `OR`
    its planner splits over two indexes); on SQLite one range whose lower end is the earlier
    of `lowest` and the earliest start of a long window ending at or after `moment`, found
    by a scalar subquery written here as SQL (building it as a queryset on every call cost
    more than the rest of the condition)."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, general: Q, column: F, lowest: datetime, moment: datetime) -> None:
        super().__init__()
        self.general, self.column = general, column
        self.lowest, self.moment = lowest, moment

    def get_source_expressions(self) -> list[Any]:
        return [self.general, self.column]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        self.general, self.column = exprs

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        return compiler.compile(self.general)  # type: ignore[no-any-return]

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        column, params = compiler.compile(self.column)
        table = connection.ops.quote_name(Change._meta.db_table)
        lowest = connection.ops.adapt_datetimefield_value(self.lowest)
        moment = connection.ops.adapt_datetimefield_value(self.moment)
        earliest_long = (
            f"SELECT MIN(w.planned_start) FROM {table} w "  # noqa: S608 - names and constants only
            f"WHERE {_SQLITE_LONG} AND w.planned_end >= %s"
        )
        return (
            f"{column} >= MIN(%s, COALESCE(({earliest_long}), %s))",
            [*params, lowest, moment, lowest],
        )


def since(moment: datetime, prefix: str = "", *, lowest: datetime | None = None) -> Q:
    """A bound on `planned_start` that keeps every window ending after (or at) `moment`.

    It only adds a lower bound: give the overlap (`planned_end` after `moment`) too.
    `lowest` is `moment - LONG_WINDOW`, worked out already (a compiled query's value:
    `lib/compiled.py`). On SQLite it is one range (see the module).
    """
    lowest = moment - LONG_WINDOW if lowest is None else lowest
    start = f"{prefix}planned_start"
    general = Q(**{f"{start}__gte": lowest}) | long_window(prefix)
    return Q(_Since(general, F(start), lowest, moment))


def meeting(
    start: datetime, end: datetime, prefix: str = "", *, lowest: datetime | None = None
) -> Q:
    """Windows that meet [start, end), bounded below for the index (see the module)."""
    overlap = Q(**{f"{prefix}planned_start__lt": end, f"{prefix}planned_end__gt": start})
    return overlap & since(start, prefix, lowest=lowest)
