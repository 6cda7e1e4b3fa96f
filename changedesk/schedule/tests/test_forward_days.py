"""The days of the forward schedule's month and week (`queries.day_cells`), read in one
query, against a plain count of every window in Python: which RFCs each day lists as
starting and as running on, in which order, and how many more it has, across midnight,
the clocks going forward, the edges of the grid and the caps. Also the item filter's
choices for several schools, merged school by school on PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from changedesk.changes.models import Change
from changedesk.configuration.models import ConfigurationItem
from changedesk.conftest import REQUEST
from changedesk.schedule import queries
from changedesk.schedule.filters import ScheduleFilterSet
from changedesk.schedule.tests.factories import LONDON, at, item

pytestmark = pytest.mark.django_db
MICROSECOND = timedelta(microseconds=1)
# March 2025's grid: Mon 24 Feb to Sun 6 Apr; the clocks go forward on Sun 30 Mar.
GRID = (date(2025, 2, 24), date(2025, 4, 6))
WINDOWS = {
    **{f"Busy {n}": (at(2025, 3, 20, 18, n), at(2025, 3, 20, 19, n)) for n in range(5)},
    "Overnight": (at(2025, 3, 21, 22), at(2025, 3, 22, 2)),
    "Ends at midnight": (at(2025, 3, 23, 22), at(2025, 3, 24)),
    "Starts at midnight": (at(2025, 3, 25), at(2025, 3, 25, 1)),
    "Over the clocks": (at(2025, 3, 29, 23, 30), at(2025, 3, 30, 3, 30)),
    "In the lost hour": (at(2025, 3, 30, 0, 30), at(2025, 3, 30, 2, 30)),
    "Three days": (at(2025, 3, 10, 18), at(2025, 3, 13, 6)),
    **{f"Night {n}": (at(2025, 3, 11, 20, n), at(2025, 3, 12, 4)) for n in range(4)},
    "Since January": (at(2025, 1, 15, 18), at(2025, 3, 5, 6)),
    "Into the grid": (at(2025, 2, 23, 20), at(2025, 2, 24, 2)),
    "Ends as the grid starts": (at(2025, 2, 23, 22), at(2025, 2, 24)),
    "On the last night": (at(2025, 4, 6, 23), at(2025, 4, 7, 1)),
    "After the grid": (at(2025, 4, 7, 18), at(2025, 4, 7, 19)),
}


def make(school, originator, windows, state="planning") -> list[Change]:
    first = Change.objects.filter(school=school).count() + 1
    return Change.objects.bulk_create(
        Change(
            school=school,
            originator=originator,
            number=first + n,
            planned_start=start,
            planned_end=end,
            state=state,
            **{**REQUEST, "title": title},
        )
        for n, (title, (start, end)) in enumerate(windows.items())
    )


def expected(changes, first: date, last: date, per_day: int) -> list[tuple]:
    """Each day's (starting, running on, more), by looking at every window in Python."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    ordered = sorted(changes, key=lambda c: (c.planned_start, c.pk))
    found = []
    for day in days:
        starting, running = [], []
        for change in ordered:
            starts = change.planned_start.astimezone(LONDON).date()
            ends = (change.planned_end - MICROSECOND).astimezone(LONDON).date()
            if starts == day:
                starting.append(change.title)
            elif starts < day <= ends:
                running.append(change.title)
        shown = starting[:per_day], running[:per_day]
        found.append((*shown, len(starting) + len(running) - len(shown[0]) - len(shown[1])))
    return found


def cells(school, first: date, last: date, per_day: int) -> list[tuple]:
    changes = ScheduleFilterSet({}, schools=[school]).qs
    days = queries.day_cells(
        changes, [school], first, last, LONDON, per_day=per_day, today=first, month=3
    )
    return [([e.title for e in c.starting], [e.title for e in c.continuing], c.more) for c in days]


def test_each_day_lists_and_counts_what_a_plain_count_of_the_windows_finds(school, team):
    made = make(school, team["olivia"], WINDOWS)
    make(
        school, team["olivia"], {"Rejected": (at(2025, 3, 20, 18), at(2025, 3, 20, 19))}, "rejected"
    )
    for per_day in (2, 4, 20):
        assert cells(school, *GRID, per_day) == expected(made, *GRID, per_day), per_day
    days = [GRID[0] + timedelta(days=n) for n in range(42)]
    found = dict(zip(days, cells(school, *GRID, 2), strict=True))
    assert found[date(2025, 3, 20)] == (["Busy 0", "Busy 1"], [], 3)
    assert found[date(2025, 3, 12)] == ([], ["Three days", "Night 0"], 3)
    assert found[date(2025, 3, 24)] == ([], [], 0)  # ended at midnight
    assert found[date(2025, 3, 30)] == (["In the lost hour"], ["Over the clocks"], 0)
    assert found[date(2025, 2, 24)] == ([], ["Since January", "Into the grid"], 0)


def test_a_week_reads_the_same_days_as_the_month(school, team):
    made = make(school, team["olivia"], WINDOWS)
    week = (date(2025, 3, 10), date(2025, 3, 16))
    assert cells(school, *week, 20) == expected(made, *week, 20)


def test_runs_on_past_their_cap_are_still_counted(school, team, monkeypatch):
    monkeypatch.setattr(queries, "CONTINUING_LIMIT", 2)
    nights = {f"Night {n}": (at(2025, 3, 3 + n, 22), at(2025, 3, 4 + n, 2)) for n in range(4)}
    make(school, team["olivia"], nights)
    found = cells(school, date(2025, 3, 3), date(2025, 3, 9), 4)
    assert [running for _, running, _ in found] == [[], ["Night 0"], ["Night 1"], [], [], [], []]
    assert [more for _, _, more in found] == [0, 0, 0, 1, 1, 0, 0]


def test_the_days_take_two_queries_however_many_windows(school, team, django_assert_num_queries):
    make(school, team["olivia"], WINDOWS)
    with django_assert_num_queries(2):  # the RFCs, ranked and counted; the periods
        cells(school, *GRID, 4)


def test_the_item_filter_offers_the_first_items_by_name_of_all_my_schools(
    school, other_school, monkeypatch
):
    monkeypatch.setattr(queries, "ITEM_CHOICES_LIMIT", 5)
    for name in ("Printer", "MIS", "Wi-Fi", "Access point", "Server"):
        item(school, name)
        item(other_school, f"{name} B")
    item(other_school, "MIS")  # the same name in another school: ordered by id
    plain = ConfigurationItem.objects.order_by("name", "id")[:5]
    names = {school.pk: school.name, other_school.pk: other_school.name}
    assert queries.item_choices([school, other_school]) == [
        (i.pk, i.name, names[i.school_id]) for i in plain
    ]
    assert [name for _, name, _ in queries.item_choices([other_school])] == [
        "Access point B",
        "MIS",
        "MIS B",
        "Printer B",
        "Server B",
    ]
