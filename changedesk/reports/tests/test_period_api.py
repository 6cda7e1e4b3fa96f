"""GET /api/v1/reports/: the report's dict, who may read it, bad input as 400 with the
field's error, a school not theirs 404, several schools, the schema, and a query count that
does not grow with the RFCs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.changes.services import create_change
from changedesk.conftest import REQUEST, member

URL = "/api/v1/reports/"


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _raise(school, person, n=1, when=datetime(2026, 10, 5, 9, tzinfo=UTC)):
    with time_machine.travel(when, tick=False):
        return [create_change(school, person, dict(REQUEST)) for _ in range(n)]


@pytest.mark.parametrize(
    ("who", "status"),
    [("ian", 200), ("peter", 200), ("fiona", 200), ("sam", 200), ("olivia", 403), ("ivan", 403)],
)
def test_who_may_read(school, team, who, status):
    response = api(team[who]).get(URL, {"school": school.slug})
    assert response.status_code == status, response.content


def test_the_report(school, team):
    (change,) = _raise(school, team["olivia"])
    response = api(team["fiona"]).get(
        URL, {"school": school.slug, "period": "month", "start": "2026-10-31"}
    )
    body = response.json()
    assert body["school"] == {"id": school.pk, "slug": school.slug, "name": school.name}
    assert (body["period"], body["start"], body["end"]) == ("month", "2026-10-01", "2026-11-01")
    raised = body["groups"][0]["figures"][0]
    assert raised["key"] == "raised" and raised["value"] == 1 and raised["ids"] == [change.pk]
    assert [g["key"] for g in body["groups"]] == ["change", "release", "patch"]
    assert len(body["trend"]["raised"]) == 12


def test_one_school_needs_no_school(school, team):
    response = api(team["fiona"]).get(URL, {"period": "week", "start": "2027-01-01"})
    assert response.status_code == 200
    assert (response.json()["start"], response.json()["end"]) == ("2026-12-28", "2027-01-04")


def test_outsiders_and_the_signed_out(school, team, oscar):
    assert api(oscar).get(URL, {"school": school.slug}).status_code == 404
    assert api(oscar).get(URL, {"school": "nowhere"}).status_code == 404
    assert APIClient().get(URL, {"school": school.slug}).status_code in (401, 403)
    vera = member("vera", school, [Role.VIEWER])
    assert api(vera).get(URL).status_code == 403


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "2026-02-30"}, "start"),
        ({"start": "soon"}, "start"),
        ({"start": "2101-01-01"}, "start"),
        ({"period": "fortnight"}, "period"),
        ({"school": "x" * 500}, "school"),
    ],
)
def test_bad_input_is_a_400_with_the_field(school, team, query, field):
    response = api(team["fiona"]).get(URL, {"school": school.slug, **query})
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_several_schools(school, other_school, team, oscar):
    set_membership(team["fiona"], other_school, [Role.FINAL_APPROVER])
    _raise(school, team["olivia"], 2)
    _raise(other_school, oscar, 1)
    client = api(team["fiona"])
    response = client.get(URL)
    assert response.status_code == 400 and "school" in response.json()
    body = client.get(URL, {"school": "all", "start": "2026-10-01"}).json()
    assert body["school"]["id"] is None and len(body["schools"]) == 2
    assert body["groups"][0]["figures"][0]["value"] == 3
    theirs = client.get(URL, {"school": other_school.slug, "start": "2026-10-01"}).json()
    assert theirs["groups"][0]["figures"][0]["value"] == 1


def test_the_query_count_does_not_grow(school, team):
    client = api(team["fiona"])
    query = {"school": school.slug, "start": "2026-10-01"}
    _raise(school, team["olivia"], 5)
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL, query).status_code == 200
    _raise(school, team["olivia"], 45)
    with CaptureQueriesContext(connection) as many:
        body = client.get(URL, query).json()
    assert body["groups"][0]["figures"][0]["value"] == 50
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_schema_describes_it(client):
    from changedesk.tests.test_api_schema_fuzz import the_schema

    operation = the_schema()["paths"][URL]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"school", "period", "start"} <= names
    assert {"200", "400", "403", "404"} <= set(operation["responses"])


@pytest.mark.parametrize("name", ["school", "period", "start"])
def test_an_empty_parameter_is_a_400(school, team, name):
    response = api(team["fiona"]).get(URL, {"school": school.slug, name: ""})
    assert response.status_code == 400 and name in response.json()
