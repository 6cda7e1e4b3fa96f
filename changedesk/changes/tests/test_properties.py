"""Whatever anyone tries, in whatever order, the workflow's invariants hold.

Hypothesis drives random sequences of actions and edits by random people (the right
ones, the wrong ones, the originator trying to review her own plan, deputies, an outsider),
with and without reasons and payloads, on emergency and normal changes, with peer review
on and off; after every step the RFC and its history are checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import event as note
from hypothesis import strategies as st

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Delegation, School, User
from changedesk.accounts.services import create_user, set_membership
from changedesk.changes.choices import TERMINAL_STATES, Action, State
from changedesk.changes.history import verify_chain
from changedesk.changes.models import Change, ChangeEvent
from changedesk.changes.services import create_change, update_change
from changedesk.changes.workflow import allowed_actions, perform
from changedesk.conftest import PASSWORD, REQUEST, plan_data
from changedesk.lib.errors import InvalidAction, WorkflowError
from changedesk.notifications.models import OutboxMessage

PERSONAS = ("olivia", "ian", "peter", "fiona", "ivan", "dora", "oscar")
# Besides the workflow actions: the originator's edits, and a direct write that names
# her as peer reviewer behind the services' back (as a careless import might).
EDITS = ("edit_plan", "edit_title", "name_olivia_peer", "force_olivia_peer")
STEPS = (*Action.values, *EDITS)
PEOPLE = ("originator", "initial_approver", "peer_reviewer", "final_approver", "implementer")


@dataclass
class World:
    school: School
    people: dict[str, User]
    change: Change
    emergency: bool
    peer_review: bool
    plan: dict[str, Any]
    moves: int = 1  # the creation moved it into `draft`
    log: list[str] = field(default_factory=list)


@pytest.fixture
def cast(team, oscar, other_school, school) -> dict[str, User]:
    """The conftest personas, plus Dora, the deputy head who deputises for Fiona."""
    dora = create_user(
        "dora",
        email="dora@greenfield.example",
        password=PASSWORD,
        first_name="Dora",
        check_password=False,
    )
    set_membership(dora, school, [])
    set_membership(oscar, other_school, [Role.ORIGINATOR, Role.INITIAL_APPROVER])
    delegate(school, team["fiona"], dora)
    return {**team, "oscar": oscar, "dora": dora}


def delegate(school: School, approver: User, deputy: User) -> None:
    now = timezone.now()
    Delegation.objects.create(
        school=school,
        approver=approver,
        deputy=deputy,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=7),
    )


def build(cast: dict[str, User], peer_review: bool, emergency: bool, olivia_reviews: bool) -> World:
    """Set the school and the people up for one example (inside its savepoint)."""
    school = School.objects.get(slug="greenfield")
    school.peer_review_enabled = peer_review
    school.save()
    if olivia_reviews:
        olivia = cast["olivia"]
        set_membership(olivia, school, [Role.ORIGINATOR, Role.IMPLEMENTER, Role.PEER_REVIEWER])
        # She deputises for the peer reviewer too, which must still never let her review her own.
        delegate(school, cast["peter"], olivia)
    data: dict[str, Any] = dict(REQUEST)
    if emergency:
        data.update(is_emergency=True, emergency_justification="No network in school.")
    change = create_change(school, cast["olivia"], data)
    # Fresh user objects each example: roles (and delegations) are read once, as in a request.
    users = User.objects.filter(username__in=PERSONAS).prefetch_related("memberships__roles")
    people = {u.username: u for u in users}
    return World(school, people, change, emergency, peer_review, plan_data())


def payload(action: str, good: bool) -> dict[str, Any]:
    if action == Action.RECORD_OUTCOME:
        return {"outcome": "succeeded" if good else "it went fine"}
    if action == Action.CLOSE:
        return {"records_updated": good, "caused_incidents": False, "users_informed": True}
    return {}


def reload(world: World) -> Change:
    world.change = Change.objects.select_related("school", *PEOPLE).get(pk=world.change.pk)
    return world.change


def snapshot(world: World) -> tuple[str, int, int, int]:
    change = reload(world)
    return change.state, change.version, change.events.count(), OutboxMessage.objects.count()


def attempt(world: World, who: str, step: str, comment: str, good: bool) -> None:
    """Take one step; raise the `WorkflowError` it was refused with."""
    olivia, change = world.people["olivia"], world.change
    if step == "edit_plan":
        plan = dict(world.plan)
        if not good:
            plan["planned_end"] = plan["planned_start"]
        people = {"peer_reviewer": world.people["peter"], "final_approver": world.people["fiona"]}
        update_change(change.pk, world.people[who], {**plan, **people})
    elif step == "edit_title":
        update_change(change.pk, world.people[who], {"title": f"{REQUEST['title']} ({comment})"})
    elif step == "name_olivia_peer":
        update_change(change.pk, world.people[who], {"peer_reviewer": olivia})
    elif step == "force_olivia_peer":
        Change.objects.filter(pk=change.pk).update(peer_reviewer=olivia)
    else:
        perform(change.pk, step, world.people[who], comment=comment, data=payload(step, good))


def approvals_in_force(events: list[ChangeEvent]) -> set[str]:
    """Which approvals still stand at the end of `events`: a return withdraws them."""
    standing: set[str] = set()
    for event in events:
        if event.kind == Action.APPROVE:
            standing.add(event.from_state)
        elif event.kind == Action.RETURN and event.to_state == State.DRAFT:
            standing.clear()
        elif event.kind == Action.RETURN:
            standing -= {State.AWAITING_PEER_REVIEW, State.AWAITING_FINAL_APPROVAL}
    return standing


def check(world: World, who: str, step: str, before: tuple[str, int, int, int], allowed: bool,
          error: WorkflowError | None) -> tuple[str, int, int, int]:  # fmt: skip
    """Check the step just taken and the invariants; return the snapshot for the next step."""
    after = snapshot(world)
    change = world.change
    state, version, count, _ = after
    events = list(change.events.order_by("sequence").select_related("actor", "on_behalf_of"))
    originator = change.originator_id

    if error is not None:
        # A refused action writes nothing: no state, no version, no event, no mail.
        assert after == before, world.log
    if step in Action.values:
        # The buttons and the door agree: who may not act is refused before anything else.
        assert allowed == (error is None or isinstance(error, InvalidAction)), world.log
        if error is None:
            assert before[0] not in TERMINAL_STATES, world.log
            assert (version, count) == (before[1] + 1, before[2] + 1), world.log
            last = events[-1]
            assert (last.kind, last.actor, last.from_state, last.to_state) == (
                step,
                world.people[who],
                before[0],
                state,
            ), world.log
            if last.is_state_change:
                world.moves += 1
    elif error is None:
        assert state == before[0], world.log
        assert version - before[1] == count - before[2] in (0, 1), world.log

    if before[0] in TERMINAL_STATES:
        assert state == before[0], world.log
    # Every state change has its event, and only one.
    assert version == count == len(events), world.log
    moves = [e for e in events if e.is_state_change]
    assert len(moves) == world.moves, world.log
    assert moves[-1].to_state == state, world.log
    assert all(b.from_state == a.to_state for a, b in pairwise(moves))
    # Separation of duties, whoever acted and for whomever.
    for event in events:
        if event.kind == Action.APPROVE and event.from_state == State.AWAITING_PEER_REVIEW:
            assert originator not in (event.actor_id, event.on_behalf_of_id), world.log
        if event.kind in (Action.APPROVE, Action.RATIFY) and event.from_state in (
            State.AWAITING_FINAL_APPROVAL,
            State.APPROVED,
            State.IMPLEMENTED,
        ):
            assert originator not in (event.actor_id, event.on_behalf_of_id), world.log
    # Nothing is approved without the approvals its path needs.
    entered = [i for i, e in enumerate(events) if e.is_state_change and e.to_state == "approved"]
    assert len(entered) <= 1, world.log
    if entered:
        i = entered[0]
        standing = approvals_in_force(events[: i + 1])
        if world.emergency:
            assert events[i].from_state == State.AWAITING_INITIAL_APPROVAL, world.log
            assert State.AWAITING_INITIAL_APPROVAL in standing, world.log
        else:
            needed = {State.AWAITING_INITIAL_APPROVAL, State.AWAITING_FINAL_APPROVAL}
            if world.peer_review:
                needed.add(State.AWAITING_PEER_REVIEW)
            assert needed <= standing, world.log
    if state == State.CLOSED and world.emergency:
        assert any(e.kind == Action.RATIFY for e in events), world.log
    # Every refusal and every return says why; every approval records what it covered.
    for event in events:
        if event.kind in (Action.RETURN, Action.REJECT):
            assert event.comment.strip(), world.log
        if event.kind in (Action.APPROVE, Action.RATIFY):
            assert len(event.digest) == 64, world.log
    return after


FORWARD = {Action.SUBMIT, Action.APPROVE, Action.SUBMIT_PLAN, Action.RECORD_OUTCOME,
           Action.RATIFY, Action.CLOSE}  # fmt: skip


def choose(world: World, data: st.DataObject) -> tuple[str, str]:
    """Mostly a step someone may take now, often one along the path, sometimes anything."""
    mode = data.draw(st.sampled_from(["forward", "forward", "any", "random"]), label="mode")
    if mode == "random":
        who = data.draw(st.sampled_from(PERSONAS), label="who")
        return who, data.draw(st.sampled_from(STEPS), label="step")
    change = world.change
    candidates = [
        (p, a)
        for p, user in world.people.items()
        for a in allowed_actions(change, user)
        if mode == "any" or a in FORWARD
    ]
    if mode == "any":
        candidates += [("olivia", edit) for edit in EDITS]
    if not change.details or not candidates:
        candidates.append(("olivia", "edit_plan"))
    return data.draw(st.sampled_from(candidates), label="who, step")


def check_the_end(world: World, before: tuple[str, int, int, int]) -> None:
    """A terminal state is the end: nobody may do anything more, and trying writes nothing."""
    for name, user in world.people.items():
        assert allowed_actions(world.change, user) == [], (name, world.log)
    # Even the originator, who takes most of the steps, finds no way out.
    for step in Action.values:
        try:
            perform(
                world.change.pk,
                step,
                world.people["olivia"],
                comment="Why.",
                data=payload(step, True),
            )
        except WorkflowError as exc:
            assert exc.status == 409, (step, exc, world.log)
        else:
            raise AssertionError(f"olivia could {step} a {before[0]} change")
    assert snapshot(world) == before, world.log


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    peer_review=st.booleans(),
    emergency=st.booleans(),
    olivia_reviews=st.booleans(),
    data=st.data(),
)
def test_it_keeps_its_invariants_whatever_anyone_does(
    cast, peer_review, emergency, olivia_reviews, data
):
    # Each example runs in a savepoint rolled back at its end, so examples never meet.
    with transaction.atomic():
        world = build(cast, peer_review, emergency, olivia_reviews)
        before = snapshot(world)
        for _ in range(data.draw(st.integers(min_value=3, max_value=24), label="steps")):
            if before[0] in TERMINAL_STATES:
                break
            who, step = choose(world, data)
            comment = data.draw(st.sampled_from(["", "Because."]), label="comment")
            good = data.draw(st.sampled_from([True, True, False]), label="good payload")

            allowed = step in allowed_actions(world.change, world.people[who])
            error: WorkflowError | None = None
            try:
                attempt(world, who, step, comment, good)
            except WorkflowError as exc:
                error = exc
            world.log.append(f"{who} {step} {comment!r} {good} -> {error!r}")
            before = check(world, who, step, before, allowed, error)
        if before[0] in TERMINAL_STATES:
            check_the_end(world, before)
        assert verify_chain(world.change, list(world.change.events.all())) is None
        note(f"ended {world.change.state}")
        transaction.set_rollback(True)


def test_it_has_a_step_for_every_action():
    assert set(Action.values) <= set(STEPS)
