"""The guards of the FITS workflow: who may take which action, from where, with what."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Delegation, School, User
from changedesk.accounts.services import create_user, set_membership
from changedesk.changes.choices import State
from changedesk.changes.models import Change
from changedesk.changes.services import create_change, update_change
from changedesk.changes.workflow import TRANSITIONS, allowed_actions, perform
from changedesk.conftest import PASSWORD, REQUEST, advance, plan_data
from changedesk.lib.errors import (
    InvalidAction,
    NotPermitted,
    StaleChange,
    UnknownAction,
    WorkflowError,
)
from changedesk.notifications.models import OutboxMessage

REVIEW_OK = {"records_updated": True, "caused_incidents": False, "users_informed": True}


def snapshot(change: Change) -> tuple[str, int, int, int]:
    """What a refused action must leave untouched: state, version, events and mail."""
    change.refresh_from_db()
    return change.state, change.version, change.events.count(), OutboxMessage.objects.count()


def refused(change: Change, error: type[WorkflowError], action: str, actor: User, **kw: Any):
    """Assert `action` fails with `error` and writes nothing; return the error."""
    before = snapshot(change)
    with pytest.raises(error) as info:
        perform(change.pk, action, actor, **kw)
    assert snapshot(change) == before
    return info.value


def emergency_change(team: dict[str, User], school: School, to: str = "approved") -> Change:
    """An emergency RFC approved by the initial approver, its plan still to be completed."""
    change = create_change(
        school,
        team["olivia"],
        {
            **REQUEST,
            "is_emergency": True,
            "emergency_justification": "The core switch has failed; no network in school.",
        },
    )
    perform(change.pk, "submit", team["olivia"])
    perform(change.pk, "approve", team["ian"])
    if to == "implemented":
        perform(change.pk, "record_outcome", team["olivia"], data={"outcome": "succeeded"})
    change.refresh_from_db()
    assert change.state == to
    return change


def make_person(username: str, school: School, roles: list[str]) -> User:
    user = create_user(
        username,
        email=f"{username}@greenfield.example",
        password=PASSWORD,
        first_name=username.title(),
        check_password=False,
    )
    set_membership(user, school, roles)
    return user


def delegate(
    school: School, approver: User, deputy: User, role: str = "", **times: Any
) -> Delegation:
    now = timezone.now()
    return Delegation.objects.create(
        school=school,
        approver=approver,
        deputy=deputy,
        role=role,
        starts_at=times.get("starts_at", now - timedelta(hours=1)),
        ends_at=times.get("ends_at", now + timedelta(days=7)),
        revoked_at=times.get("revoked_at"),
    )


# --- Every transition in the table, by the right person. ---

# (from state, action, who, comment, data, emergency, expected state)
PATH: list[tuple[str, str, str, str, dict[str, Any], bool, str]] = [
    ("draft", "submit", "olivia", "", {}, False, "awaiting_initial_approval"),
    ("draft", "withdraw", "olivia", "", {}, False, "withdrawn"),
    ("awaiting_initial_approval", "approve", "ian", "", {}, False, "planning"),
    ("awaiting_initial_approval", "return", "ian", "Costs?", {}, False, "draft"),
    ("awaiting_initial_approval", "reject", "ian", "No budget.", {}, False, "rejected"),
    ("awaiting_initial_approval", "withdraw", "olivia", "", {}, False, "withdrawn"),
    ("planning", "submit_plan", "olivia", "", {}, False, "awaiting_peer_review"),
    ("planning", "withdraw", "olivia", "", {}, False, "withdrawn"),
    ("awaiting_peer_review", "approve", "peter", "", {}, False, "awaiting_final_approval"),
    ("awaiting_peer_review", "return", "peter", "Add a test.", {}, False, "planning"),
    ("awaiting_final_approval", "approve", "fiona", "", {}, False, "approved"),
    ("awaiting_final_approval", "return", "fiona", "Not in exams.", {}, False, "planning"),
    ("awaiting_final_approval", "reject", "fiona", "Too risky.", {}, False, "rejected"),
    ("approved", "record_outcome", "olivia", "", {"outcome": "succeeded"}, False, "implemented"),
    ("approved", "withdraw", "olivia", "", {}, False, "withdrawn"),
    ("approved", "ratify", "fiona", "", {}, True, "approved"),
    ("implemented", "ratify", "fiona", "", {}, True, "implemented"),
    ("implemented", "close", "olivia", "", REVIEW_OK, False, "closed"),
]


def at_state(state: str, emergency: bool, team: dict[str, User], school: School) -> Change:
    if emergency:
        change = emergency_change(team, school, state)
        return update_change(change.pk, team["olivia"], plan_data())
    draft = create_change(school, team["olivia"], dict(REQUEST))
    if state == "planning":
        advance(draft, team, state)
        return update_change(draft.pk, team["olivia"], plan_data())
    return advance(draft, team, state)


# Rows taken only through an app above the core, and tested there: a standard change goes
# ahead (`raise_standard`) only when raised from its template (changedesk/standard/tests).
THROUGH_AN_APP = {("draft", "raise_standard")}


def test_it_covers_every_transition_in_the_table():
    covered = {(s, a) for s, a, *_ in PATH} | THROUGH_AN_APP
    assert covered == {(t.source, t.action) for t in TRANSITIONS}
    assert len(PATH) + len(THROUGH_AN_APP) == len(TRANSITIONS)


@pytest.mark.parametrize(
    ("source", "action", "who", "comment", "data", "emergency", "target"),
    PATH,
    ids=[f"{s}-{a}" for s, a, *_ in PATH],
)
def test_it_takes_each_transition_by_the_right_persona(
    team, school, source, action, who, comment, data, emergency, target
):
    change = at_state(source, emergency, team, school)
    version = change.version
    events = change.events.count()

    assert action in allowed_actions(change, team[who])
    result = perform(change.pk, action, team[who], comment=comment, data=data)

    assert result.state == target
    assert result.version == version + 1
    change.refresh_from_db()
    assert change.state == target
    assert change.events.count() == events + 1
    event = change.events.last()
    assert event is not None
    assert (event.kind, event.from_state, event.to_state) == (action, source, target)
    assert event.actor == team[who]
    assert event.on_behalf_of is None
    assert event.comment == comment


@pytest.mark.parametrize(
    ("source", "action", "who", "comment", "data", "emergency", "target"),
    PATH,
    ids=[f"{s}-{a}" for s, a, *_ in PATH],
)
def test_it_refuses_each_transition_to_everyone_else(
    team, school, oscar, source, action, who, comment, data, emergency, target
):
    change = at_state(source, emergency, team, school)
    for name, person in {**team, "oscar": oscar}.items():
        if name == who:
            continue
        assert action not in allowed_actions(change, person), name
        error = refused(change, NotPermitted, action, person, comment="Because.", data=data)
        assert error.status == 403


# --- Who may act. ---


def test_it_refuses_ivan_the_approval(draft, team):
    change = advance(draft, team, "awaiting_initial_approval")
    error = refused(change, NotPermitted, "approve", team["ivan"])
    assert "Ian Ingram" in error.message
    assert allowed_actions(change, team["ivan"]) == []


def test_it_never_lets_olivia_peer_review_her_own_change(draft, team, school):
    olivia = team["olivia"]
    set_membership(olivia, school, [Role.ORIGINATOR, Role.IMPLEMENTER, Role.PEER_REVIEWER])
    change = advance(draft, team, "planning")

    with pytest.raises(InvalidAction) as info:
        update_change(change.pk, olivia, {"peer_reviewer": olivia})
    assert "peer_reviewer" in info.value.fields

    change = advance(change, team, "awaiting_peer_review")
    # Even if the data names her (say, an import), the guard still refuses her.
    Change.objects.filter(pk=change.pk).update(peer_reviewer=olivia)
    change.refresh_from_db()
    assert "approve" not in allowed_actions(change, olivia)
    refused(change, NotPermitted, "approve", olivia)
    refused(change, NotPermitted, "return", olivia, comment="Hmm.")


def test_it_never_lets_olivia_peer_review_as_a_deputy(draft, team, school):
    delegate(school, team["peter"], team["olivia"])
    change = advance(draft, team, "awaiting_peer_review")
    assert "approve" not in allowed_actions(change, team["olivia"])
    refused(change, NotPermitted, "approve", team["olivia"])


def test_it_refuses_the_originator_as_final_approver_by_default(draft, team, school):
    olivia = team["olivia"]
    set_membership(olivia, school, [Role.ORIGINATOR, Role.IMPLEMENTER, Role.FINAL_APPROVER])
    change = advance(draft, team, "planning")
    with pytest.raises(InvalidAction) as info:
        update_change(change.pk, olivia, {"final_approver": olivia})
    assert "final_approver" in info.value.fields

    # Named before the school changed its mind: the guard refuses her at the decision.
    school.final_approver_may_be_originator = True
    school.save()
    update_change(change.pk, olivia, {**plan_data(), "final_approver": olivia})
    perform(change.pk, "submit_plan", olivia)
    perform(change.pk, "approve", team["peter"])
    school.final_approver_may_be_originator = False
    school.save()
    change.refresh_from_db()
    assert allowed_actions(change, olivia) == []
    refused(change, NotPermitted, "approve", olivia)
    # Said to her, not about her: not "Only Olivia Okafor, the final approver named…".
    with pytest.raises(NotPermitted) as said:
        perform(change.pk, "approve", olivia)
    assert said.value.message == (
        f"You raised {change.reference}, so you may not approve it as its final approver: "
        "Greenfield Primary asks for someone other than the originator."
    )


def test_it_lets_the_originator_give_final_approval_where_the_school_allows(draft, team, school):
    school.final_approver_may_be_originator = True
    school.save()
    olivia = team["olivia"]
    set_membership(olivia, school, [Role.ORIGINATOR, Role.IMPLEMENTER, Role.FINAL_APPROVER])
    change = advance(draft, team, "planning")
    update_change(change.pk, olivia, {**plan_data(), "final_approver": olivia})
    perform(change.pk, "submit_plan", olivia)
    perform(change.pk, "approve", team["peter"])

    change = perform(change.pk, "approve", olivia)
    assert change.state == State.APPROVED


def test_it_refuses_someone_from_another_school(draft, team, oscar, other_school):
    set_membership(
        oscar, other_school, [Role.ORIGINATOR, Role.INITIAL_APPROVER, Role.FINAL_APPROVER]
    )
    refused(draft, NotPermitted, "submit", oscar)
    change = advance(draft, team, "awaiting_initial_approval")
    refused(change, NotPermitted, "approve", oscar)
    assert allowed_actions(change, oscar) == []


def test_it_refuses_an_inactive_user(draft, team):
    change = advance(draft, team, "awaiting_initial_approval")
    ian = team["ian"]
    ian.is_active = False
    ian.save()
    assert allowed_actions(change, ian) == []
    refused(change, NotPermitted, "approve", ian)


def test_it_refuses_an_approver_not_named_on_the_change(draft, team, school):
    other = make_person("isla", school, [Role.INITIAL_APPROVER])
    change = advance(draft, team, "awaiting_initial_approval")
    refused(change, NotPermitted, "approve", other)


def test_it_refuses_a_named_approver_who_has_lost_the_role(draft, team, school):
    change = advance(draft, team, "awaiting_initial_approval")
    set_membership(team["ian"], school, [Role.IMPLEMENTER])
    refused(change, NotPermitted, "approve", team["ian"])


def test_it_lets_any_implementer_record_the_outcome_when_none_is_named(draft, team):
    change = advance(draft, team, "approved")
    Change.objects.filter(pk=change.pk).update(implementer=None)
    change = perform(change.pk, "record_outcome", team["ivan"], data={"outcome": "succeeded"})
    assert change.implementer == team["ivan"]
    event = change.events.last()
    assert event is not None
    assert {"field": "implementer", "before": None, "after": "ivan"} in event.diffs


# --- Reasons and the sections each step requires. ---


@pytest.mark.parametrize(
    ("state", "action", "who"),
    [
        ("awaiting_initial_approval", "return", "ian"),
        ("awaiting_initial_approval", "reject", "ian"),
        ("awaiting_peer_review", "return", "peter"),
        ("awaiting_final_approval", "return", "fiona"),
        ("awaiting_final_approval", "reject", "fiona"),
    ],
)
def test_it_needs_a_reason_to_return_or_reject(draft, team, state, action, who):
    change = advance(draft, team, state)
    for comment in ("", "   \n"):
        error = refused(change, InvalidAction, action, team[who], comment=comment)
        assert error.status == 400
        assert set(error.fields) == {"comment"}


def test_it_needs_the_request_before_submitting(team, school):
    change = create_change(school, team["olivia"], {"initial_approver": None})
    error = refused(change, InvalidAction, "submit", team["olivia"])
    assert set(error.fields) == {"title", "description", "reason", "initial_approver"}

    update_change(change.pk, team["olivia"], {**REQUEST, "initial_approver": team["ian"]})
    assert perform(change.pk, "submit", team["olivia"]).state == State.AWAITING_INITIAL_APPROVAL


def test_it_needs_a_justification_to_submit_an_emergency(team, school):
    change = create_change(school, team["olivia"], {**REQUEST, "is_emergency": True})
    error = refused(change, InvalidAction, "submit", team["olivia"])
    assert set(error.fields) == {"emergency_justification"}


def test_it_needs_the_plan_and_the_people_before_submitting_the_plan(team, school):
    change = create_change(
        school, team["olivia"], {**REQUEST, "peer_reviewer": None, "final_approver": None}
    )
    change = advance(change, team, "planning")
    error = refused(change, InvalidAction, "submit_plan", team["olivia"])
    assert set(error.fields) == {
        "details",
        "impact",
        "risk",
        "fallback_plan",
        "planned_start",
        "planned_end",
        "final_approver",
        "peer_reviewer",
    }

    update_change(change.pk, team["olivia"], plan_data())
    error = refused(change, InvalidAction, "submit_plan", team["olivia"])
    assert set(error.fields) == {"final_approver", "peer_reviewer"}

    update_change(change.pk, team["olivia"], {"final_approver": team["fiona"]})
    error = refused(change, InvalidAction, "submit_plan", team["olivia"])
    assert set(error.fields) == {"peer_reviewer"}

    update_change(change.pk, team["olivia"], {"peer_reviewer": team["peter"]})
    assert perform(change.pk, "submit_plan", team["olivia"]).state == State.AWAITING_PEER_REVIEW


def test_it_refuses_a_plan_that_ends_before_it_starts(draft, team):
    change = advance(draft, team, "planning")
    plan = plan_data()
    for end in (plan["planned_start"], plan["planned_start"] - timedelta(minutes=1)):
        with pytest.raises(InvalidAction) as info:
            update_change(change.pk, team["olivia"], {**plan, "planned_end": end})
        assert set(info.value.fields) == {"planned_end"}
    change.refresh_from_db()
    assert change.planned_end is None


@pytest.mark.parametrize("data", [{}, {"outcome": ""}, {"outcome": "done"}, {"outcome": None}])
def test_it_needs_a_valid_outcome(draft, team, data):
    change = advance(draft, team, "approved")
    error = refused(change, InvalidAction, "record_outcome", team["olivia"], data=data)
    assert set(error.fields) == {"outcome"}


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({}, {"records_updated", "caused_incidents", "users_informed"}),
        ({**REVIEW_OK, "records_updated": False}, {"records_updated"}),
        ({**REVIEW_OK, "records_updated": "yes"}, {"records_updated"}),
        ({**REVIEW_OK, "caused_incidents": None}, {"caused_incidents"}),
        ({**REVIEW_OK, "users_informed": "true"}, {"users_informed"}),
        (
            {"records_updated": True, "caused_incidents": 0, "users_informed": 1},
            {"caused_incidents", "users_informed"},
        ),
    ],
)
def test_it_needs_the_review_answered_to_close(draft, team, data, fields):
    change = advance(draft, team, "implemented")
    error = refused(change, InvalidAction, "close", team["olivia"], data=data)
    assert set(error.fields) == fields


def test_it_records_the_review_answers_when_closing(draft, team):
    change = advance(draft, team, "implemented")
    data = {"records_updated": True, "caused_incidents": True, "users_informed": False}
    change = perform(change.pk, "close", team["olivia"], data=data)
    change.refresh_from_db()
    assert (change.records_updated, change.caused_incidents, change.users_informed) == (
        True,
        True,
        False,
    )
    event = change.events.last()
    assert event is not None
    assert event.data == data


# --- Unknown, stale and concurrent actions. ---


def test_it_names_an_unknown_action(draft, team):
    error = refused(draft, UnknownAction, "sign", team["olivia"])
    assert error.status == 400
    assert set(error.fields) == {"action"}


@pytest.mark.parametrize(
    ("state", "action", "who"),
    [
        ("draft", "approve", "ian"),
        ("draft", "close", "olivia"),
        ("planning", "submit", "olivia"),
        ("awaiting_peer_review", "withdraw", "olivia"),
        ("closed", "withdraw", "olivia"),
        ("approved", "ratify", "fiona"),
    ],
)
def test_it_answers_stale_for_an_action_not_possible_now(draft, team, state, action, who):
    change = advance(draft, team, state)
    error = refused(change, StaleChange, action, team[who], comment="Because.")
    assert error.status == 409


def test_it_refuses_a_stale_version_and_writes_nothing(draft, team):
    change = advance(draft, team, "awaiting_initial_approval")
    old = change.version - 1
    error = refused(change, StaleChange, "approve", team["ian"], expected_version=old)
    assert error.status == 409
    assert "Reload" in error.message

    change = perform(change.pk, "approve", team["ian"], expected_version=change.version)
    assert change.state == State.PLANNING


# --- Where the path forks. ---


def test_it_skips_peer_review_where_the_school_has_it_off(team, school):
    school.peer_review_enabled = False
    school.save()
    change = create_change(school, team["olivia"], {**REQUEST, "peer_reviewer": None})
    change = advance(change, team, "planning")
    update_change(change.pk, team["olivia"], plan_data())

    change = perform(change.pk, "submit_plan", team["olivia"])
    assert change.state == State.AWAITING_FINAL_APPROVAL
    event = change.events.last()
    assert event is not None
    assert (event.from_state, event.to_state) == ("planning", "awaiting_final_approval")
    assert allowed_actions(change, team["peter"]) == []
    assert perform(change.pk, "approve", team["fiona"]).state == State.APPROVED


def test_it_takes_an_emergency_straight_to_approved_and_ratifies_it_later(team, school):
    fiona, olivia = team["fiona"], team["olivia"]
    change = emergency_change(team, school)
    event = change.events.last()
    assert event is not None
    assert (event.kind, event.from_state, event.to_state) == (
        "approve",
        "awaiting_initial_approval",
        "approved",
    )
    assert "ratify" in allowed_actions(change, fiona)

    # The plan must be completed before the final approver can ratify it.
    error = refused(change, InvalidAction, "ratify", fiona)
    assert {"details", "planned_start", "planned_end"} <= set(error.fields)

    perform(change.pk, "record_outcome", olivia, data={"outcome": "partially_succeeded"})
    error = refused(change, InvalidAction, "close", olivia, data=REVIEW_OK)
    assert set(error.fields) == {"ratified"}

    update_change(change.pk, olivia, plan_data())
    for name in ("ian", "peter", "olivia", "ivan"):
        assert "ratify" not in allowed_actions(change, team[name])
        refused(change, NotPermitted, "ratify", team[name])

    change = perform(change.pk, "ratify", fiona)
    assert change.ratified
    assert change.state == State.IMPLEMENTED
    assert "ratify" not in allowed_actions(change, fiona)
    refused(change, StaleChange, "ratify", fiona)

    assert perform(change.pk, "close", olivia, data=REVIEW_OK).state == State.CLOSED


def test_it_lets_the_plan_of_an_unratified_emergency_be_completed(team, school):
    change = emergency_change(team, school)
    change = update_change(change.pk, team["olivia"], plan_data())
    assert change.details
    perform(change.pk, "ratify", team["fiona"])
    with pytest.raises(InvalidAction) as info:
        update_change(change.pk, team["olivia"], {"details": "Something else."})
    assert set(info.value.fields) == {"details"}


# --- Delegation. ---


@pytest.fixture
def dora(school) -> User:
    """A deputy head with no FITS role of her own."""
    return make_person("dora", school, [])


@pytest.mark.parametrize("role", ["", Role.FINAL_APPROVER])
def test_it_lets_a_deputy_approve_on_behalf_of_the_approver(draft, team, school, dora, role):
    delegate(school, team["fiona"], dora, role)
    change = advance(draft, team, "awaiting_final_approval")
    assert "approve" in allowed_actions(change, dora)

    change = perform(change.pk, "approve", dora)
    assert change.state == State.APPROVED
    event = change.events.last()
    assert event is not None
    assert event.actor == dora
    assert event.on_behalf_of == team["fiona"]


@pytest.mark.parametrize(
    "kind", ["expired", "not_started", "revoked", "other_role", "other_school", "other_approver"]
)
def test_it_refuses_a_deputy_without_a_valid_delegation(
    draft, team, school, other_school, dora, kind
):
    now = timezone.now()
    fiona = team["fiona"]
    if kind == "expired":
        delegate(school, fiona, dora, starts_at=now - timedelta(days=7), ends_at=now)
    elif kind == "not_started":
        delegate(school, fiona, dora, starts_at=now + timedelta(hours=1))
    elif kind == "revoked":
        delegate(school, fiona, dora, revoked_at=now - timedelta(minutes=1))
    elif kind == "other_role":
        delegate(school, fiona, dora, Role.PEER_REVIEWER)
    elif kind == "other_school":
        delegate(other_school, fiona, dora)
    else:
        delegate(school, team["peter"], dora)
    change = advance(draft, team, "awaiting_final_approval")
    assert "approve" not in allowed_actions(change, dora)
    refused(change, NotPermitted, "approve", dora)


def test_it_lets_a_deputy_return_with_a_reason(draft, team, school, dora):
    delegate(school, team["ian"], dora, Role.INITIAL_APPROVER)
    change = advance(draft, team, "awaiting_initial_approval")
    refused(change, InvalidAction, "return", dora)
    change = perform(change.pk, "return", dora, comment="Say which switch.")
    event = change.events.last()
    assert event is not None
    assert (event.actor, event.on_behalf_of, event.to_state) == (dora, team["ian"], "draft")


def test_a_deputy_who_became_a_viewer_decides_nothing(draft, team, school):
    """Issue 8: a viewer named deputy for the final approver could approve."""
    delegate(school, team["fiona"], team["ian"])
    change = advance(draft, team, "awaiting_final_approval")
    set_membership(team["ian"], school, [Role.VIEWER])

    assert "approve" not in allowed_actions(change, team["ian"])
    refused(change, NotPermitted, "approve", team["ian"])


def test_someone_named_who_lost_the_role_is_told_so(draft, team, school):
    change = advance(draft, team, "awaiting_final_approval")
    set_membership(team["fiona"], school, [Role.VIEWER])

    with pytest.raises(NotPermitted) as said:
        perform(change.pk, "approve", team["fiona"])

    assert said.value.message == (
        f"You are named as final approver on {change.reference} but no longer hold that role "
        "at Greenfield Primary: ask a school administrator."
    )
