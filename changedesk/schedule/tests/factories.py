"""Builders for the schedule's tests: a school year in Greenfield's calendar, items, RFCs.

The calendar (all in Europe/London):
  Spring term 6 Jan - 4 Apr 2025, half term 17-21 Feb, INSET Mon 31 Mar
  Summer term 22 Apr - 23 Jul 2025 (Easter holiday 5-21 Apr)
  Autumn term 3 Sep - 19 Dec 2025, half term 27-31 Oct
  GCSE mocks 3-14 Mar 2025 (exam), Census day Thu 15 May 2025 (hard freeze),
  Year-end Mon 21 - Fri 25 Jul 2025 (soft freeze)
  Teaching day 08:40-15:20 Mon-Fri; maintenance windows Mon-Fri 17:30-24:00, Sat-Sun all day
The clocks go forward on Sun 30 Mar 2025 and back on Sun 26 Oct 2025.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from changedesk.changes.models import Change, ChangeItem
from changedesk.changes.services import create_change
from changedesk.configuration.models import ConfigurationItem
from changedesk.conftest import REQUEST
from changedesk.schedule.calendar import all_day_bounds
from changedesk.schedule.models import CalendarPeriod, MaintenanceWindow, SchoolCalendar

LONDON = ZoneInfo("Europe/London")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A London wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def period(school, kind, name, first: date, last: date | None = None, **extra) -> CalendarPeriod:
    starts, ends = all_day_bounds(first, last or first, LONDON)
    return CalendarPeriod.objects.create(
        school=school, kind=kind, name=name, starts_at=starts, ends_at=ends, **extra
    )


def school_year(school, *, windows: bool = True) -> dict[str, CalendarPeriod]:
    SchoolCalendar.objects.update_or_create(
        school=school,
        defaults={
            "teaching_day_start": time(8, 40),
            "teaching_day_end": time(15, 20),
            "school_days": [0, 1, 2, 3, 4],
        },
    )
    periods = {
        "spring": period(school, "term", "Spring term", date(2025, 1, 6), date(2025, 4, 4)),
        "summer": period(school, "term", "Summer term", date(2025, 4, 22), date(2025, 7, 23)),
        "autumn": period(school, "term", "Autumn term", date(2025, 9, 3), date(2025, 12, 19)),
        "feb_half": period(
            school, "holiday", "February half term", date(2025, 2, 17), date(2025, 2, 21)
        ),
        "easter": period(school, "holiday", "Easter holiday", date(2025, 4, 5), date(2025, 4, 21)),
        "oct_half": period(
            school, "holiday", "October half term", date(2025, 10, 27), date(2025, 10, 31)
        ),
        "inset": period(school, "inset", "INSET: safeguarding", date(2025, 3, 31)),
        "mocks": period(school, "exam", "GCSE mocks", date(2025, 3, 3), date(2025, 3, 14)),
        "census": period(school, "freeze", "Census day", date(2025, 5, 15), is_hard=True),
        "year_end": period(school, "freeze", "Year-end", date(2025, 7, 21), date(2025, 7, 25)),
    }
    if windows:
        MaintenanceWindow.objects.create(
            school=school,
            name="Weekday evenings",
            weekdays=[0, 1, 2, 3, 4],
            start_time=time(17, 30),
            end_time=None,
        )
        MaintenanceWindow.objects.create(
            school=school, name="Weekends", weekdays=[5, 6], start_time=time(0, 0), end_time=None
        )
    return periods


def item(school, name: str, identifier: str = "") -> ConfigurationItem:
    return ConfigurationItem.objects.create(school=school, name=name, identifier=identifier)


def planned(
    school,
    originator,
    start: datetime,
    end: datetime,
    items=(),
    title: str | None = None,
    **extra,
) -> Change:
    data = {**REQUEST, "planned_start": start, "planned_end": end, **extra}
    if title:
        data["title"] = title
    change = create_change(school, originator, data)
    for it in items:
        ChangeItem.objects.create(change=change, item=it)
    return change
