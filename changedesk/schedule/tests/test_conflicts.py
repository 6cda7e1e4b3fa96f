"""The conflict engine: every kind of conflict, hard and soft freezes, emergencies, the
clock changes of March and October, and a page of RFCs in a fixed number of queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from changedesk.changes.models import Change
from changedesk.changes.workflow import perform
from changedesk.schedule.conflicts import (
    Conflict,
    find_conflicts,
    find_conflicts_many,
    hard_conflicts,
    soft_conflicts,
)
from changedesk.schedule.models import MaintenanceWindow
from changedesk.schedule.tests.factories import at, item, planned, school_year

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(datetime(2025, 1, 10, 12, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def year(school):
    return school_year(school)


def kinds(conflicts: list[Conflict]) -> list[str]:
    return [c.kind for c in conflicts]


def test_it_finds_nothing_without_a_planned_window(draft, year):
    assert draft.planned_start is None
    assert find_conflicts(draft) == []
    assert find_conflicts_many([draft]) == {draft.pk: []}


def test_it_finds_nothing_in_a_weekday_evening_window(school, team, year):
    change = planned(school, team["olivia"], at(2025, 3, 18, 18), at(2025, 3, 18, 19))
    assert find_conflicts(change) == []


def test_it_finds_an_overlap_with_an_open_change_on_the_same_item(school, team, year):
    mis = item(school, "the MIS server")
    suite = item(school, "ICT suite 2")
    other = planned(
        school, team["olivia"], at(2025, 3, 4, 18), at(2025, 3, 4, 19), [mis],
        title="Upgrade the MIS",
    )  # fmt: skip
    change = planned(
        school, team["olivia"], at(2025, 3, 4, 18, 30), at(2025, 3, 4, 20), [mis, suite]
    )
    conflicts = [c for c in find_conflicts(change) if c.kind == "overlap"]
    assert conflicts == [
        Conflict(
            kind="overlap",
            hard=False,
            message=f"Overlaps {other.reference} “Upgrade the MIS”, which also touches the MIS "
            "server, on Tue 4 Mar 18:00\u201319:00.",
            change_id=other.pk,
            item_ids=(mis.pk,),
        )
    ]
    # And the other way round.
    assert [c.change_id for c in find_conflicts(other) if c.kind == "overlap"] == [change.pk]


def test_an_overlap_needs_a_shared_item_an_open_change_and_a_real_overlap(school, team, year):
    mis, suite = item(school, "the MIS server"), item(school, "ICT suite 2")
    change = planned(school, team["olivia"], at(2025, 3, 4, 18), at(2025, 3, 4, 19), [mis])
    planned(school, team["olivia"], at(2025, 3, 4, 18), at(2025, 3, 4, 19), [suite])  # other item
    planned(school, team["olivia"], at(2025, 3, 4, 19), at(2025, 3, 4, 20), [mis])  # touches end
    withdrawn = planned(school, team["olivia"], at(2025, 3, 4, 18), at(2025, 3, 4, 19), [mis])
    perform(withdrawn.pk, "withdraw", team["olivia"], comment="Not needed.")
    assert "overlap" not in kinds(find_conflicts(change))


def test_planned_values_override_the_saved_ones(school, team, year):
    mis = item(school, "the MIS server")
    planned(school, team["olivia"], at(2025, 3, 18, 18), at(2025, 3, 18, 19), [mis])
    change = planned(school, team["olivia"], at(2025, 3, 19, 18), at(2025, 3, 19, 19))
    assert find_conflicts(change) == []
    moved = find_conflicts(
        change, start=at(2025, 3, 18, 18), end=at(2025, 3, 18, 19), item_ids=[mis.pk]
    )
    assert kinds(moved) == ["overlap"]
    # An RFC not saved yet can be checked too.
    unsaved = Change(school=school, title="New", is_emergency=False)
    assert kinds(
        find_conflicts(
            unsaved, start=at(2025, 3, 18, 18), end=at(2025, 3, 18, 19), item_ids=[mis.pk]
        )
    ) == ["overlap"]


def test_it_finds_an_exam_period(school, team, year):
    change = planned(school, team["olivia"], at(2025, 3, 5, 18), at(2025, 3, 5, 19))
    (conflict,) = find_conflicts(change)
    assert conflict.kind == "exam"
    assert not conflict.hard
    assert conflict.message == "Falls in the exam period “GCSE mocks” (3\u201314 March)."
    assert conflict.period_id == year["mocks"].pk


def test_a_hard_freeze_forbids_approval(school, team, year):
    change = planned(school, team["olivia"], at(2025, 5, 15, 18), at(2025, 5, 15, 19))
    (conflict,) = find_conflicts(change)
    assert conflict.kind == "freeze"
    assert conflict.hard
    assert conflict.message == (
        "Falls in the hard change freeze “Census day” (15 May): nothing may be approved inside it."
    )
    assert hard_conflicts([conflict]) == [conflict]
    assert soft_conflicts([conflict]) == []


def test_a_soft_freeze_needs_an_override(school, team, year):
    change = planned(school, team["olivia"], at(2025, 7, 22, 18), at(2025, 7, 22, 19))
    (conflict,) = find_conflicts(change)
    assert conflict.kind == "freeze"
    assert not conflict.hard
    assert "“Year-end” (21\u201325 July)" in conflict.message
    assert "override reason" in conflict.message


def test_an_emergency_is_never_hard_blocked(school, team, year):
    change = planned(
        school, team["olivia"], at(2025, 5, 15, 18), at(2025, 5, 15, 19), is_emergency=True,
        emergency_justification="The MIS is down.",
    )  # fmt: skip
    (conflict,) = find_conflicts(change)
    assert conflict.kind == "freeze"
    assert not conflict.hard
    assert "emergency" in conflict.message


def test_it_finds_the_teaching_day_in_term_only(school, team, year):
    lesson_time = planned(school, team["olivia"], at(2025, 3, 18, 10), at(2025, 3, 18, 11))
    (conflict,) = [c for c in find_conflicts(lesson_time) if c.kind == "teaching_day"]
    assert not conflict.hard
    assert conflict.message == (
        "Takes a system down during the teaching day (08:40\u201315:20) on Tue 18 Mar."
    )
    # Half term, an INSET day, a weekend and the summer holiday are not teaching days.
    for start in (
        at(2025, 2, 18, 10),
        at(2025, 3, 31, 10),
        at(2025, 3, 22, 10),
        at(2025, 8, 5, 10),
    ):
        change = planned(school, team["olivia"], start, start + timedelta(hours=1))
        assert "teaching_day" not in kinds(find_conflicts(change)), start
    # Before and after the teaching day.
    early = planned(school, team["olivia"], at(2025, 3, 18, 7, 40), at(2025, 3, 18, 8, 40))
    late = planned(school, team["olivia"], at(2025, 3, 18, 15, 20), at(2025, 3, 18, 16))
    assert "teaching_day" not in kinds(find_conflicts(early))
    assert "teaching_day" not in kinds(find_conflicts(late))


def test_a_long_change_names_the_first_teaching_day_and_counts_the_rest(school, team, year):
    change = planned(school, team["olivia"], at(2025, 3, 17, 10), at(2025, 3, 19, 10))
    (conflict,) = [c for c in find_conflicts(change) if c.kind == "teaching_day"]
    assert conflict.message.endswith("on Mon 17 Mar and 2 more school days.")


def test_no_term_dates_means_no_teaching_day(school, team):
    change = planned(school, team["olivia"], at(2025, 3, 18, 10), at(2025, 3, 18, 11))
    assert find_conflicts(change) == []


def test_it_finds_a_change_outside_every_maintenance_window(school, team, year):
    change = planned(school, team["olivia"], at(2025, 3, 18, 16), at(2025, 3, 18, 17))
    (conflict,) = find_conflicts(change)
    assert conflict.kind == "outside_window"
    assert not conflict.hard
    assert conflict.message == (
        "Runs outside the maintenance windows (Weekday evenings (Mon\u2013Fri, 17:30\u201324:00); "
        "Weekends (Sat\u2013Sun, all day))."
    )
    straddling = planned(school, team["olivia"], at(2025, 3, 18, 17), at(2025, 3, 18, 18))
    (straddles,) = find_conflicts(straddling)
    assert straddles.message == conflict.message  # one wording for one conflict


def test_the_windows_are_described_once_per_calendar_in_each_language(
    school, team, year, monkeypatch
):
    import dataclasses

    from django.utils import translation

    from changedesk.schedule import calendar
    from changedesk.schedule.calendar import load_calendars

    described = []
    original = calendar.describe_window
    monkeypatch.setattr(
        calendar, "describe_window", lambda w: described.append(w.pk) or original(w)
    )

    outside = [
        planned(school, team["olivia"], at(2025, 3, 18, 16), at(2025, 3, 18, 17)),
        planned(school, team["olivia"], at(2025, 3, 19, 16), at(2025, 3, 19, 17)),
    ]
    loaded = list(Change.objects.filter(pk__in=[c.pk for c in outside]).select_related("school"))
    calendars = load_calendars([school], at(2025, 3, 18, 0), at(2025, 3, 20, 0))
    english = find_conflicts_many(loaded, calendars=calendars)
    with translation.override("cy"):
        welsh = find_conflicts_many(loaded, calendars=calendars)
    again = find_conflicts_many(loaded, calendars=calendars)
    first = english[outside[0].pk][0].message
    assert first.startswith("Runs outside the maintenance windows (Weekday evenings (Mon")
    assert english[outside[1].pk][0].message == first
    assert welsh[outside[0].pk][0].message != first  # in Welsh, not English kept from before
    assert "Mon" not in welsh[outside[0].pk][0].message
    assert again == english
    # Each window once in English and once in Welsh, for the two RFCs and the three checks.
    windows = calendars[school.pk].windows
    assert len(windows) == 2 and len(described) == 2 * len(windows)
    # A copy with other windows describes its own.
    (kept,) = [w for w in windows if w.name.startswith("Weekday")]
    copy = dataclasses.replace(calendars[school.pk], windows=[kept])
    assert copy.describe_windows().count("(") == 1


def test_windows_that_meet_at_midnight_are_one(school, team, year):
    friday_night = planned(school, team["olivia"], at(2025, 3, 21, 22), at(2025, 3, 22, 3))
    assert find_conflicts(friday_night) == []
    sunday_night = planned(school, team["olivia"], at(2025, 3, 23, 22), at(2025, 3, 24, 1))
    assert kinds(find_conflicts(sunday_night)) == ["outside_window"]


def test_an_overnight_window(school, team, year):
    MaintenanceWindow.objects.filter(school=school).delete()
    MaintenanceWindow.objects.create(
        school=school, name="Nights", weekdays=[1], start_time=at(2025, 1, 1, 22).time(),
        end_time=at(2025, 1, 1, 6).time(),
    )  # fmt: skip
    inside = planned(school, team["olivia"], at(2025, 3, 19, 1), at(2025, 3, 19, 5))  # Wed 01:00
    outside = planned(school, team["olivia"], at(2025, 3, 20, 1), at(2025, 3, 20, 5))  # Thu
    assert find_conflicts(inside) == []
    assert kinds(find_conflicts(outside)) == ["outside_window"]


def test_a_school_without_windows_has_no_window_conflicts(school, team, year):
    MaintenanceWindow.objects.filter(school=school).delete()
    change = planned(school, team["olivia"], at(2025, 3, 18, 16), at(2025, 3, 18, 17))
    assert find_conflicts(change) == []


# --- The clock changes. In UTC, the same instant is a different local time either side. ---


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_march_clock_change_moves_the_teaching_day(school, team, year):
    # 07:50-08:00 UTC: 07:50 GMT on Fri 28 Mar (before school), 08:50 BST on Tue 1 Apr.
    before = planned(school, team["olivia"], utc(2025, 3, 28, 7, 50), utc(2025, 3, 28, 8, 0))
    after = planned(school, team["olivia"], utc(2025, 4, 1, 7, 50), utc(2025, 4, 1, 8, 0))
    assert "teaching_day" not in kinds(find_conflicts(before))
    assert "teaching_day" in kinds(find_conflicts(after))


def test_march_clock_change_moves_the_maintenance_window(school, team, year):
    # 16:40-17:00 UTC: 16:40 GMT on Fri 28 Mar (before the window), 17:40 BST on Tue 1 Apr.
    before = planned(school, team["olivia"], utc(2025, 3, 28, 16, 40), utc(2025, 3, 28, 17, 0))
    after = planned(school, team["olivia"], utc(2025, 4, 1, 16, 40), utc(2025, 4, 1, 17, 0))
    assert kinds(find_conflicts(before)) == ["outside_window"]
    assert find_conflicts(after) == []


def test_a_weekend_of_23_hours_sunday_is_one_window(school, team, year):
    # Sat 29 Mar 00:00 GMT to Mon 31 Mar 00:00 BST: 47 hours, all in the weekend window.
    change = planned(school, team["olivia"], at(2025, 3, 29), at(2025, 3, 31))
    assert change.planned_end.astimezone(UTC) - change.planned_start == timedelta(hours=47)
    assert find_conflicts(change) == []


def test_an_all_day_period_ends_at_local_midnight_after_the_clocks_change(school, team, year):
    from changedesk.schedule.tests.factories import period

    period(school, "exam", "Spring assessments", at(2025, 3, 24).date(), at(2025, 4, 4).date())
    # 22:30 UTC on Fri 4 Apr is 23:30 BST: still in the period; 23:30 UTC is Saturday.
    inside = planned(school, team["olivia"], utc(2025, 4, 4, 22, 30), utc(2025, 4, 4, 22, 45))
    outside = planned(school, team["olivia"], utc(2025, 4, 4, 23, 30), utc(2025, 4, 4, 23, 45))
    assert "exam" in kinds(find_conflicts(inside))
    assert "exam" not in kinds(find_conflicts(outside))


def test_october_clock_change_moves_the_teaching_day(school, team, year):
    # 08:00-08:30 UTC: 09:00 BST on Fri 24 Oct (lessons), 08:00 GMT on Mon 3 Nov (not yet).
    before = planned(school, team["olivia"], utc(2025, 10, 24, 8), utc(2025, 10, 24, 8, 30))
    after = planned(school, team["olivia"], utc(2025, 11, 3, 8), utc(2025, 11, 3, 8, 30))
    half_term = planned(school, team["olivia"], utc(2025, 10, 27, 9), utc(2025, 10, 27, 10))
    assert "teaching_day" in kinds(find_conflicts(before))
    assert "teaching_day" not in kinds(find_conflicts(after))
    assert "teaching_day" not in kinds(find_conflicts(half_term))


def test_a_weekend_of_25_hours_sunday_is_one_window(school, team, year):
    change = planned(school, team["olivia"], at(2025, 10, 25), at(2025, 10, 27))
    assert change.planned_end.astimezone(UTC) - change.planned_start == timedelta(hours=49)
    assert find_conflicts(change) == []
    # The repeated hour: 01:30 BST and 01:30 GMT are both inside Sunday's window.
    repeated = planned(school, team["olivia"], utc(2025, 10, 26, 0, 30), utc(2025, 10, 26, 1, 30))
    assert find_conflicts(repeated) == []


def test_messages_show_local_time_across_the_change(school, team, year):
    mis = item(school, "the MIS server")
    planned(
        school, team["olivia"], utc(2025, 10, 27, 18), utc(2025, 10, 27, 19), [mis],
        title="Upgrade the MIS",
    )  # fmt: skip
    change = planned(school, team["olivia"], utc(2025, 10, 27, 18), utc(2025, 10, 27, 19), [mis])
    (conflict,) = [c for c in find_conflicts(change) if c.kind == "overlap"]
    assert "on Mon 27 Oct 18:00\u201319:00." in conflict.message  # GMT = UTC after the change
    summer = planned(school, team["olivia"], utc(2025, 10, 20, 17), utc(2025, 10, 20, 18), [mis],
                     title="Summer one")  # fmt: skip
    planned(school, team["olivia"], utc(2025, 10, 20, 17), utc(2025, 10, 20, 18), [mis])
    (conflict,) = [c for c in find_conflicts(summer) if c.kind == "overlap"]
    assert "on Mon 20 Oct 18:00\u201319:00." in conflict.message  # BST = UTC+1


# --- Many at once. ---


def test_many_matches_one_by_one(school, team, year):
    mis = item(school, "the MIS server")
    changes = [
        planned(school, team["olivia"], at(2025, 3, 4, 18), at(2025, 3, 4, 19), [mis]),
        planned(school, team["olivia"], at(2025, 3, 4, 18, 30), at(2025, 3, 4, 19, 30), [mis]),
        planned(school, team["olivia"], at(2025, 5, 15, 10), at(2025, 5, 15, 11)),
        planned(school, team["olivia"], at(2025, 3, 22, 10), at(2025, 3, 22, 11)),
    ]
    loaded = list(Change.objects.filter(pk__in=[c.pk for c in changes]).select_related("school"))
    many = find_conflicts_many(loaded)
    for change in changes:
        assert many[change.pk] == find_conflicts(change), change


def test_many_takes_a_fixed_number_of_queries(school, team, year):
    mis = item(school, "the MIS server")

    def page():
        return list(Change.objects.filter(school=school).select_related("school"))

    for _ in range(3):
        planned(school, team["olivia"], at(2025, 3, 20, 18), at(2025, 3, 20, 19), [mis])
    with CaptureQueriesContext(connection) as small:
        find_conflicts_many(page())
    for day in range(22):
        start = at(2025, 3, 20, 10) + timedelta(minutes=day)
        planned(school, team["olivia"], start, at(2025, 3, 20, 19), [mis])
    with CaptureQueriesContext(connection) as large:
        result = find_conflicts_many(page())
    assert len(large) == len(small)
    assert len(result) == 25
    assert all(any(c.kind == "overlap" for c in result[c.pk]) for c in page())


def test_many_can_name_a_few_overlaps_and_count_the_rest(school, team, year):
    mis = item(school, "the MIS server")
    changes = [
        planned(school, team["olivia"], at(2025, 3, 20, 18), at(2025, 3, 20, 19), [mis])
        for _ in range(6)
    ]
    loaded = list(Change.objects.filter(pk__in=[c.pk for c in changes]).select_related("school"))
    conflicts = find_conflicts_many(loaded, max_overlaps=3)[changes[0].pk]
    assert [c.change_id for c in conflicts] == [c.pk for c in changes[1:4]] + [None]
    assert conflicts[-1].message == "Overlaps 2 more open changes touching the same items."
    assert len(find_conflicts(changes[0])) == 5


# --- The seam: rules of the apps above. ---


@pytest.fixture
def weekend_rule():
    """A made-up app's rule: no RFC on a Saturday (local), asked once per call."""
    from changedesk.schedule import conflicts

    calls: list[list] = []

    def check(plans):
        calls.append(list(plans))
        Change.objects.filter(pk__in=[p.change_id for p in plans]).count()  # one query
        return {
            p.change_id: [Conflict(kind="saturday", hard=False, message="Runs on a Saturday.")]
            for p in plans
            if p.start.weekday() == 5
        }

    rule = conflicts.Rule(kind="saturday", label="On a Saturday", check=check)
    conflicts.register_rule(rule)
    yield calls
    conflicts.unregister_rule("saturday")


def test_a_registered_rule_is_asked_by_both_entry_points(school, team, year, weekend_rule):
    saturday = planned(school, team["olivia"], at(2025, 3, 22, 10), at(2025, 3, 22, 12))
    tuesday = planned(school, team["olivia"], at(2025, 3, 18, 18), at(2025, 3, 18, 19))
    assert kinds(find_conflicts(saturday)) == ["saturday"]
    assert find_conflicts(tuesday) == []
    loaded = list(Change.objects.filter(pk__in=[saturday.pk, tuesday.pk]).select_related("school"))
    found = find_conflicts_many(loaded)
    assert kinds(found[saturday.pk]) == ["saturday"]
    assert found[tuesday.pk] == []
    # One call for the page: every planned RFC at once.
    assert [sorted(p.change_id for p in call) for call in weekend_rule][-1] == sorted(
        [saturday.pk, tuesday.pk]
    )
    # A plan checked before it is saved is the planner's: the rule sees the plan's window.
    assert kinds(find_conflicts(tuesday, start=at(2025, 3, 22, 10), end=at(2025, 3, 22, 11),
                                item_ids=[])) == ["saturday"]  # fmt: skip
    # An RFC not saved yet: the rules are not asked.
    unsaved = Change(
        school=school, planned_start=at(2025, 3, 22, 10), planned_end=at(2025, 3, 22, 11)
    )
    asked = len(weekend_rule)
    assert find_conflicts(unsaved) == []
    assert len(weekend_rule) == asked


def test_a_registered_rule_costs_its_queries_once_per_call(
    school, team, year, weekend_rule, django_assert_num_queries
):
    from changedesk.schedule import conflicts

    # The weekend rule alone (other apps' rules have their own tests).
    others = [r for r in conflicts.registered_rules() if r.kind != "saturday"]
    for rule in others:
        conflicts.unregister_rule(rule.kind)
    try:
        changes = [
            planned(school, team["olivia"], at(2025, 3, day, 18), at(2025, 3, day, 19))
            for day in (18, 19, 22)
        ]
        loaded = list(
            Change.objects.filter(pk__in=[c.pk for c in changes]).select_related("school")
        )
        # The calendar (two), the items and the others (one), the rule's (one).
        with django_assert_num_queries(4):
            found = find_conflicts_many(loaded)
        with django_assert_num_queries(4):
            find_conflicts_many(loaded[:1])
        with django_assert_num_queries(4):
            find_conflicts(loaded[2])
    finally:
        for rule in others:
            conflicts.register_rule(rule)
    assert ["saturday" in kinds(found[c.pk]) for c in changes] == [False, False, True]


def test_a_taken_kind_is_refused(weekend_rule):
    from changedesk.schedule import conflicts

    with pytest.raises(ValueError, match="taken"):
        conflicts.register_rule(conflicts.Rule(kind="exam", label="x", check=lambda plans: {}))
    with pytest.raises(ValueError, match="taken"):
        conflicts.register_rule(
            conflicts.Rule(kind="saturday", label="again", check=lambda plans: {})
        )
    assert ("saturday", "On a Saturday") in conflicts.conflict_kinds()
