"""The release policy in the API: the versions a caller sees, writing the draft, editing
only a draft, publishing, and bad input."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.releases.models import ReleasePolicy
from changedesk.releases.services import policy as services

pytestmark = pytest.mark.django_db

LIST = "/api/v1/release-policies/"
RULES = "New computers are installed only in the release windows.\nNo releases during exams."
SUMMER = {"name": "Summer holidays", "first_day": "2027-07-22", "last_day": "2027-08-31"}
EASTER = {"name": "Easter holidays", "first_day": "2027-03-22", "last_day": "2027-04-02"}


def api(user=None):
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def published(school, rachel):
    services.save_draft(school, rachel, {"rules": RULES}, [SUMMER])
    return services.publish(school, rachel)


@pytest.fixture
def drafted(school, rachel, published):
    return services.save_draft(school, rachel, {"rules": RULES + "\nDraft rule."})


def test_anonymous_callers_must_sign_in(published):
    for response in (
        api().get(LIST),
        api().get(f"{LIST}{published.pk}/"),
        api().post(LIST, {"school": "greenfield", "rules": RULES}, format="json"),
        api().post(f"{LIST}{published.pk}/publish/", {}, format="json"),
    ):
        assert response.status_code in (401, 403)


def test_members_see_the_published_versions_writers_the_draft_too(
    school, team, rachel, bella, drafted, published
):
    for person in (team["fiona"], bella):
        body = api(person).get(LIST).json()
        assert [r["version"] for r in body["results"]] == [1]
        assert api(person).get(f"{LIST}{drafted.pk}/").status_code == 404
    for person in (rachel, team["sam"]):
        body = api(person).get(LIST).json()
        assert [(r["version"], r["state"]) for r in body["results"]] == [
            (2, "draft"),
            (1, "published"),
        ]
    one = api(team["fiona"]).get(f"{LIST}{published.pk}/").json()
    assert one["windows"] == [SUMMER]
    assert one["rule_list"] == RULES.splitlines()
    assert one["school"] == "greenfield" and one["published_by"] == "rachel"
    only = api(rachel).get(LIST, {"state": "draft", "school": "greenfield"}).json()
    assert [r["id"] for r in only["results"]] == [drafted.pk]


def test_another_schools_caller_sees_nothing(oscar, published):
    assert api(oscar).get(LIST).json()["results"] == []
    assert api(oscar).get(f"{LIST}{published.pk}/").status_code == 404
    assert api(oscar).post(f"{LIST}{published.pk}/publish/", {}, format="json").status_code == 404
    response = api(oscar).post(LIST, {"school": "greenfield", "rules": RULES}, format="json")
    assert response.status_code == 400 and "school" in response.json()


def test_the_release_manager_writes_edits_and_publishes(school, rachel, published):
    response = api(rachel).post(
        LIST,
        {"school": "greenfield", "rules": RULES + "\nA third.", "windows": [EASTER, SUMMER]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    draft = response.json()
    assert (draft["version"], draft["state"]) == (2, "draft")
    assert draft["windows"] == [EASTER, SUMMER]
    response = api(rachel).patch(
        f"{LIST}{draft['id']}/", {"summary": "Why.", "windows": []}, format="json"
    )
    assert response.status_code == 200 and response.json()["windows"] == []
    assert response.json()["summary"] == "Why."
    response = api(rachel).post(
        f"{LIST}{draft['id']}/publish/", {"comment": "Later."}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["state"], response.json()["comment"]) == ("published", "Later.")
    published.refresh_from_db()
    assert published.state == "superseded"


def test_a_published_version_is_not_patched_nor_published_again(rachel, published):
    response = api(rachel).patch(f"{LIST}{published.pk}/", {"title": "New"}, format="json")
    assert response.status_code == 400
    response = api(rachel).post(f"{LIST}{published.pk}/publish/", {}, format="json")
    assert response.status_code == 400
    published.refresh_from_db()
    assert published.title == "Release policy"


def test_members_without_the_role_get_403(school, team, bella, isaac, drafted, published):
    for person in (team["fiona"], team["olivia"], bella, isaac):
        response = api(person).post(LIST, {"school": "greenfield", "rules": RULES}, format="json")
        assert response.status_code == 403
        response = api(person).patch(f"{LIST}{published.pk}/", {"title": "x"}, format="json")
        assert response.status_code == 403
        response = api(person).post(f"{LIST}{published.pk}/publish/", {}, format="json")
        assert response.status_code == 403
    assert services.draft_of(school).rules == drafted.rules


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rules": ""}, "rules"),
        ({"rules": "-"}, "rules"),
        ({"rules": 12}, "rules"),
        ({"rules": RULES, "state": "published"}, "state"),
        ({"rules": RULES, "colour": "red"}, "colour"),
        ({"rules": RULES, "windows": "summer"}, "windows"),
        (
            {
                "rules": RULES,
                "windows": [{"name": "S", "first_day": "2027-13-01", "last_day": "2027-08-01"}],
            },
            "windows",
        ),
        ({"rules": RULES, "windows": [{**SUMMER, "last_day": "2027-07-01"}]}, "windows"),
        ({"rules": RULES, "windows": [SUMMER, {**SUMMER, "name": "Again"}]}, "windows"),
        ({"rules": RULES, "windows": [{**SUMMER, "first_day": "1066-10-14"}]}, "windows"),
        ({"rules": RULES, "windows": [{**SUMMER, "extra": 1}]}, "windows"),
        ({"rules": RULES, "title": "x" * 201}, "title"),
    ],
)
def test_bad_input_is_a_400_and_writes_nothing(school, rachel, body, field):
    response = api(rachel).post(LIST, {"school": "greenfield", **body}, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json(), response.json()
    assert not ReleasePolicy.objects.exists()


def test_bad_filters_and_ids(rachel, published):
    assert api(rachel).get(LIST, {"state": "lost"}).status_code == 400
    assert api(rachel).get(f"{LIST}{10**20}/").status_code == 404
    assert api(rachel).get(LIST, {"school": "nowhere"}).json()["results"] == []


def test_the_list_costs_the_same_for_one_school_and_two(school, other_school, rachel, published):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api(rachel)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(LIST).status_code == 200
        return len(queries)

    one = count()
    for n in range(4):
        services.save_draft(school, rachel, {"rules": f"Rule {n}"}, [SUMMER])
        services.publish(school, rachel)
    set_membership(rachel, other_school, [Role.RELEASE_MANAGER])
    services.save_draft(other_school, rachel, {"rules": "Theirs"}, [SUMMER])
    services.publish(other_school, rachel)
    assert count() == one
    assert one <= 10
