"""Install requests: any member sends one and the installers are mailed; an installer takes
it on, declines it (the requester is mailed) or marks it done."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from changedesk.accounts.choices import Role
from changedesk.conftest import member
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.notifications.email import render
from changedesk.notifications.models import OutboxMessage
from changedesk.releases.models import BuildVersion, Installation, InstallRequest
from changedesk.releases.services import requests as services
from changedesk.releases.tests.releases_factories import make_build


@pytest.fixture
def tom(school):
    return member("tom", school, [Role.VIEWER])


SCRATCH = {
    "what": "Scratch 3",
    "where": "Year 6 laptops",
    "reason": "The coding unit.",
}


def test_a_member_asks_and_the_installers_are_mailed(school, tom, isaac, rachel):
    found = services.request_install(school, tom, dict(SCRATCH))
    assert (found.state, found.source, found.requested_by) == ("open", "person", tom)
    mails = OutboxMessage.objects.filter(template="releases_request")
    assert [m.recipient for m in mails] == [isaac]  # installers, not the release manager
    rendered = render("releases_request", mails[0].context)
    assert "Scratch 3" in rendered.subject
    assert "Year 6 laptops" in rendered.text and found.get_absolute_url() in rendered.text


def test_with_no_installer_the_release_managers_are_told(school, tom, rachel):
    services.request_install(school, tom, dict(SCRATCH))
    assert [m.recipient for m in OutboxMessage.objects.all()] == [rachel]


def test_from_an_rfc(school, draft, isaac, olivia):
    found = services.request_install(
        school, olivia, {"what": "Switch firmware", "change": draft.pk}
    )
    assert found.source == "change" and found.change == draft
    assert draft.reference in render("releases_request", OutboxMessage.objects.get().context).text


def test_bad_input_writes_nothing(school, other_school, tom, oscar):
    with pytest.raises(InvalidAction) as refused:
        services.request_install(school, tom, {"what": ""})
    assert "what" in refused.value.fields
    past = timezone.localdate() - timedelta(days=3)
    with pytest.raises(InvalidAction) as refused:
        services.request_install(school, tom, {**SCRATCH, "needed_by": past})
    assert "needed_by" in refused.value.fields
    theirs = make_build(other_school, "Their image")
    with pytest.raises(InvalidAction) as refused:
        services.request_install(school, tom, {**SCRATCH, "build": theirs.pk})
    assert "build" in refused.value.fields
    with pytest.raises(InvalidAction):
        services.request_install(school, tom, {**SCRATCH, "colour": "red"})
    with pytest.raises(NotPermitted):
        services.request_install(school, oscar, dict(SCRATCH))
    assert not InstallRequest.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_accept_then_done_mails_the_requester(school, tom, isaac, laptop):
    found = services.request_install(school, tom, dict(SCRATCH))
    accepted = services.accept(found.pk, isaac)
    assert (accepted.state, accepted.assigned_to) == ("accepted", isaac)
    with pytest.raises(InvalidAction):
        services.accept(found.pk, isaac)  # taken already
    build = make_build(school, "Image")
    version = BuildVersion.objects.get(build=build)
    installation = Installation.objects.create(
        school=school,
        build=build,
        version=version,
        item=laptop,
        installer=isaac,
        state="installed",
        finished_at=timezone.now(),
    )
    done = services.done(found.pk, isaac, installation.pk, answer="On all 30.")
    assert done.state == "done" and done.closed_at is not None
    installation.refresh_from_db()
    assert installation.request == done
    answer = OutboxMessage.objects.get(template="releases_request_answer")
    assert answer.recipient == tom
    assert "has installed" in render("releases_request_answer", answer.context).text
    with pytest.raises(InvalidAction):
        services.decline(found.pk, isaac, "Too late")


def test_decline_needs_an_answer_and_mails_the_requester(school, tom, isaac):
    found = services.request_install(school, tom, dict(SCRATCH))
    with pytest.raises(InvalidAction) as refused:
        services.decline(found.pk, isaac, "  ")
    assert "answer" in refused.value.fields
    declined = services.decline(found.pk, isaac, "Scratch runs in the browser: use that.")
    assert declined.state == "declined"
    mail = OutboxMessage.objects.get(template="releases_request_answer")
    assert mail.recipient == tom
    rendered = render("releases_request_answer", mail.context)
    assert "declined" in rendered.subject and "use that" in rendered.text


def test_done_refuses_another_schools_or_unfinished_installation(school, tom, isaac, laptop):
    found = services.request_install(school, tom, dict(SCRATCH))
    build = make_build(school, "Image")
    version = BuildVersion.objects.get(build=build)
    running = Installation.objects.create(
        school=school, build=build, version=version, item=laptop, installer=isaac
    )
    with pytest.raises(InvalidAction) as refused:
        services.done(found.pk, isaac, running.pk)
    assert "installation" in refused.value.fields
    with pytest.raises(InvalidAction):
        services.done(found.pk, isaac, 999999)
    assert InstallRequest.objects.get(pk=found.pk).state == "open"


@pytest.mark.parametrize("who", ["tom", "bella", "fiona", "sam", "oscar"])
def test_only_installers_and_release_managers_answer(school, tom, bella, fiona, sam, oscar, who):
    found = services.request_install(school, tom, dict(SCRATCH))
    person = {"tom": tom, "bella": bella, "fiona": fiona, "sam": sam, "oscar": oscar}[who]
    with pytest.raises(NotPermitted):
        services.accept(found.pk, person)
    with pytest.raises(NotPermitted):
        services.decline(found.pk, person, "No.")


def test_the_release_manager_may_answer(school, tom, rachel):
    found = services.request_install(school, tom, dict(SCRATCH))
    assert services.accept(found.pk, rachel).assigned_to == rachel
