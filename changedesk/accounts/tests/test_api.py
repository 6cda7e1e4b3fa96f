"""The caller's schools and the caller themself in the REST API."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from changedesk.accounts.choices import Role
from changedesk.accounts.services import create_school, set_membership


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.mark.parametrize("path", ["/api/v1/schools/", "/api/v1/schools/greenfield/", "/api/v1/me/"])
def test_it_asks_anonymous_callers_to_sign_in(school, path):
    response = APIClient().get(path)
    assert response.status_code == 401
    assert "detail" in response.json()


def test_it_lists_my_schools_with_my_roles(olivia, oscar):
    body = client_for(olivia).get("/api/v1/schools/").json()
    assert body["count"] == 1
    assert body["results"] == [
        {
            "slug": "greenfield",
            "name": "Greenfield Primary",
            "timezone": "Europe/London",
            "peer_review_enabled": True,
            "final_approver_may_be_originator": False,
            "decision_links_enabled": True,
            "normal_lead_days": 2,
            "standard_lead_hours": 4,
            "language": "en-gb",
            "bilingual_notices": False,
            "roles": ["originator", "implementer"],
        }
    ]


def test_it_gives_each_school_its_own_roles(olivia, other_school):
    set_membership(olivia, other_school, [Role.PEER_REVIEWER, Role.SCHOOL_ADMIN])
    body = client_for(olivia).get("/api/v1/schools/").json()
    assert [(s["slug"], s["roles"]) for s in body["results"]] == [
        ("greenfield", ["originator", "implementer"]),
        ("hillside", ["peer_reviewer", "school_admin"]),
    ]


def test_it_hides_schools_i_am_not_in(olivia, oscar):
    assert client_for(oscar).get("/api/v1/schools/greenfield/").status_code == 404
    assert client_for(olivia).get("/api/v1/schools/hillside/").status_code == 404
    assert client_for(olivia).get("/api/v1/schools/green%00field/").status_code == 404
    assert client_for(olivia).get("/api/v1/schools/greenfield/").json()["roles"] == [
        "originator",
        "implementer",
    ]


def test_the_school_list_costs_the_same_for_1_or_6_schools(olivia):
    client = client_for(olivia)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/schools/").status_code == 200
        return len(queries)

    count()  # the session is warm
    one = count()
    for n in range(5):
        set_membership(olivia, create_school(f"School {n}", f"school-{n}"), [Role.ORIGINATOR])
    assert count() == one


def test_it_says_who_i_am(olivia, other_school):
    set_membership(olivia, other_school, [Role.FINAL_APPROVER])
    response = client_for(olivia).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json() == {
        "username": "olivia",
        "display_name": "Olivia Okafor",
        "email": "olivia@greenfield.example",
        "job_title": "ICT technician",
        "language": "",
        "memberships": [
            {
                "school": "greenfield",
                "school_name": "Greenfield Primary",
                "roles": ["originator", "implementer"],
            },
            {"school": "hillside", "school_name": "Hillside Academy", "roles": ["final_approver"]},
        ],
    }


def test_it_accepts_a_token(oscar):
    token = Token.objects.create(user=oscar)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/v1/me/").json()["username"] == "oscar"
    assert [s["slug"] for s in client.get("/api/v1/schools/").json()["results"]] == ["hillside"]


def test_it_refuses_writes(olivia):
    client = client_for(olivia)
    assert client.post("/api/v1/schools/", {"name": "Mine"}, format="json").status_code == 405
    assert client.patch("/api/v1/me/", {"email": "x@example.org"}, format="json").status_code == 405
