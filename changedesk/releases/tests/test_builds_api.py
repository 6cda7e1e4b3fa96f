"""The build procedures' and installations' API: who may, the version's steps, the
checklist, bad input as 400s with field errors, and the lists' query counts."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.conftest import member
from changedesk.releases.models import BuildVersion, Installation, RunningBuild
from changedesk.releases.services import builds as services
from changedesk.releases.tests.test_builds import CRITERIA, STEPS, approved


@pytest.fixture
def build(school, bella, service):
    return services.save_build(
        school, bella, {"name": "Curriculum laptop image 2027", "service": service}
    )


@pytest.fixture
def version(build, bella, rachel):
    return approved(build, bella, rachel)


def api(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_anonymous_callers_are_refused(db, build):
    for path in ("/api/v1/builds/", "/api/v1/installations/", "/api/v1/running-builds/"):
        assert api().get(path).status_code in (401, 403)
    assert api().post("/api/v1/builds/", {"name": "x"}, format="json").status_code in (401, 403)


def test_members_read_and_outsiders_find_nothing(build, version, fiona, oscar):
    listed = api(fiona).get("/api/v1/builds/").json()
    assert [b["name"] for b in listed["results"]] == [build.name]
    assert listed["results"][0]["documented"] is True
    assert api(oscar).get("/api/v1/builds/").json()["results"] == []
    assert api(oscar).get(f"/api/v1/builds/{build.pk}/").status_code == 404
    assert api(oscar).get(f"/api/v1/build-versions/{version.pk}/").status_code == 404
    assert api(oscar).get(f"/api/v1/builds/{build.pk}/history/").status_code == 404
    versions = api(fiona).get(f"/api/v1/builds/{build.pk}/versions/").json()
    assert versions[0]["steps"] == STEPS and versions[0]["state"] == "approved"


def test_writing_a_build_and_its_version_through_the_api(school, bella, rachel, service):
    created = api(bella).post(
        "/api/v1/builds/",
        {"school": school.slug, "name": "SIMS client", "service": service.pk},
        format="json",
    )
    assert created.status_code == 201, created.json()
    build_id = created.json()["id"]
    assert created.json()["documented"] is False
    new = api(bella).post(f"/api/v1/builds/{build_id}/versions/")
    assert new.status_code == 201 and new.json()["state"] == "draft"
    vid = new.json()["id"]
    patched = api(bella).patch(
        f"/api/v1/build-versions/{vid}/",
        {
            "label": "2026.1",
            "steps": STEPS,
            "criteria": CRITERIA,
            "components": [{"title": "SIMS client", "version": "7.215"}],
        },
        format="json",
    )
    assert patched.status_code == 200, patched.json()
    assert patched.json()["components"][0]["title"] == "SIMS client"
    assert api(bella).post(f"/api/v1/build-versions/{vid}/submit/").json()["state"] == "submitted"
    refused = api(bella).post(f"/api/v1/build-versions/{vid}/approve/", {}, format="json")
    assert refused.status_code == 403
    returned = api(rachel).post(f"/api/v1/build-versions/{vid}/return/", {}, format="json")
    assert returned.status_code == 400 and "reason" in returned.json()
    returned = api(rachel).post(
        f"/api/v1/build-versions/{vid}/return/", {"reason": "Add the printer"}, format="json"
    )
    assert returned.json()["state"] == "returned"
    api(bella).post(f"/api/v1/build-versions/{vid}/submit/")
    done = api(rachel).post(
        f"/api/v1/build-versions/{vid}/approve/", {"comment": "Good"}, format="json"
    )
    assert done.status_code == 200 and done.json()["state"] == "approved"
    build = api(bella).get(f"/api/v1/builds/{build_id}/").json()
    assert build["documented"] is True and build["approved_version"] == vid
    history = api(bella).get(f"/api/v1/builds/{build_id}/history/").json()
    assert [e["kind"] for e in history] == [
        "create",
        "create",
        "edit",
        "submit",
        "return",
        "submit",
        "approve",
    ]


@pytest.mark.parametrize("who", ["isaac", "sam", "fiona"])
def test_who_may_not_write_gets_403(who, isaac, sam, fiona, school, build):
    person = {"isaac": isaac, "sam": sam, "fiona": fiona}[who]
    assert (
        api(person)
        .post("/api/v1/builds/", {"school": school.slug, "name": "X"}, format="json")
        .status_code
        == 403
    )
    assert (
        api(person).patch(f"/api/v1/builds/{build.pk}/", {"name": "Y"}, format="json").status_code
        == 403
    )
    assert api(person).post(f"/api/v1/builds/{build.pk}/versions/").status_code == 403
    assert not BuildVersion.objects.exists()


def test_bad_input_is_400_with_field_errors(school, bella, build, laptop, isaac, version):
    bad_builds = [
        ({"school": school.slug}, "name"),
        ({"school": school.slug, "name": 3}, "name"),
        ({"school": school.slug, "name": "X", "service": laptop.pk}, "service"),
        ({"school": school.slug, "name": "X", "approved_version": 1}, "approved_version"),
        ({"school": school.slug, "name": "X", "colour": "red"}, "colour"),
        ({"school": "nowhere", "name": "X"}, "school"),
        ({"school": school.slug, "name": build.name}, "name"),
    ]
    for body, field in bad_builds:
        response = api(bella).post("/api/v1/builds/", body, format="json")
        assert response.status_code == 400, (body, response.json())
        assert field in response.json(), (body, response.json())
    draft = services.new_version(build, bella)
    bad_versions = [
        ({"steps": "one"}, "steps"),
        ({"steps": ["ok", ""]}, "steps"),
        ({"steps": [1]}, "steps"),
        ({"components": "x"}, "components"),
        ({"components": [{"software": 10**9}]}, "components"),
        ({"state": "approved"}, "state"),
    ]
    for body, field in bad_versions:
        response = api(bella).patch(f"/api/v1/build-versions/{draft.pk}/", body, format="json")
        assert response.status_code == 400, (body, response.json())
        assert field in response.json(), (body, response.json())
    bad_starts = [
        ({}, "version"),
        ({"version": version.pk}, "item"),
        ({"version": version.pk, "item": laptop.pk, "target": "x"}, "target"),
        ({"version": draft.pk, "item": laptop.pk}, "detail"),
        ({"version": version.pk, "item": "seven"}, "item"),
        ({"version": 10**9, "item": laptop.pk}, "version"),
    ]
    for body, field in bad_starts:
        response = api(isaac).post("/api/v1/installations/", body, format="json")
        assert response.status_code == 400, (body, response.json())
        assert field in response.json(), (body, response.json())
    assert not Installation.objects.exists()


def test_the_checklist_through_the_api(version, isaac, laptop, school):
    started = api(isaac).post(
        "/api/v1/installations/", {"version": version.pk, "item": laptop.pk}, format="json"
    )
    assert started.status_code == 201, started.json()
    body = started.json()
    iid = body["id"]
    assert [s["step"] for s in body["checklist"]] == STEPS and body["running_build"] is None
    early = api(isaac).post(f"/api/v1/installations/{iid}/finish/")
    assert early.status_code == 400 and "checklist" in early.json()
    for bad in (
        {"checklist": [True]},
        {"checklist": ["yes", 1, 0]},
        {"results": [{"result": "maybe"}, {}]},
        {"state": "installed"},
    ):
        assert (
            api(isaac).patch(f"/api/v1/installations/{iid}/", bad, format="json").status_code == 400
        ), bad
    other = member("ines", school, [Role.INSTALLER])
    assert (
        api(other).patch(f"/api/v1/installations/{iid}/", {"notes": "x"}, format="json").status_code
        == 403
    )
    recorded = api(isaac).patch(
        f"/api/v1/installations/{iid}/",
        {
            "checklist": [True, True, True],
            "results": [{"result": "passed", "note": ""}, {"result": "passed", "note": "ok"}],
            "notes": "Fine",
        },
        format="json",
    )
    assert recorded.status_code == 200, recorded.json()
    finished = api(isaac).post(f"/api/v1/installations/{iid}/finish/").json()
    assert finished["state"] == "installed"
    assert finished["running_build"]["version"] == version.pk
    assert RunningBuild.objects.get(item=laptop).installation_id == iid
    running = api(isaac).get(f"/api/v1/running-builds/?item={laptop.pk}").json()
    assert running["results"][0]["build_name"] == version.build.name
    filtered = api(isaac).get("/api/v1/installations/?state=installed&installer=isaac").json()
    assert [i["id"] for i in filtered["results"]] == [iid]
    assert api(isaac).get("/api/v1/installations/?state=bogus").status_code == 400


def test_build_filters(version, build, school, bella, fiona):
    services.save_build(school, bella, {"name": "SMART Notebook 24"})
    names = lambda q: [b["name"] for b in api(fiona).get(f"/api/v1/builds/?{q}").json()["results"]]  # noqa: E731
    assert names("documented=true") == [build.name]
    assert names("documented=false") == ["SMART Notebook 24"]
    assert names(f"service={build.service_id}") == [build.name]
    assert names("q=smart") == ["SMART Notebook 24"]
    assert api(fiona).get("/api/v1/builds/?documented=perhaps").status_code == 400


@pytest.mark.parametrize("two_schools", [False, True])
def test_api_list_query_counts(
    school, other_school, bella, rachel, isaac, two_schools, django_assert_max_num_queries
):
    from changedesk.releases.tests.test_builds_pages import _many

    _many(school, {"bella": bella, "rachel": rachel, "isaac": isaac})
    viewer = member("vic", school, [Role.INSTALLER])
    if two_schools:
        set_membership(viewer, other_school, [Role.INSTALLER])
        other = {
            "bella": member("bo", other_school, [Role.BUILD_DEVELOPER]),
            "rachel": member("ray", other_school, [Role.RELEASE_MANAGER]),
            "isaac": member("ike", other_school, [Role.INSTALLER]),
        }
        _many(other_school, other)
    client = api(viewer)
    # Measured: 7, 9 and 7, for one school or two.
    budgets = {"/api/v1/builds/": 7, "/api/v1/installations/": 9, "/api/v1/running-builds/": 7}
    for path, budget in budgets.items():
        with django_assert_max_num_queries(budget):
            response = client.get(path)
        assert response.status_code == 200
        assert response.json()["results"]


def test_schema_lists_the_endpoints(db):
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for path in (
        "/api/v1/builds/",
        "/api/v1/builds/{id}/versions/",
        "/api/v1/build-versions/{id}/approve/",
        "/api/v1/installations/{id}/finish/",
        "/api/v1/running-builds/",
    ):
        assert path in paths
    assert "400" in paths["/api/v1/build-versions/{id}/return/"]["post"]["responses"]
