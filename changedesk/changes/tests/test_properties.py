"""Whatever anyone tries, in whatever order, the workflow's invariants hold.

Hypothesis drives random sequences of actions and edits by random people (the right
ones, the wrong ones, the originator trying to review her own plan, deputies, an outsider),
with and without reasons and payloads, on emergency and normal changes, with peer review
on and off; after every step the RFC and its history are checked.

Besides the workflow's own actions it tries decisions recorded in a committee meeting (by
its chair, its secretary or anyone else, with the approvers present or not), plans whose
window falls in a hard freeze, a soft freeze or an exam period (approved with and without
an override reason), and naming the configuration items the RFC touches (retired items,
another school's, with a stale version).
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
from changedesk.changes.items import set_change_items
from changedesk.changes.models import Change, ChangeEvent
from changedesk.changes.services import create_change, update_change
from changedesk.changes.workflow import allowed_actions, perform
from changedesk.committee import services as committee
from changedesk.configuration.models import ConfigurationItem
from changedesk.configuration.services import create_item, update_item
from changedesk.conftest import PASSWORD, REQUEST, plan_data
from changedesk.lib.errors import InvalidAction, StaleChange, WorkflowError
from changedesk.notifications.models import OutboxMessage
from changedesk.schedule.models import CalendarPeriod, PeriodKind

PERSONAS = ("olivia", "ian", "peter", "fiona", "ivan", "dora", "oscar", "sam")
# Besides the workflow actions: the originator's edits (a plan in each kind of window),
# and a direct write that names her as peer reviewer behind the services' back (as a
# careless import might).
WINDOWS = ("clear", "hard", "soft", "exam")
EDITS = (
    *(f"edit_plan:{w}" for w in WINDOWS),
    "edit_title",
    "name_olivia_peer",
    "force_olivia_peer",
)
# Naming the items the RFC touches: which ones (see `ITEM_CHOICES`); `stale` names them
# giving the version before the one saved.
ITEM_EDITS = ("items:switch", "items:both", "items:none", "items:retired", "items:elsewhere",
              "items:stale")  # fmt: skip
# Decisions recorded in the committee meeting, for the approver named on the RFC.
COMMITTEE = ("committee:approve", "committee:return", "committee:reject")
STEPS = (*Action.values, *EDITS, *ITEM_EDITS, *COMMITTEE)
PEOPLE = ("originator", "initial_approver", "peer_reviewer", "final_approver", "implementer")
ITEM_CHOICES = {
    "switch": ("switch",),
    "both": ("switch", "mis"),
    "none": (),
    "retired": ("switch", "retired"),
    "elsewhere": ("elsewhere",),
    "stale": ("switch", "mis"),
}
# Who the committee decides for, by the state the RFC waits in.
DECIDES_FOR = {
    State.AWAITING_INITIAL_APPROVAL: "initial_approver",
    State.AWAITING_PEER_REVIEW: "peer_reviewer",
    State.AWAITING_FINAL_APPROVAL: "final_approver",
}
# The days ahead each kind of window is planned on; the calendar (`cast`) puts a hard
# freeze, a soft freeze and an exam period around the last three. All in the evening,
# outside the teaching day, and the RFC is the only one: no other conflicts.
WINDOW_DAYS = {"clear": 7, "hard": 30, "soft": 40, "exam": 50}
CONFLICTED = ("hard", "soft", "exam")


@dataclass
class World:
    school: School
    people: dict[str, User]
    change: Change
    emergency: bool
    peer_review: bool
    plan: dict[str, Any]
    items: dict[str, ConfigurationItem]
    meeting: int
    present: frozenset[str]
    moves: int = 1  # the creation moved it into `draft`
    named: frozenset[int] = frozenset()  # the items the RFC should name now
    log: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Prior:
    """What the RFC was just before a step: what the checks of that step need."""

    state: str
    ratified: bool
    window: str  # "none", or the kind of window (see `WINDOWS`) of its saved plan
    people: dict[str, int | None]


@pytest.fixture
def cast(team, oscar, other_school, school) -> dict[str, User]:
    """The conftest personas, plus Dora, the deputy head who deputises for Fiona; and the
    school's calendar, items and committee meeting (shared by every example)."""
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
    for name, kind, days, hard in (
        ("Census week", PeriodKind.FREEZE, WINDOW_DAYS["hard"], True),
        ("Spring audit", PeriodKind.FREEZE, WINDOW_DAYS["soft"], False),
        ("Year 11 mocks", PeriodKind.EXAM, WINDOW_DAYS["exam"], False),
    ):
        start = timezone.now().replace(hour=0, minute=0) + timedelta(days=days - 1)
        CalendarPeriod.objects.create(
            school=school, kind=kind, name=name, starts_at=start,
            ends_at=start + timedelta(days=3), is_hard=hard,
        )  # fmt: skip
    sam = team["sam"]
    create_item(school, sam, {"name": "ICT suite 2 switch", "identifier": "SW-02"})
    create_item(school, sam, {"name": "MIS server", "identifier": "MIS"})
    old = create_item(school, sam, {"name": "Old file server", "identifier": "FS-01"})
    update_item(old.pk, sam, {"is_active": False})
    create_item(other_school, oscar, {"name": "Hillside switch", "identifier": "SW-02"})
    committee.create_meeting(
        school,
        sam,
        {"title": "CAC", "held_at": timezone.now() + timedelta(days=1), "chair": team["fiona"]},
    )
    return {**team, "oscar": oscar, "dora": dora}


def window_of(change: Change) -> str:
    """The kind of window the RFC's saved plan is in, read off the calendar made in `cast`."""
    if change.planned_start is None or change.planned_end is None:
        return "none"
    for period in CalendarPeriod.objects.filter(school=change.school_id):
        if period.starts_at < change.planned_end and change.planned_start < period.ends_at:
            if period.kind == PeriodKind.EXAM:
                return "exam"
            return "hard" if period.is_hard else "soft"
    return "clear"


def plan_in(window: str) -> dict[str, Any]:
    plan = plan_data()
    shift = timedelta(days=WINDOW_DAYS[window] - WINDOW_DAYS["clear"])
    plan["planned_start"] += shift
    plan["planned_end"] += shift
    return plan


def in_committee(
    change_id: int, action: str, actor: User, meeting: int, comment: str, data: dict[str, Any]
) -> Change:
    """Record the committee's decision in `meeting`, as `actor` (its chair or secretary)."""
    return perform(
        change_id, action, actor, comment=comment, data={**data, "committee_meeting": meeting}
    )


def delegate(school: School, approver: User, deputy: User) -> None:
    now = timezone.now()
    Delegation.objects.create(
        school=school,
        approver=approver,
        deputy=deputy,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=7),
    )


def build(
    cast: dict[str, User],
    peer_review: bool,
    emergency: bool,
    olivia_reviews: bool,
    present: frozenset[str],
) -> World:
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
    meeting = committee.visible_meetings(people["sam"]).get(school=school)
    committee.record_attendance(meeting.pk, people["sam"], [people[p] for p in sorted(present)])
    items = {
        "switch": ConfigurationItem.objects.get(school=school, identifier="SW-02"),
        "mis": ConfigurationItem.objects.get(identifier="MIS"),
        "retired": ConfigurationItem.objects.get(identifier="FS-01"),
        "elsewhere": ConfigurationItem.objects.exclude(school=school).get(identifier="SW-02"),
    }
    return World(school, people, change, emergency, peer_review, plan_data(), items,
                 meeting.pk, present)  # fmt: skip


def payload(action: str, good: bool) -> dict[str, Any]:
    if action == Action.APPROVE:
        # Read only where the window has conflicts; a blank one is no reason.
        return {"override_reason": "The exams officer agrees." if good else "  "}
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


def named_items(world: World) -> frozenset[int]:
    return frozenset(world.change.item_links.values_list("item_id", flat=True))


def prior(world: World) -> Prior:
    change = world.change
    return Prior(
        change.state,
        change.ratified,
        window_of(change),
        {name: getattr(change, f"{name}_id") for name in PEOPLE},
    )


def attempt(world: World, who: str, step: str, comment: str, good: bool) -> None:
    """Take one step; raise the `WorkflowError` it was refused with."""
    olivia, change = world.people["olivia"], world.change
    kind, _, what = step.partition(":")
    if kind == "edit_plan":
        plan = plan_in(what)
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
    elif kind == "items":
        chosen = [world.items[name] for name in ITEM_CHOICES[what]]
        stale = change.version - 1 if what == "stale" else None
        set_change_items(change, chosen, world.people[who], comment=comment,
                         expected_version=stale)  # fmt: skip
    elif kind == "committee":
        in_committee(change.pk, what, world.people[who], world.meeting, comment,
                     payload(what, good))  # fmt: skip
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
          error: WorkflowError | None, was: Prior) -> tuple[str, int, int, int]:  # fmt: skip
    """Check the step just taken and the invariants; return the snapshot for the next step."""
    after = snapshot(world)
    change = world.change
    state, version, count, _ = after
    events = list(change.events.order_by("sequence").select_related("actor", "on_behalf_of"))
    originator = change.originator_id
    kind, _, what = step.partition(":")
    acted = step in Action.values or kind == "committee"

    if error is not None:
        # A refused action writes nothing: no state, no version, no event, no mail.
        assert after == before, world.log
    if step in Action.values:
        # The buttons and the door agree: who may not act is refused before anything else.
        assert allowed == (error is None or isinstance(error, InvalidAction)), world.log
    if acted and error is None:
        assert before[0] not in TERMINAL_STATES, world.log
        assert (version, count) == (before[1] + 1, before[2] + 1), world.log
        last = events[-1]
        assert (last.kind, last.actor, last.from_state, last.to_state) == (
            step if step in Action.values else what,
            world.people[who],
            before[0],
            state,
        ), world.log
        if last.is_state_change:
            world.moves += 1
        if last.kind == Action.APPROVE:
            check_conflicts_weighed(world, was, last)
    elif error is None:
        assert state == before[0], world.log
        assert version - before[1] == count - before[2] in (0, 1), world.log
    if kind == "committee":
        check_committee(world, who, was, events[-1] if error is None else None, error)
    if kind == "items":
        check_items(world, who, what, was, before, after, error, events)
    if step in (Action.APPROVE, "committee:approve") and isinstance(error, InvalidAction):
        check_conflict_refusal(world, was, error)
    # Items change only when they are named.
    assert named_items(world) == world.named, world.log

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


def check_conflicts_weighed(world: World, was: Prior, event: ChangeEvent) -> None:
    """The approval that accepts the impact on the school (the final one, the committee's
    in its place, an emergency's initial one) weighs the window: never in a hard freeze
    (an emergency aside), and over soft conflicts only with a reason, which is kept."""
    data = event.data or {}
    conflicted = was.window in CONFLICTED
    accepts_impact = was.state == State.AWAITING_FINAL_APPROVAL or (
        was.state == State.AWAITING_INITIAL_APPROVAL and world.emergency
    )
    if accepts_impact:
        assert not (was.window == "hard" and not world.emergency), world.log
        if conflicted:
            assert str(data.get("override_reason", "")).strip(), (data, world.log)
            assert data.get("conflicts"), (data, world.log)
    if not conflicted or not accepts_impact:
        # Nothing to override, or not this approval's to weigh: no override is recorded.
        assert "override_reason" not in data and not data.get("conflicts"), (data, world.log)


def check_conflict_refusal(world: World, was: Prior, error: InvalidAction) -> None:
    """An approval refused over the calendar is refused for the window it is in, and only
    the approval that accepts the impact on the school is refused over it."""
    accepts_impact = was.state == State.AWAITING_FINAL_APPROVAL or (
        was.state == State.AWAITING_INITIAL_APPROVAL and world.emergency
    )
    if "planned_start" in error.fields:  # a hard freeze: move the change
        assert was.window == "hard" and not world.emergency, (error.fields, world.log)
        assert accepts_impact, (error.fields, world.log)
    if "override_reason" in error.fields:  # soft conflicts: give a reason
        assert was.window in CONFLICTED and accepts_impact, (error.fields, world.log)


def check_committee(
    world: World,
    who: str,
    was: Prior,
    event: ChangeEvent | None,
    error: WorkflowError | None,
) -> None:
    """The committee decides only what waits for an approver, by its chair or secretary,
    for the approver named on the RFC who is present; the event says so."""
    if error is None:
        assert event is not None
        assert who in ("fiona", "sam"), world.log  # the chair, the school administrator
        assert was.state in DECIDES_FOR, world.log
        named = was.people[DECIDES_FOR[was.state]]
        assert named is not None and event.on_behalf_of_id == named, world.log
        assert event.on_behalf_of.username in world.present, world.log
        assert (event.data or {}).get("committee_meeting") == world.meeting, world.log
    elif who not in ("fiona", "sam"):
        assert error.status in (403, 409), (error, world.log)


def plan_editable(world: World, was: Prior) -> bool:
    """Items go with the plan: editable in a draft, while planning, and while an emergency
    change's plan is completed after the event (until it is ratified)."""
    return was.state in (State.DRAFT, State.PLANNING) or (
        world.emergency and not was.ratified and was.state in (State.APPROVED, State.IMPLEMENTED)
    )


def check_items(world: World, who: str, what: str, was: Prior,
                before: tuple[str, int, int, int], after: tuple[str, int, int, int],
                error: WorkflowError | None, events: list[ChangeEvent]) -> None:  # fmt: skip
    """Only the originator names items, only while the plan may change, only active items
    of the RFC's school, and only with the version she loaded; one event when they change."""
    if what == "stale":
        assert isinstance(error, StaleChange) and error.status == 409, (error, world.log)
    if what in ("retired", "elsewhere"):
        assert error is not None, world.log
    if error is not None:
        return
    wanted = frozenset(world.items[name].pk for name in ITEM_CHOICES[what])
    assert who == "olivia", world.log
    if wanted == world.named:
        assert after == before, world.log
        return
    assert plan_editable(world, was), world.log
    assert after[1:3] == (before[1] + 1, before[2] + 1), world.log
    last = events[-1]
    assert (last.kind, last.actor_id, last.from_state, last.to_state) == (
        "edit",
        world.people["olivia"].pk,
        was.state,
        was.state,
    ), world.log
    assert [d["field"] for d in last.diffs] == ["items"], world.log
    world.named = wanted


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
    if change.state in DECIDES_FOR:
        # The committee's chair or its secretary records a decision.
        decisions = ("approve",) if mode == "forward" else ("approve", "return", "reject")
        candidates += [(p, f"committee:{d}") for p in ("fiona", "sam") for d in decisions]
    if mode == "any":
        candidates += [("olivia", edit) for edit in (*EDITS, *ITEM_EDITS)]
    elif not world.named and change.state in (State.DRAFT, State.PLANNING):
        candidates.append(("olivia", "items:both"))
    if not change.details or not candidates:
        candidates += [("olivia", f"edit_plan:{w}") for w in WINDOWS]
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
    # Nor may the committee decide, nor the items change.
    with pytest.raises(WorkflowError):
        in_committee(world.change.pk, "approve", world.people["sam"], world.meeting, "Why.",
                     payload("approve", True))  # fmt: skip
    others = [world.items["mis"]] if world.items["mis"].pk not in world.named else []
    with pytest.raises(WorkflowError):
        set_change_items(world.change, others, world.people["olivia"])
    assert snapshot(world) == before, world.log
    assert named_items(world) == world.named, world.log


def covered(step: str, error: WorkflowError | None, was: Prior) -> set[str]:
    """What the step exercised, for Hypothesis's statistics."""
    kind, _, what = step.partition(":")
    facts = set()
    if error is None and kind == "committee":
        facts.add(f"committee: {what}")
    if error is None and Action.APPROVE in (step, what) and was.window in CONFLICTED:
        facts.add(f"approved over conflicts ({was.window})")
    if Action.APPROVE in (step, what) and was.state == State.AWAITING_FINAL_APPROVAL:
        facts.add(f"final approval tried ({was.window})")
    if isinstance(error, InvalidAction) and "planned_start" in error.fields:
        facts.add("refused: a hard freeze")
    if isinstance(error, InvalidAction) and "override_reason" in error.fields:
        facts.add("refused: no override reason")
    if kind == "items":
        facts.add(f"items {what}: {type(error).__name__ if error else 'done'}")
    return facts


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    peer_review=st.booleans(),
    emergency=st.booleans(),
    olivia_reviews=st.booleans(),
    # Who the committee meeting records as present: the approvers, or not all of them.
    present=st.sampled_from(
        [frozenset({"ian", "peter", "fiona"}), frozenset({"ian", "fiona"}), frozenset()]
    ),
    data=st.data(),
)
def test_it_keeps_its_invariants_whatever_anyone_does(
    cast, peer_review, emergency, olivia_reviews, present, data
):
    # Each example runs in a savepoint rolled back at its end, so examples never meet.
    with transaction.atomic():
        world = build(cast, peer_review, emergency, olivia_reviews, present)
        before = snapshot(world)
        facts: set[str] = set()
        for _ in range(data.draw(st.integers(min_value=3, max_value=24), label="steps")):
            if before[0] in TERMINAL_STATES:
                break
            who, step = choose(world, data)
            comment = data.draw(st.sampled_from(["", "Because."]), label="comment")
            good = data.draw(st.sampled_from([True, True, False]), label="good payload")

            allowed = step in allowed_actions(world.change, world.people[who])
            was = prior(world)
            error: WorkflowError | None = None
            try:
                attempt(world, who, step, comment, good)
            except WorkflowError as exc:
                error = exc
            world.log.append(f"{who} {step} {comment!r} {good} [{was.window}] -> {error!r}")
            before = check(world, who, step, before, allowed, error, was)
            facts |= covered(step, error, was)
        if before[0] in TERMINAL_STATES:
            check_the_end(world, before)
        assert verify_chain(world.change, list(world.change.events.all())) is None
        note(f"ended {world.change.state}")
        for fact in sorted(facts):  # see them with --hypothesis-show-statistics
            note(fact)
        transaction.set_rollback(True)


STAGES = {
    "initial": State.AWAITING_INITIAL_APPROVAL,
    "peer": State.AWAITING_PEER_REVIEW,
    "final": State.AWAITING_FINAL_APPROVAL,
}
PERIODS = {  # the kind of calendar period that puts a window in each kind of conflict
    "hard": (PeriodKind.FREEZE, True),
    "soft": (PeriodKind.FREEZE, False),
    "exam": (PeriodKind.EXAM, False),
}


@st.composite
def approvals(draw: st.DrawFn) -> dict[str, Any]:
    """An approval to try: at which stage, of what, by whom, with which reason."""
    emergency = draw(st.sampled_from([False, False, True]), label="emergency")
    peer_review = draw(st.booleans(), label="peer review")
    stage = "initial" if emergency else draw(st.sampled_from(list(STAGES)), label="stage")
    if stage == "peer" and not peer_review:
        stage = "final"
    return {
        "emergency": emergency,
        "peer_review": peer_review,
        "stage": stage,
        "window": draw(st.sampled_from(WINDOWS), label="window"),
        # The approver named on the RFC, Dora as Fiona's deputy, or the committee for them.
        "by": draw(st.sampled_from(["named", "deputy", "committee"]), label="by"),
        "reason": draw(st.sampled_from(["", "  ", " Agreed with the exams officer. "])),
    }


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=approvals())
def test_an_approval_weighs_the_window_it_accepts(cast, case):
    """Whoever gives it (the approver, a deputy, the committee), the approval that accepts
    the impact on the school is refused in a hard freeze (an emergency aside) and needs a
    reason over soft conflicts, which the history keeps; and any approval refused over the
    calendar is refused for the window it is in. The calendar is changed after the plan was
    written and reviewed, as a school adds a freeze: the approval weighs it as it is then."""
    with transaction.atomic():
        everyone = frozenset({"ian", "peter", "fiona"})
        world = build(cast, case["peer_review"], case["emergency"], False, everyone)
        olivia, change = world.people["olivia"], world.change
        people = {"peer_reviewer": world.people["peter"], "final_approver": world.people["fiona"]}
        update_change(change.pk, olivia, {**plan_in("clear"), **people})
        perform(change.pk, "submit", olivia)
        if case["stage"] != "initial":
            perform(change.pk, "approve", world.people["ian"])
            perform(change.pk, "submit_plan", olivia)
        if case["stage"] == "final" and case["peer_review"]:
            perform(change.pk, "approve", world.people["peter"])
        change = reload(world)
        assert change.state == STAGES[case["stage"]]
        if case["window"] != "clear":
            kind, hard = PERIODS[case["window"]]
            CalendarPeriod.objects.create(
                school=world.school, kind=kind, name="Added late", is_hard=hard,
                starts_at=change.planned_start - timedelta(days=1),
                ends_at=change.planned_end + timedelta(days=1),
            )  # fmt: skip
        was = prior(world)
        assert was.window == case["window"]
        before = snapshot(world)
        named = {"initial": "ian", "peer": "peter", "final": "fiona"}[case["stage"]]
        data = {"override_reason": case["reason"]}
        error: WorkflowError | None = None
        try:
            if case["by"] == "committee":
                in_committee(change.pk, "approve", world.people["sam"], world.meeting, "", data)
            else:
                deputy = case["by"] == "deputy" and named == "fiona"
                perform(change.pk, "approve", world.people["dora" if deputy else named], data=data)
        except WorkflowError as exc:
            error = exc
        world.log.append(f"{case} -> {error!r}")
        after = snapshot(world)

        conflicted = was.window in CONFLICTED
        accepts_impact = case["stage"] == "final" or case["emergency"]
        if error is not None:
            assert isinstance(error, InvalidAction), world.log
            assert after == before, world.log
            check_conflict_refusal(world, was, error)
        else:
            assert after[1:3] == (before[1] + 1, before[2] + 1), world.log
            check_conflicts_weighed(world, was, world.change.events.order_by("sequence").last())
        if accepts_impact and was.window == "hard" and not case["emergency"]:
            assert error is not None and "planned_start" in error.fields, world.log
        elif accepts_impact and conflicted and not case["reason"].strip():
            assert error is not None and "override_reason" in error.fields, world.log
        else:
            # Cleared, or not this approval's to weigh (planning may still move it).
            assert error is None, world.log
            event = world.change.events.order_by("sequence").last()
            if conflicted and accepts_impact:
                assert event.data["override_reason"] == case["reason"].strip(), world.log
        note(f"{case['stage']}, {was.window} window: {type(error).__name__}")
        transaction.set_rollback(True)


def test_it_has_a_step_for_every_action():
    assert set(Action.values) <= set(STEPS)
    assert {s.partition(":")[2] for s in ITEM_EDITS} == set(ITEM_CHOICES)


def test_the_windows_collide_with_the_calendar_as_the_checks_assume(cast, client):
    """The conflicts the checks above expect of each kind of window are the ones the
    application finds (the RFC's conflicts in the API): else they would check nothing."""
    olivia = cast["olivia"]
    client.force_login(olivia)
    for emergency in (False, True):
        extra = {"is_emergency": True, "emergency_justification": "Now."} if emergency else {}
        for window in WINDOWS:
            plan = {**plan_in(window), "peer_reviewer": cast["peter"]}
            change = create_change(olivia.memberships.get().school, olivia,
                                   {**REQUEST, **extra, **plan})  # fmt: skip
            assert window_of(change) == window
            body = client.get(f"/api/v1/changes/{change.pk}/conflicts/").json()
            kinds = {(c["kind"], c["hard"]) for c in body["conflicts"]}
            expected = {
                "clear": set(),
                "hard": {("freeze", not emergency)},
                "soft": {("freeze", False)},
                "exam": {("exam", False)},
            }[window]
            assert kinds == expected, (window, emergency, body)
