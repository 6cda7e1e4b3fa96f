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


def test_a_paged_agenda_shows_the_bands_on_its_first_page_only(client, school, team, provider):
    from changedesk.schedule.tests.factories import planned as planned_rfc

    day = datetime(2027, 7, 21, 18, tzinfo=LONDON)
    for n in range(52):  # more than a page of the agenda (50)
        planned_rfc(
            school, team["olivia"], day + timedelta(minutes=n), day + timedelta(minutes=n + 30)
        )
    client.force_login(team["fiona"])
    url = reverse("schedule:forward") + "?view=agenda&date=2027-07-20"
    first = client.get(url).content.decode()
    second = client.get(url + "&page=2").content.decode()
    assert "Summer works" in first
    assert "Summer works" not in second and "the first page" in second
    assert len(provider) == 1  # the second page did not ask


def test_a_provider_cut_at_the_limit_says_how_many_more(client, school, fiona):
    begins = datetime(2027, 7, 20, 8, tzinfo=LONDON)
    many = [
        planned.Band(
            f"Works {n}", "/w/", begins, begins + timedelta(hours=n + 1), school.pk, "Works"
        )
        for n in range(planned.LIMIT + 7)
    ]
    planned.register("test-many", lambda schools, start, end: many)
    planned.register(
        "test-cut",
        lambda schools, start, end: planned.Cut(
            [planned.Band("Cut 1", "/c/", begins, begins + timedelta(hours=1), school.pk, "Cut")],
            total=planned.LIMIT + 30,
        ),
    )
    try:
        start = datetime(2027, 7, 1, tzinfo=LONDON)
        found = planned.shown([school], start, start + timedelta(days=31))
        assert len([b for b in found.bands if b.kind == "Works"]) == planned.LIMIT
        assert sorted(found.more) == [("Cut", 30), ("Works", 7)]
        client.force_login(fiona)
        text = client.get(reverse("schedule:forward") + "?view=month&date=2027-07-01")
        text = text.content.decode()
        assert "Works: and 7 more" in text and "Cut: and 30 more" in text
    finally:
        planned.unregister("test-many")
        planned.unregister("test-cut")
