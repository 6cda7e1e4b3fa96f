"""The next safe slots: inside the windows, clear of exams, freezes, lessons and other
changes to the same items, across the clock change, and each one free of conflicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from changedesk.changes.models import Change
from changedesk.schedule.conflicts import find_conflicts
from changedesk.schedule.models import MaintenanceWindow
from changedesk.schedule.slots import ceil_to_step, next_safe_slots
from changedesk.schedule.tests.factories import LONDON, at, item, planned, school_year

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)


@pytest.fixture
def year(school):
    return school_year(school)


def starts(slots):
    return [s.astimezone(LONDON).strftime("%a %d %b %H:%M") for s, _ in slots]


def test_it_offers_one_slot_per_evening_then_the_weekend(school, year):
    slots = next_safe_slots(school, HOUR, [], after=at(2025, 3, 18, 12))
    assert starts(slots) == [
        "Tue 18 Mar 17:30",
        "Wed 19 Mar 17:30",
        "Thu 20 Mar 17:30",
        "Fri 21 Mar 17:30",
        "Sat 22 Mar 00:00",
    ]
    assert all(e - s == HOUR for s, e in slots)


def test_it_defaults_to_now(school, year):
    with time_machine.travel(at(2025, 3, 18, 12, 7), tick=False):
        assert starts(next_safe_slots(school, HOUR, [], count=1)) == ["Tue 18 Mar 17:30"]
    with time_machine.travel(at(2025, 3, 18, 18, 7), tick=False):
        assert starts(next_safe_slots(school, HOUR, [], count=1)) == ["Tue 18 Mar 18:15"]


def test_it_avoids_other_changes_to_the_same_items(school, team, year):
    mis, suite = item(school, "the MIS server"), item(school, "ICT suite 2")
    busy = planned(school, team["olivia"], at(2025, 3, 18, 17), at(2025, 3, 18, 19), [mis])
    assert starts(next_safe_slots(school, HOUR, [mis.pk], after=at(2025, 3, 18, 12), count=1)) == [
        "Tue 18 Mar 19:00"
    ]
    # Another item is not busy, and the change being moved does not block itself.
    assert starts(
        next_safe_slots(school, HOUR, [suite.pk], after=at(2025, 3, 18, 12), count=1)
    ) == ["Tue 18 Mar 17:30"]
    assert starts(
        next_safe_slots(
            school, HOUR, [mis.pk], after=at(2025, 3, 18, 12), count=1, exclude_change_id=busy.pk
        )
    ) == ["Tue 18 Mar 17:30"]


def test_it_skips_exams_and_freezes(school, year):
    assert starts(next_safe_slots(school, HOUR, [], after=at(2025, 3, 1), count=4)) == [
        "Sat 01 Mar 00:00",
        "Sun 02 Mar 00:00",
        "Sat 15 Mar 00:00",  # the mocks run 3-14 March
        "Sun 16 Mar 00:00",
    ]
    assert starts(next_safe_slots(school, HOUR, [], after=at(2025, 5, 15, 9), count=1)) == [
        "Fri 16 May 17:30"  # Census day, a hard freeze, is all of Thursday
    ]
    assert starts(next_safe_slots(school, HOUR, [], after=at(2025, 7, 21, 9), count=1)) == [
        "Sat 26 Jul 00:00"  # the soft Year-end freeze is avoided too
    ]


def test_it_follows_the_windows_across_the_march_clock_change(school, year):
    slots = next_safe_slots(school, HOUR, [], after=datetime(2025, 3, 28, 16, tzinfo=UTC), count=5)
    assert [s.astimezone(UTC).strftime("%a %d %H:%M") for s, _ in slots] == [
        "Fri 28 17:30",  # GMT
        "Sat 29 00:00",
        "Sun 30 00:00",
        "Mon 31 16:30",  # 17:30 BST
        "Tue 01 16:30",
    ]


def test_it_follows_the_teaching_day_across_the_october_clock_change(school, year):
    MaintenanceWindow.objects.filter(school=school).delete()
    # 07:00 UTC is 08:00 BST on Fri 24 Oct: an hour from then runs into lessons at 08:40.
    slots = next_safe_slots(school, HOUR, [], after=datetime(2025, 10, 24, 7, tzinfo=UTC), count=1)
    assert [s.astimezone(UTC).strftime("%a %d %H:%M") for s, _ in slots] == ["Fri 24 14:30"]
    # 07:00 UTC is 07:00 GMT on Mon 3 Nov: an hour fits before lessons.
    slots = next_safe_slots(school, HOUR, [], after=datetime(2025, 11, 3, 7, tzinfo=UTC), count=1)
    assert [s.astimezone(UTC).strftime("%a %d %H:%M") for s, _ in slots] == ["Mon 03 07:00"]


def test_each_slot_is_free_of_every_conflict(school, team, year):
    mis = item(school, "the MIS server")
    for day in (17, 18, 19):
        planned(school, team["olivia"], at(2025, 3, day, 17), at(2025, 3, day, 21), [mis])
    change = Change(school=school, is_emergency=False)
    for after in (at(2025, 3, 1), at(2025, 3, 17, 9), at(2025, 5, 14), at(2025, 10, 20)):
        for start, end in next_safe_slots(school, 90 * timedelta(minutes=1), [mis.pk], after=after):
            assert find_conflicts(change, start=start, end=end, item_ids=[mis.pk]) == [], start


def test_nothing_fits_a_change_longer_than_every_window(school, year):
    assert next_safe_slots(school, timedelta(days=4), [], after=at(2025, 3, 18)) == []
    assert next_safe_slots(school, timedelta(0), [], after=at(2025, 3, 18)) == []


def test_a_school_with_no_calendar_can_change_at_any_time(school):
    assert starts(next_safe_slots(school, HOUR, [], after=at(2025, 3, 18, 10, 1), count=2)) == [
        "Tue 18 Mar 10:15",
        "Wed 19 Mar 00:00",
    ]


def test_it_steps_in_quarter_hours():
    moment = datetime(2025, 3, 18, 10, 1, 30, tzinfo=UTC)
    assert ceil_to_step(moment) == datetime(2025, 3, 18, 10, 15, tzinfo=UTC)
    assert ceil_to_step(datetime(2025, 3, 18, 10, 15, tzinfo=UTC)).minute == 15


def test_it_loads_the_calendar_once(school, team, year):
    mis = item(school, "the MIS server")
    with CaptureQueriesContext(connection) as few:
        next_safe_slots(school, HOUR, [mis.pk], after=at(2025, 3, 1))
    for day in range(1, 28):
        planned(school, team["olivia"], at(2025, 3, day, 17), at(2025, 3, day, 20), [mis])
    with CaptureQueriesContext(connection) as many:
        next_safe_slots(school, HOUR, [mis.pk], after=at(2025, 3, 1))
    assert len(many) == len(few) <= 4
