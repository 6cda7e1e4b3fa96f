"""Approvals weigh the window's conflicts: a hard freeze stops them, soft conflicts need a
reason that the history keeps; the RFC page and the API show and ask for the same."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from changedesk.changes.workflow import perform
from changedesk.conftest import advance
from changedesk.lib.errors import InvalidAction
from changedesk.schedule.models import CalendarPeriod

pytestmark = pytest.mark.django_db


def around(change, kind, name, **extra):
    return CalendarPeriod.objects.create(
        school=change.school,
        kind=kind,
        name=name,
        starts_at=change.planned_start - timedelta(days=1),
        ends_at=change.planned_end + timedelta(days=1),
        **extra,
    )


@pytest.fixture
def awaiting_final(draft, team):
    return advance(draft, team, "awaiting_final_approval")


def test_a_hard_freeze_stops_approval(awaiting_final, team):
    around(awaiting_final, "freeze", "Year-end freeze", is_hard=True)
    with pytest.raises(InvalidAction) as refused:
        perform(awaiting_final.pk, "approve", team["fiona"], data={"override_reason": "Please"})
    assert "Year-end freeze" in refused.value.fields["planned_start"]
    awaiting_final.refresh_from_db()
    assert awaiting_final.state == "awaiting_final_approval"
    assert not awaiting_final.events.filter(kind="approve", from_state="awaiting_final_approval")


def test_a_soft_conflict_needs_a_reason_the_history_keeps(awaiting_final, team):
    around(awaiting_final, "exam", "GCSE mocks")
    with pytest.raises(InvalidAction) as refused:
        perform(awaiting_final.pk, "approve", team["fiona"])
    assert "GCSE mocks" in refused.value.fields["override_reason"]
    change = perform(
        awaiting_final.pk,
        "approve",
        team["fiona"],
        data={"override_reason": "The exam hall is not on this network."},
    )
    assert change.state == "approved"
    event = change.events.get(kind="approve", from_state="awaiting_final_approval")
    assert event.data["override_reason"] == "The exam hall is not on this network."
    assert any("GCSE mocks" in message for message in event.data["conflicts"])


def test_an_emergency_is_not_stopped_by_a_hard_freeze(school, team):
    from changedesk.changes.services import create_change, update_change
    from changedesk.conftest import REQUEST, plan_data

    change = create_change(
        school,
        team["olivia"],
        {**REQUEST, "is_emergency": True, "emergency_justification": "Registers are down."},
    )
    update_change(change.pk, team["olivia"], plan_data())
    change.refresh_from_db()
    around(change, "freeze", "Year-end freeze", is_hard=True)
    perform(change.pk, "submit", team["olivia"])
    change = perform(change.pk, "approve", team["ian"], data={"override_reason": "Urgent."})
    assert change.state == "approved"


def test_the_rfc_page_shows_conflicts_and_asks_the_approver_for_a_reason(
    client, awaiting_final, team
):
    around(awaiting_final, "exam", "GCSE mocks")
    client.force_login(team["fiona"])
    url = reverse("changes:detail", args=[awaiting_final.pk])
    page = client.get(url).content.decode()
    assert "GCSE mocks" in page
    assert 'name="override_reason"' in page
    act = reverse("changes:act", args=[awaiting_final.pk])
    refused = client.post(act, {"action": "approve", "version": awaiting_final.version})
    assert refused.status_code == 400
    assert "Say why it should be approved anyway" in refused.content.decode()
    done = client.post(
        act,
        {
            "action": "approve",
            "version": awaiting_final.version,
            "override_reason": "The exam hall is not on this network.",
        },
    )
    assert done.status_code == 302
    awaiting_final.refresh_from_db()
    assert awaiting_final.state == "approved"


def test_the_api_asks_for_the_override_reason(client, awaiting_final, team):
    around(awaiting_final, "exam", "GCSE mocks")
    client.force_login(team["fiona"])
    url = f"/api/v1/changes/{awaiting_final.pk}/actions/"
    refused = client.post(url, {"action": "approve"}, content_type="application/json")
    assert refused.status_code == 400
    assert "override_reason" in refused.json()
    conflicts = client.get(f"/api/v1/changes/{awaiting_final.pk}/conflicts/")
    assert conflicts.status_code == 200
    assert "GCSE mocks" in str(conflicts.json())
    done = client.post(
        url,
        {"action": "approve", "override_reason": "Not on the exam network."},
        content_type="application/json",
    )
    assert done.status_code == 200
    assert done.json()["state"] == "approved"


def test_the_edit_form_takes_a_slot_from_the_finder(client, draft, team):
    change = advance(draft, team, "planning")
    client.force_login(team["olivia"])
    url = reverse("changes:edit", args=[change.pk])
    page = client.get(url, {"planned_start": "2030-03-05T18:00", "planned_end": "2030-03-05T19:00"})
    assert 'value="2030-03-05T18:00"' in page.content.decode()


# --- Only the approval that accepts the impact on the school weighs the calendar. ---


def _planned_draft(school, team, **request):
    from changedesk.changes.services import create_change, update_change
    from changedesk.conftest import REQUEST, plan_data

    change = create_change(school, team["olivia"], {**REQUEST, **request})
    update_change(change.pk, team["olivia"], plan_data())
    change.refresh_from_db()
    return change


def test_the_initial_approver_may_agree_to_planning_in_a_hard_freeze(school, team):
    change = _planned_draft(school, team)
    around(change, "freeze", "Year-end freeze", is_hard=True)
    perform(change.pk, "submit", team["olivia"])

    change = perform(change.pk, "approve", team["ian"])

    assert change.state == "planning"
    event = change.events.get(kind="approve")
    assert "override_reason" not in event.data


def test_the_peer_reviewer_is_not_asked_about_exams(client, draft, team):
    change = advance(draft, team, "awaiting_peer_review")
    around(change, "exam", "GCSE mocks")
    client.force_login(team["peter"])

    page = client.get(reverse("changes:detail", args=[change.pk])).content.decode()
    assert "GCSE mocks" in page  # shown to everyone
    assert 'name="override_reason"' not in page

    change = perform(change.pk, "approve", team["peter"])
    assert change.state == "awaiting_final_approval"


def test_an_emergency_initial_approval_accepts_the_impact_so_weighs_the_calendar(school, team):
    change = _planned_draft(
        school, team, is_emergency=True, emergency_justification="Registers are down."
    )
    around(change, "exam", "GCSE mocks")
    perform(change.pk, "submit", team["olivia"])

    with pytest.raises(InvalidAction) as refused:
        perform(change.pk, "approve", team["ian"])
    assert "GCSE mocks" in refused.value.fields["override_reason"]

    change = perform(change.pk, "approve", team["ian"], data={"override_reason": "Urgent."})
    assert change.state == "approved"
