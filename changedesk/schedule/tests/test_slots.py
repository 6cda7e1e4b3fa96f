"""The next safe slots: after the school's lead time, inside the windows, clear of exams,
freezes, lessons, the night and other changes to the same items, across the clock change,
and each one free of conflicts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from changedesk.changes.models import Change
from changedesk.schedule.conflicts import find_conflicts
from changedesk.schedule.models import MaintenanceWindow
from changedesk.schedule.slots import (
    ChangeKind,
    ceil_to_step,
    describe_lead,
    find_safe_slots,
    next_safe_slots,
    window_allows_night,
)
from changedesk.schedule.tests.factories import LONDON, at, item, period, planned, school_year

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def _frozen():
    """New Year's Day 2025: the searches below start later than any lead time from here."""
    with time_machine.travel(at(2025, 1, 1, 9), tick=False):
        yield


@pytest.fixture
def year(school):
    return school_year(school)


def lead(school, days=2, hours=4):
    school.normal_lead_days, school.standard_lead_hours = days, hours
    school.save(update_fields=["normal_lead_days", "standard_lead_hours"])
    return school


def starts(slots):
    return [s.astimezone(LONDON).strftime("%a %d %b %H:%M") for s, _ in slots]


def test_it_offers_one_slot_per_evening_then_the_weekend(school, year):
    slots = next_safe_slots(school, HOUR, [], after=at(2025, 3, 18, 12))
    assert starts(slots) == [
        "Tue 18 Mar 17:30",
        "Wed 19 Mar 17:30",
        "Thu 20 Mar 17:30",
        "Fri 21 Mar 17:30",
        "Sat 22 Mar 06:00",  # the weekend's window is the weekend's days, not its nights
    ]
    assert all(e - s == HOUR for s, e in slots)


def test_it_defaults_to_now_with_a_school_that_keeps_no_lead(school, year):
    lead(school, days=0)
    with time_machine.travel(at(2025, 3, 18, 12, 7), tick=False):
        assert starts(next_safe_slots(school, HOUR, [], count=1)) == ["Tue 18 Mar 17:30"]
    with time_machine.travel(at(2025, 3, 18, 18, 7), tick=False):
        assert starts(next_safe_slots(school, HOUR, [], count=1)) == ["Tue 18 Mar 18:15"]


# --- The lead time: time to approve the change and to tell its users. ---


def test_a_normal_change_starts_two_working_days_ahead_at_the_same_time(school, year):
    with time_machine.travel(at(2025, 3, 17, 10), tick=False):  # Monday
        search = find_safe_slots(school, HOUR, [], count=2)
    assert search.earliest == at(2025, 3, 19, 10) and search.by_lead
    assert starts(search.slots) == ["Wed 19 Mar 17:30", "Thu 20 Mar 17:30"]
    with time_machine.travel(at(2025, 3, 19, 18, 7), tick=False):  # Wednesday evening
        assert starts(next_safe_slots(school, HOUR, [], count=1)) == ["Fri 21 Mar 18:15"]


def test_the_lead_counts_working_days_across_the_weekend(school, year):
    with time_machine.travel(at(2025, 3, 21, 10), tick=False):  # Friday
        assert find_safe_slots(school, HOUR, []).earliest == at(2025, 3, 25, 10)  # Tuesday
    with time_machine.travel(at(2025, 3, 22, 10), tick=False):  # Saturday: Mon and Tue count
        assert find_safe_slots(school, HOUR, []).earliest == at(2025, 3, 26)  # Wednesday


def test_the_lead_skips_the_holidays_but_not_inset_days(school, year):
    # Thursday 3 April: Friday is the last day of term, then the Easter holiday 5-21 April.
    with time_machine.travel(at(2025, 4, 3, 10), tick=False):
        assert find_safe_slots(school, HOUR, []).earliest == at(2025, 4, 22, 10)
    # The INSET day on Monday 31 March is a working day: the staff are in.
    with time_machine.travel(at(2025, 3, 28, 10), tick=False):
        assert find_safe_slots(school, HOUR, []).earliest == at(2025, 4, 1, 10)
    # A one-day closure in term time is skipped too.
    period(school, "holiday", "Polling day", date(2025, 5, 1))
    with time_machine.travel(at(2025, 4, 30, 10), tick=False):
        assert find_safe_slots(school, HOUR, []).earliest == at(2025, 5, 5, 10)


def test_the_lead_follows_the_school_days(school, year):
    from changedesk.schedule.models import SchoolCalendar

    SchoolCalendar.objects.filter(school=school).update(school_days=[0, 1, 2, 3, 4, 5])
    with time_machine.travel(at(2025, 3, 21, 10), tick=False):  # Friday; Saturday counts
        assert find_safe_slots(school, HOUR, []).earliest == at(2025, 3, 24, 10)


def test_a_school_may_keep_no_lead(school, year):
    lead(school, days=0)
    with time_machine.travel(at(2025, 3, 18, 12), tick=False):
        search = find_safe_slots(school, HOUR, [], count=1)
    assert search.earliest == at(2025, 3, 18, 12) and not search.by_lead
    assert starts(search.slots) == ["Tue 18 Mar 17:30"]
    assert describe_lead(school, ChangeKind.NORMAL) == ""


def test_a_standard_change_waits_hours_and_an_emergency_not_at_all(school, year):
    lead(school, days=2, hours=4)
    with time_machine.travel(at(2025, 3, 18, 15), tick=False):
        standard = find_safe_slots(school, HOUR, [], kind=ChangeKind.STANDARD, count=1)
        emergency = find_safe_slots(school, HOUR, [], kind=ChangeKind.EMERGENCY, count=1)
    assert standard.earliest == at(2025, 3, 18, 19) and standard.by_lead
    assert starts(standard.slots) == ["Tue 18 Mar 19:00"]
    assert starts(emergency.slots) == ["Tue 18 Mar 17:30"] and not emergency.by_lead
    assert describe_lead(school, ChangeKind.STANDARD) == "4 hours"
    assert describe_lead(school, ChangeKind.NORMAL) == "2 working days"
    assert describe_lead(lead(school, days=1, hours=1), ChangeKind.NORMAL) == "1 working day"
    assert describe_lead(school, ChangeKind.EMERGENCY) == ""


def test_a_later_after_wins_and_an_earlier_one_is_raised_to_the_lead(school, year):
    with time_machine.travel(at(2025, 3, 17, 10), tick=False):
        later = find_safe_slots(school, HOUR, [], after=at(2025, 3, 24), count=1)
        earlier = find_safe_slots(school, HOUR, [], after=at(2025, 3, 17, 11), count=1)
        past = find_safe_slots(school, HOUR, [], after=at(2024, 3, 17), count=1)
    assert starts(later.slots) == ["Mon 24 Mar 17:30"] and not later.by_lead
    assert starts(earlier.slots) == ["Wed 19 Mar 17:30"] and earlier.by_lead
    assert past.earliest == at(2025, 3, 19, 10)


# --- The night. ---


def test_a_school_without_windows_gets_no_slot_at_night(school):
    slots = next_safe_slots(school, HOUR, [], after=at(2025, 3, 18, 21, 30), count=3)
    assert starts(slots) == ["Wed 19 Mar 06:00", "Thu 20 Mar 06:00", "Fri 21 Mar 06:00"]
    # None reaches past 22:00 or crosses midnight, whatever its length.
    for start, end in next_safe_slots(school, 5 * HOUR, [], after=at(2025, 3, 21, 20), count=4):
        local_start, local_end = start.astimezone(LONDON), end.astimezone(LONDON)
        assert local_start.date() == local_end.date(), start
        assert time(6) <= local_start.time() and local_end.time() <= time(22), start


def test_night_is_allowed_inside_a_window_that_says_so(school, year):
    MaintenanceWindow.objects.create(
        school=school, name="Overnight", weekdays=[1], start_time=time(22), end_time=time(6)
    )
    slots = next_safe_slots(school, 3 * HOUR, [], after=at(2025, 3, 18, 12), count=2)
    # Tuesday evening's window and the overnight one meet: 17:30 to Wednesday 06:00.
    assert starts(slots) == ["Tue 18 Mar 17:30", "Wed 19 Mar 00:00"]
    late = next_safe_slots(school, 3 * HOUR, [], after=at(2025, 3, 18, 20), count=1)
    assert late == [(at(2025, 3, 18, 20), at(2025, 3, 18, 23))]
    # Without that window, the same evening stops at 22:00.
    MaintenanceWindow.objects.filter(name="Overnight").delete()
    late = next_safe_slots(school, 3 * HOUR, [], after=at(2025, 3, 18, 20), count=1)
    assert starts(late) == ["Wed 19 Mar 17:30"]


def test_which_windows_say_night():
    def window(start, end=None):
        return MaintenanceWindow(start_time=start, end_time=end)

    assert not window_allows_night(window(time(0)))  # the whole day
    assert not window_allows_night(window(time(17, 30)))  # to the end of the day
    assert not window_allows_night(window(time(6), time(18)))
    assert not window_allows_night(window(time(18), time(22)))
    assert window_allows_night(window(time(22), time(6)))  # overnight
    assert window_allows_night(window(time(18), time(8)))  # overnight too
    assert window_allows_night(window(time(17, 30), time(23, 30)))
    assert window_allows_night(window(time(0), time(4)))
    assert window_allows_night(window(time(5), time(9)))


def test_a_change_longer_than_a_day_runs_through_the_night_but_starts_in_the_day(school, year):
    slots = next_safe_slots(school, timedelta(hours=40), [], after=at(2025, 3, 18), count=2)
    assert [(s.astimezone(LONDON), e.astimezone(LONDON)) for s, e in slots] == [
        (at(2025, 3, 21, 17, 30), at(2025, 3, 23, 9, 30)),
        (at(2025, 3, 28, 17, 30), at(2025, 3, 30, 9, 30)),
    ]
    # A start that would end in the night moves so as to end as the night does.
    slots = next_safe_slots(school, timedelta(hours=20), [], after=at(2025, 3, 22, 9), count=1)
    assert [(s.astimezone(LONDON), e.astimezone(LONDON)) for s, e in slots] == [
        (at(2025, 3, 22, 10), at(2025, 3, 23, 6))
    ]


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
        "Sat 01 Mar 06:00",
        "Sun 02 Mar 06:00",
        "Sat 15 Mar 06:00",  # the mocks run 3-14 March
        "Sun 16 Mar 06:00",
    ]
    assert starts(next_safe_slots(school, HOUR, [], after=at(2025, 5, 15, 9), count=1)) == [
        "Fri 16 May 17:30"  # Census day, a hard freeze, is all of Thursday
    ]
    assert starts(next_safe_slots(school, HOUR, [], after=at(2025, 7, 21, 9), count=1)) == [
        "Sat 26 Jul 06:00"  # the soft Year-end freeze is avoided too
    ]


def test_it_follows_the_windows_across_the_march_clock_change(school, year):
    slots = next_safe_slots(school, HOUR, [], after=datetime(2025, 3, 28, 16, tzinfo=UTC), count=5)
    assert [s.astimezone(UTC).strftime("%a %d %H:%M") for s, _ in slots] == [
        "Fri 28 17:30",  # GMT
        "Sat 29 06:00",
        "Sun 30 05:00",  # 06:00 BST
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


def test_a_school_with_no_calendar_can_change_at_any_time_of_day(school):
    assert starts(next_safe_slots(school, HOUR, [], after=at(2025, 3, 18, 10, 1), count=2)) == [
        "Tue 18 Mar 10:15",
        "Wed 19 Mar 06:00",
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
