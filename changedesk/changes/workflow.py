"""The FITS change workflow: one table of transitions, and one door every action goes through.

Read the table from top to bottom and it is the FITS process: who may do what, from which
state, to which state, what the RFC must hold first, what the action carries, and what the
RFC then waits for. Everything else that asks "who acts now" reads it: who the RFC waits
on, My work, who is told and who is nudged, the signature rows of the print, and which
fields the originator may still edit. `perform` is the only code that changes an RFC's
state, and it names no action: what is special about one is data on its row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext, gettext_noop

from changedesk.accounts import permissions
from changedesk.accounts.choices import APPROVER_ROLES, Role
from changedesk.accounts.models import Delegation, User
from changedesk.changes import extensions, items, notify, writer
from changedesk.changes.choices import Action, Outcome, State
from changedesk.changes.models import PLAN_FIELDS, REQUEST_FIELDS, Change, ChangeEvent, field_value
from changedesk.lib.errors import InvalidAction, NotPermitted, StaleChange, UnknownAction

ALL_CONTENT = REQUEST_FIELDS + PLAN_FIELDS
REVIEW = ("records_updated", "caused_incidents", "users_informed")
# The RFC field naming the person who acts in each role.
ROLE_FIELD: dict[str, str] = {
    Role.ORIGINATOR: "originator",
    Role.INITIAL_APPROVER: "initial_approver",
    Role.PEER_REVIEWER: "peer_reviewer",
    Role.FINAL_APPROVER: "final_approver",
    Role.IMPLEMENTER: "implementer",
}
# What the originator may edit while a step waits on them.
EVERYTHING = (*ALL_CONTENT, "initial_approver", "peer_reviewer", "final_approver", "implementer")
THE_PLAN = (*PLAN_FIELDS, "peer_reviewer", "final_approver", "implementer")


# --- Conditions: a test on one RFC, and the same test as a query for the lists. ---


@dataclass(frozen=True)
class Condition:
    test: Callable[[Change], bool]
    query: Q


UNRATIFIED_EMERGENCY = Condition(
    lambda change: change.is_emergency and not change.ratified, Q(is_emergency=True, ratified=False)
)
ALWAYS = Condition(lambda change: True, Q())
STANDARD = Condition(lambda change: change.is_standard, Q(is_standard=True))
NOT_STANDARD = Condition(lambda change: not change.is_standard, Q(is_standard=False))


# --- Routing: where an action leads when the FITS path forks. ---


def emergency_skips_planning(change: Change, target: State) -> State:
    """An emergency change approved by the initial approver goes straight to `approved`."""
    return State.APPROVED if change.is_emergency else target


def peer_review_optional(change: Change, target: State) -> State:
    """Schools that have switched peer review off go straight to final approval."""
    return target if change.school.peer_review_enabled else State.AWAITING_FINAL_APPROVAL


# --- Guards: what a row checks beyond the fields it requires (field errors, or none). ---

Guard = Callable[[Change], dict[str, str]]


def emergency_justified(change: Change) -> dict[str, str]:
    if change.is_emergency and not change.emergency_justification.strip():
        return {"emergency_justification": gettext("Say why this change cannot wait.")}
    return {}


def peer_reviewer_named(change: Change) -> dict[str, str]:
    if change.school.peer_review_enabled and change.peer_reviewer_id is None:
        return {"peer_reviewer": gettext("Name a peer reviewer before you submit the plan.")}
    return {}


def ratified_if_emergency(change: Change) -> dict[str, str]:
    if UNRATIFIED_EMERGENCY.test(change):
        return {
            "ratified": gettext(
                "The final approver must ratify this emergency change before it closes."
            )
        }
    return {}


# --- What an action carries: each payload name, and how its value is read. ---


def _outcome(value: Any) -> tuple[Any, str]:
    if value not in Outcome.values:
        return None, gettext("Choose the outcome: one of %(outcomes)s.") % {
            "outcomes": ", ".join(Outcome.values)
        }
    return value, ""


def _yes_no(value: Any) -> tuple[Any, str]:
    return (value, "") if isinstance(value, bool) else (None, gettext("Answer yes or no."))


def _records_updated(value: Any) -> tuple[Any, str]:
    if value is False:
        return None, gettext("Update the configuration records before you close the change.")
    return _yes_no(value)


# Each reader returns (value, error). The value is recorded in the event's data, and set on
# the RFC's field of that name where there is one.
PAYLOAD_READERS: dict[str, Callable[[Any], tuple[Any, str]]] = {
    "outcome": _outcome,
    "records_updated": _records_updated,
    "caused_incidents": _yes_no,
    "users_informed": _yes_no,
    "item_changes": items.read_item_notes,
}
# Payload that is refused on any other action than its own (it would otherwise be lost).
ONLY_WITH_ITS_ACTION = {
    "item_changes": gettext_noop("What changed on each item is recorded when the change is closed.")
}


@dataclass(frozen=True)
class Transition:
    source: State
    action: Action
    target: State
    by: Role
    # What the RFC must hold first, and what else the row checks.
    requires: tuple[str, ...] = ()
    guards: tuple[Guard, ...] = ()
    # What the person is told when the RFC lacks something the row requires.
    refusal: str = gettext_noop("Some sections need filling in first.")
    needs_reason: bool = False
    # The content this action approves: its digest is recorded with the event.
    approves: tuple[str, ...] = ()
    route: Callable[[Change, State], State] | None = None
    only_when: Condition = ALWAYS
    # What the action carries (see PAYLOAD_READERS); each is set on the RFC and recorded.
    payload: tuple[str, ...] = ()
    # Fields set on the RFC when the action is taken, e.g. {"ratified": True}, and what else
    # is done in the same transaction once its event is written.
    sets: tuple[tuple[str, Any], ...] = ()
    effects: tuple[Callable[[Change, ChangeEvent], None], ...] = ()
    # The person who acts becomes the one named, when no one is yet (the implementer).
    claims: bool = False
    # While the RFC waits for this row: what the person is asked to do (the rows without a
    # task are the other ways out), and which fields the originator may still edit.
    task: str = ""
    edits: tuple[str, ...] = ()
    # The signature row of the printed form this action fills, and when it is printed.
    signature: str = ""
    signed_when: Callable[[Change], bool] | None = None

    @property
    def person(self) -> str:
        """The RFC field naming who must act."""
        return ROLE_FIELD[self.by]

    def applies(self, change: Change) -> bool:
        return self.only_when.test(change)

    def destination(self, change: Change) -> State:
        return self.route(change, self.target) if self.route else self.target

    def accepts_impact(self, change: Change) -> bool:
        """Whether this approval gives the go-ahead, accepting the impact on the school: the
        final approval, or an emergency's initial approval. The calendar weighs here."""
        return (
            bool(self.approves)
            and self.source != State.APPROVED
            and self.destination(change) == State.APPROVED
        )


S, A, R = State, Action, Role
PEER_REVIEW_ON = "peer_review_on"

TRANSITIONS: tuple[Transition, ...] = (
    # 2. The originator raises the RFC and sends it for approval to proceed.
    Transition(S.DRAFT, A.SUBMIT, S.AWAITING_INITIAL_APPROVAL, R.ORIGINATOR,
               requires=("title", "description", "reason", "initial_approver"),
               guards=(emergency_justified,), only_when=NOT_STANDARD,
               task="complete it and submit it", edits=EVERYTHING),
    # A standard change: raised from a template approved once (the app that keeps them
    # guards it), it goes ahead at once, its window still weighed against the calendar.
    Transition(S.DRAFT, A.RAISE_STANDARD, S.APPROVED, R.ORIGINATOR,
               requires=("title", "description", "reason", *PLAN_FIELDS), approves=ALL_CONTENT,
               only_when=STANDARD,
               refusal=gettext_noop("A standard change needs its plan and window."),
               signature="Standard change (approved as its template)",
               signed_when=lambda change: change.is_standard),
    Transition(S.DRAFT, A.WITHDRAW, S.WITHDRAWN, R.ORIGINATOR),
    # 3. The initial approver agrees it may be planned, sends it back, or rejects it.
    Transition(S.AWAITING_INITIAL_APPROVAL, A.APPROVE, S.PLANNING, R.INITIAL_APPROVER,
               approves=REQUEST_FIELDS, route=emergency_skips_planning,
               task="decide whether it may be planned", signature="Initial approver"),
    Transition(S.AWAITING_INITIAL_APPROVAL, A.RETURN, S.DRAFT, R.INITIAL_APPROVER,
               needs_reason=True),
    Transition(S.AWAITING_INITIAL_APPROVAL, A.REJECT, S.REJECTED, R.INITIAL_APPROVER,
               needs_reason=True),
    Transition(S.AWAITING_INITIAL_APPROVAL, A.WITHDRAW, S.WITHDRAWN, R.ORIGINATOR),
    # 4. The originator plans it.
    Transition(S.PLANNING, A.SUBMIT_PLAN, S.AWAITING_PEER_REVIEW, R.ORIGINATOR,
               requires=(*PLAN_FIELDS, "final_approver"), guards=(peer_reviewer_named,),
               route=peer_review_optional, task="write the plan and submit it", edits=THE_PLAN),
    Transition(S.PLANNING, A.WITHDRAW, S.WITHDRAWN, R.ORIGINATOR),
    # 5. A peer reviewer, never the originator, confirms the plan is sound.
    Transition(S.AWAITING_PEER_REVIEW, A.APPROVE, S.AWAITING_FINAL_APPROVAL, R.PEER_REVIEWER,
               approves=ALL_CONTENT, task="review the plan", signature="Peer reviewer",
               signed_when=lambda change: change.school.peer_review_enabled),
    Transition(S.AWAITING_PEER_REVIEW, A.RETURN, S.PLANNING, R.PEER_REVIEWER, needs_reason=True),
    # 6. The final approver accepts the impact on the school.
    Transition(S.AWAITING_FINAL_APPROVAL, A.APPROVE, S.APPROVED, R.FINAL_APPROVER,
               approves=ALL_CONTENT, task="decide whether it may go ahead",
               signature="Final approver"),
    Transition(S.AWAITING_FINAL_APPROVAL, A.RETURN, S.PLANNING, R.FINAL_APPROVER,
               needs_reason=True),
    Transition(S.AWAITING_FINAL_APPROVAL, A.REJECT, S.REJECTED, R.FINAL_APPROVER,
               needs_reason=True),
    # Emergency changes: the final approval is given afterwards, on the completed plan.
    Transition(S.APPROVED, A.RATIFY, S.APPROVED, R.FINAL_APPROVER,
               requires=(*PLAN_FIELDS, "final_approver"), approves=ALL_CONTENT,
               only_when=UNRATIFIED_EMERGENCY, sets=(("ratified", True),),
               task="ratify the emergency change", edits=THE_PLAN,
               signature="Final approver (ratified)",
               signed_when=lambda change: change.is_emergency),
    Transition(S.IMPLEMENTED, A.RATIFY, S.IMPLEMENTED, R.FINAL_APPROVER,
               requires=(*PLAN_FIELDS, "final_approver"), approves=ALL_CONTENT,
               only_when=UNRATIFIED_EMERGENCY, sets=(("ratified", True),),
               task="ratify the emergency change", edits=THE_PLAN,
               signature="Final approver (ratified)",
               signed_when=lambda change: change.is_emergency),
    # 8. The implementer carries it out and records the outcome.
    Transition(S.APPROVED, A.RECORD_OUTCOME, S.IMPLEMENTED, R.IMPLEMENTER, payload=("outcome",),
               claims=True, task="carry it out and record the outcome", edits=("implementer",),
               signature="Implementer (outcome)"),
    Transition(S.APPROVED, A.WITHDRAW, S.WITHDRAWN, R.ORIGINATOR),
    # 9 and 10. The records are updated, the short review answered, and the originator closes.
    Transition(S.IMPLEMENTED, A.CLOSE, S.CLOSED, R.ORIGINATOR, payload=(*REVIEW, "item_changes"),
               guards=(ratified_if_emergency,), effects=(items.record_item_notes,),
               refusal=gettext_noop("The action needs more information."),
               task="update the records and close it",
               signature="Closed by originator"),
)  # fmt: skip

_BY_KEY = {(t.source, t.action): t for t in TRANSITIONS}
# The rows from each state, in table order (asked for every RFC of every list).
_FROM: dict[str, tuple[Transition, ...]] = {
    str(state): tuple(t for t in TRANSITIONS if t.source == state) for state in State
}


def transition_for(state: str, action: str) -> Transition | None:
    return _BY_KEY.get((State(state), Action(action)))


def actions_from(state: str) -> list[Transition]:
    return list(_FROM.get(str(state), ()))


# --- What the table says about an RFC: who it waits on, and what may still be edited. ---


def tasks(change: Change, state: str | None = None) -> list[Transition]:
    """The rows the RFC waits for in `state` (its own by default), in table order."""
    state = change.state if state is None else state
    return [t for t in actions_from(state) if t.task and t.applies(change)]


def waiting_on(change: Change) -> tuple[Transition, User | None] | None:
    """The first step the RFC waits for, and the person named for it (None: not yet named)."""
    # The main path first; a step that only some RFCs need (ratifying an emergency) after.
    waiting = sorted(tasks(change), key=lambda t: t.only_when is not ALWAYS)
    if not waiting:
        return None
    first = waiting[0]
    return first, getattr(change, first.person)


def editable_fields(change: Change) -> frozenset[str]:
    """The fields the originator may still change: those of the steps it waits for."""
    return frozenset(name for t in tasks(change) for name in t.edits)


def task_rows(role: str) -> list[Transition]:
    """The rows in which `role` is asked to act (My work's sections are built from them)."""
    return [t for t in TRANSITIONS if t.task and t.by == role]


# --- Who may act. ---


def acting_for(actor: User, change: Change, transition: Transition) -> tuple[bool, User | None]:
    """Whether `actor` may take `transition` on `change`, and for whom when they act as deputy.

    Returns (allowed, on_behalf_of). Uses the actor's prefetched memberships when present.
    """
    if not actor.is_active:
        return False, None
    roles = permissions.roles(actor, change.school)
    named: User | None = getattr(change, transition.person)
    if transition.by == Role.ORIGINATOR:
        return (actor.pk == change.originator_id and Role.ORIGINATOR in roles), None
    if transition.claims:
        # Anyone holding the role may pick the work up while no one is named.
        allowed = transition.by in roles and (named is None or named.pk == actor.pk)
        return allowed, None
    if not permissions.separation_allows(
        actor.pk, change.originator_id, transition.by, change.school
    ):
        return False, None
    if named is not None and named.pk == actor.pk and transition.by in roles:
        return True, None
    if (
        named is not None
        and named.pk != actor.pk
        and _is_deputy(actor, named, change, transition)
        # A viewer decides nothing, even one named deputy before they became a viewer.
        and permissions.deputy_may_decide(actor, transition.by, change.school)
    ):
        return True, named
    return False, None


def _is_deputy(actor: User, approver: User, change: Change, transition: Transition) -> bool:
    return transition.by in APPROVER_ROLES and any(
        d.school_id == change.school_id
        and d.approver_id == approver.pk
        and d.role in ("", transition.by)
        for d in deputising(actor)
    )


def deputising(actor: User) -> list[Delegation]:
    """The actor's active delegations, read once per user object (once per request), in no
    order (its callers ask whether any covers an RFC, or sort them)."""
    cached: list[Delegation] | None = getattr(actor, "_deputising", None)
    if cached is None:
        cached = list(Delegation.objects.active().filter(deputy=actor).order_by())
        actor._deputising = cached  # type: ignore[attr-defined]
    return cached


def allowed_actions(change: Change, user: User) -> list[str]:
    """The actions `user` may take on `change` now (what the buttons and the API show)."""
    if not user.is_authenticated:
        return []
    return [
        t.action.value
        for t in actions_from(change.state)
        if t.applies(change) and acting_for(user, change, t)[0]
    ]


# --- What the RFC must hold. ---


def unmet(change: Change, transition: Transition) -> dict[str, str]:
    """The fields the row requires that the RFC does not hold yet, by name, with labels."""
    found: dict[str, str] = {}
    for name in transition.requires:
        value = getattr(change, name)
        if value is None or (isinstance(value, str) and not value.strip()):
            found[name] = str(Change._meta.get_field(name).verbose_name)  # type: ignore[union-attr]
    return found


def lower_label(label: str) -> str:
    """An English label (a field's verbose name, an action's or a role's label) in the
    active language, with a small first letter: the catalogue holds it capitalised
    ("final approver" → "cymeradwywr terfynol"); one it lacks stays as it is."""
    capital = label[:1].upper() + label[1:]
    translated = gettext(capital)
    return translated[:1].lower() + translated[1:]


def _missing(change: Change, transition: Transition) -> dict[str, str]:
    verb = lower_label(transition.action.label)
    errors = {
        name: gettext("Fill in the %(field)s before you %(verb)s.")
        % {"field": lower_label(label), "verb": verb}
        for name, label in unmet(change, transition).items()
    }
    for guard in transition.guards:
        errors.update(guard(change))
    if change.planned_start and change.planned_end and change.planned_end <= change.planned_start:
        errors["planned_end"] = gettext("The planned end must be after the planned start.")
    errors.update(_people_errors(change))
    return errors


def _people_errors(change: Change) -> dict[str, str]:
    """Separation of duties for the people named on the RFC (the one rule, in permissions)."""
    errors: dict[str, str] = {}
    for role in (Role.PEER_REVIEWER, Role.FINAL_APPROVER):
        field = ROLE_FIELD[role]
        person_id = getattr(change, f"{field}_id")
        if person_id is not None and not permissions.separation_allows(
            person_id, change.originator_id, role, change.school
        ):
            errors[field] = permissions.separation_error(role)
    return errors


def _apply_payload(change: Change, transition: Transition, data: dict[str, Any]) -> dict[str, Any]:
    """Read and set what the action carries (the outcome, the review answers)."""
    recorded: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, message in ONLY_WITH_ITS_ACTION.items():
        if name not in transition.payload and PAYLOAD_READERS[name](data.get(name))[0]:
            owners = " or ".join(sorted({t.action.value for t in TRANSITIONS if name in t.payload}))
            raise InvalidAction(
                gettext(message),
                {
                    name: gettext("Send this with the %(actions)s action only.")
                    % {"actions": owners}
                },
            )
    for name in transition.payload:
        value, error = PAYLOAD_READERS[name](data.get(name))
        if error:
            errors[name] = error
        elif value != {}:
            if name in _FIELDS:
                setattr(change, name, value)
            recorded[name] = value
    if errors:
        raise InvalidAction(gettext("The action needs more information."), errors)
    return recorded


# --- The one door. ---


def perform(
    change_id: int,
    action: str,
    actor: User,
    *,
    comment: str = "",
    data: dict[str, Any] | None = None,
    expected_version: int | None = None,
    channel: dict[str, str] | None = None,
) -> Change:
    """Take `action` on the RFC as `actor`: lock, guard, change state, record, notify.

    Raises a `WorkflowError` subclass, having written nothing, when the action may not
    be taken. Exactly one of two concurrent actions wins; the other gets `StaleChange`.
    `data` holds what the action carries: its row's payload, and what the extensions'
    guards read (e.g. `override_reason`). An extension's authority (e.g. a committee
    meeting, `data["committee_meeting"]`) may let the actor decide for the named approver.
    `channel` says how the action came in when not through a signed-in page or the API (e.g.
    `{"via": "email_link", "link": …}`); the event's data keeps it.
    """
    if action not in Action.values:
        known = ", ".join(Action.values)
        raise UnknownAction(
            gettext("Unknown action %(action)s.") % {"action": repr(action)},
            {"action": gettext("Use one of: %(actions)s.") % {"actions": known}},
        )
    data = data or {}
    comment = (comment or "").strip()
    with writer.locked(change_id, expected_version, say_state=True) as change:
        actor = permissions.with_roles(actor)
        transition = transition_for(change.state, action)
        if transition is None or not transition.applies(change):
            raise StaleChange(
                gettext("%(reference)s is %(state)s: “%(action)s” is not possible now.")
                % {
                    "reference": change.reference,
                    "state": lower_label(change.get_state_display()),
                    "action": gettext(Action(action).label),
                }
            )
        on_behalf_of, recorded = _authorise(actor, change, transition, data)
        waited_for = {(t.action, t.by) for t in tasks(change)}
        if transition.needs_reason and not comment:
            raise InvalidAction(
                gettext("Give a reason."),
                {"comment": gettext("Say why, so the originator knows what to do next.")},
            )
        before = {name: field_value(change, name) for name in _RECORDED}
        recorded.update(_apply_payload(change, transition, data))
        if transition.claims and getattr(change, transition.person) is None:
            setattr(change, transition.person, actor)
        errors = _missing(change, transition)
        if errors:
            raise InvalidAction(gettext(transition.refusal), errors)
        recorded.update(extensions.run_guards(change, transition, data))
        recorded.update(channel or {})
        from_state = change.state
        change.state = transition.destination(change)
        for name, value in transition.sets:
            setattr(change, name, value)
        diffs = [
            {"field": n, "before": before[n], "after": field_value(change, n)}
            for n in _RECORDED
            if before[n] != field_value(change, n)
        ]
        event = writer.save(
            change,
            transition.action,
            actor,
            fields=_SAVED,
            on_behalf_of=on_behalf_of,
            from_state=from_state,
            comment=comment,
            diffs=diffs,
            data=recorded,
            digest=change.digest(transition.approves) if transition.approves else "",
        )
        for effect in transition.effects:
            effect(change, event)
        extensions.run_effects(change, event, transition, data)
        asked = [
            (t.by, t.person, t.task)
            for t in tasks(change)
            if change.state != from_state and (t.action, t.by) not in waited_for
        ]
        notify.notify_after_action(change, event, asked)
    return change


def _authorise(
    actor: User, change: Change, transition: Transition, data: dict[str, Any]
) -> tuple[User | None, dict[str, Any]]:
    """For whom the actor acts, and what the event records of the authority they act by."""
    authority = extensions.authority_for(data)
    if authority is not None:
        on_behalf_of: User | None = authority.resolve(
            data[authority.key], actor, change, transition
        )
        return on_behalf_of, {authority.key: data[authority.key]}
    allowed, on_behalf_of = acting_for(actor, change, transition)
    if not allowed:
        raise NotPermitted(_refusal(change, transition, actor))
    return on_behalf_of, {}


_FIELDS = frozenset(f.name for f in Change._meta.get_fields())
# What an action writes on the RFC, read off the table. Recorded as field changes in its
# event: the payload that lands in a field, and the person a row lets its actor claim.
# Saved besides: the state and the flags the rows set (which the action itself records).
_RECORDED = tuple(
    dict.fromkeys(
        [name for t in TRANSITIONS for name in t.payload if name in _FIELDS]
        + [t.person for t in TRANSITIONS if t.claims]
    )
)
_SAVED = tuple(dict.fromkeys(["state", *(n for t in TRANSITIONS for n, _ in t.sets), *_RECORDED]))


def _refusal(change: Change, transition: Transition, actor: User) -> str:
    """Why `actor` may not take the step, said to them."""
    who = lower_label(Role(transition.by).label)
    named: User | None = getattr(change, transition.person)
    verb = lower_label(transition.action.label)
    said = {"reference": change.reference, "verb": verb, "who": who, "school": change.school.name}
    if transition.by == Role.ORIGINATOR:
        return gettext("Only the originator of %(reference)s may %(verb)s.") % said
    if actor.pk == change.originator_id and not permissions.separation_allows(
        actor.pk, change.originator_id, transition.by, change.school
    ):
        return (
            gettext(
                "You raised %(reference)s, so you may not %(verb)s it as its %(who)s: "
                "%(school)s asks for someone other than the originator."
            )
            % said
        )
    if named is not None and named.pk == actor.pk:
        return (
            gettext(
                "You are named as %(who)s on %(reference)s but no longer hold that role at "
                "%(school)s: ask a school administrator."
            )
            % said
        )
    if named is not None:
        return gettext(
            "Only %(name)s, the %(who)s named on %(reference)s, or their deputy may %(verb)s."
        ) % {**said, "name": named.display_name}
    return gettext("Only a %(who)s of %(school)s may %(verb)s.") % said
