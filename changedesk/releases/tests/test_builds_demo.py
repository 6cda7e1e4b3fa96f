"""The demo's build procedures: the services they hang on, the three builds in their states
(written by Olivia, approved by Peter), Ivan's installations, a service left undocumented,
and made once."""

from __future__ import annotations

import pytest

from changedesk.accounts.services import create_school
from changedesk.configuration.models import ConfigurationItem, ItemKind
from changedesk.releases.choices import InstallationState, VersionState
from changedesk.releases.demo import builds, library
from changedesk.releases.models import Build, BuildVersion, Installation, RunningBuild
from changedesk.releases.services.builds import undocumented_services
from changedesk.site import demo

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    school = create_school(demo.SCHOOL_NAME, demo.SCHOOL_SLUG)
    people = {p.username: demo._ensure_person(p, school) for p in demo.PEOPLE}
    ConfigurationItem.objects.create(
        school=school,
        name="Management information system",
        kind=ItemKind.SERVICE,
        identifier="SVC-MIS",
    )
    library.seed(school, people)
    builds.seed(school, people)
    return school, people


def test_the_demo_builds(seeded):
    school, _ = seeded
    laptop = Build.objects.get(school=school, name=builds.LAPTOP_BUILD)
    v1, v2 = BuildVersion.objects.filter(build=laptop).order_by("number")
    assert (v1.state, v2.state) == (VersionState.SUPERSEDED, VersionState.APPROVED)
    assert laptop.approved_version == v2
    assert {v1.created_by.username, v2.created_by.username} == {"olivia"}
    assert {v1.approved_by.username, v2.approved_by.username} == {"peter"}
    assert 8 <= len(v1.steps) <= 10 and 4 <= len(v1.criteria) <= 6
    assert v1.stability_tests
    assert any(c["software"] for c in v1.components)  # drawn from the library
    sims = Build.objects.get(school=school, name="SIMS client 2026")
    assert sims.approved_version.state == VersionState.APPROVED
    smart = Build.objects.get(school=school, name="SMART Notebook 24")
    assert smart.approved_version is None
    assert smart.versions.get().state == VersionState.SUBMITTED
    assert "Wi-Fi" in [i.name for i in undocumented_services(school)]


def test_the_demo_installations(seeded):
    school, _ = seeded
    done = Installation.objects.filter(school=school)
    assert {i.installer.username for i in done} == {"ivan"}
    assert done.filter(state=InstallationState.INSTALLED).count() >= 4
    failed = done.get(state=InstallationState.FAILED)
    assert any(r["note"] for r in failed.results if r["result"] == "failed")
    half = done.get(state=InstallationState.IN_PROGRESS)
    ticks = [s["done"] for s in half.checklist]
    assert any(ticks) and not all(ticks)
    assert RunningBuild.objects.filter(school=school).count() == 4
    assert RunningBuild.objects.get(item__identifier="ICT-01").version.number == 2


def test_the_demo_is_made_once(seeded):
    school, people = seeded
    before = (Build.objects.count(), BuildVersion.objects.count(), Installation.objects.count())
    builds.seed(school, people)
    assert (
        Build.objects.count(),
        BuildVersion.objects.count(),
        Installation.objects.count(),
    ) == before
