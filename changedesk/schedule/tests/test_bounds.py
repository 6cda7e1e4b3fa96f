"""Every query of the schedule that reads RFCs is bounded by school and by time, and the
bounds lose nothing at their edges: a window longer than `LONG_WINDOW` that started well
before the range still meets it, a window that ends as the range starts does not, and an
RFC of another school never collides, even naming the same item. Also the queries'
shape (no sort under a DISTINCT, only the columns used) and their fixed counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.changes.models import Change
from changedesk.schedule import conflicts, queries
from changedesk.schedule.calendar import load_calendars, overlaps
from changedesk.schedule.conflicts import find_conflicts, find_conflicts_many
from changedesk.schedule.feeds import FEED_PAST, feed_changes
from changedesk.schedule.services import create_feed_token
from changedesk.schedule.slots import busy_intervals, find_safe_slots, next_safe_slots
from changedesk.schedule.tests.factories import LONDON, at, item, planned, school_year
from changedesk.schedule.views.forward import _shown_periods
from changedesk.schedule.windows import LONG_WINDOW, meeting

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
FORWARD = reverse("schedule:forward")


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(at(2025, 1, 10, 12), tick=False):
        yield


@pytest.fixture
def year(school):
    return school_year(school)


def ids(changes) -> set[int]:
    return {c.pk for c in changes}


def overlap_ids(conflicts) -> list[int | None]:
    return [c.change_id for c in conflicts if c.kind == "overlap"]


# --- The bound itself, at its edges. ---


def test_meeting_keeps_exactly_the_windows_that_overlap(school, team):
    start, end = at(2025, 3, 10), at(2025, 3, 11)
    windows = {
        "ends as the range starts": (start - 2 * HOUR, start),
        "ends just inside": (start - 2 * HOUR, start + MINUTE),
        "as long as the bound, ending as the range starts": (start - LONG_WINDOW, start),
        "as long as the bound, ending inside": (start - LONG_WINDOW + MINUTE, start + MINUTE),
        "just longer than the bound": (start - LONG_WINDOW - MINUTE, start + MINUTE),
        "two months, from seven weeks before": (start - timedelta(days=49), start + 11 * 24 * HOUR),
        "two months, over before the range": (start - timedelta(days=70), start - HOUR),
        "a year round the range": (start - timedelta(days=200), end + timedelta(days=165)),
        "starts as the range ends": (end, end + HOUR),
        "starts just before the range ends": (end - MINUTE, end + HOUR),
        "inside": (start + HOUR, start + 2 * HOUR),
    }
    made = {
        name: planned(school, team["olivia"], s, e, title=name) for name, (s, e) in windows.items()
    }
    found = set(
        Change.objects.filter(meeting(start, end), school=school).values_list("title", flat=True)
    )
    expected = {name for name, (s, e) in windows.items() if overlaps(s, e, start, end)}
    assert found == expected
    assert "just longer than the bound" in found and "a year round the range" in found
    assert "ends as the range starts" not in found and "starts as the range ends" not in found
    assert len(made) == len(windows)


def test_meeting_keeps_a_window_longer_than_the_bound_by_a_microsecond(school, team):
    # SQLite finds long windows by their length in whole seconds: the edges in microseconds.
    start = at(2025, 3, 10) + timedelta(milliseconds=500)
    end = start + HOUR
    tick = timedelta(microseconds=1)
    second = start - timedelta(milliseconds=500)  # the whole second before the range
    windows = {
        "two microseconds longer": (start - LONG_WINDOW - tick, start + tick),
        "exactly as long, ending just inside": (start - LONG_WINDOW + tick, start + tick),
        "a microsecond longer, ending as the range starts": (start - LONG_WINDOW - tick, start),
        "a microsecond shorter, ending just inside": (start - LONG_WINDOW + 2 * tick, start + tick),
        # x.999999, which SQLite rounds up to the next second.
        "from a second's last microsecond": (second - LONG_WINDOW - tick, start + tick),
        "to a second's last microsecond": (
            start - LONG_WINDOW - 2 * tick,
            second + timedelta(seconds=1) - tick,
        ),
    }
    for name, (s, e) in windows.items():
        assert e - s != LONG_WINDOW or "exactly" in name
        planned(school, team["olivia"], s, e, title=name)
    found = set(
        Change.objects.filter(meeting(start, end), school=school).values_list("title", flat=True)
    )
    assert found == {name for name, (s, e) in windows.items() if overlaps(s, e, start, end)}
    assert "two microseconds longer" in found
    assert "from a second's last microsecond" in found and "to a second's last microsecond" in found


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own bound")
def test_on_sqlite_the_bound_is_one_range_with_long_windows_from_their_index(school):
    start = at(2025, 3, 10)
    queryset = Change.objects.filter(meeting(start, start + HOUR), school=school)
    sql, params = queryset.query.sql_with_params()
    assert " OR " not in sql
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " | ".join(str(row[-1]) for row in cursor.fetchall())
    assert "INDEX change_long_window (planned_end>?)" in plan, plan
    assert "planned_start>?" in plan, plan


# --- The agenda, the month and the week. ---


def test_the_agenda_shows_a_long_window_that_started_well_before_it(client, school, team, year):
    long = planned(
        school, team["olivia"], at(2025, 1, 20, 18), at(2025, 3, 20, 6), title="Rewire block B"
    )
    planned(school, team["olivia"], at(2025, 2, 1, 18), at(2025, 3, 1, 0), title="Over before")
    client.force_login(team["ian"])
    page = client.get(FORWARD, {"view": "agenda", "date": "2025-03-01"})
    body = page.content.decode()
    assert page.status_code == 200
    assert "Rewire block B" in body and "Over before" not in body
    start, end = queries.day_range(at(2025, 3, 1).date(), at(2025, 3, 31).date(), LONDON)
    agenda = list(queries.agenda(Change.objects.filter(school=school), start, end))
    assert ids(agenda) == {long.pk}


def test_the_month_shows_a_window_that_started_months_before_it(client, school, team, year):
    # 150 days before March: longer ago than any fixed look-back would reach.
    planned(school, team["olivia"], at(2024, 10, 1, 18), at(2025, 3, 5, 6), title="Rebuild the MIS")
    client.force_login(team["ian"])
    for view in ("month", "week"):
        page = client.get(FORWARD, {"view": view, "date": "2025-03-03"})
        assert "Rebuild the MIS" in page.content.decode(), view
    cells = queries.day_cells(
        Change.objects.filter(school=school),
        [school],
        at(2025, 3, 3).date(),
        at(2025, 3, 9).date(),
        LONDON,
        per_day=4,
        today=at(2025, 3, 3).date(),
    )
    running = [[c.title for c in cell.continuing] for cell in cells]
    assert running == [["Rebuild the MIS"]] * 3 + [[]] * 4


def test_the_agenda_reads_only_the_columns_it_shows(school, team):
    planned(school, team["olivia"], at(2025, 3, 4, 18), at(2025, 3, 4, 19))
    start, end = queries.day_range(at(2025, 3, 1).date(), at(2025, 3, 31).date(), LONDON)
    with CaptureQueriesContext(connection) as captured:
        (change,) = queries.agenda(Change.objects.filter(school=school), start, end)
    selected = captured.captured_queries[0]["sql"].split(" FROM ")[0]
    assert "description" not in selected and "originator" not in selected
    with CaptureQueriesContext(connection) as later:
        _ = (change.reference, change.title, change.state, change.is_emergency, change.school.name)
    assert len(later) == 0


# --- Conflicts. ---


def test_a_change_in_another_school_never_conflicts(school, other_school, team, oscar, year):
    mis = item(school, "the MIS server")
    mine = planned(school, team["olivia"], at(2025, 3, 4, 18), at(2025, 3, 4, 19), [mis])
    # Linked to this school's item by hand, as no form would allow: still not a conflict.
    theirs = planned(other_school, oscar, at(2025, 3, 4, 18), at(2025, 3, 4, 19), [mis])
    assert overlap_ids(find_conflicts(mine)) == []
    loaded = Change.objects.filter(pk__in=[mine.pk, theirs.pk]).select_related("school")
    assert {pk: overlap_ids(c) for pk, c in find_conflicts_many(loaded).items()} == {
        mine.pk: [],
        theirs.pk: [],
    }
    ours = planned(school, team["olivia"], at(2025, 3, 4, 18), at(2025, 3, 4, 19), [mis])
    assert overlap_ids(find_conflicts(mine)) == [ours.pk]


def test_a_long_open_change_that_started_weeks_before_still_conflicts(school, team, year):
    mis = item(school, "the MIS server")
    long = planned(
        school, team["olivia"], at(2025, 2, 1, 18), at(2025, 3, 31, 6), [mis], title="Migrate"
    )
    short = planned(school, team["olivia"], at(2025, 3, 18, 18), at(2025, 3, 18, 19), [mis])
    assert overlap_ids(find_conflicts(short)) == [long.pk]
    assert overlap_ids(find_conflicts(long)) == [short.pk]
    loaded = list(Change.objects.filter(pk=short.pk).select_related("school"))
    assert overlap_ids(find_conflicts_many(loaded)[short.pk]) == [long.pk]


def test_conflicts_take_a_fixed_number_of_queries(
    school, team, year, django_assert_num_queries, monkeypatch
):
    # The schedule's own rules: an app's registered rules add their queries (see
    # test_conflicts.py, the seam).
    monkeypatch.setattr(conflicts, "_RULES", {})
    mis = item(school, "the MIS server")
    change = planned(school, team["olivia"], at(2025, 3, 4, 18), at(2025, 3, 4, 19), [mis])
    change = Change.objects.select_related("school").get(pk=change.pk)
    # The calendar (two) and the RFC's items with the other RFCs touching them (one).
    with django_assert_num_queries(3):
        find_conflicts(change)
    with django_assert_num_queries(3):  # the plan names its items
        find_conflicts(
            change, start=change.planned_start, end=change.planned_end, item_ids=[mis.pk]
        )
    with django_assert_num_queries(3):
        find_conflicts_many([change])
    calendars = load_calendars([change.school], change.planned_start, change.planned_end)
    with django_assert_num_queries(1):  # given the calendars: the items and the others
        find_conflicts_many([change], calendars=calendars)


# --- Busy times and the next safe slots. ---


def test_busy_intervals_are_one_row_per_window_without_a_sort(school, other_school, team, oscar):
    mis, suite = item(school, "the MIS server"), item(school, "ICT suite 2")
    planned(school, team["olivia"], at(2025, 3, 4, 18), at(2025, 3, 4, 19), [mis, suite])
    planned(school, team["olivia"], at(2025, 3, 4, 18), at(2025, 3, 4, 19), [mis])
    planned(school, team["olivia"], at(2025, 3, 5, 18), at(2025, 3, 5, 19), [suite])
    planned(school, team["olivia"], at(2025, 2, 1), at(2025, 3, 3, 6), [suite])  # a month long
    planned(other_school, oscar, at(2025, 3, 6, 18), at(2025, 3, 6, 19), [mis])
    with CaptureQueriesContext(connection) as captured:
        busy = busy_intervals(school.pk, [mis.pk, suite.pk], at(2025, 3, 3), at(2025, 3, 10))
    assert busy == [
        (at(2025, 2, 1), at(2025, 3, 3, 6)),
        (at(2025, 3, 4, 18), at(2025, 3, 4, 19)),
        (at(2025, 3, 5, 18), at(2025, 3, 5, 19)),
    ]
    (sql,) = [q["sql"] for q in captured.captured_queries]
    selected = sql.split(" FROM ")[0]
    assert selected.startswith("SELECT DISTINCT")
    assert "planned_start" in selected and "planned_end" in selected
    assert "created_at" not in selected and '"id"' not in selected
    assert "ORDER BY" not in sql


def test_a_long_busy_window_that_started_weeks_before_blocks_the_slots(school, team, year):
    mis = item(school, "the MIS server")
    planned(school, team["olivia"], at(2025, 2, 20, 18), at(2025, 3, 20, 6), [mis])
    slots = next_safe_slots(school, HOUR, [mis.pk], after=at(2025, 3, 18, 12), count=1)
    assert slots == [(at(2025, 3, 20, 17, 30), at(2025, 3, 20, 18, 30))]


def test_next_safe_slots_are_the_slots_of_find_safe_slots(school, year):
    options = {"after": at(2025, 3, 18, 12), "count": 3}
    assert next_safe_slots(school, HOUR, [], **options) == (
        find_safe_slots(school, HOUR, [], **options).slots
    )


def test_slots_take_a_fixed_number_of_queries(school, team, year, django_assert_num_queries):
    mis = item(school, "the MIS server")
    planned(school, team["olivia"], at(2025, 3, 18, 17), at(2025, 3, 18, 19), [mis])
    with django_assert_num_queries(3):  # the calendar (two) and the busy times
        find_safe_slots(school, HOUR, [mis.pk], after=at(2025, 3, 18, 12))


# --- Feeds. ---


def test_a_feed_keeps_a_long_window_that_started_before_its_reach(school, team):
    token = create_feed_token(team["sam"], "school", school)
    now = at(2025, 6, 1, 12)
    reach = now - FEED_PAST
    long = planned(school, team["olivia"], reach - timedelta(days=30), reach + HOUR)
    planned(school, team["olivia"], reach - timedelta(days=30), reach - HOUR)  # over before
    assert ids(feed_changes(token, now)) == {long.pk}


# --- The pages' query budgets: what each took when set, plus a margin of two (as in
# changedesk/tests/test_query_budgets.py); test_pages checks that they stay flat. ---


@pytest.mark.parametrize(
    ("params", "budget"),
    [
        # The days: their RFCs ranked and counted in one query, then the periods.
        ({"view": "month", "date": "2025-03-01"}, 9),  # measured 7
        ({"view": "week", "date": "2025-03-03"}, 9),  # measured 7
        ({"view": "agenda", "date": "2025-03-01"}, 13),  # measured 11
    ],
    ids=["month", "week", "agenda"],
)
def test_schedule_pages_stay_within_their_query_budget(
    client, school, team, year, params, budget, django_assert_max_num_queries
):
    mis = item(school, "the MIS server")
    for day in range(3, 8):
        planned(school, team["olivia"], at(2025, 3, day, 18), at(2025, 3, day, 19), [mis])
    planned(school, team["olivia"], at(2025, 2, 1, 18), at(2025, 3, 31, 6), [mis])
    client.force_login(team["ian"])
    client.get(FORWARD, params)
    with django_assert_max_num_queries(budget):
        assert client.get(FORWARD, params).status_code == 200


def test_the_item_filter_offers_the_items_with_their_school_when_several(
    client, school, other_school, team
):
    mis = item(school, "MIS <server>")
    item(other_school, "Hillside router")
    ian = team["ian"]
    client.force_login(ian)
    body = client.get(FORWARD, {"item": mis.pk}).content.decode()
    assert f'<option value="{mis.pk}" selected>MIS &lt;server&gt;</option>' in body
    assert "Hillside router" not in body
    set_membership(ian, other_school, [Role.IMPLEMENTER])
    body = client.get(FORWARD).content.decode()
    assert f'<option value="{mis.pk}">MIS &lt;server&gt; (Greenfield Primary)</option>' in body
    assert "Hillside router (Hillside Academy)</option>" in body
    body = client.get(FORWARD, {"school": school.slug}).content.decode()
    assert f'<option value="{mis.pk}">MIS &lt;server&gt;</option>' in body


def test_the_agenda_lists_the_periods_of_its_days_from_the_calendars_it_loads(
    school, other_school, year
):
    # The agenda's periods come from the calendars loaded for its conflicts (over the
    # RFCs' windows, which may reach beyond its days): the same as `periods_between`.
    school_year(other_school, windows=False)
    shown = [school, other_school]
    start, end = queries.day_range(at(2025, 3, 1).date(), at(2025, 3, 31).date(), LONDON)
    calendars = load_calendars(shown, start - timedelta(days=40), end + timedelta(days=30))
    found = _shown_periods(calendars, start, end)
    expected = queries.periods_between(shown, start, end)
    assert [(p.pk, p.school) for p in found] == [(p.pk, p.school) for p in expected]
    assert {p.kind for p in found} == {"exam", "inset"}
    assert calendars[school.pk].windows and not calendars[other_school.pk].windows
