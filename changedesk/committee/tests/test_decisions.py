"""Decisions taken in a committee meeting, applied through `workflow.perform` for the
approver named on the RFC who is present, and recorded as such; and the refusals."""

from __future__ import annotations

import pytest

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.changes.choices import State
from changedesk.changes.history import verify_chain
from changedesk.changes.workflow import perform
from changedesk.committee import services
from changedesk.committee.choices import MeetingStatus
from changedesk.committee.models import Meeting
from changedesk.lib.errors import InvalidAction, NotPermitted, StaleChange
from changedesk.notifications.models import OutboxMessage

pytestmark = pytest.mark.django_db


def last_event(change):
    return change.events.order_by("-sequence").first()


# --- perform(..., committee_meeting=…) ---


def test_the_secretary_records_an_approval_for_the_approver_present(
    meeting, agenda, waiting_initial, team
):
    change = perform(
        waiting_initial.pk, "approve", team["sam"], data={"committee_meeting": meeting.pk}
    )

    assert change.state == State.PLANNING
    event = last_event(change)
    assert event.kind == "approve"
    assert event.actor == team["sam"]
    assert event.on_behalf_of == team["ian"]
    assert event.data == {"committee_meeting": meeting.pk}
    assert event.digest  # the approval covers the content read, as ever
    assert verify_chain(change, list(change.events.order_by("sequence"))) is None


def test_the_chair_records_a_decision_too(meeting, agenda, waiting_initial, team):
    change = perform(
        waiting_initial.pk, "approve", team["fiona"], data={"committee_meeting": meeting.pk}
    )

    event = last_event(change)
    assert (event.actor, event.on_behalf_of) == (team["fiona"], team["ian"])


def test_the_originator_hears_the_committee_decided_for_the_approver(
    meeting, agenda, waiting_initial, team
):
    perform(
        waiting_initial.pk,
        "return",
        team["sam"],
        comment="Say which switch.",
        data={"committee_meeting": meeting.pk},
    )

    message = OutboxMessage.objects.filter(template="change_decision").order_by("-id").first()
    assert message.context["reference"] == waiting_initial.reference
    assert message.recipient == team["olivia"]
    assert message.context["actor"] == "Sam Singh"
    assert message.context["actor_for"] == "Ian Ingram"
    assert message.context["comment"] == "Say which switch."


def test_an_approver_not_recorded_present_cannot_be_decided_for(
    meeting, agenda, waiting_initial, team
):
    services.record_attendance(meeting.pk, team["sam"], [team["fiona"]])

    with pytest.raises(NotPermitted) as refused:
        perform(waiting_initial.pk, "approve", team["sam"], data={"committee_meeting": meeting.pk})

    assert refused.value.status == 403
    assert "Ian Ingram" in refused.value.message
    assert refused.value.message == (
        "Ian Ingram (initial approver) is not at this meeting: "
        "the committee can only defer RFC-0001."
    )
    waiting_initial.refresh_from_db()
    assert waiting_initial.state == State.AWAITING_INITIAL_APPROVAL
    assert last_event(waiting_initial).kind == "submit"


def test_someone_neither_chair_nor_administrator_may_not_record(
    meeting, agenda, waiting_initial, team
):
    # Ian is the approver and present, but it is not for him to record the committee's word.
    services.record_attendance(meeting.pk, team["sam"], [team["ian"], team["peter"]])
    for person in (team["peter"], team["ian"]):
        with pytest.raises(NotPermitted):
            perform(waiting_initial.pk, "approve", person, data={"committee_meeting": meeting.pk})


def test_return_and_reject_still_need_a_reason(meeting, agenda, waiting_initial, team):
    for action in ("return", "reject"):
        with pytest.raises(InvalidAction) as refused:
            perform(waiting_initial.pk, action, team["sam"], data={"committee_meeting": meeting.pk})
        assert "comment" in refused.value.fields


def test_the_approver_is_held_to_the_rules_of_their_role(meeting, agenda, waiting_initial, team):
    # Ian is present but no longer holds the initial approver role at Greenfield.
    set_membership(team["ian"], waiting_initial.school, [Role.VIEWER])

    with pytest.raises(NotPermitted):
        perform(waiting_initial.pk, "approve", team["sam"], data={"committee_meeting": meeting.pk})


def test_the_originator_present_cannot_have_the_committee_final_approve_for_them(
    meeting, team, school, waiting_final
):
    # The school lets the final approver be the originator; switch that off again after
    # naming Olivia: separation of duties is checked on the approver, at the decision.
    school.final_approver_may_be_originator = True
    school.save()
    set_membership(team["olivia"], school, [Role.ORIGINATOR, Role.FINAL_APPROVER])
    waiting_final.refresh_from_db()
    type(waiting_final).objects.filter(pk=waiting_final.pk).update(final_approver=team["olivia"])
    school.final_approver_may_be_originator = False
    school.save()
    services.record_attendance(meeting.pk, team["sam"], [team["olivia"]])

    with pytest.raises(NotPermitted):
        perform(waiting_final.pk, "approve", team["sam"], data={"committee_meeting": meeting.pk})


def test_a_meeting_of_another_school_is_refused(
    meeting, agenda, waiting_initial, team, other_school, oscar
):
    elsewhere = Meeting.objects.create(
        school=other_school, title="Hillside CAC", held_at=meeting.held_at, chair=oscar,
        created_by=oscar,
    )  # fmt: skip

    with pytest.raises(InvalidAction) as refused:
        perform(
            waiting_initial.pk, "approve", team["sam"], data={"committee_meeting": elsewhere.pk}
        )

    assert "committee_meeting" in refused.value.fields


def test_a_committee_takes_approval_decisions_only(meeting, team, draft):
    services.record_attendance(meeting.pk, team["sam"], [team["olivia"]])

    with pytest.raises(InvalidAction):
        perform(draft.pk, "submit", team["sam"], data={"committee_meeting": meeting.pk})


def test_without_a_meeting_perform_is_unchanged(waiting_initial, team):
    with pytest.raises(NotPermitted):
        perform(waiting_initial.pk, "approve", team["sam"])

    change = perform(waiting_initial.pk, "approve", team["ian"])

    event = last_event(change)
    assert event.on_behalf_of is None
    assert event.data == {}


# --- services.decide: the agenda item and the RFC together. ---


def test_deciding_an_item_applies_it_and_minutes_it(meeting, agenda, team, waiting_final):
    item = services.decide(
        agenda["RFC-0002"].pk, team["sam"], "approve", "  Agreed: go ahead over half term. "
    )

    assert item.decision == "approve"
    assert item.minute == "Agreed: go ahead over half term."
    assert item.decided_by == team["sam"]
    assert item.decided_for == team["fiona"]
    assert item.decided_at is not None
    waiting_final.refresh_from_db()
    assert waiting_final.state == State.APPROVED
    event = last_event(waiting_final)
    assert event.comment == "Agreed: go ahead over half term."
    assert event.data == {"committee_meeting": meeting.pk}
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.HELD


def test_a_deferral_changes_only_the_minutes(meeting, agenda, team, waiting_initial):
    item = services.decide(agenda["RFC-0001"].pk, team["fiona"], "deferred", "Needs costs.")

    assert item.decision == "deferred"
    assert item.decided_for is None
    waiting_initial.refresh_from_db()
    assert waiting_initial.state == State.AWAITING_INITIAL_APPROVAL
    assert last_event(waiting_initial).kind == "submit"


def test_rejecting_without_a_minute_is_refused_and_nothing_is_written(meeting, agenda, team):
    with pytest.raises(InvalidAction) as refused:
        services.decide(agenda["RFC-0002"].pk, team["sam"], "reject", "")

    assert "minute" in refused.value.fields
    item = agenda["RFC-0002"]
    item.refresh_from_db()
    assert item.decision == ""
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.PLANNED


def test_an_item_is_decided_once(meeting, agenda, team):
    services.decide(agenda["RFC-0001"].pk, team["sam"], "deferred")

    with pytest.raises(StaleChange):
        services.decide(agenda["RFC-0001"].pk, team["sam"], "approve")


def test_a_decision_on_a_version_since_changed_is_refused(meeting, agenda, team, waiting_initial):
    with pytest.raises(StaleChange):
        services.decide(
            agenda["RFC-0001"].pk, team["sam"], "approve",
            expected_version=waiting_initial.version - 1,
        )  # fmt: skip


def test_a_decision_the_workflow_does_not_offer_is_refused(meeting, agenda, team):
    # RFC-0001 awaits initial approval: possible. Unknown decisions are refused.
    with pytest.raises(InvalidAction):
        services.decide(agenda["RFC-0001"].pk, team["sam"], "ratify")
    assert [d.value for d in services.possible_decisions(agenda["RFC-0001"])] == [
        "approve", "return", "reject", "deferred",
    ]  # fmt: skip


def test_outsiders_to_the_meeting_may_not_decide(meeting, agenda, team):
    with pytest.raises(NotPermitted):
        services.decide(agenda["RFC-0001"].pk, team["peter"], "deferred")


# --- The agenda and attendance. ---


def test_the_agenda_lists_the_rfcs_awaiting_approval_now(
    meeting, team, school, draft, other_school, oscar
):
    from changedesk.changes.services import create_change
    from changedesk.conftest import REQUEST, advance

    planning = advance(create_change(school, team["olivia"], dict(REQUEST)), team, "planning")
    peer = advance(
        create_change(school, team["olivia"], dict(REQUEST)), team, "awaiting_peer_review"
    )
    initial = advance(draft, team, "awaiting_initial_approval")
    create_change(other_school, oscar, dict(REQUEST))

    assert services.build_agenda(meeting.pk, team["sam"]) == 2

    items = list(meeting.items.all())
    assert [(i.change_id, i.order, i.state_when_listed) for i in items] == [
        (initial.pk, 1, "awaiting_initial_approval"),
        (peer.pk, 2, "awaiting_peer_review"),
    ]
    assert planning.pk not in {i.change_id for i in items}

    # Built again later: only what has arrived since is added, after the rest.
    advance(planning, team, "awaiting_peer_review")
    assert services.build_agenda(meeting.pk, team["fiona"]) == 1
    assert list(meeting.items.values_list("change_id", "order")) == [
        (initial.pk, 1), (peer.pk, 2), (planning.pk, 3),
    ]  # fmt: skip


def test_only_the_chair_or_an_administrator_builds_the_agenda(meeting, team):
    with pytest.raises(NotPermitted):
        services.build_agenda(meeting.pk, team["ian"])


def test_a_held_meetings_agenda_is_closed(meeting, agenda, team):
    services.decide(agenda["RFC-0001"].pk, team["sam"], "deferred")

    with pytest.raises(StaleChange):
        services.build_agenda(meeting.pk, team["sam"])


def test_only_members_of_the_school_attend(meeting, team, oscar):
    with pytest.raises(InvalidAction) as refused:
        services.record_attendance(meeting.pk, team["sam"], [team["ian"], oscar])

    assert "Oscar Owen" in refused.value.fields["members_present"]


def test_someone_decided_for_stays_on_the_attendance(meeting, agenda, team):
    services.decide(agenda["RFC-0001"].pk, team["sam"], "approve")

    with pytest.raises(InvalidAction) as refused:
        services.record_attendance(meeting.pk, team["sam"], [team["fiona"]])

    assert "Ian Ingram" in refused.value.fields["members_present"]


def test_only_a_school_administrator_plans_a_meeting(school, team):
    with pytest.raises(NotPermitted):
        services.create_meeting(
            school, team["fiona"], {"title": "CAC", "held_at": None, "chair": team["fiona"]}
        )
    with pytest.raises(InvalidAction) as refused:
        services.create_meeting(school, team["sam"], {"title": " ", "chair": None})
    assert set(refused.value.fields) == {"title", "held_at", "chair"}


def test_an_rfc_decided_outside_the_meeting_is_not_decided_again(meeting, agenda, team):
    item = agenda["RFC-0001"]
    perform(item.change_id, "approve", team["ian"])
    item.change.refresh_from_db()

    assert services.possible_decisions(item) == []
    for decision in ("approve", "deferred"):
        with pytest.raises(StaleChange):
            services.decide(item.pk, team["sam"], decision)


@pytest.fixture
def outside_every_window(school, waiting_final):
    """A maintenance window on every day but the one RFC-0002 is planned for."""
    from zoneinfo import ZoneInfo

    from changedesk.schedule.models import MaintenanceWindow

    day = waiting_final.planned_start.astimezone(ZoneInfo(school.timezone)).weekday()
    return MaintenanceWindow.objects.create(
        school=school, name="Other days", weekdays=[d for d in range(7) if d != day]
    )


def test_approving_despite_soft_conflicts_takes_the_minute_as_the_reason(
    meeting, agenda, team, waiting_final, outside_every_window
):
    item = agenda["RFC-0002"]
    with pytest.raises(InvalidAction) as refused:
        services.decide(item.pk, team["sam"], "approve", "")
    assert "maintenance window" in refused.value.fields["minute"]

    services.decide(item.pk, team["sam"], "approve", "Only day the supplier can come.")

    waiting_final.refresh_from_db()
    assert waiting_final.state == State.APPROVED
    event = last_event(waiting_final)
    assert event.on_behalf_of == team["fiona"]
    assert event.data["committee_meeting"] == meeting.pk
    assert event.data["override_reason"] == "Only day the supplier can come."
    assert event.data["conflicts"]


def test_the_rfc_page_says_the_decision_was_taken_in_committee(
    client, meeting, agenda, waiting_initial, team
):
    perform(waiting_initial.pk, "approve", team["sam"], data={"committee_meeting": meeting.pk})
    client.force_login(team["olivia"])
    page = client.get(f"/changes/{waiting_initial.pk}/").content.decode()
    assert "Decided in" in page
    assert f"/committee/{waiting_initial.school.slug}/{meeting.pk}/" in page
    assert "(for Ian Ingram)" in page
