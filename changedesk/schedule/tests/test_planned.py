"""The seam for other planned things on the forward schedule (`schedule.planned`): a
provider's bands meeting the days shown, in the caller's schools, on the page."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from changedesk.schedule import planned

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def provider(school):
    asked = []

    def bands(schools, start, end):
        asked.append(([s.pk for s in schools], start, end))
        begins = datetime(2027, 7, 20, 8, tzinfo=LONDON)
        return [
            planned.Band(
                "Summer works",
                "/works/",
                begins,
                begins + timedelta(days=10),
                school.pk,
                "Works",
                "Planned",
            ),
            planned.Band(
                "Someone else's",
                "/x/",
                begins,
                begins + timedelta(days=1),
                school.pk + 1000,
                "Works",
            ),
        ]

    planned.register("test-works", bands)
    yield asked
    planned.unregister("test-works")


def test_bands_meet_the_range_and_the_schools(school, provider):
    start = datetime(2027, 7, 1, tzinfo=LONDON)
    found = planned.bands([school], start, start + timedelta(days=31))
    assert [(b.title, b.school_name) for b in found] == [("Summer works", school.name)]
    assert planned.bands([school], start, start + timedelta(days=5)) == []
    assert planned.bands([], start, start + timedelta(days=31)) == []


def test_the_month_shows_the_band(client, school, fiona, provider):
    client.force_login(fiona)
    response = client.get(reverse("schedule:forward") + "?view=month&date=2027-07-01")
    text = response.content.decode()
    assert "Summer works" in text and "Someone else" not in text
    # Asked once, for the month's grid (Monday 28 June to Sunday 1 August).
    assert [(s, a.date().isoformat(), b.date().isoformat()) for s, a, b in provider] == [
        ([school.pk], "2027-06-28", "2027-08-02")
    ]
