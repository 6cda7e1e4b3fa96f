"""One filter set for the meetings page and `/api/v1/committee/meetings/`: the same
parameters mean the same on both, and a bad value is a 400 with field errors, never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from changedesk.committee import services
from changedesk.committee.filters import MeetingFilterSet
from changedesk.committee.models import Meeting
from changedesk.committee.views import PAGE_SIZE

pytestmark = pytest.mark.django_db

MEETINGS = "/api/v1/committee/meetings/"


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def held(school, team, meeting):
    """A second meeting, last week, already held."""
    other = services.create_meeting(
        school,
        team["sam"],
        {"title": "CAC, spring 1", "held_at": timezone.now() - timedelta(days=7),
         "chair": team["fiona"]},
    )  # fmt: skip
    Meeting.objects.filter(pk=other.pk).update(status="held")
    return other


def titles(response):
    return [m["title"] for m in response.json()["results"]]


def test_the_api_filters_by_status_and_school(team, meeting, held):
    client = api(team["ivan"])
    assert titles(client.get(MEETINGS)) == ["CAC, spring term 2", "CAC, spring 1"]
    assert titles(client.get(MEETINGS, {"status": "held"})) == ["CAC, spring 1"]
    assert titles(client.get(MEETINGS, {"status": "planned"})) == ["CAC, spring term 2"]
    assert titles(client.get(MEETINGS, {"school": "greenfield", "status": ""})) == [
        "CAC, spring term 2",
        "CAC, spring 1",
    ]
    assert titles(client.get(MEETINGS, {"school": "hillside"})) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "cancelled"}, "status"), ({"school": "green\x00field"}, "school")],
)
def test_bad_filter_values_are_a_400_with_field_errors(team, meeting, params, field):
    response = api(team["ivan"]).get(MEETINGS, params)
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Some fields need correcting."
    assert field in body


def test_the_page_filters_with_the_same_filter_set(client, team, meeting, held):
    client.force_login(team["ivan"])
    page = reverse("committee:list", args=["greenfield"])
    both = client.get(page).content.decode()
    assert "CAC, spring term 2" in both and "CAC, spring 1" in both
    only_held = client.get(page, {"status": "held"}).content.decode()
    assert "CAC, spring 1" in only_held and "CAC, spring term 2" not in only_held
    assert '<option value="held" selected>' in only_held
    # The page's school is its own: another school's slug does not empty it.
    assert "CAC, spring 1" in client.get(page, {"school": "hillside"}).content.decode()
    bad = client.get(page, {"status": "cancelled"})
    assert bad.status_code == 200
    assert "No meetings match." in bad.content.decode()


def test_the_pages_of_a_filtered_list_keep_the_filter(client, team, school, meeting):
    for n in range(PAGE_SIZE):
        services.create_meeting(
            school,
            team["sam"],
            {"title": f"Old {n}", "held_at": timezone.now() - timedelta(days=n + 1),
             "chair": team["fiona"]},
        )  # fmt: skip
    client.force_login(team["ivan"])
    page = client.get(reverse("committee:list", args=["greenfield"]), {"status": "planned"})
    assert "?status=planned&amp;page=2" in page.content.decode()


def test_the_filter_set_is_the_one_the_api_uses():
    from changedesk.committee.api import MeetingViewSet

    assert MeetingViewSet.filterset_class is MeetingFilterSet
