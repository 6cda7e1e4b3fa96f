"""Times and periods in plain words: "Tuesday 4 March, 18:00 to 19:00".

Times are in 24-hour form, as everywhere else in changedesk; a period that ends at
midnight ends at 24:00, so it reads as the end of that day.

Day and month names are spelt out here rather than taken from the C library's locale,
so the words do not depend on how the server was set up.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils.translation import ngettext_lazy

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def plain_clock(moment: datetime, *, ends: bool = False) -> str:
    """18:00, 09:30; an end at midnight is 24:00."""
    if ends and moment.hour == 0 and moment.minute == 0:
        return "24:00"
    return f"{moment.hour:02d}:{moment.minute:02d}"


def plain_date(day: date, *, this_year: int | None = None) -> str:
    """Tuesday 4 March, with the year when it is not `this_year`."""
    text = f"{DAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"
    return text if day.year == this_year else f"{text} {day.year}"


def plain_window(
    start: datetime | None, end: datetime | None, tz: ZoneInfo, now: datetime | None = None
) -> str:
    """When a change happens, in the school's time zone; "" when it has no planned start.

    The year is left out when it is the year of `now` (by default, of the start).
    """
    if start is None:
        return ""
    begins = start.astimezone(tz)
    year = now.astimezone(tz).year if now is not None else begins.year
    day = plain_date(begins.date(), this_year=year)
    if end is None:
        return f"{day}, from {plain_clock(begins)}"
    ends = end.astimezone(tz)
    ends_at_midnight = ends.hour == 0 and ends.minute == 0
    same_day = ends.date() == begins.date() or (
        ends_at_midnight and ends.date() == begins.date() + timedelta(days=1)
    )
    if same_day:
        return f"{day}, {plain_clock(begins)} to {plain_clock(ends, ends=True)}"
    return f"{day}, {plain_clock(begins)} to {plain_date(ends.date(), this_year=year)}, " + (
        plain_clock(ends)
    )


def plain_period(start: date, end: date) -> str:
    """The days of a summary period, `end` exclusive: Monday 3 March to Sunday 9 March 2025."""
    last = end - timedelta(days=1)
    first = plain_date(start, this_year=last.year)
    return f"{first} to {plain_date(last, this_year=None)}"


# A lead time's units, largest first; each counted with the plural rules of the language.
LEAD_UNITS = (
    (10080, ngettext_lazy("%(count)d week", "%(count)d weeks", "count")),
    (1440, ngettext_lazy("%(count)d day", "%(count)d days", "count")),
    (60, ngettext_lazy("%(count)d hour", "%(count)d hours", "count")),
    (1, ngettext_lazy("%(count)d minute", "%(count)d minutes", "count")),
)


def plain_lead(minutes: int) -> str:
    """1 week, 2 days, 1 hour, 30 minutes (in the active language: "1 awr")."""
    for size, words in LEAD_UNITS:
        if minutes % size == 0:
            return str(words % {"count": minutes // size})
    return f"{minutes} minutes"  # pragma: no cover - every whole number divides by 1
