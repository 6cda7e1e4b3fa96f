"""The builds area's fixes after review: separation of duties from the version's events,
withdrawn components kept, one name per school whatever the case, retiring a build, the one
rule for links, the running builds' index, the undocumented list cut per school, the phone
tables' labels and the helpers shared with the library."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.changes.choices import State
from changedesk.changes.models import Change
from changedesk.configuration.models import ConfigurationItem, ItemKind
from changedesk.conftest import member
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.releases import permissions
from changedesk.releases.api import builds as builds_api
from changedesk.releases.api import library as library_api
from changedesk.releases.api.common import Rows
from changedesk.releases.choices import BuildAction, ReleaseState, RequestState, VersionState
from changedesk.releases.models import Build, BuildEvent, InstallRequest, Release, RunningBuild
from changedesk.releases.services import builds as services
from changedesk.releases.services import library as library_services
from changedesk.releases.views import builds as views

pytestmark = pytest.mark.django_db

STEPS = ["Boot from the network"]
CRITERIA = ["Signs in"]


@pytest.fixture
def build(school, bella, service):
    return services.save_build(school, bella, {"name": "Curriculum image", "service": service})


@pytest.fixture
def manager2(school):
    return member("rory", school, [Role.RELEASE_MANAGER])


def web(user):
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def approved(build, author, manager):
    version = services.new_version(build, author)
    services.save_version(version, author, {"steps": STEPS, "criteria": CRITERIA})
    services.submit(version, author)
    return services.approve(version, manager)


# --- 1. Separation of duties: whoever created, edited or sent it. ---


def test_a_manager_who_edited_the_version_may_not_approve_it(build, bella, rachel, manager2):
    version = services.new_version(build, bella)
    services.save_version(version, rachel, {"steps": STEPS, "criteria": CRITERIA})
    services.submit(version, bella)
    with pytest.raises(NotPermitted) as error:
        services.approve(version, rachel)
    assert "separation of duties" in error.value.message
    version.refresh_from_db()
    assert version.state == VersionState.SUBMITTED
    assert services.approve(version, manager2).state == VersionState.APPROVED


def test_a_manager_who_sent_the_version_may_not_approve_it(build, bella, rachel, manager2):
    version = services.new_version(build, bella)
    services.save_version(version, bella, {"steps": STEPS, "criteria": CRITERIA})
    services.submit(version, rachel)
    with pytest.raises(NotPermitted):
        services.approve(version, rachel)
    assert services.authors(version) == {bella.pk, rachel.pk}


def test_the_page_hides_the_decision_from_an_editor(build, bella, rachel, manager2):
    version = services.new_version(build, bella)
    services.save_version(version, rachel, {"steps": STEPS, "criteria": CRITERIA})
    services.submit(version, bella)
    for path in (f"/releases/builds/{build.pk}/", f"/releases/builds/{build.pk}/versions/1/"):
        html = web(rachel).get(path).content.decode()
        assert "another release manager approves it" in html
        assert 'value="approve"' not in html
        assert 'value="approve"' in web(manager2).get(path).content.decode()
    response = web(rachel).post(
        f"/releases/builds/{build.pk}/versions/1/decide/", {"decision": "approve"}
    )
    assert response.status_code == 403
    version.refresh_from_db()
    assert version.state == VersionState.SUBMITTED


# --- 2. A withdrawn piece the version names stays. ---


@pytest.fixture
def withdrawn(school, rachel, bella, build):
    piece = library_services.save_software(
        school, rachel, {"title": "Office", "version": "2024", "location": "share"}
    )
    version = services.new_version(build, bella)
    services.save_version(
        version,
        bella,
        {"components": [{"software": piece.pk}], "steps": STEPS, "criteria": CRITERIA},
    )
    library_services.save_software(school, rachel, {"is_active": False}, piece)
    return piece, version


def test_saving_through_the_page_keeps_a_withdrawn_component(build, bella, withdrawn):
    piece, version = withdrawn
    path = f"/releases/builds/{build.pk}/versions/{version.number}/edit/"
    html = web(bella).get(path).content.decode()
    assert f'<option value="{piece.pk}" selected>Office 2024 (withdrawn)</option>' in html
    data = {"label": "", "steps": "s", "stability_tests": "", "criteria": "c", "notes": ""}
    data["component-0-software"] = str(piece.pk)
    response = web(bella).post(path, data)
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.components == [{"software": piece.pk, "title": "Office", "version": "2024"}]


def test_the_api_keeps_a_withdrawn_component_but_does_not_add_one(
    school, rachel, bella, build, withdrawn
):
    piece, version = withdrawn
    body = {"components": [{"software": piece.pk}], "steps": STEPS, "criteria": CRITERIA}
    response = api(bella).patch(f"/api/v1/build-versions/{version.pk}/", body, format="json")
    assert response.status_code == 200, response.content
    other = library_services.save_software(school, rachel, {"title": "Old", "location": "x"})
    library_services.save_software(school, rachel, {"is_active": False}, other)
    body["components"].append({"software": other.pk})
    response = api(bella).patch(f"/api/v1/build-versions/{version.pk}/", body, format="json")
    assert response.status_code == 400
    assert "withdrawn" in str(response.json()["components"])
    # The page does not offer it either.
    html = web(bella).get(f"/releases/builds/{build.pk}/versions/1/edit/").content.decode()
    assert f'value="{other.pk}"' not in html


# --- 5. One name per school, whatever the case, even at once. ---


def test_a_name_differing_only_in_case_is_refused(school, bella, build):
    with pytest.raises(InvalidAction) as error:
        services.save_build(school, bella, {"name": "CURRICULUM image"})
    assert "name" in error.value.fields


def test_the_constraint_ignores_case(school, bella, build):
    with pytest.raises(IntegrityError), transaction.atomic():
        Build.objects.create(school=school, name="curriculum IMAGE", created_by=bella)


def test_a_name_taken_at_the_same_moment_is_a_field_error(school, bella, build, monkeypatch):
    # The check before the insert misses the other writer's row (it is not committed yet):
    # the constraint refuses the insert, inside a savepoint.
    monkeypatch.setattr(QuerySet, "exists", lambda self: False)
    with transaction.atomic():
        with pytest.raises(InvalidAction) as error:
            services.save_build(school, bella, {"name": "curriculum IMAGE"})
        assert "name" in error.value.fields
        assert Build.objects.count() == 1  # the transaction is still usable


# --- 9. Retiring a build. ---


def test_retiring_is_its_own_event_and_stops_its_versions(school, bella, rachel, isaac, build):
    version = services.new_version(build, bella)
    services.save_version(version, bella, {"steps": STEPS, "criteria": CRITERIA})
    services.save_build(school, bella, {"is_active": False}, build)
    assert BuildEvent.objects.filter(build=build).latest("id").kind == BuildAction.RETIRE
    with pytest.raises(InvalidAction, match="retired"):
        services.save_version(version, bella, {"notes": "more"})
    with pytest.raises(InvalidAction, match="retired"):
        services.submit(version, bella)
    services.save_build(school, bella, {"is_active": True}, build)
    assert BuildEvent.objects.filter(build=build).latest("id").kind == BuildAction.EDIT
    services.submit(version, bella)
    services.save_build(school, bella, {"is_active": False}, build)
    with pytest.raises(InvalidAction, match="retired"):
        services.approve(version, rachel)


def test_starting_an_installation_locks_the_build(school, bella, rachel, isaac, build, laptop):
    version = approved(build, bella, rachel)
    with CaptureQueriesContext(connection) as queries:
        services.start_installation(version, isaac, {"item": laptop})
    build_reads = [q["sql"] for q in queries.captured_queries if '"releases_build"' in q["sql"]]
    assert build_reads, "the build's row is read first"
    if connection.vendor == "postgresql":
        assert "FOR UPDATE" in build_reads[0]
    services.save_build(school, bella, {"is_active": False}, build)
    with pytest.raises(InvalidAction, match="retired"):
        services.start_installation(version, isaac, {"item": laptop})


# --- 10. One rule for links, the page's and the API's. ---


def test_links_that_are_over_are_refused(school, bella, rachel, isaac, build, laptop, draft):
    version = approved(build, bella, rachel)
    closed = Release.objects.create(school=school, title="Done", state=ReleaseState.CLOSED)
    done = InstallRequest.objects.create(
        school=school, what="Paint", requested_by=rachel, state=RequestState.DONE
    )
    Change.objects.filter(pk=draft.pk).update(state=State.CLOSED)
    retired = ConfigurationItem.objects.create(
        school=school, name="Old PC", kind=ItemKind.DEVICE_GROUP, is_active=False
    )
    cases = {
        "release": {"item": laptop.pk, "release": closed.pk},
        "request": {"item": laptop.pk, "request": done.pk},
        "change": {"item": laptop.pk, "change": draft.pk},
        "item": {"item": retired.pk},
    }
    for field, data in cases.items():
        with pytest.raises(InvalidAction) as error:
            services.start_installation(version, isaac, data)
        assert field in error.value.fields, field
        response = api(isaac).post(
            "/api/v1/installations/", {"version": version.pk, **data}, format="json"
        )
        assert response.status_code == 400, (field, response.content)
        assert field in response.json(), (field, response.json())
    retired_service = ConfigurationItem.objects.create(
        school=school, name="Old service", kind=ItemKind.SERVICE, is_active=False
    )
    with pytest.raises(InvalidAction) as error:
        services.save_build(school, bella, {"name": "New", "service": retired_service.pk})
    assert "service" in error.value.fields
    response = api(bella).post(
        "/api/v1/builds/",
        {"school": school.slug, "name": "New", "service": retired_service.pk},
        format="json",
    )
    assert response.status_code == 400


# --- 11. The running builds, by school. ---


def test_running_builds_have_an_index_by_school_and_are_paged_by_school(
    school, other_school, bella, rachel, isaac, build, laptop
):
    assert ["school", "item"] in [index.fields for index in RunningBuild._meta.indexes]
    assert issubclass(builds_api.RunningBuildViewSet, builds_api.BySchool)
    version = approved(build, bella, rachel)
    installation = services.start_installation(version, isaac, {"item": laptop})
    services.record(
        installation, isaac, {"checklist": [True], "results": [{"result": "passed", "note": ""}]}
    )
    services.finish(installation, isaac)
    set_membership(rachel, other_school, [Role.RELEASE_MANAGER])
    body = api(rachel).get("/api/v1/running-builds/").json()
    assert [row["item"] for row in body["results"]] == [laptop.pk]


# --- 7. The undocumented services, cut per school. ---


def test_the_undocumented_list_is_cut_per_school_and_says_so(
    school, other_school, rachel, monkeypatch
):
    set_membership(rachel, other_school, [Role.RELEASE_MANAGER])
    for s in (school, other_school):
        for n in range(3):
            ConfigurationItem.objects.create(
                school=s, name=f"Svc {s.slug} {n}", kind=ItemKind.SERVICE
            )
    monkeypatch.setattr(views, "MOST_PER_SCHOOL", 2)
    html = web(rachel).get("/releases/builds/undocumented/").content.decode()
    assert "Every service has an approved build procedure" not in html
    for s in (school, other_school):
        assert f"Svc {s.slug} 1<" in html
        assert f"Svc {s.slug} 2<" not in html
    assert html.count("there are more") == 2


# --- 12. Phone tables: a label on every cell. ---


def test_the_first_cells_have_labels(school, bella, rachel, isaac, build, laptop):
    version = approved(build, bella, rachel)
    services.start_installation(version, isaac, {"item": laptop})
    client = web(rachel)
    assert '<td data-label="Build">' in client.get("/releases/builds/").content.decode()
    html = client.get("/releases/installations/").content.decode()
    assert '<td data-label="Installed on">' in html
    html = client.get(f"/releases/builds/{build.pk}/").content.decode()
    assert '<td data-label="Version">' in html


# --- 13. The school administrator's place, as the rulebook says. ---


def test_the_school_administrator_keeps_the_library_but_does_not_build(school, sam):
    assert permissions.may_keep_library(sam, school)
    assert permissions.may_take_out(sam, school)
    assert permissions.may_manage(sam, school)
    assert not permissions.may_write_builds(sam, school)
    assert not permissions.may_install(sam, school)
    assert not permissions.may_approve_builds(sam, school)
    assert "except approve a build procedure" not in (permissions.__doc__ or "")
    assert "writing build procedures, installing builds" in (permissions.__doc__ or "")


# --- 14. One set of helpers for both areas. ---


def test_the_library_and_the_builds_share_their_api_rows():
    for viewset in (
        library_api.SoftwareViewSet,
        library_api.CheckoutViewSet,
        builds_api.BuildViewSet,
        builds_api.BuildVersionViewSet,
        builds_api.InstallationViewSet,
    ):
        assert issubclass(viewset, Rows), viewset
    assert not hasattr(views, "_query")
    assert builds_api.MAX_ID is library_api.MAX_ID


def test_unknown_ids_answer_404_saying_what(rachel):
    for path, noun in [("/api/v1/builds/99999/", "build"), ("/api/v1/software/99999/", "piece")]:
        response = api(rachel).get(path)
        assert response.status_code == 404
        assert noun in response.json()["detail"]


def test_a_retired_builds_page_offers_no_work_on_its_version(school, bella, build):
    services.new_version(build, bella)
    services.save_build(school, bella, {"is_active": False}, build)
    html = web(bella).get(f"/releases/builds/{build.pk}/").content.decode()
    assert "The build is retired" in html
    assert "Send for approval" not in html
    response = web(bella).post(f"/releases/builds/{build.pk}/versions/1/submit/")
    assert response.status_code in (302, 400)
    assert build.versions.get().state == VersionState.DRAFT


def test_a_build_keeps_its_service_retired_since_through_the_page(school, bella, build, service):
    ConfigurationItem.objects.filter(pk=service.pk).update(is_active=False)
    response = web(bella).post(
        f"/releases/builds/{build.pk}/edit/",
        {
            "name": "Curriculum image",
            "service": service.pk,
            "description": "More",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    build.refresh_from_db()
    assert (build.service_id, build.description) == (service.pk, "More")
