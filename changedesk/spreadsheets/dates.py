"""Reading a spreadsheet cell as a date (`parse_when`), for the change log imports: date
cells, Excel's serial numbers, ISO 8601 and British dates (dd/mm/yyyy), in a school's time
zone."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

DATE_FORMATS = (
    "%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d-%m-%y", "%d.%m.%Y", "%d.%m.%y",
    "%d %B %Y", "%d %b %Y", "%A %d %B %Y", "%a %d %b %Y", "%d %B %y", "%d %b %y",
    "%Y/%m/%d",
)  # fmt: skip
TIME_FORMATS = ("", " %H:%M", " %H:%M:%S", " %H.%M", "T%H:%M")
# The serial numbers Excel gives the days from 1990 to 2100.
SERIALS = (32874, 73051)


def parse_when(value: Any, zone: ZoneInfo) -> tuple[datetime, bool] | None:
    """A cell as a moment in the school's time zone and whether it was a day alone (no
    time); None when it is not a date. Reads date cells, Excel's serial numbers, ISO 8601
    and British dates (dd/mm/yyyy: 05/03/2024 is the 5th of March)."""
    if isinstance(value, datetime):
        day_only = value.time() == time(0)
        return _aware(value, zone), day_only
    if isinstance(value, date):
        return _aware(datetime.combine(value, time(0)), zone), True
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _serial(float(value), zone)
    text = " ".join(str(value).replace(",", " ").split())
    if re.fullmatch(r"\d{5}(\.\d+)?", text):
        return _serial(float(text), zone)
    british = BRITISH.fullmatch(text)
    if british:
        return _british(british, zone)
    text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text, flags=re.IGNORECASE)
    if re.match(r"\d{4}-\d{2}-\d{2}", text):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        return _aware(moment, zone), len(text) == 10
    for day_format in DATE_FORMATS:
        for time_format in TIME_FORMATS:
            try:
                moment = datetime.strptime(text, day_format + time_format)
            except ValueError:
                continue
            return _aware(moment, zone), not time_format
    return None


# The commonest: dd/mm/yyyy (or yy), with hh:mm or hh:mm:ss; read without trying every format.
BRITISH = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})(?: (\d{1,2})[:.](\d{2})(?::(\d{2}))?)?")


def _british(match: re.Match[str], zone: ZoneInfo) -> tuple[datetime, bool] | None:
    day, month, year, hour, minute, second = match.groups()
    full_year = (
        int(year) if len(year) == 4 else 2000 + int(year) if int(year) < 70 else 1900 + int(year)
    )
    try:
        moment = datetime(
            full_year, int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError:
        return None
    return _aware(moment, zone), hour is None


def _serial(number: float, zone: ZoneInfo) -> tuple[datetime, bool] | None:
    from openpyxl.utils.datetime import from_excel

    if not SERIALS[0] <= number <= SERIALS[1]:
        return None
    moment = from_excel(number)
    if not isinstance(moment, datetime):
        return None
    moment = moment.replace(microsecond=0)
    return _aware(moment, zone), moment.time() == time(0)


def _aware(moment: datetime, zone: ZoneInfo) -> datetime:
    if timezone.is_aware(moment):
        return moment
    return timezone.make_aware(moment, zone)
