"""The demo's releases and install requests: made through the services, once."""

from __future__ import annotations

import pytest

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.conftest import member
from changedesk.releases.demo import releases as demo
from changedesk.releases.models import InstallRequest, Release, ReleaseChange, ReleaseEvent
from changedesk.releases.tests.releases_factories import make_build


@pytest.fixture
def people(school, team):
    set_membership(team["peter"], school, [Role.PEER_REVIEWER, Role.RELEASE_MANAGER])
    set_membership(team["ivan"], school, [Role.IMPLEMENTER, Role.INSTALLER])
    return {**team, "tom": member("tom", school, [Role.VIEWER])}


def test_seed(school, people):
    image = make_build(school, "Curriculum laptop image 2027")
    make_build(school, "Office suite upgrade", documented=False)
    demo.seed(school, people)
    summer = Release.objects.get(title__endswith="new image and three upgrades")
    assert summer.state == "build" and summer.manager == people["peter"]
    assert image in summer.builds.all() and summer.builds.count() == 2
    links = ReleaseChange.objects.filter(release=summer).select_related("change")
    assert len(links) == 2
    for link in links:
        change = link.change
        assert change.originator == people["olivia"]
        assert summer.planned_start <= change.planned_start < change.planned_end
        assert change.planned_end <= summer.planned_end
    last = Release.objects.get(title__endswith="curriculum laptops")
    assert last.state == "closed"
    requests = {r.what: r for r in InstallRequest.objects.all()}
    scratch = requests["Scratch 3 on the Year 6 laptops for the coding unit"]
    assert (scratch.state, scratch.requested_by) == ("open", people["tom"])
    states = sorted(r.state for r in requests.values())
    assert states == ["accepted", "done", "open"]
    assert all(r.assigned_to == people["ivan"] for r in requests.values() if r.state != "open")
    counts = (Release.objects.count(), InstallRequest.objects.count(), ReleaseEvent.objects.count())
    demo.seed(school, people)
    assert counts == (
        Release.objects.count(),
        InstallRequest.objects.count(),
        ReleaseEvent.objects.count(),
    )
