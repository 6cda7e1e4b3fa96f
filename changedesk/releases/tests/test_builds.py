"""Build procedures and installations through their services: the version's state machine
and each refused step, separation of duties, supersession, the undocumented services, the
install build checklist and what an item then runs."""

from __future__ import annotations

import pytest

from changedesk.configuration.models import ConfigurationItem, ItemKind
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.releases.choices import BuildAction, InstallationState, VersionState
from changedesk.releases.models import (
    Build,
    BuildEvent,
    BuildVersion,
    Installation,
    RunningBuild,
    Software,
)
from changedesk.releases.services import builds as services

STEPS = ["Boot from the network", "Choose the 2027 image", "Join the domain"]
CRITERIA = ["Signs in with a pupil account", "Prints to the suite printer"]


def written(build, author, steps=STEPS, criteria=CRITERIA):
    version = services.new_version(build, author)
    return services.save_version(version, author, {"steps": steps, "criteria": criteria})


def approved(build, author, manager):
    version = written(build, author)
    services.submit(version, author)
    return services.approve(version, manager, "Good.")


@pytest.fixture
def build(school, bella, service):
    return services.save_build(
        school, bella, {"name": "Curriculum laptop image 2027", "service": service}
    )


@pytest.fixture
def manager2(school):
    from changedesk.accounts.choices import Role
    from changedesk.conftest import member

    return member("rory", school, [Role.RELEASE_MANAGER])


# --- Builds. ---


def test_a_build_is_written_by_a_writer_and_its_creation_is_history(build, bella):
    assert build.service.name == "Curriculum laptops"
    event = BuildEvent.objects.get(build=build)
    assert event.kind == BuildAction.CREATE and event.actor == bella


@pytest.mark.parametrize("who", ["isaac", "sam", "fiona", "oscar"])
def test_others_may_not_write_builds(request, school, who, isaac, sam, fiona, oscar):
    person = {"isaac": isaac, "sam": sam, "fiona": fiona, "oscar": oscar}[who]
    with pytest.raises(NotPermitted):
        services.save_build(school, person, {"name": "Nope"})
    assert not Build.objects.exists()


def test_a_build_refuses_another_schools_or_a_non_service_item(school, other_school, bella, laptop):
    elsewhere = ConfigurationItem.objects.create(
        school=other_school, name="Their MIS", kind=ItemKind.SERVICE
    )
    with pytest.raises(InvalidAction) as error:
        services.save_build(school, bella, {"name": "X", "service": elsewhere})
    assert "service" in error.value.fields
    with pytest.raises(InvalidAction) as error:
        services.save_build(school, bella, {"name": "X", "service": laptop})
    assert "service" in error.value.fields
    with pytest.raises(InvalidAction) as error:
        services.save_build(school, bella, {"name": "X", "colour": "red"})
    assert "colour" in error.value.fields


def test_a_build_name_is_the_schools_only_one(build, school, bella):
    with pytest.raises(InvalidAction) as error:
        services.save_build(school, bella, {"name": "curriculum LAPTOP image 2027"})
    assert "name" in error.value.fields


# --- The version's state machine. ---


def test_a_version_goes_draft_submitted_approved(build, bella, rachel):
    version = written(build, bella)
    assert version.state == VersionState.DRAFT and version.number == 1
    services.submit(version, bella)
    services.approve(version, rachel, "Fine")
    version.refresh_from_db()
    build.refresh_from_db()
    assert version.state == VersionState.APPROVED and version.approved_by == rachel
    assert build.approved_version == version and build.is_documented
    kinds = list(BuildEvent.objects.filter(build=build).values_list("kind", flat=True))
    assert kinds == ["create", "create", "edit", "submit", "approve"]


def test_a_new_version_copies_the_latest_and_only_one_is_in_the_works(build, bella, rachel):
    first = approved(build, bella, rachel)
    second = services.new_version(build, bella)
    assert second.number == 2 and second.steps == first.steps and second.criteria == first.criteria
    with pytest.raises(InvalidAction):
        services.new_version(build, bella)
    services.submit(second, bella)
    with pytest.raises(InvalidAction):  # submitted is still in the works
        services.new_version(build, bella)


def test_an_approved_version_supersedes_the_one_before(build, bella, rachel):
    first = approved(build, bella, rachel)
    second = services.new_version(build, bella)
    services.save_version(second, bella, {"label": "2027.2"})
    services.submit(second, bella)
    services.approve(second, rachel)
    first.refresh_from_db()
    build.refresh_from_db()
    assert first.state == VersionState.SUPERSEDED
    assert build.approved_version_id == second.pk


def test_the_author_may_not_approve_their_own_version(build, rachel, manager2):
    version = written(build, rachel)
    services.submit(version, rachel)
    with pytest.raises(NotPermitted) as error:
        services.approve(version, rachel)
    assert "separation" in error.value.message
    services.approve(version, manager2)
    version.refresh_from_db()
    assert version.state == VersionState.APPROVED


@pytest.mark.parametrize("who", ["bella", "isaac", "sam", "fiona"])
def test_only_a_release_manager_approves_or_returns(build, bella, who, isaac, sam, fiona):
    version = written(build, bella)
    services.submit(version, bella)
    person = {"bella": bella, "isaac": isaac, "sam": sam, "fiona": fiona}[who]
    with pytest.raises(NotPermitted):
        services.approve(version, person)
    with pytest.raises(NotPermitted):
        services.return_version(version, person, "No")
    version.refresh_from_db()
    assert version.state == VersionState.SUBMITTED


def test_each_refused_step(build, bella, rachel, isaac):
    version = services.new_version(build, bella)
    # Submit needs a step and a criterion.
    with pytest.raises(InvalidAction) as error:
        services.submit(version, bella)
    assert set(error.value.fields) == {"steps", "criteria"}
    # A draft is neither approved nor returned.
    with pytest.raises(InvalidAction):
        services.approve(version, rachel)
    with pytest.raises(InvalidAction):
        services.return_version(version, rachel, "why")
    # An installer does not write.
    with pytest.raises(NotPermitted):
        services.save_version(version, isaac, {"steps": ["x"]})
    written_ = services.save_version(version, bella, {"steps": STEPS, "criteria": CRITERIA})
    services.submit(written_, bella)
    # Submitted: not edited, not submitted again.
    with pytest.raises(InvalidAction):
        services.save_version(version, bella, {"label": "x"})
    with pytest.raises(InvalidAction):
        services.submit(version, bella)
    # A return needs a reason.
    with pytest.raises(InvalidAction) as error:
        services.return_version(version, rachel, "  ")
    assert "reason" in error.value.fields
    services.return_version(version, rachel, "Add the printer step")
    version.refresh_from_db()
    assert version.state == VersionState.RETURNED
    # Returned: written again and sent again.
    services.save_version(version, bella, {"steps": [*STEPS, "Add the printer"]})
    services.submit(version, bella)
    services.approve(version, rachel)
    # Approved: never changed, never decided again.
    with pytest.raises(InvalidAction):
        services.save_version(version, bella, {"label": "x"})
    with pytest.raises(InvalidAction):
        services.approve(version, rachel)
    with pytest.raises(InvalidAction):
        services.submit(version, bella)


def test_bad_parts_are_field_errors_and_nothing_is_written(build, bella, school, other_school):
    version = services.new_version(build, bella)
    ours = Software.objects.create(
        school=school, title="Windows 11 Education", version="24H2", location="Share"
    )
    theirs = Software.objects.create(school=other_school, title="Theirs", location="x")
    bad = [
        {"steps": ["ok", ""]},
        {"steps": "not a list" * 0 or 3},
        {"criteria": [1, 2]},
        {"components": [{"software": theirs.pk}]},
        {"components": [{"title": ""}]},
        {"components": [{"software": ours.pk, "colour": "red"}]},
        {"components": "Windows"},
        {"label": "x" * 51},
        {"state": "approved"},
    ]
    for data in bad:
        with pytest.raises(InvalidAction):
            services.save_version(version, bella, data)
    version.refresh_from_db()
    assert version.steps == [] and version.components == []
    saved = services.save_version(
        version,
        bella,
        {"components": [{"software": ours.pk}, {"title": "Printer driver", "version": "5.1"}]},
    )
    assert saved.components == [
        {"software": ours.pk, "title": "Windows 11 Education", "version": "24H2"},
        {"software": None, "title": "Printer driver", "version": "5.1"},
    ]
    # The title is kept even when the library piece changes afterwards.
    Software.objects.filter(pk=ours.pk).update(title="Windows 12")
    version.refresh_from_db()
    assert version.components[0]["title"] == "Windows 11 Education"


def test_undocumented_services(
    school, other_school, bella, rachel, service, django_assert_num_queries
):
    mis = ConfigurationItem.objects.create(school=school, name="MIS (SIMS)", kind=ItemKind.SERVICE)
    ConfigurationItem.objects.create(
        school=school, name="Old", kind=ItemKind.SERVICE, is_active=False
    )
    ConfigurationItem.objects.create(school=other_school, name="Theirs", kind=ItemKind.SERVICE)
    build = services.save_build(school, bella, {"name": "Laptops", "service": service})
    with django_assert_num_queries(1):
        assert list(services.undocumented_services(school)) == [service, mis]
    approved(build, bella, rachel)
    assert list(services.undocumented_services(school)) == [mis]
    services.save_build(school, bella, {"is_active": False}, build)
    assert list(services.undocumented_services(school)) == [service, mis]


# --- Installations. ---


@pytest.fixture
def version(build, bella, rachel):
    return approved(build, bella, rachel)


def test_only_an_approved_version_is_installed(build, bella, isaac, laptop):
    draft = written(build, bella)
    with pytest.raises(InvalidAction):
        services.start_installation(draft, isaac, {"item": laptop})


@pytest.mark.parametrize("who", ["bella", "sam", "fiona", "oscar"])
def test_only_installers_install(version, laptop, who, bella, sam, fiona, oscar):
    person = {"bella": bella, "sam": sam, "fiona": fiona, "oscar": oscar}[who]
    with pytest.raises(NotPermitted):
        services.start_installation(version, person, {"item": laptop})


def test_an_installation_needs_an_item_or_a_target(version, isaac, laptop, other_school):
    for data in ({}, {"item": laptop, "target": "Spare"}, {"item": 10**12}, {"item": "x"}):
        with pytest.raises(InvalidAction):
            services.start_installation(version, isaac, data)
    theirs = ConfigurationItem.objects.create(school=other_school, name="Their laptop")
    with pytest.raises(InvalidAction) as error:
        services.start_installation(version, isaac, {"item": theirs.pk})
    assert "item" in error.value.fields
    assert not Installation.objects.exists()
    spare = services.start_installation(version, isaac, {"target": "Spare laptop"})
    assert spare.item is None and spare.target == "Spare laptop"


def test_the_checklist_cannot_finish_until_complete(version, isaac, laptop):
    installation = services.start_installation(version, isaac, {"item": laptop})
    assert [s["step"] for s in installation.checklist] == STEPS
    assert [r["criterion"] for r in installation.results] == CRITERIA
    with pytest.raises(InvalidAction) as error:
        services.finish(installation, isaac)
    assert set(error.value.fields) == {"checklist", "results"}
    services.record(installation, isaac, {"checklist": [True, True, False]})
    with pytest.raises(InvalidAction):
        services.finish(installation, isaac)
    services.record(
        installation,
        isaac,
        {
            "checklist": [True, True, True],
            "results": [{"result": "passed", "note": ""}, {"result": "passed", "note": "ok"}],
            "notes": "Smooth.",
        },
    )
    done = services.finish(installation, isaac)
    assert done.state == InstallationState.INSTALLED and done.finished_at is not None
    running = RunningBuild.objects.get(item=laptop)
    assert running.version == version and running.installation == done
    # Finished: closed.
    with pytest.raises(InvalidAction):
        services.record(installation, isaac, {"notes": "more"})
    with pytest.raises(InvalidAction):
        services.finish(installation, isaac)


def test_a_failed_criterion_fails_it_and_leaves_what_the_item_runs(version, isaac, laptop):
    installation = services.start_installation(version, isaac, {"item": laptop})
    services.record(
        installation,
        isaac,
        {
            "checklist": [True] * 3,
            "results": [{"result": "passed"}, {"result": "failed", "note": "Printer offline"}],
        },
    )
    done = services.finish(installation, isaac)
    assert done.state == InstallationState.FAILED
    assert done.results[1]["note"] == "Printer offline"
    assert not RunningBuild.objects.filter(item=laptop).exists()


def test_a_later_installation_updates_what_the_item_runs(
    build, bella, rachel, isaac, laptop, version
):
    def install(v):
        i = services.start_installation(v, isaac, {"item": laptop})
        services.record(
            i,
            isaac,
            {
                "checklist": [True] * len(i.checklist),
                "results": [{"result": "passed"}] * len(i.results),
            },
        )
        return services.finish(i, isaac)

    install(version)
    second = services.new_version(build, bella)
    services.submit(second, bella)
    services.approve(second, rachel)
    later = install(second)
    assert RunningBuild.objects.count() == 1
    assert RunningBuild.objects.get(item=laptop).installation == later
    # An older, superseded version may still be installed (an older machine rebuilt).
    older = install(BuildVersion.objects.get(pk=version.pk))
    assert RunningBuild.objects.get(item=laptop).version_id == version.pk == older.version_id


def test_only_its_installer_or_a_release_manager_records(version, isaac, rachel, laptop, school):
    from changedesk.accounts.choices import Role
    from changedesk.conftest import member

    other_installer = member("ines", school, [Role.INSTALLER])
    installation = services.start_installation(version, isaac, {"item": laptop})
    with pytest.raises(NotPermitted):
        services.record(installation, other_installer, {"notes": "mine"})
    with pytest.raises(NotPermitted):
        services.finish(installation, other_installer)
    services.record(installation, rachel, {"notes": "Checked by the release manager"})
    installation.refresh_from_db()
    assert installation.notes == "Checked by the release manager"


def test_bad_records_are_refused(version, isaac, laptop):
    installation = services.start_installation(version, isaac, {"item": laptop})
    bad = [
        {"checklist": [True]},
        {"checklist": ["yes", True, True]},
        {"results": [{"result": "passed"}]},
        {"results": [{"result": "maybe"}, {"result": ""}]},
        {"results": [{"result": "passed", "extra": 1}, {"result": ""}]},
        {"state": "installed"},
    ]
    for data in bad:
        with pytest.raises(InvalidAction):
            services.record(installation, isaac, data)
    installation.refresh_from_db()
    assert not any(s["done"] for s in installation.checklist)


def _through(installation, isaac, results):
    services.record(installation, isaac, {"checklist": [True] * len(STEPS), "results": results})
    return services.finish(installation, isaac)


def test_an_installation_for_a_request_answers_it(version, school, isaac, laptop, team):
    from changedesk.notifications.models import OutboxMessage
    from changedesk.releases.choices import RequestState
    from changedesk.releases.services import requests

    asked = requests.request_install(
        school, team["olivia"], {"what": "The 2027 image on ICT-07", "item": laptop.pk}
    )
    failed = services.start_installation(version, isaac, {"item": laptop, "request": asked})
    _through(failed, isaac, [{"result": "passed"}, {"result": "failed", "note": "No printer"}])
    asked.refresh_from_db()
    # A failed installation leaves the request open: the need is still there.
    assert asked.state == RequestState.OPEN
    before = OutboxMessage.objects.count()

    again = services.start_installation(version, isaac, {"item": laptop, "request": asked})
    _through(again, isaac, [{"result": "passed"}, {"result": "passed"}])
    asked.refresh_from_db()
    assert asked.state == RequestState.DONE and asked.assigned_to == isaac
    assert asked.answer == f"Installed: {version.build.name} {version.name} on {laptop.name}."
    assert set(asked.installations.all()) == {failed, again}
    # The requester is told.
    told = OutboxMessage.objects.order_by("pk")[before:]
    assert [m.to_address for m in told] == [team["olivia"].email]


def test_an_installation_leaves_a_declined_request_as_it_is(version, school, isaac, laptop, team):
    from changedesk.releases.choices import RequestState
    from changedesk.releases.services import requests

    asked = requests.request_install(school, team["olivia"], {"what": "Scratch", "item": laptop.pk})
    installation = services.start_installation(version, isaac, {"item": laptop, "request": asked})
    requests.decline(asked.pk, isaac, "Not this term.")
    _through(installation, isaac, [{"result": "passed"}, {"result": "passed"}])
    asked.refresh_from_db()
    assert asked.state == RequestState.DECLINED and asked.answer == "Not this term."
