"""The FITS change workflow: one table of transitions, and one door every action goes through.

Read the table from top to bottom and it is the FITS process: who may do what, from which
state, to which state, and what the RFC must hold first. `perform` is the only code that
changes an RFC's state; views, the API, the CLI, the demo data and the tests all call it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Delegation, User
from changedesk.changes.choices import Action, Outcome, State
from changedesk.changes.history import record_event
from changedesk.changes.models import PLAN_FIELDS, REQUEST_FIELDS, Change, field_value
from changedesk.lib.errors import InvalidAction, NotPermitted, StaleChange, UnknownAction

ALL_CONTENT = REQUEST_FIELDS + PLAN_FIELDS


# --- Routing: where an action leads when the FITS path forks. ---


def emergency_skips_planning(change: Change, target: State) -> State:
    """An emergency change approved by the initial approver goes straight to `approved`."""
    return State.APPROVED if change.is_emergency else target


def peer_review_optional(change: Change, target: State) -> State:
    """Schools that have switched peer review off go straight to final approval."""
    return target if change.school.peer_review_enabled else State.AWAITING_FINAL_APPROVAL


def unratified_emergency(change: Change) -> bool:
    return change.is_emergency and not change.ratified


@dataclass(frozen=True)
class Transition:
    source: State
    action: Action
    target: State
    by: Role
    # The RFC field naming who must act; approvers may act through a deputy.
    person: str
    requires: tuple[str, ...] = ()
    needs_reason: bool = False
    # The content this action approves: its digest is recorded with the event.
    approves: tuple[str, ...] = ()
    route: Callable[[Change, State], State] | None = None
    only_when: Callable[[Change], bool] | None = None
    payload: tuple[str, ...] = field(default=())


S, A, R = State, Action, Role
REVIEW = ("records_updated", "caused_incidents", "users_informed")

TRANSITIONS: tuple[Transition, ...] = (
    # 2. The originator raises the RFC and sends it for approval to proceed.
    Transition(S.DRAFT, A.SUBMIT, S.AWAITING_INITIAL_APPROVAL, R.ORIGINATOR, "originator",
               requires=("title", "description", "reason", "initial_approver")),
    Transition(S.DRAFT, A.WITHDRAW, S.WITHDRAWN, R.ORIGINATOR, "originator"),
    # 3. The initial approver agrees it may be planned, sends it back, or rejects it.
    Transition(S.AWAITING_INITIAL_APPROVAL, A.APPROVE, S.PLANNING, R.INITIAL_APPROVER,
               "initial_approver", approves=REQUEST_FIELDS, route=emergency_skips_planning),
    Transition(S.AWAITING_INITIAL_APPROVAL, A.RETURN, S.DRAFT, R.INITIAL_APPROVER,
               "initial_approver", needs_reason=True),
    Transition(S.AWAITING_INITIAL_APPROVAL, A.REJECT, S.REJECTED, R.INITIAL_APPROVER,
               "initial_approver", needs_reason=True),
    Transition(S.AWAITING_INITIAL_APPROVAL, A.WITHDRAW, S.WITHDRAWN, R.ORIGINATOR, "originator"),
    # 4. The originator plans it.
    Transition(S.PLANNING, A.SUBMIT_PLAN, S.AWAITING_PEER_REVIEW, R.ORIGINATOR, "originator",
               requires=(*PLAN_FIELDS, "final_approver"), route=peer_review_optional),
    Transition(S.PLANNING, A.WITHDRAW, S.WITHDRAWN, R.ORIGINATOR, "originator"),
    # 5. A peer reviewer, never the originator, confirms the plan is sound.
    Transition(S.AWAITING_PEER_REVIEW, A.APPROVE, S.AWAITING_FINAL_APPROVAL, R.PEER_REVIEWER,
               "peer_reviewer", approves=ALL_CONTENT),
    Transition(S.AWAITING_PEER_REVIEW, A.RETURN, S.PLANNING, R.PEER_REVIEWER,
               "peer_reviewer", needs_reason=True),
    # 6. The final approver accepts the impact on the school.
    Transition(S.AWAITING_FINAL_APPROVAL, A.APPROVE, S.APPROVED, R.FINAL_APPROVER,
               "final_approver", approves=ALL_CONTENT),
    Transition(S.AWAITING_FINAL_APPROVAL, A.RETURN, S.PLANNING, R.FINAL_APPROVER,
               "final_approver", needs_reason=True),
    Transition(S.AWAITING_FINAL_APPROVAL, A.REJECT, S.REJECTED, R.FINAL_APPROVER,
               "final_approver", needs_reason=True),
    # 8. The implementer carries it out and records the outcome.
    Transition(S.APPROVED, A.RECORD_OUTCOME, S.IMPLEMENTED, R.IMPLEMENTER, "implementer",
               payload=("outcome",)),
    Transition(S.APPROVED, A.WITHDRAW, S.WITHDRAWN, R.ORIGINATOR, "originator"),
    # Emergency changes: the final approval is given afterwards, on the completed plan.
    Transition(S.APPROVED, A.RATIFY, S.APPROVED, R.FINAL_APPROVER, "final_approver",
               requires=(*PLAN_FIELDS, "final_approver"), approves=ALL_CONTENT,
               only_when=unratified_emergency),
    Transition(S.IMPLEMENTED, A.RATIFY, S.IMPLEMENTED, R.FINAL_APPROVER, "final_approver",
               requires=(*PLAN_FIELDS, "final_approver"), approves=ALL_CONTENT,
               only_when=unratified_emergency),
    # 9 and 10. The records are updated, the short review answered, and the originator closes.
    Transition(S.IMPLEMENTED, A.CLOSE, S.CLOSED, R.ORIGINATOR, "originator", payload=REVIEW),
)  # fmt: skip

_BY_KEY = {(t.source, t.action): t for t in TRANSITIONS}


def transition_for(state: str, action: str) -> Transition | None:
    return _BY_KEY.get((State(state), Action(action)))


def actions_from(state: str) -> list[Transition]:
    return [t for t in TRANSITIONS if t.source == state]


# --- Who may act. ---


def acting_for(actor: User, change: Change, transition: Transition) -> tuple[bool, User | None]:
    """Whether `actor` may take `transition` on `change`, and for whom when they act as deputy.

    Returns (allowed, on_behalf_of). Uses the actor's prefetched memberships when present.
    """
    if not actor.is_active:
        return False, None
    roles = actor.roles_in(change.school)
    named: User | None = getattr(change, transition.person)
    if transition.person == "originator":
        return (actor.pk == change.originator_id and Role.ORIGINATOR in roles), None
    if transition.by == Role.IMPLEMENTER:
        allowed = Role.IMPLEMENTER in roles and (named is None or named.pk == actor.pk)
        return allowed, None
    if not _separation_allows(actor, change, transition):
        return False, None
    if named is not None and named.pk == actor.pk and transition.by in roles:
        return True, None
    if named is not None and named.pk != actor.pk and _is_deputy(actor, named, change, transition):
        return True, named
    return False, None


def _is_deputy(actor: User, approver: User, change: Change, transition: Transition) -> bool:
    return any(
        d.school_id == change.school_id
        and d.approver_id == approver.pk
        and d.role in ("", transition.by)
        for d in deputising(actor)
    )


def deputising(actor: User) -> list[Delegation]:
    """The actor's active delegations, read once per user object (once per request)."""
    cached: list[Delegation] | None = getattr(actor, "_deputising", None)
    if cached is None:
        cached = list(Delegation.objects.active().filter(deputy=actor))
        actor._deputising = cached  # type: ignore[attr-defined]
    return cached


def _separation_allows(actor: User, change: Change, transition: Transition) -> bool:
    if actor.pk != change.originator_id:
        return True
    if transition.by == Role.PEER_REVIEWER:
        return False
    if transition.by == Role.FINAL_APPROVER:
        return change.school.final_approver_may_be_originator
    return True


def allowed_actions(change: Change, user: User) -> list[str]:
    """The actions `user` may take on `change` now (what the buttons and the API show)."""
    if not user.is_authenticated:
        return []
    result = []
    for transition in actions_from(change.state):
        if transition.only_when and not transition.only_when(change):
            continue
        if acting_for(user, change, transition)[0]:
            result.append(transition.action.value)
    return result


# --- What the RFC must hold. ---


def _missing(change: Change, transition: Transition) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name in transition.requires:
        value = getattr(change, name)
        if value is None or (isinstance(value, str) and not value.strip()):
            label = Change._meta.get_field(name).verbose_name  # type: ignore[union-attr]
            errors[name] = f"Fill in the {label} before you {transition.action.label.lower()}."
    if (
        transition.action == Action.SUBMIT
        and change.is_emergency
        and not change.emergency_justification.strip()
    ):
        errors["emergency_justification"] = "Say why this change cannot wait."
    if change.planned_start and change.planned_end and change.planned_end <= change.planned_start:
        errors["planned_end"] = "The planned end must be after the planned start."
    errors.update(_people_errors(change, transition))
    return errors


def _people_errors(change: Change, transition: Transition) -> dict[str, str]:
    errors: dict[str, str] = {}
    school = change.school
    if (
        transition.action == Action.SUBMIT_PLAN
        and school.peer_review_enabled
        and change.peer_reviewer_id is None
    ):
        errors["peer_reviewer"] = "Name a peer reviewer before you submit the plan."
    if change.peer_reviewer_id is not None and change.peer_reviewer_id == change.originator_id:
        errors["peer_reviewer"] = "The peer reviewer must be someone other than the originator."
    if (
        change.final_approver_id is not None
        and change.final_approver_id == change.originator_id
        and not school.final_approver_may_be_originator
    ):
        errors["final_approver"] = "The final approver must be someone other than the originator."
    return errors


def _apply_payload(change: Change, transition: Transition, data: dict[str, Any]) -> dict[str, Any]:
    """Validate and set what the action carries (the outcome, the review answers)."""
    recorded: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if "outcome" in transition.payload:
        outcome = data.get("outcome")
        if outcome not in Outcome.values:
            choices = ", ".join(Outcome.values)
            errors["outcome"] = f"Choose the outcome: one of {choices}."
        else:
            change.outcome = outcome
            recorded["outcome"] = outcome
    for name in REVIEW:
        if name not in transition.payload:
            continue
        value = data.get(name)
        if not isinstance(value, bool):
            errors[name] = "Answer yes or no."
        elif name == "records_updated" and not value:
            errors[name] = "Update the configuration records before you close the change."
        else:
            setattr(change, name, value)
            recorded[name] = value
    if transition.action == Action.CLOSE and unratified_emergency(change):
        errors["ratified"] = (
            "The final approver must ratify this emergency change before it closes."
        )
    if errors:
        raise InvalidAction("The action needs more information.", errors)
    return recorded


# --- Acting in a change advisory committee meeting. ---

# Registered at start-up by the committee app (`CommitteeConfig.ready`), so that the
# workflow need not import it. Given the meeting's id, the actor, the locked RFC and the
# transition, it returns the approver the actor acts for, or raises a `WorkflowError`.
CommitteeCheck = Callable[[int, User, Change, Transition], User]
_committee_check: CommitteeCheck | None = None


def register_committee_check(check: CommitteeCheck) -> None:
    global _committee_check
    _committee_check = check


# --- What an approval must weigh: the window's conflicts with the school calendar. ---

# Registered at start-up by the schedule app (`ScheduleConfig.ready`). Given the locked RFC,
# it returns what its planned window collides with, as (hard, soft) lists of plain-words
# messages: a hard conflict (a hard freeze) stops approval; soft ones need a reason.
ApprovalCheck = Callable[[Change], tuple[list[str], list[str]]]
_approval_checks: list[ApprovalCheck] = []


def register_approval_check(check: ApprovalCheck) -> None:
    if check not in _approval_checks:
        _approval_checks.append(check)


def _check_approval(change: Change, data: dict[str, Any]) -> dict[str, Any]:
    hard: list[str] = []
    soft: list[str] = []
    for check in _approval_checks:
        more_hard, more_soft = check(change)
        hard += more_hard
        soft += more_soft
    if hard:
        raise InvalidAction(
            "This change cannot be approved in that window.",
            {"planned_start": " ".join(hard) + " Move the change to another time."},
        )
    if not soft:
        return {}
    reason = data.get("override_reason")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidAction(
            "The window has conflicts.",
            {"override_reason": "Say why it should be approved anyway: " + " ".join(soft)},
        )
    return {"override_reason": reason.strip()[:1000], "conflicts": soft}


# --- The one door. ---


def perform(
    change_id: int,
    action: str,
    actor: User,
    *,
    comment: str = "",
    data: dict[str, Any] | None = None,
    expected_version: int | None = None,
    committee_meeting: int | None = None,
) -> Change:
    """Take `action` on the RFC as `actor`: lock, guard, change state, record, notify.

    Raises a `WorkflowError` subclass, having written nothing, when the action may not
    be taken. Exactly one of two concurrent actions wins; the other gets `StaleChange`.
    With `committee_meeting`, the actor (the meeting's chair or secretary) records the
    decision taken in that meeting for the approver named on the RFC, who was present.
    """
    if action not in Action.values:
        known = ", ".join(Action.values)
        raise UnknownAction(f"Unknown action {action!r}.", {"action": f"Use one of: {known}."})
    data = data or {}
    comment = (comment or "").strip()
    with transaction.atomic():
        change = (
            Change.objects.select_for_update(of=("self",))
            .select_related("school", *_PEOPLE)
            .get(pk=change_id)
        )
        actor = User.objects.prefetch_related("memberships__roles").get(pk=actor.pk)
        if expected_version is not None and change.version != expected_version:
            raise StaleChange(_stale_message(change))
        transition = transition_for(change.state, action)
        if transition is None or (transition.only_when and not transition.only_when(change)):
            raise StaleChange(
                f"{change.reference} is {change.get_state_display().lower()}: "
                f"“{Action(action).label}” is not possible now."
            )
        if committee_meeting is not None:
            check = _committee_check
            if check is None:
                raise InvalidAction("Decisions in committee are not available.")
            on_behalf_of: User | None = check(committee_meeting, actor, change, transition)
        else:
            allowed, on_behalf_of = acting_for(actor, change, transition)
            if not allowed:
                raise NotPermitted(_refusal(change, transition))
        if transition.needs_reason and not comment:
            raise InvalidAction(
                "Give a reason.", {"comment": "Say why, so the originator knows what to do next."}
            )
        before = {name: field_value(change, name) for name in _RECORDED}
        recorded = _apply_payload(change, transition, data)
        if committee_meeting is not None:
            recorded["committee_meeting"] = committee_meeting
        if transition.by == Role.IMPLEMENTER and change.implementer_id is None:
            change.implementer = actor
        errors = _missing(change, transition)
        if errors:
            raise InvalidAction("Some sections need filling in first.", errors)
        if transition.action == Action.APPROVE:
            recorded.update(_check_approval(change, data))
        from_state = change.state
        target = (
            transition.route(change, transition.target) if transition.route else transition.target
        )
        change.state = target
        if transition.action == Action.RATIFY:
            change.ratified = True
        after = {name: field_value(change, name) for name in _RECORDED}
        diffs = [
            {"field": n, "before": before[n], "after": after[n]}
            for n in _RECORDED
            if before[n] != after[n]
        ]
        updated = Change.objects.filter(pk=change.pk, version=change.version).update(
            **{n: getattr(change, n) for n in _SAVED}, version=change.version + 1,
            updated_at=timezone.now(),
        )  # fmt: skip
        if updated != 1:
            raise StaleChange(_stale_message(change))
        change.version += 1
        event = record_event(
            change,
            transition.action,
            actor,
            on_behalf_of=on_behalf_of,
            from_state=from_state,
            to_state=target,
            comment=comment,
            diffs=diffs,
            data=recorded,
            digest=change.digest(transition.approves) if transition.approves else "",
        )
        from changedesk.changes.notify import notify_after_action

        notify_after_action(change, event)
    return change


_PEOPLE = ("originator", "initial_approver", "peer_reviewer", "final_approver", "implementer")
_SAVED = ("state", "outcome", "ratified", "implementer", *REVIEW)
_RECORDED = ("outcome", "implementer", *REVIEW)


def _stale_message(change: Change) -> str:
    return (
        f"{change.reference} has changed since you loaded it (it is now "
        f"{change.get_state_display().lower()}). Reload it and try again."
    )


def _refusal(change: Change, transition: Transition) -> str:
    who = Role(transition.by).label.lower()
    named: User | None = getattr(change, transition.person)
    if transition.person == "originator":
        return f"Only the originator of {change.reference} may {transition.action.label.lower()}."
    if named is not None:
        return (
            f"Only {named.display_name}, the {who} named on {change.reference}, "
            f"or their deputy may {transition.action.label.lower()}."
        )
    return f"Only a {who} of {change.school.name} may {transition.action.label.lower()}."
