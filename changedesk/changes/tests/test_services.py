"""Creating and editing an RFC: numbering, the people named on it, and read-only approvals."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from changedesk.accounts.choices import Role
from changedesk.accounts.services import create_school, create_user, set_membership
from changedesk.changes.models import PLAN_FIELDS, REQUEST_FIELDS, Change
from changedesk.changes.services import (
    can_edit,
    create_change,
    default_people,
    update_change,
    validate_people,
)
from changedesk.changes.workflow import perform
from changedesk.conftest import PASSWORD, REQUEST, advance, plan_data
from changedesk.lib.errors import InvalidAction, NotPermitted, StaleChange

ALL_CONTENT = REQUEST_FIELDS + PLAN_FIELDS


def test_it_numbers_changes_per_school(team, school, oscar, other_school):
    first = create_change(school, team["olivia"], dict(REQUEST))
    second = create_change(school, team["olivia"], dict(REQUEST))
    elsewhere = create_change(other_school, oscar, dict(REQUEST))

    assert [first.reference, second.reference] == ["RFC-0001", "RFC-0002"]
    assert elsewhere.reference == "RFC-0001"
    assert first.state == "draft"
    assert first.version == 1


def test_it_numbers_on_from_the_highest_even_after_a_gap(team, school):
    for _ in range(3):
        create_change(school, team["olivia"], dict(REQUEST))
    assert create_change(school, team["olivia"], dict(REQUEST)).reference == "RFC-0004"
    assert Change.objects.filter(school=school).count() == 4


def test_it_records_the_creation(team, school):
    change = create_change(school, team["olivia"], dict(REQUEST))
    event = change.events.get()
    assert (event.kind, event.actor, event.from_state, event.to_state) == (
        "create",
        team["olivia"],
        "",
        "draft",
    )
    fields = {d["field"]: d["after"] for d in event.diffs}
    assert fields["title"] == REQUEST["title"]
    assert fields["initial_approver"] == "ian"


def test_it_names_the_sole_holder_of_each_role_by_default(team, school):
    change = create_change(school, team["olivia"], dict(REQUEST))
    assert change.originator == team["olivia"]
    assert change.initial_approver == team["ian"]
    assert change.peer_reviewer == team["peter"]
    assert change.final_approver == team["fiona"]
    # Olivia is an implementer too: she carries out her own change unless told otherwise.
    assert change.implementer == team["olivia"]


def test_it_leaves_a_role_open_when_several_hold_it(team, school):
    other = create_user("fred", email="fred@greenfield.example", password=PASSWORD)
    set_membership(other, school, [Role.FINAL_APPROVER])
    people = default_people(school, team["olivia"])
    assert people["final_approver"] is None
    assert people["initial_approver"] == team["ian"]


def test_it_never_defaults_the_originator_into_a_separated_role(team, school):
    olivia = team["olivia"]
    set_membership(olivia, school, [Role.ORIGINATOR, Role.PEER_REVIEWER, Role.FINAL_APPROVER])
    people = default_people(school, olivia)
    assert people["peer_reviewer"] == team["peter"]
    assert people["final_approver"] == team["fiona"]
    # No implementer role any more: Ivan is the only one.
    assert people["implementer"] == team["ivan"]


def test_it_names_the_people_it_was_given(team, school):
    change = create_change(school, team["olivia"], {**REQUEST, "implementer": team["ivan"]})
    assert change.implementer == team["ivan"]


def test_it_explains_who_may_not_be_named(team, school, oscar):
    olivia = team["olivia"]
    set_membership(olivia, school, [Role.ORIGINATOR, Role.PEER_REVIEWER, Role.FINAL_APPROVER])
    plan = plan_data()
    errors = validate_people(
        school,
        olivia,
        {
            "initial_approver": team["ivan"],
            "peer_reviewer": olivia,
            "final_approver": olivia,
            "implementer": oscar,
            "planned_start": plan["planned_start"],
            "planned_end": plan["planned_start"],
        },
    )
    assert set(errors) == {
        "initial_approver",
        "peer_reviewer",
        "final_approver",
        "implementer",
        "planned_end",
    }
    assert "Ivan Ivanov" in errors["initial_approver"]
    assert "Oscar Owen" in errors["implementer"]
    assert "other than the originator" in errors["peer_reviewer"]
    assert "other than the originator" in errors["final_approver"]


def test_it_allows_the_originator_as_final_approver_where_the_school_does(team, school):
    school.final_approver_may_be_originator = True
    school.save()
    olivia = team["olivia"]
    set_membership(olivia, school, [Role.ORIGINATOR, Role.FINAL_APPROVER])
    assert validate_people(school, olivia, {"final_approver": olivia}) == {}
    change = create_change(school, olivia, {**REQUEST, "final_approver": olivia})
    assert change.final_approver == olivia


def test_it_refuses_to_create_with_people_who_may_not_be_named(team, school):
    with pytest.raises(InvalidAction) as info:
        create_change(school, team["olivia"], {**REQUEST, "initial_approver": team["peter"]})
    assert set(info.value.fields) == {"initial_approver"}
    assert not Change.objects.exists()


def test_it_refuses_unknown_fields(team, school, draft):
    with pytest.raises(InvalidAction) as info:
        create_change(school, team["olivia"], {**REQUEST, "state": "approved"})
    assert set(info.value.fields) == {"state"}
    with pytest.raises(InvalidAction) as info:
        update_change(draft.pk, team["olivia"], {"version": 9, "outcome": "succeeded"})
    assert set(info.value.fields) == {"version", "outcome"}


def test_it_lets_only_an_originator_raise_a_change(team, school, oscar):
    for name in ("ian", "ivan", "sam"):
        with pytest.raises(NotPermitted):
            create_change(school, team[name], dict(REQUEST))
    with pytest.raises(NotPermitted):
        create_change(school, oscar, dict(REQUEST))
    assert not Change.objects.exists()


# --- Editing. ---


def test_it_records_one_edit_event_with_the_field_diffs(draft, team):
    change = update_change(
        draft.pk,
        team["olivia"],
        {"title": "Replace the switch", "reason": REQUEST["reason"], "implementer": team["ivan"]},
        comment="  Ivan has the spare.  ",
    )
    assert change.version == draft.version + 1
    assert change.events.count() == 2
    event = change.events.last()
    assert event is not None
    assert (event.kind, event.actor, event.from_state, event.to_state) == (
        "edit",
        team["olivia"],
        "draft",
        "draft",
    )
    assert event.comment == "Ivan has the spare."
    assert event.diffs == [
        {"field": "title", "before": REQUEST["title"], "after": "Replace the switch"},
        {"field": "implementer", "before": "olivia", "after": "ivan"},
    ]
    change.refresh_from_db()
    assert change.title == "Replace the switch"
    assert change.implementer == team["ivan"]


def test_it_records_nothing_when_nothing_changed(draft, team):
    change = update_change(draft.pk, team["olivia"], {"title": REQUEST["title"]})
    assert change.version == draft.version
    assert change.events.count() == 1


def test_it_records_nothing_when_a_time_is_given_in_another_zone(draft, team):
    change = advance(draft, team, "planning")
    plan = plan_data()
    change = update_change(change.pk, team["olivia"], plan)
    version = change.version
    kolkata = ZoneInfo("Asia/Kolkata")
    same = {n: plan[n].astimezone(kolkata) for n in ("planned_start", "planned_end")}
    change = update_change(change.pk, team["olivia"], same)
    assert change.version == version

    change = advance(change, team, "approved")
    # The same instant is not an edit of the approved plan.
    update_change(change.pk, team["olivia"], same)


def test_it_refuses_a_stale_edit(draft, team):
    with pytest.raises(StaleChange):
        update_change(draft.pk, team["olivia"], {"title": "New"}, expected_version=0)
    draft.refresh_from_db()
    assert draft.title == REQUEST["title"]
    assert draft.events.count() == 1


def test_it_lets_only_the_originator_edit(draft, team, school, oscar):
    other = create_user("owen", email="owen@greenfield.example", password=PASSWORD)
    set_membership(other, school, [Role.ORIGINATOR])
    for person in (team["ian"], team["fiona"], team["sam"], oscar, other):
        with pytest.raises(NotPermitted):
            update_change(draft.pk, person, {"title": "Mine now"})
        assert not can_edit(draft, person)
    assert can_edit(draft, team["olivia"])
    draft.refresh_from_db()
    assert draft.title == REQUEST["title"]
    assert draft.events.count() == 1


def test_it_stops_an_originator_who_lost_the_role_from_editing(draft, team, school):
    set_membership(team["olivia"], school, [Role.IMPLEMENTER])
    with pytest.raises(NotPermitted):
        update_change(draft.pk, team["olivia"], {"title": "Mine now"})


def test_it_makes_the_request_read_only_once_approved(draft, team):
    change = advance(draft, team, "planning")
    with pytest.raises(InvalidAction) as info:
        update_change(
            change.pk,
            team["olivia"],
            {"title": "Another", "reason": "Another", "description": REQUEST["description"]},
        )
    assert set(info.value.fields) == {"title", "reason"}
    assert "approved" in info.value.message
    change.refresh_from_db()
    assert change.title == REQUEST["title"]


def test_it_lets_the_plan_be_edited_while_planning(draft, team):
    change = advance(draft, team, "planning")
    change = update_change(change.pk, team["olivia"], plan_data())
    change = update_change(
        change.pk,
        team["olivia"],
        {"details": "New steps.", "implementer": team["ivan"], "peer_reviewer": team["peter"]},
    )
    assert change.details == "New steps."
    assert change.implementer == team["ivan"]


def test_it_locks_everything_while_waiting_for_a_decision(draft, team):
    change = advance(draft, team, "awaiting_peer_review")
    with pytest.raises(InvalidAction) as info:
        update_change(change.pk, team["olivia"], {"details": "Sneaky."})
    assert set(info.value.fields) == {"details"}
    assert "waiting" in info.value.message

    # Returned for amendment, the plan is the originator's again.
    perform(change.pk, "return", team["peter"], comment="Add a test step.")
    change = update_change(change.pk, team["olivia"], {"details": "With a test step."})
    assert change.details == "With a test step."


def test_it_makes_the_plan_read_only_once_finally_approved(draft, team):
    change = advance(draft, team, "approved")
    with pytest.raises(InvalidAction) as info:
        update_change(change.pk, team["olivia"], {"details": "Changed.", "risk": "Changed."})
    assert set(info.value.fields) == {"details", "risk"}
    # Who carries it out may still change.
    change = update_change(change.pk, team["olivia"], {"implementer": team["ivan"]})
    assert change.implementer == team["ivan"]


@pytest.mark.parametrize("state", ["implemented", "closed"])
def test_it_locks_everything_later(draft, team, state):
    change = advance(draft, team, state)
    with pytest.raises(InvalidAction) as info:
        update_change(change.pk, team["olivia"], {"implementer": team["ivan"]})
    assert set(info.value.fields) == {"implementer"}


def test_it_records_the_digest_of_what_each_approver_read(draft, team):
    change = advance(draft, team, "awaiting_initial_approval")
    request_digest = change.digest(REQUEST_FIELDS)
    perform(change.pk, "approve", team["ian"])
    initial = change.events.get(kind="approve", from_state="awaiting_initial_approval")
    assert initial.digest == request_digest

    change = advance(change, team, "awaiting_peer_review")
    content_digest = change.digest(ALL_CONTENT)
    assert content_digest != request_digest
    change = advance(change, team, "approved")
    peer = change.events.get(kind="approve", from_state="awaiting_peer_review")
    final = change.events.get(kind="approve", from_state="awaiting_final_approval")
    assert peer.digest == final.digest == content_digest
    assert change.digest(ALL_CONTENT) == content_digest

    submit = change.events.get(kind="submit")
    assert submit.digest == ""


def test_it_records_a_new_digest_after_the_plan_is_amended(draft, team):
    change = advance(draft, team, "awaiting_final_approval")
    perform(change.pk, "return", team["fiona"], comment="Not during exams.")
    start = plan_data()["planned_start"] + timedelta(days=14)
    update_change(
        change.pk,
        team["olivia"],
        {"planned_start": start, "planned_end": start + timedelta(hours=1)},
    )
    change.refresh_from_db()
    amended = change.digest(ALL_CONTENT)
    perform(change.pk, "submit_plan", team["olivia"])
    change = advance(change, team, "approved")
    final = change.events.filter(kind="approve").last()
    assert final is not None
    assert final.digest == amended
    first_peer = change.events.filter(kind="approve", from_state="awaiting_peer_review").first()
    assert first_peer is not None
    assert first_peer.digest != amended


def test_it_numbers_schools_independently_even_with_the_same_people(team, school):
    second = create_school("Greenfield Juniors", "greenfield-juniors")
    set_membership(team["olivia"], second, [Role.ORIGINATOR])
    set_membership(team["ian"], second, [Role.INITIAL_APPROVER])
    create_change(school, team["olivia"], dict(REQUEST))
    change = create_change(second, team["olivia"], dict(REQUEST))
    assert change.reference == "RFC-0001"
    assert change.initial_approver == team["ian"]
    assert change.final_approver is None
