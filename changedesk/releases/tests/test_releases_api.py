"""Releases, install requests and the release figures in the REST API: the permission
matrix, each endpoint's round trip, bad input (400 with field errors, nothing written) and
the lists' query counts."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.conftest import member
from changedesk.notifications.models import OutboxMessage
from changedesk.releases.models import InstallRequest, Release, ReleaseChange, ReleaseEvent
from changedesk.releases.services import requests as request_services
from changedesk.releases.tests.releases_factories import make_build, make_release, window

pytestmark = pytest.mark.django_db

RELEASES = "/api/v1/releases/"
REQUESTS = "/api/v1/install-requests/"
FIGURES = "/api/v1/release-figures/"


def _api(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def tom(school):
    return member("tom", school, [Role.VIEWER])


@pytest.fixture
def release(school, rachel):
    return make_release(school, rachel, "Summer refresh 2027")


def test_anonymous_is_refused(release):
    for url in (RELEASES, f"{RELEASES}{release.pk}/", REQUESTS, FIGURES):
        assert _api().get(url).status_code in (401, 403), url


def test_define_edit_and_take_a_release_along(school, rachel, draft):
    client = _api(rachel)
    response = client.post(RELEASES, {"school": school.slug, "title": "Summer"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "define" and body["manager"] == "rachel"
    assert body["actions"] == ["build", "cancel"]
    url = f"{RELEASES}{body['id']}/"
    planned = {k: v.isoformat() for k, v in window().items()}
    assert client.patch(url, planned, format="json").status_code == 200
    build = make_build(school, "Laptop image")
    response = client.post(f"{url}builds/", {"build": build.pk}, format="json")
    assert response.status_code == 200 and response.json()["builds"] == [build.pk]
    response = client.post(f"{url}changes/", {"change": draft.pk}, format="json")
    assert response.json()["changes"] == [draft.pk]
    for action, state in (("build", "build"), ("release", "release"), ("install", "install")):
        response = client.post(f"{url}act/", {"action": action}, format="json")
        assert response.status_code == 200 and response.json()["state"] == state
    history = client.get(f"{url}history/").json()
    assert [e["kind"] for e in history] == [
        "create",
        "edit",
        "add_build",
        "add_change",
        "build",
        "release",
        "install",
    ]
    assert history[-1]["actor"] == "rachel"
    response = client.delete(f"{url}changes/{draft.pk}/")
    assert response.status_code == 200 and response.json()["changes"] == []
    # Builds are fixed once released.
    assert client.delete(f"{url}builds/{build.pk}/").status_code == 400


def test_act_refusals(release, rachel, fiona, oscar, sam):
    url = f"{RELEASES}{release.pk}/act/"
    response = _api(rachel).post(url, {"action": "build"}, format="json")
    assert response.status_code == 400 and "builds" in response.json()
    response = _api(rachel).post(url, {"action": "cancel"}, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    response = _api(rachel).post(url, {"action": "fly"}, format="json")
    assert response.status_code == 400 and "action" in response.json()
    response = _api(rachel).post(url, {"action": "cancel", "colour": "red"}, format="json")
    assert response.status_code == 400 and "colour" in response.json()
    assert (
        _api(fiona).post(url, {"action": "cancel", "reason": "x"}, format="json").status_code == 403
    )
    assert (
        _api(oscar).post(url, {"action": "cancel", "reason": "x"}, format="json").status_code == 404
    )
    assert Release.objects.get(pk=release.pk).state == "define"
    response = _api(sam).post(url, {"action": "cancel", "reason": "Budget."}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"


@pytest.mark.parametrize(
    "who,status", [("rachel", 201), ("sam", 201), ("bella", 403), ("isaac", 403), ("fiona", 403)]
)
def test_who_may_define(school, who, status, rachel, sam, bella, isaac, fiona):
    person = {"rachel": rachel, "sam": sam, "bella": bella, "isaac": isaac, "fiona": fiona}[who]
    response = _api(person).post(RELEASES, {"school": school.slug, "title": "X"}, format="json")
    assert response.status_code == status


def test_bad_input_on_create_and_edit(school, other_school, rachel, release, peter):
    client = _api(rachel)
    for body, field in (
        ({"school": school.slug}, "title"),
        ({"school": other_school.slug, "title": "X"}, "school"),
        ({"school": school.slug, "title": 12}, "title"),
        ({"school": school.slug, "title": "X", "state": "closed"}, "state"),
        ({"school": school.slug, "title": "X", "manager": "peter"}, "manager"),
        ({"school": school.slug, "title": "X", "manager": "nobody"}, "manager"),
        (
            {"school": school.slug, "title": "X", "planned_start": "2027-07-01T08:00"},
            "planned_start",
        ),
    ):
        response = client.post(RELEASES, body, format="json")
        assert response.status_code == 400, body
        assert field in response.json(), (body, response.json())
    response = client.patch(
        f"{RELEASES}{release.pk}/",
        {
            "planned_start": "2027-07-10T08:00:00+01:00",
            "planned_end": "2027-07-01T08:00:00+01:00",
        },
        format="json",
    )
    assert response.status_code == 400 and "planned_end" in response.json()
    response = client.post(f"{RELEASES}{release.pk}/builds/", {"build": "x"}, format="json")
    assert response.status_code == 400
    response = client.post(f"{RELEASES}{release.pk}/builds/", {"build": 99999}, format="json")
    assert response.status_code == 400 and "build" in response.json()
    assert Release.objects.count() == 1


def test_outsiders_meet_404s(release, oscar, other_school):
    client = _api(oscar)
    assert client.get(f"{RELEASES}{release.pk}/").status_code == 404
    assert client.get(f"{RELEASES}{release.pk}/history/").status_code == 404
    assert (
        client.patch(f"{RELEASES}{release.pk}/", {"title": "Mine"}, format="json").status_code
        == 404
    )
    assert client.get(RELEASES).json()["count"] == 0


def test_a_member_reads_but_may_not_edit(release, fiona):
    client = _api(fiona)
    assert client.get(f"{RELEASES}{release.pk}/").json()["actions"] == []
    assert (
        client.patch(f"{RELEASES}{release.pk}/", {"title": "Mine"}, format="json").status_code
        == 403
    )


def test_list_filters(school, rachel, release):
    other = make_release(school, rachel, "Autumn")
    from changedesk.releases import workflow

    workflow.perform(other.pk, "cancel", rachel, {"reason": "No."})
    client = _api(rachel)
    assert [r["title"] for r in client.get(f"{RELEASES}?state=open").json()["results"]] == [
        "Summer refresh 2027"
    ]
    assert [r["title"] for r in client.get(f"{RELEASES}?q=autumn").json()["results"]] == ["Autumn"]
    assert client.get(f"{RELEASES}?state=nonsense").status_code == 400


# --- Install requests. ---


def test_install_requests_round_trip(school, tom, isaac, draft):
    response = _api(tom).post(
        REQUESTS,
        {"school": school.slug, "what": "Scratch 3", "where": "Year 6", "needed_by": "2099-01-01"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["state"], body["source"], body["requested_by"]) == ("open", "person", "tom")
    url = f"{REQUESTS}{body['id']}/"
    assert _api(tom).post(f"{url}accept/").status_code == 403
    response = _api(isaac).post(f"{url}accept/")
    assert response.status_code == 200 and response.json()["assigned_to"] == "isaac"
    response = _api(isaac).post(f"{url}decline/", {}, format="json")
    assert response.status_code == 400 and "answer" in response.json()
    response = _api(isaac).post(f"{url}done/", {"answer": "Done."}, format="json")
    assert response.json()["state"] == "done"
    assert OutboxMessage.objects.filter(template="releases_request_answer").get().recipient == tom
    # From an RFC.
    response = _api(tom).post(
        REQUESTS, {"school": school.slug, "what": "Firmware", "change": draft.pk}, format="json"
    )
    assert response.json()["source"] == "change"


def test_install_request_refusals(school, other_school, tom, oscar):
    client = _api(tom)
    for body, field in (
        ({"school": school.slug}, "what"),
        ({"school": school.slug, "what": ""}, "what"),
        ({"school": school.slug, "what": "X", "needed_by": "2000-01-01"}, "needed_by"),
        ({"school": school.slug, "what": "X", "build": 99999}, "build"),
        ({"school": school.slug, "what": "X", "state": "done"}, "state"),
        ({"school": other_school.slug, "what": "X"}, "school"),
    ):
        response = client.post(REQUESTS, body, format="json")
        assert response.status_code == 400, body
        assert field in response.json(), (body, response.json())
    assert not InstallRequest.objects.exists()
    found = request_services.request_install(school, tom, {"what": "Scratch"})
    assert _api(oscar).get(f"{REQUESTS}{found.pk}/").status_code == 404
    assert _api(oscar).post(f"{REQUESTS}{found.pk}/accept/").status_code == 404


def test_decline_mails_the_requester(school, tom, rachel):
    found = request_services.request_install(school, tom, {"what": "Scratch"})
    response = _api(rachel).post(
        f"{REQUESTS}{found.pk}/decline/", {"answer": "Use the web."}, format="json"
    )
    assert response.status_code == 200 and response.json()["state"] == "declined"
    assert OutboxMessage.objects.get(template="releases_request_answer").recipient == tom


# --- Figures. ---


def test_figures(school, other_school, tom, rachel):
    response = _api(tom).get(f"{FIGURES}?school={school.slug}&period=week&date=2026-12-03")
    assert response.status_code == 200
    assert response.json() == [
        {
            "school": school.slug,
            "period": "week",
            "start": "2026-11-30",
            "end": "2026-12-07",
            "installed": 0,
            "created": 0,
            "documented": 0,
            "services": 0,
            "undocumented": 0,
        }
    ]
    set_membership(rachel, other_school, [Role.RELEASE_MANAGER])
    rows = _api(rachel).get(FIGURES).json()
    assert sorted(r["school"] for r in rows) == sorted([school.slug, other_school.slug])
    assert all(r["period"] == "month" for r in rows)
    for query, field in (
        ("period=year", "period"),
        ("date=soon", "date"),
        ("colour=red", "colour"),
    ):
        response = _api(tom).get(f"{FIGURES}?{query}")
        assert response.status_code == 400 and field in response.json(), query
    assert _api(tom).get(f"{FIGURES}?school={other_school.slug}").status_code == 404


# --- Query counts. ---


def _fill(school, person, n=4):
    for i in range(n):
        make_release(school, person, f"Release {i} {school.slug}", **window(i + 1))
        request_services.request_install(school, person, {"what": f"Thing {i}"})


@pytest.mark.parametrize("url", [RELEASES, REQUESTS])
def test_list_query_counts(school, other_school, rachel, url, django_assert_max_num_queries):
    _fill(school, rachel)
    with django_assert_max_num_queries(8):
        response = _api(rachel).get(url)
    assert response.json()["count"] == 4
    set_membership(rachel, other_school, [Role.RELEASE_MANAGER])
    _fill(other_school, rachel)
    with django_assert_max_num_queries(8):
        response = _api(rachel).get(url)
    assert response.json()["count"] == 8


def test_release_links_are_loaded_in_a_query_each(school, rachel, draft):
    release = make_release(school, rachel)
    ReleaseChange.objects.create(school=school, release=release, change=draft)
    body = _api(rachel).get(RELEASES).json()["results"][0]
    assert body["changes"] == [draft.pk]
    assert ReleaseEvent.objects.count() == 1
