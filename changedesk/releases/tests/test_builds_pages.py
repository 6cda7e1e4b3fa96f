"""The build and installation pages as people meet them: who may see and do what, the
forms, the install build checklist, the item page's "Build it runs", and the lists' query
counts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.configuration.models import ConfigurationItem, ItemKind
from changedesk.conftest import member
from changedesk.releases.choices import InstallationState, VersionState
from changedesk.releases.models import Build, BuildVersion, Installation, RunningBuild
from changedesk.releases.services import builds as services
from changedesk.releases.tests.test_builds import CRITERIA, STEPS, approved, written


@pytest.fixture
def tom(school):
    return member("tom", school, [Role.VIEWER])


@pytest.fixture
def build(school, bella, service):
    return services.save_build(
        school, bella, {"name": "Curriculum laptop image 2027", "service": service}
    )


@pytest.fixture
def version(build, bella, rachel):
    return approved(build, bella, rachel)


@pytest.fixture
def installation(version, isaac, laptop):
    return services.start_installation(version, isaac, {"item": laptop})


def _get(client, user, url, status=200):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == status, response.content[:800]
    return response


def _post(client, user, url, data, status=302):
    client.force_login(user)
    response = client.post(url, data)
    assert response.status_code == status, response.content[:800]
    return response


def _read_pages(build, version, installation):
    return [
        reverse("releases:builds"),
        reverse("releases:undocumented"),
        reverse("releases:installations"),
        reverse("releases:build", args=[build.pk]),
        reverse("releases:version", args=[build.pk, version.number]),
        reverse("releases:build_print", args=[build.pk]),
        reverse("releases:installation", args=[installation.pk]),
    ]


def test_every_member_reads_the_pages(client, tom, build, version, installation):
    for url in _read_pages(build, version, installation):
        response = _get(client, tom, url)
        assert b"<h1" in response.content, (url, response.content.decode()[-3000:])
    page = _get(client, tom, reverse("releases:build", args=[build.pk])).content.decode()
    assert "Installation details: steps" in page and STEPS[0] in page
    assert "Design details" in page and "Stability test details" in page
    assert "Acceptance test details" in page
    assert "Install this build" not in page and "Write a new version" not in page


def test_signed_out_people_are_sent_to_sign_in(client, build, version, installation):
    for url in _read_pages(build, version, installation):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"]


def test_another_schools_rows_are_not_found(client, oscar, build, version, installation):
    for url in _read_pages(build, version, installation)[3:]:
        _get(client, oscar, url, 404)
    _get(client, oscar, reverse("releases:build_edit", args=[build.pk]), 404)
    _post(client, oscar, reverse("releases:install", args=[build.pk]), {"target": "x"}, 404)
    listing = _get(client, oscar, reverse("releases:builds")).content.decode()
    assert build.name not in listing


@pytest.mark.parametrize("who", ["tom", "isaac", "sam", "fiona"])
def test_who_may_not_write_builds_is_refused(client, who, tom, isaac, sam, fiona, build):
    person = {"tom": tom, "isaac": isaac, "sam": sam, "fiona": fiona}[who]
    _get(client, person, reverse("releases:build_create"), 403)
    _get(client, person, reverse("releases:build_edit", args=[build.pk]), 403)
    _post(client, person, reverse("releases:version_new", args=[build.pk]), {}, 403)
    assert not BuildVersion.objects.exists()


def test_a_build_developer_writes_a_build_and_a_version(client, bella, school, service):
    response = _post(
        client,
        bella,
        reverse("releases:build_create"),
        {"name": "SIMS client 2026", "service": service.pk, "is_active": "on"},
    )
    build = Build.objects.get(name="SIMS client 2026")
    assert response["Location"] == build.get_absolute_url()
    response = _post(client, bella, reverse("releases:version_new", args=[build.pk]), {})
    assert response["Location"].endswith("/versions/1/edit/")
    edit = reverse("releases:version_edit", args=[build.pk, 1])
    form = _get(client, bella, edit).content.decode()
    assert 'name="component-0-software"' in form and 'for="id_steps"' in form
    _post(
        client,
        bella,
        edit,
        {
            "label": "2026.1",
            "component-0-title": "SIMS client",
            "component-0-version": "7.215",
            "steps": "Install the client\n\nPoint it at the server",
            "criteria": "Signs in\nOpens the register",
            "stability_tests": "Office PCs keep printing.",
        },
    )
    version = BuildVersion.objects.get(build=build)
    assert version.steps == ["Install the client", "Point it at the server"]
    assert version.components == [{"software": None, "title": "SIMS client", "version": "7.215"}]
    _post(client, bella, reverse("releases:version_submit", args=[build.pk, 1]), {})
    version.refresh_from_db()
    assert version.state == VersionState.SUBMITTED


def test_bad_forms_are_form_errors(client, bella, build, school):
    response = _post(client, bella, reverse("releases:build_create"), {"name": ""}, 400)
    assert b"field-error" in response.content
    response = _post(client, bella, reverse("releases:build_create"), {"name": build.name}, 400)
    assert b"already" in response.content
    version = services.new_version(build, bella)
    response = _post(
        client,
        bella,
        reverse("releases:version_edit", args=[build.pk, 1]),
        {"component-0-software": "99999"},
        400,
    )
    assert b"field-error" in response.content
    version.refresh_from_db()
    assert version.components == []


def test_the_release_manager_decides_on_the_page(client, build, bella, rachel):
    version = written(build, bella)
    services.submit(version, bella)
    page = _get(client, rachel, reverse("releases:build", args=[build.pk])).content.decode()
    assert 'value="approve"' in page and 'value="return"' in page
    decide = reverse("releases:version_decide", args=[build.pk, version.number])
    _post(client, bella, decide, {"decision": "approve"}, 403)
    _post(client, rachel, decide, {"decision": "return", "comment": ""})
    version.refresh_from_db()
    assert version.state == VersionState.SUBMITTED  # a return needs a reason: a message
    _post(client, rachel, decide, {"decision": "approve", "comment": "Good"})
    version.refresh_from_db()
    assert version.state == VersionState.APPROVED
    _post(client, rachel, decide, {"decision": "maybe"}, 400)


def test_the_author_sees_no_approve_button(client, build, rachel):
    version = written(build, rachel)
    services.submit(version, rachel)
    page = _get(client, rachel, reverse("releases:version", args=[build.pk, 1])).content.decode()
    assert 'value="approve"' not in page and "separation of duties" in page
    _post(
        client,
        rachel,
        reverse("releases:version_decide", args=[build.pk, 1]),
        {"decision": "approve"},
        403,
    )


def test_undocumented_lists_services_with_a_link_for_writers(client, tom, bella, service, school):
    page = _get(client, bella, reverse("releases:undocumented")).content.decode()
    assert "Curriculum laptops" in page and "Write its build procedure" in page
    assert f"service={service.pk}" in page
    page = _get(client, tom, reverse("releases:undocumented")).content.decode()
    assert "Curriculum laptops" in page and "Write its build procedure" not in page


def test_the_list_filters(client, tom, build, version, school, bella):
    services.save_build(school, bella, {"name": "SMART Notebook 24"})
    url = reverse("releases:builds")
    page = _get(client, tom, url + "?documented=true").content.decode()
    assert build.name in page and "SMART Notebook 24" not in page
    page = _get(client, tom, url + "?documented=false").content.decode()
    assert build.name not in page and "SMART Notebook 24" in page
    page = _get(client, tom, url + "?q=smart").content.decode()
    assert "SMART Notebook 24" in page and build.name not in page
    _get(client, tom, url + "?documented=perhaps")  # a form error, not a 500


def test_starting_an_installation(client, isaac, tom, build, version, laptop):
    url = reverse("releases:install", args=[build.pk])
    _get(client, tom, url, 403)
    _post(client, tom, url, {"item": laptop.pk}, 403)
    response = _post(client, isaac, url, {}, 400)
    assert b"field-error" in response.content
    response = _post(client, isaac, url, {"item": laptop.pk})
    installation = Installation.objects.get()
    assert response["Location"] == installation.get_absolute_url()
    assert installation.item == laptop and installation.installer == isaac


def test_an_undocumented_build_is_not_installable(client, isaac, build):
    _get(client, isaac, reverse("releases:install", args=[build.pk]), 409)


def test_the_checklist_on_the_page(client, isaac, installation, laptop, version):
    url = installation.get_absolute_url()
    page = _get(client, isaac, url).content.decode()
    assert 'type="checkbox"' in page and 'type="radio"' in page and ">Finish<" in page
    # Finishing too early: the ticks are kept on the form with the refusal, nothing saved.
    response = _post(client, isaac, url, {"step-0": "on", "finish": "1"}, 400)
    assert b"Tick every step" in response.content
    installation.refresh_from_db()
    assert not installation.checklist[0]["done"]
    _post(client, isaac, url, {"step-0": "on", "step-1": "on", "save": "1"})
    installation.refresh_from_db()
    assert [s["done"] for s in installation.checklist] == [True, True, False]
    done = {f"step-{n}": "on" for n in range(len(STEPS))}
    done.update({f"result-{n}": "passed" for n in range(len(CRITERIA))})
    _post(client, isaac, url, {**done, "note-1": "Printed a test page", "finish": "1"})
    installation.refresh_from_db()
    assert installation.state == InstallationState.INSTALLED
    assert installation.results[1]["note"] == "Printed a test page"
    assert RunningBuild.objects.get(item=laptop).version == version
    page = _get(client, isaac, url).content.decode()
    assert 'type="checkbox"' not in page and "passed" in page
    _post(client, isaac, url, {"save": "1"}, 403)


def test_only_the_installer_records_on_the_page(client, school, installation):
    other = member("ines", school, [Role.INSTALLER])
    page = _get(client, other, installation.get_absolute_url()).content.decode()
    assert 'type="checkbox"' not in page
    _post(client, other, installation.get_absolute_url(), {"step-0": "on", "save": "1"}, 403)


def test_the_item_page_says_which_build_it_runs(client, tom, installation, isaac, laptop, version):
    url = reverse("configuration:detail", args=[laptop.pk])
    assert "Build it runs" not in _get(client, tom, url).content.decode()
    services.record(
        installation, isaac, {"checklist": [True] * 3, "results": [{"result": "passed"}] * 2}
    )
    services.finish(installation, isaac)
    page = _get(client, tom, url).content.decode()
    assert "Build it runs" in page and "Curriculum laptop image 2027" in page
    assert installation.get_absolute_url() in page and "Isaac Example" in page


def test_the_item_panel_is_registered_once(db):
    from changedesk.configuration import panels

    templates = [p.template for p in panels.registered()]
    assert templates.count("releases/builds/_item_panel.html") == 1


# --- Query counts: the same for a person of one school and of two. ---


def _many(school, who, n=6):
    builds = []
    for k in range(n):
        item = ConfigurationItem.objects.create(
            school=school, name=f"Service {k}", kind=ItemKind.SERVICE
        )
        builds.append(
            services.save_build(school, who["bella"], {"name": f"Build {k}", "service": item})
        )
    for build in builds[: n // 2]:
        version = approved(build, who["bella"], who["rachel"])
        for j in range(2):
            laptop = ConfigurationItem.objects.create(school=school, name=f"L{build.pk}-{j}")
            started = services.start_installation(version, who["isaac"], {"item": laptop})
            if j == 0:
                services.record(
                    started,
                    who["isaac"],
                    {"checklist": [True] * 3, "results": [{"result": "passed"}] * 2},
                )
                services.finish(started, who["isaac"])
    return builds


@pytest.mark.parametrize("two_schools", [False, True])
def test_list_query_counts(
    client, school, other_school, bella, rachel, isaac, two_schools, django_assert_max_num_queries
):
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
    client.force_login(viewer)
    # Measured: 10, 12 and 5, for one school or two.
    budgets = {"releases:builds": 10, "releases:installations": 12, "releases:undocumented": 5}
    for name, budget in budgets.items():
        with django_assert_max_num_queries(budget):
            response = client.get(reverse(name))
        assert response.status_code == 200
        assert b"Build 0" in response.content or name != "releases:builds"


def test_the_item_page_seam_renders_registered_panels_in_order(client, tom, laptop):
    from changedesk.configuration import panels

    url = reverse("configuration:detail", args=[laptop.pk])
    seen = []

    def quiet(request, item):
        seen.append(item.pk)
        return None

    panels.register("releases/builds/_history.html", lambda request, item: {"events": []})
    panels.register("releases/builds/not_installable.html", quiet)
    try:
        page = _get(client, tom, url).content.decode()
        assert "Nothing yet." in page  # the first panel, with its context
        assert "cannot be installed yet" not in page  # None: left out
        assert seen == [laptop.pk]
    finally:
        panels.unregister("releases/builds/_history.html")
        panels.unregister("releases/builds/not_installable.html")
    assert "Nothing yet." not in _get(client, tom, url).content.decode()
