"""The demo's release policy (see `releases.demo`): version 2 in force, published by peter
(the release manager), with the next Easter holidays, the next summer holidays and the next
October half term as its release windows (worked out from today); version 1, superseded,
had the summer holidays alone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from changedesk.accounts.models import School, User
from changedesk.releases.models import ReleasePolicy
from changedesk.releases.services import policy as services

TITLE = "Release policy"
SUMMARY = (
    "New software and new computers reach classrooms when teaching is not disturbed: in the "
    "holidays, department by department, by a checklist."
)
RULES_V1 = """New computers are installed only in the summer holidays.
Every installation follows the build's install checklist."""
RULES_V2 = """New computers are installed only in the release windows.
Software is upgraded department by department, never the whole school at once.
No releases during exam periods.
Every installation follows the build's install checklist.
A release is tested on one computer of each build before it reaches a department."""


def easter(year: int) -> date:
    """Easter Sunday (the anonymous Gregorian computus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


Days = tuple[date, date]


def _next(today: date, make: Callable[[int], Days]) -> Days:
    """This year's (first, last) days, or next year's when this year's are over."""
    first, last = make(today.year)
    return (first, last) if last >= today else make(today.year + 1)


def _easter_holidays(year: int) -> Days:
    monday = easter(year) + timedelta(days=1)
    return monday - timedelta(days=7), monday + timedelta(days=4)


def _summer_holidays(year: int) -> Days:
    return date(year, 7, 22), date(year, 8, 31)


def _october_half_term(year: int) -> Days:
    last = date(year, 10, 31)
    monday = last - timedelta(days=last.weekday())
    if monday + timedelta(days=4) > last:  # the last whole week of October
        monday -= timedelta(days=7)
    return monday, monday + timedelta(days=4)


def windows_from(today: date) -> list[dict[str, Any]]:
    """The demo's three windows, the next of each from `today`, in order."""
    rows: list[dict[str, Any]] = []
    makers: tuple[tuple[str, Callable[[int], Days]], ...] = (
        ("Easter holidays", _easter_holidays),
        ("Summer holidays", _summer_holidays),
        ("October half term", _october_half_term),
    )
    for name, make in makers:
        first, last = _next(today, make)
        rows.append({"name": name, "first_day": first, "last_day": last})
    return sorted(rows, key=lambda w: w["first_day"])


def seed(school: School, people: dict[str, User]) -> None:
    if ReleasePolicy.objects.filter(school=school).exists():
        return
    peter = people["peter"]
    today = timezone.localdate(timezone=school.zone)
    summer = windows_from(today)
    services.save_draft(
        school,
        peter,
        {"title": TITLE, "summary": SUMMARY, "rules": RULES_V1},
        [w for w in summer if w["name"] == "Summer holidays"],
    )
    first = services.publish(school, peter, "The school's first release policy.")
    services.save_draft(school, peter, {"rules": RULES_V2}, summer)
    services.publish(school, peter, "Three release windows a year; no releases in exam periods.")
    # The first version was in force for a term before the second (the demo's history).
    now = timezone.now()
    ReleasePolicy.objects.filter(pk=first.pk).update(
        published_at=now - timedelta(days=120), superseded_at=now - timedelta(days=14)
    )
    ReleasePolicy.objects.filter(school=school, version=2).update(
        published_at=now - timedelta(days=14)
    )
