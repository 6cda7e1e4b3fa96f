"""Times in plain words, in the school's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from changedesk.communication.plain import plain_lead, plain_period, plain_window

LONDON = ZoneInfo("Europe/London")


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_it_writes_a_window_on_one_day_without_the_current_year():
    start, end = utc(2025, 3, 4, 18), utc(2025, 3, 4, 19)
    assert (
        plain_window(start, end, LONDON, now=utc(2025, 2, 1)) == "Tuesday 4 March, 18:00 to 19:00"
    )


def test_it_uses_the_school_time_zone_in_summer_time():
    # 17:30 UTC is 18:30 in London in June (BST).
    start, end = utc(2025, 6, 10, 17, 30), utc(2025, 6, 10, 19)
    assert plain_window(start, end, LONDON, now=start) == "Tuesday 10 June, 18:30 to 20:00"


def test_it_names_the_year_when_it_is_not_this_year():
    start, end = utc(2026, 1, 5, 12), utc(2026, 1, 5, 13, 15)
    assert (
        plain_window(start, end, LONDON, now=utc(2025, 12, 1))
        == "Monday 5 January 2026, 12:00 to 13:15"
    )


def test_it_ends_at_midnight_on_the_same_evening():
    start, end = utc(2025, 3, 4, 22), utc(2025, 3, 5, 0)
    assert plain_window(start, end, LONDON, now=start) == "Tuesday 4 March, 22:00 to 24:00"


def test_it_spans_days():
    start, end = utc(2025, 3, 7, 18), utc(2025, 3, 10, 7)
    assert (
        plain_window(start, end, LONDON, now=start)
        == "Friday 7 March, 18:00 to Monday 10 March, 07:00"
    )


def test_it_says_nothing_without_a_start_and_from_without_an_end():
    assert plain_window(None, None, LONDON) == ""
    assert plain_window(utc(2025, 3, 4, 9), None, LONDON) == "Tuesday 4 March, from 09:00"


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(10080, "1 week"), (2880, "2 days"), (1440, "1 day"), (60, "1 hour"), (90, "90 minutes")],
)
def test_lead_times_in_words(minutes, text):
    assert plain_lead(minutes) == text


def test_a_period_in_words():
    assert plain_period(date(2025, 3, 3), date(2025, 3, 10)) == (
        "Monday 3 March to Sunday 9 March 2025"
    )
    assert plain_period(date(2024, 12, 30), date(2025, 1, 6)) == (
        "Monday 30 December 2024 to Sunday 5 January 2025"
    )
