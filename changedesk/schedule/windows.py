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
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import DurationField, ExpressionWrapper, F, Q
from django.db.models.lookups import GreaterThan

from changedesk.changes.choices import OPEN_STATES

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


def since(moment: datetime, prefix: str = "", *, lowest: datetime | None = None) -> Q:
    """A bound on `planned_start` that keeps every window ending after (or at) `moment`.

    It only adds a lower bound: give the overlap (`planned_end` after `moment`) too.
    `lowest` is `moment - LONG_WINDOW`, worked out already (a compiled query's value:
    `lib/compiled.py`).
    """
    lowest = moment - LONG_WINDOW if lowest is None else lowest
    return Q(**{f"{prefix}planned_start__gte": lowest}) | long_window(prefix)


def meeting(
    start: datetime, end: datetime, prefix: str = "", *, lowest: datetime | None = None
) -> Q:
    """Windows that meet [start, end), bounded below for the index (see the module)."""
    overlap = Q(**{f"{prefix}planned_start__lt": end, f"{prefix}planned_end__gt": start})
    return overlap & since(start, prefix, lowest=lowest)
