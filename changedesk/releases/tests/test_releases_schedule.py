"""Releases on the forward schedule (the `schedule.planned` seam) and on the RFC page (the
"Part of release" panel, and its install request form)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from changedesk.accounts.choices import Role
from changedesk.conftest import advance, member
from changedesk.releases import workflow
from changedesk.releases.models import InstallRequest
from changedesk.releases.services import releases as services
from changedesk.releases.tests.releases_factories import make_release
from changedesk.schedule import planned

LONDON = ZoneInfo("Europe/London")


def _window(day: int, days: int = 10):
    start = datetime(2027, 7, day, 8, 0, tzinfo=LONDON)
    return {"planned_start": start, "planned_end": start + timedelta(days=days)}


def test_the_provider_is_registered_and_bounded(school, other_school, rachel):
    summer = make_release(school, rachel, "Summer", **_window(20))
    make_release(school, rachel, "Unplanned")
    later = make_release(school, rachel, "Later", **_window(1, 5))
    services.update_release(
        later.pk,
        rachel,
        {
            "planned_start": datetime(2027, 10, 1, 8, tzinfo=LONDON),
            "planned_end": datetime(2027, 10, 2, 8, tzinfo=LONDON),
        },
    )
    gone = make_release(school, rachel, "Cancelled", **_window(21))
    workflow.perform(gone.pk, "cancel", rachel, {"reason": "No."})
    start = datetime(2027, 7, 26, tzinfo=LONDON)
    bands = planned.bands([school], start, start + timedelta(days=7))
    assert [(b.title, b.kind, b.state, b.school_name) for b in bands] == [
        ("Summer", "Release", "Define step", school.name)
    ]
    assert bands[0].url == summer.get_absolute_url()
    # Another school's schedule does not show it.
    assert planned.bands([other_school], start, start + timedelta(days=7)) == []


def test_the_month_shows_the_release_as_a_band(client, school, rachel, fiona):
    make_release(school, rachel, "Summer refresh 2027", **_window(20))
    client.force_login(fiona)
    url = reverse("schedule:forward") + "?view=month&date=2027-07-01"
    response = client.get(url)
    assert response.status_code == 200
    text = response.content.decode()
    assert "Also planned over these days" in text
    assert "Summer refresh 2027" in text and "Define step" in text
    # Not in the month before.
    response = client.get(reverse("schedule:forward") + "?view=month&date=2027-05-01")
    assert "Summer refresh 2027" not in response.content.decode()


@pytest.mark.parametrize("view", ["week", "agenda"])
def test_the_week_and_agenda_show_it(client, school, rachel, fiona, view):
    make_release(school, rachel, "Summer refresh 2027", **_window(20))
    client.force_login(fiona)
    response = client.get(reverse("schedule:forward") + f"?view={view}&date=2027-07-22")
    assert "Summer refresh 2027" in response.content.decode()


def test_the_print_shows_it(client, school, rachel, fiona):
    make_release(school, rachel, "Summer refresh 2027", **_window(20))
    client.force_login(fiona)
    response = client.get(reverse("schedule:print") + "?view=agenda&date=2027-07-22")
    assert "Summer refresh 2027" in response.content.decode()


def test_an_outsider_does_not_see_it(client, school, rachel, oscar):
    make_release(school, rachel, "Summer refresh 2027", **_window(20))
    client.force_login(oscar)
    response = client.get(reverse("schedule:forward") + "?view=month&date=2027-07-01")
    assert "Summer refresh 2027" not in response.content.decode()


def test_more_releases_cost_no_more_queries(client, school, rachel, fiona):
    make_release(school, rachel, "One", **_window(20))
    client.force_login(fiona)
    url = reverse("schedule:forward") + "?view=month&date=2027-07-01"
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for n in range(6):
        make_release(school, rachel, f"More {n}", **_window(5 + n))
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert "More 5" in response.content.decode()
    assert len(many) == len(one)


def test_a_provider_elsewhere_is_asked_only_for_the_range(school):
    asked = []

    def provider(schools, start, end):
        asked.append((start, end))
        return [
            planned.Band("Inside", "/x/", start, end, school.pk, "Thing"),
            planned.Band("Outside", "/y/", end, end + timedelta(days=1), school.pk, "Thing"),
            planned.Band("Not mine", "/z/", start, end, school.pk + 999, "Thing"),
        ]

    planned.register("test-provider", provider)
    try:
        start = datetime(2027, 1, 1, tzinfo=LONDON)
        found = planned.bands([school], start, start + timedelta(days=1))
    finally:
        planned.unregister("test-provider")
    assert [b.title for b in found] == ["Inside"]
    assert asked == [(start, start + timedelta(days=1))]


# --- The RFC page. ---


def test_the_rfc_page_says_which_release(client, school, rachel, draft, fiona):
    release = make_release(school, rachel, "Summer refresh 2027")
    services.add_change(release.pk, rachel, draft)
    client.force_login(fiona)
    text = client.get(draft.get_absolute_url()).content.decode()
    assert "Part of release" in text and release.get_absolute_url() in text
    assert "Ask for an installation for this RFC" in text


def test_an_rfc_in_no_release_offers_the_request_form_only(client, draft, fiona):
    client.force_login(fiona)
    text = client.get(draft.get_absolute_url()).content.decode()
    assert "Part of release" not in text
    assert "Ask for an installation for this RFC" in text


def test_a_closed_rfc_offers_no_request(client, school, team, draft, fiona):
    advance(draft, team, "closed")
    client.force_login(fiona)
    text = client.get(draft.get_absolute_url()).content.decode()
    assert "Ask for an installation for this RFC" not in text


def test_the_panels_form_sends_a_request_for_the_rfc(client, school, draft, olivia):
    isaac = member("isaac", school, [Role.INSTALLER])
    client.force_login(olivia)
    response = client.post(
        reverse("releases:request_create"),
        {"school": school.slug, "change": draft.pk, "what": "Switch firmware 9.2"},
    )
    assert response.status_code == 302
    found = InstallRequest.objects.get()
    assert (found.change, found.source, found.requested_by) == (draft, "change", olivia)
    from changedesk.notifications.models import OutboxMessage

    assert OutboxMessage.objects.get(template="releases_request").recipient == isaac
