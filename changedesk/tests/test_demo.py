"""`changedesk demo`: Greenfield Primary with people in every role and an RFC in every state."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Membership, School, User
from changedesk.changes.choices import State
from changedesk.changes.history import verify_all
from changedesk.changes.models import Change, ChangeEvent
from changedesk.changes.workflow import allowed_actions
from changedesk.notifications.models import OutboxMessage
from changedesk.notifications.outbox import enqueue
from changedesk.site.demo import PASSWORD, build_demo


def counts() -> dict[str, int]:
    return {
        "schools": School.objects.count(),
        "users": User.objects.count(),
        "memberships": Membership.objects.count(),
        "changes": Change.objects.count(),
        "events": ChangeEvent.objects.count(),
        "outbox": OutboxMessage.objects.count(),
    }


@pytest.fixture
def demo(db) -> list[tuple[str, str, str]]:
    return build_demo()


def rfc(number: int) -> Change:
    return Change.objects.get(school__slug="greenfield", number=number)


def test_it_builds_an_rfc_in_every_state_with_a_real_history(demo):
    states = set(Change.objects.values_list("state", flat=True))
    mis = Change.objects.get(title="Upgrade the MIS to the spring release")

    assert states == set(State.values)
    assert list(verify_all()) == []
    assert mis.state == State.AWAITING_FINAL_APPROVAL
    assert mis.implementer.username == "ivan"
    assert list(mis.events.values_list("kind", flat=True)) == [
        "create",
        "submit",
        "approve",
        "edit",
        "edit",
        "submit_plan",
        "return",
        "edit",
        "submit_plan",
        "approve",
    ]
    closed = Change.objects.filter(state=State.CLOSED)
    # (The year of history adds partly succeeded ones: `site/tests/test_demo_history.py`.)
    assert {c.outcome for c in closed} == {"succeeded", "failed_backed_out", "partially_succeeded"}


def test_running_it_again_creates_nothing(demo):
    before = counts()

    again = build_demo()

    assert counts() == before
    assert again == demo
    # With Meadowbank, just starting, and Oakfield Trust's other two schools.
    assert before["schools"] == 4
    assert before["changes"] >= len(State.values) + 1


def test_it_has_people_in_every_role_who_can_sign_in(demo):
    school = School.objects.get(slug="greenfield")
    held = {role for user in User.objects.all() for role in user.roles_in(school)}

    assert held == set(Role.values)
    assert len(demo) == 8 + 3 + 6  # with Meadowbank's three and Oakfield Trust's six
    for username, password, roles in demo:
        assert password == PASSWORD
        assert roles
        assert authenticate(username=username, password=password) is not None


def test_each_person_has_work_waiting_including_an_unratified_emergency(demo):
    people = {u.username: u for u in User.objects.all()}

    assert "approve" in allowed_actions(rfc(2), people["ian"])
    assert "approve" in allowed_actions(rfc(4), people["peter"])
    assert "approve" in allowed_actions(rfc(5), people["fiona"])
    assert "record_outcome" in allowed_actions(rfc(6), people["olivia"])
    assert "close" in allowed_actions(rfc(7), people["olivia"])
    # The README's API example records the outcome of greenfield:RFC-0006 as Olivia.
    assert Change.objects.by_reference("greenfield:RFC-0006").get().state == State.APPROVED
    # The year of history's emergencies are ratified.
    emergency = Change.objects.get(is_emergency=True, ratified=False)
    assert emergency.state == State.APPROVED
    assert not emergency.ratified
    assert allowed_actions(emergency, people["fiona"]) == ["ratify"]


def test_its_mail_is_never_sent_but_other_mail_is_kept(db, other_school, oscar):
    queued = enqueue(recipient=oscar, template="change_waiting", context={}, key="elsewhere")

    build_demo()

    assert list(OutboxMessage.objects.all()) == [queued]


def test_its_trust_has_a_change_across_three_schools_one_welsh_medium(demo):
    from changedesk.trustwide.models import Child

    rows = Child.objects.filter(parent__trust__slug="oakfield").select_related("change", "school")
    states = {row.school.slug: row.change.state for row in rows}
    assert states == {
        "greenfield": State.AWAITING_PEER_REVIEW,
        "bryn-derw": State.PLANNING,
        "oakfield-academy": State.AWAITING_INITIAL_APPROVAL,
    }
    assert all(row.change.planned_start for row in rows)
    welsh = School.objects.get(slug="bryn-derw")
    assert welsh.language == "cy" and welsh.bilingual_notices
    assert User.objects.get(username="catrin").language == "cy"
    people = {u.username: u for u in User.objects.all()}
    by_school = {row.school.slug: row.change for row in rows}
    assert "approve" in allowed_actions(by_school["greenfield"], people["peter"])
    assert "approve" in allowed_actions(by_school["oakfield-academy"], people["beth"])


def test_its_welsh_medium_school_has_its_own_content_in_welsh(demo):
    from changedesk.communication.models import Notice
    from changedesk.schedule.models import CalendarPeriod

    own = Change.objects.filter(school__slug="bryn-derw", originator__username="dafydd")
    states = {change.title: change.state for change in own}
    assert states == {
        "Symud ffolderi'r staff i OneDrive": State.DRAFT,
        "Argraffydd newydd i swyddfa'r ysgol": State.AWAITING_INITIAL_APPROVAL,
        "Diweddaru meddalwedd y sgriniau cyffwrdd yn y dosbarthiadau": State.PLANNING,
    }
    # Bilingual notices: the communicator writes both languages, Welsh first.
    notice = Notice.objects.get(school__slug="bryn-derw", title__startswith="Gwaith ar y ")
    assert notice.status == "published"
    assert notice.title == "Gwaith ar y rhwydwaith diwifr / Work on the Wi-Fi"
    assert "Dydd Sadwrn" in notice.when_text and "Saturday" in notice.when_text
    periods = set(
        CalendarPeriod.objects.filter(school__slug="bryn-derw").values_list("name", flat=True)
    )
    assert "Y tymor hwn" in periods and "Asesiadau personol Blwyddyn 6" in periods
    assert User.objects.get(username="dafydd").language == "cy"
