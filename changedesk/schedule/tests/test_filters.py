"""The schedule's filter sets: the calendar page and `/api/v1/calendar-periods/` list the
same periods for the same question, a bad value is a 400 with the field's error (never a
500), and the forward schedule reads its filters against the caller's schools."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from changedesk.schedule.filters import ScheduleFilterSet
from changedesk.schedule.tests.factories import at, item, planned, school_year

pytestmark = pytest.mark.django_db

PERIODS = "/api/v1/calendar-periods/"


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(at(2025, 3, 18, 12), tick=False):
        yield


@pytest.fixture
def year(school):
    return school_year(school)


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_the_calendar_page_lists_what_the_api_does(client, school, team, year):
    client.force_login(team["olivia"])
    url = reverse("schedule:calendar", args=[school.slug])
    shown = {}
    for page_params, api_params in (
        ({}, {"school": school.slug, "ends_after": "2025-03-17T12:00:00+00:00"}),
        ({"all": "1"}, {"school": school.slug}),
    ):
        page = client.get(url, page_params).content.decode()
        names = re.findall(r'<th scope="row">([^<]+?)(?: <span|</th>)', page)
        listed = api(team["olivia"]).get(PERIODS, api_params).json()["results"]
        assert names == [p["name"] for p in listed], page_params
        shown[bool(page_params)] = names
    assert "GCSE mocks" in shown[True] and "GCSE mocks" not in shown[False]
    assert len(shown[True]) == len(year)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "party"}, "kind"),
        ({"ends_after": "soon"}, "ends_after"),
        ({"starts_before": "2025-13-01T00:00:00Z"}, "starts_before"),
        ({"ends_after": "0001-01-01T00:00:00+14:00"}, "ends_after"),
        ({"starts_before": "9999-12-31T23:59:59-14:00"}, "starts_before"),
        ({"school": "green\x00field"}, "school"),
    ],
)
def test_a_bad_filter_is_a_400_with_the_fields_error(school, team, year, params, field):
    response = api(team["olivia"]).get(PERIODS, params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["detail"] and field in body and body[field]


def test_the_forward_schedule_reads_its_filters_against_my_schools(school, team, oscar):
    mis = item(school, "the MIS server")
    with_item = planned(school, team["olivia"], at(2025, 3, 20, 18), at(2025, 3, 20, 19), [mis])
    planned(school, team["olivia"], at(2025, 3, 20, 18), at(2025, 3, 20, 19))
    mine = [school]
    found = ScheduleFilterSet({"school": school.slug, "item": str(mis.pk)}, schools=mine)
    assert found.is_valid() and found.value("school") == school and found.value("item") == mis
    assert list(found.qs) == [with_item]
    for data in ({"school": "hillside"}, {"item": "x"}, {"item": "9" * 30}):
        assert set(ScheduleFilterSet(data, schools=mine).errors) <= {"school", "item"}
        assert ScheduleFilterSet(data, schools=mine).errors, data
    # Someone else's school's item is not found among mine.
    theirs = [oscar.memberships.get().school]
    assert "item" in ScheduleFilterSet({"item": str(mis.pk)}, schools=theirs).errors
    # An unknown state or approval filters nothing: every state but withdrawn and rejected.
    loose = ScheduleFilterSet({"state": "bogus", "approval": "maybe"}, schools=mine)
    assert loose.value("state") is None and loose.qs.count() == 2
    pending = ScheduleFilterSet({"approval": "pending"}, schools=mine)
    assert pending.qs.count() == 2
    assert ScheduleFilterSet({"approval": "approved"}, schools=mine).qs.count() == 0
    draft_wins = ScheduleFilterSet({"state": "draft", "approval": "approved"}, schools=mine)
    assert draft_wins.qs.count() == 2


def test_the_slot_finder_and_the_schedule_refuse_ids_no_database_holds(client, school, team):
    client.force_login(team["olivia"])
    huge = "9" * 30
    params = {"school": school.slug, "minutes": "60", "items": huge}
    assert client.get(reverse("schedule:slots"), params).status_code == 400
    assert client.get(reverse("schedule:forward"), {"item": huge}).status_code == 404
