"""The change advisory committee: meetings, their agendas, attendance and decisions.

Every write goes through a function here, which checks the actor's role on the server and
raises the workflow's errors (`NotPermitted` 403, `InvalidAction` 400 with field errors,
`StaleChange` 409), so the pages and the API refuse alike. A decision on an RFC is applied
through `workflow.perform(..., data={"committee_meeting": id})` (see `rfc.py`): the chair
or the secretary acts for the approver named on the RFC, who must be recorded present
(`approver_in_meeting`). What the meeting page offers is asked of the same rules
beforehand (`offer`), so it offers only what `decide` will take.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, Prefetch, QuerySet, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext

from changedesk.accounts import permissions
from changedesk.accounts.choices import APPROVER_ROLES, Role
from changedesk.accounts.models import Membership, School, User
from changedesk.accounts.permissions import is_school_admin
from changedesk.accounts.permissions import with_roles as _with_roles
from changedesk.changes.choices import AWAITING_DECISION_STATES, Action, State
from changedesk.changes.models import Change
from changedesk.changes.workflow import Transition, acting_for, perform, transition_for, unmet
from changedesk.committee.choices import DECISION_ACTIONS, Decision, MeetingStatus
from changedesk.committee.models import AgendaItem, Meeting, ReminderSettings
from changedesk.lib.errors import (
    InvalidAction,
    NotPermitted,
    StaleChange,
    WorkflowError,
    refuse_unknown,
)

MEETING_FIELDS = ("title", "held_at", "chair", "minutes")
# The order RFCs are listed in on an agenda: earliest in the FITS process first.
STATE_ORDER = {
    State.AWAITING_INITIAL_APPROVAL: 0,
    State.AWAITING_PEER_REVIEW: 1,
    State.AWAITING_FINAL_APPROVAL: 2,
}


# --- Who may (beyond the rules in `accounts.permissions`). ---


def may_run(user: Any, meeting: Meeting) -> bool:
    """The chair, or a school administrator as the committee's secretary (a superuser
    counts as one, as everywhere)."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.pk == meeting.chair_id or is_school_admin(user, meeting.school)


def _must_run(user: User, meeting: Meeting) -> None:
    if not may_run(user, meeting):
        raise NotPermitted(
            gettext(
                "Only the chair of “%(title)s” or a school administrator of %(school)s may do this."
            )
            % {"title": meeting.title, "school": meeting.school.name}
        )


def _members(school: School, people: Iterable[User]) -> tuple[list[User], list[str]]:
    """`people` who are active members of `school`, and the names of those who are not."""
    wanted = {p.pk: p for p in people}
    members = set(
        User.objects.filter(pk__in=wanted, is_active=True, memberships__school=school).values_list(
            "pk", flat=True
        )
    )
    strangers = [p.display_name for pk, p in wanted.items() if pk not in members]
    return [p for pk, p in wanted.items() if pk in members], strangers


def visible_meetings(user: User) -> QuerySet[Meeting]:
    return Meeting.objects.visible_to(user)


# --- Settings. ---


def reminder_settings_for(school: School) -> ReminderSettings:
    """The school's reminder settings, made with the defaults on first use."""
    config = ReminderSettings.objects.filter(school=school).first()
    if config is not None:
        return config
    try:
        with transaction.atomic():
            return ReminderSettings.objects.create(school=school)
    except IntegrityError:
        # Another request made them at the same moment.
        return ReminderSettings.objects.get(school=school)


# --- Meetings. ---


def _clean_meeting(school: School, values: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    title = str(values.get("title") or "").strip()
    if not title:
        errors["title"] = gettext("Give the meeting a title, e.g. “CAC, spring term 2”.")
    elif len(title) > 200:
        errors["title"] = gettext("At most 200 characters.")
    values["title"] = title
    held_at = values.get("held_at")
    if not isinstance(held_at, datetime):
        errors["held_at"] = gettext("Give the date and time of the meeting.")
    chair = values.get("chair")
    if not isinstance(chair, User):
        errors["chair"] = gettext("Name who chairs the meeting.")
    elif _members(school, [chair])[1]:
        errors["chair"] = gettext("%(name)s is not a member of %(school)s.") % {
            "name": chair.display_name,
            "school": school.name,
        }
    values["minutes"] = str(values.get("minutes") or "")
    return errors


def create_meeting(school: School, actor: User, data: dict[str, Any]) -> Meeting:
    """Plan a meeting of `school`'s committee; a school administrator's task."""
    actor = _with_roles(actor)
    if not is_school_admin(actor, school):
        raise NotPermitted(
            gettext("Only a school administrator of %(school)s may plan a meeting.")
            % {"school": school.name}
        )
    values = {name: data.get(name) for name in MEETING_FIELDS}
    errors = _clean_meeting(school, values)
    if errors:
        raise InvalidAction(gettext("Some fields need correcting."), errors)
    return Meeting.objects.create(school=school, created_by=actor, **values)


def update_meeting(meeting_id: int, actor: User, data: dict[str, Any]) -> Meeting:
    """Change a meeting's title, time, chair or general minutes (the chair or an admin)."""
    refuse_unknown(data, MEETING_FIELDS)
    actor = _with_roles(actor)
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().select_related("school").get(pk=meeting_id)
        _must_run(actor, meeting)
        values = {name: data.get(name, getattr(meeting, name)) for name in MEETING_FIELDS}
        errors = _clean_meeting(meeting.school, values)
        if errors:
            raise InvalidAction(gettext("Some fields need correcting."), errors)
        for name, value in values.items():
            setattr(meeting, name, value)
        meeting.save(update_fields=[*MEETING_FIELDS, "updated_at"])
    return meeting


def record_attendance(meeting_id: int, actor: User, present: Iterable[User]) -> Meeting:
    """Record who is present: the committee may decide only for approvers in this list."""
    actor = _with_roles(actor)
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().select_related("school").get(pk=meeting_id)
        _must_run(actor, meeting)
        members, strangers = _members(meeting.school, present)
        if strangers:
            raise InvalidAction(
                gettext("Only members of the school can attend."),
                {
                    "members_present": gettext("Not members of %(school)s: %(people)s.")
                    % {"school": meeting.school.name, "people": ", ".join(sorted(strangers))}
                },
            )
        kept = {u.pk for u in members}
        decided_for = (
            User.objects.filter(
                pk__in=meeting.items.exclude(decided_for=None).values("decided_for")
            )
            .exclude(pk__in=kept)
            .order_by("username")
        )
        missing = [u.display_name for u in decided_for]
        if missing:
            raise InvalidAction(
                gettext("The committee has already decided for someone you left out."),
                {
                    "members_present": gettext(
                        "%(people)s took part in decisions already recorded, so must stay on "
                        "the list."
                    )
                    % {"people": ", ".join(missing)}
                },
            )
        meeting.members_present.set(members)
        meeting.save(update_fields=["updated_at"])
    return meeting


def awaiting_approval(school: School) -> QuerySet[Change]:
    """The school's RFCs waiting for a decision: what an agenda is built from."""
    return Change.objects.filter(school=school, state__in=AWAITING_DECISION_STATES)


def build_agenda(meeting_id: int, actor: User) -> int:
    """Add to the agenda every RFC of the school awaiting approval that is not on it yet.

    Building again later adds what has arrived since and leaves the listed items as they
    are. Returns how many were added.
    """
    actor = _with_roles(actor)
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().select_related("school").get(pk=meeting_id)
        _must_run(actor, meeting)
        if meeting.status != MeetingStatus.PLANNED:
            raise StaleChange(
                gettext("“%(title)s” has been held: its agenda is closed.")
                % {"title": meeting.title}
            )
        listed = set(meeting.items.values_list("change_id", flat=True))
        waiting = [
            c
            for c in awaiting_approval(meeting.school).only("pk", "state", "number")
            if c.pk not in listed
        ]
        waiting.sort(key=lambda c: (STATE_ORDER.get(State(c.state), 9), c.number))
        last = meeting.items.aggregate(n=Max("order"))["n"] or 0
        AgendaItem.objects.bulk_create(
            AgendaItem(meeting=meeting, change=c, order=last + i, state_when_listed=c.state)
            for i, c in enumerate(waiting, start=1)
        )
        if waiting:
            meeting.save(update_fields=["updated_at"])
    return len(waiting)


# --- Decisions. ---


@dataclass(frozen=True)
class Offer:
    """What the committee can decide on one agenda item now: the decisions it can take
    (deferring, whenever it can decide at all), why it cannot take the others the workflow
    has in the RFC's state (in the words `decide` refuses them with), and which decisions
    need a minute, as it is the reason the originator reads."""

    decisions: list[Decision]
    why_not: list[str]
    needs_minute: list[Decision]


def _rows(item: AgendaItem) -> list[tuple[Decision, Transition]]:
    """The workflow's rows for the decisions on the item's RFC in its state; none once
    decided, or when the RFC no longer awaits a decision (decided outside the meeting)."""
    change = item.change
    if item.is_decided or change.state not in AWAITING_DECISION_STATES:
        return []
    return [
        (Decision(decision), row)
        for decision, action in DECISION_ACTIONS.items()
        if (row := transition_for(change.state, action)) is not None and row.applies(change)
    ]


def decisions_in_state(item: AgendaItem) -> list[Decision]:
    """Every decision the workflow has for the item's RFC in its state, whether or not the
    committee can take it now: what a posted decision is read against, so that one it
    cannot take is refused by `decide`, in words, rather than as an unknown choice."""
    rows = _rows(item)
    return [*(d for d, _ in rows), Decision.DEFERRED] if rows else []


def present_with_roles(meeting: Meeting) -> list[User]:
    """Who is recorded present, with their memberships and roles loaded (as `with_roles`
    does for one person), so that deciding what the committee may do for each approver on
    the agenda costs the same two queries however long the agenda is."""
    present = list(meeting.members_present.all())
    prefetch_related_objects(
        present,
        Prefetch(
            "memberships", Membership.objects.select_related("school").prefetch_related("roles")
        ),
    )
    return present


def offer(item: AgendaItem, present: Iterable[User]) -> Offer:
    """What the committee can decide on `item` now, `present` being who is recorded present
    at its meeting: the rules `decide` (through `approver_in_meeting` and `perform`) holds
    the decision to, asked before it is offered rather than after."""
    rows = _rows(item)
    if not rows:
        return Offer([], [], [])
    people = {person.pk: person for person in present}
    change = item.change
    offered: list[Decision] = []
    why_not: list[str] = []
    for decision, row in rows:
        try:
            _approver_for(change, row, people)
        except WorkflowError as refusal:
            why_not.append(refusal.message)
            continue
        if missing := unmet(change, row):
            why_not.append(
                f"{change.originator.display_name} must fill in the "
                f"{', '.join(missing.values())} before the committee can "
                f"{row.action.label.lower()}."
            )
            continue
        offered.append(decision)
    needs_minute = [d for d, row in rows if row.needs_reason and d in offered]
    return Offer([*offered, Decision.DEFERRED], list(dict.fromkeys(why_not)), needs_minute)


def possible_decisions(item: AgendaItem, present: Iterable[User] | None = None) -> list[Decision]:
    """The decisions the committee can take on `item` now (see `offer`); `present` is read
    from the meeting when not given."""
    if present is None:
        present = item.meeting.members_present.all()
    return offer(item, present).decisions


def decide(
    item_id: int,
    actor: User,
    decision: str,
    minute: str = "",
    *,
    expected_version: int | None = None,
) -> AgendaItem:
    """Record the committee's decision on one agenda item, and apply it to the RFC.

    Approve, return and reject go through the workflow on behalf of the approver named on
    the RFC (who must be present); a deferral changes nothing but the minutes. Either both
    the minute and the RFC's new state are written, or neither.
    """
    if decision not in Decision.values:
        raise InvalidAction(
            gettext("Choose a decision."),
            {
                "decision": gettext("Use one of: %(actions)s.")
                % {"actions": ", ".join(Decision.values)}
            },
        )
    minute = (minute or "").strip()
    actor = _with_roles(actor)
    try:
        with transaction.atomic():
            item = (
                AgendaItem.objects.select_for_update(of=("self",))
                .select_related("meeting", "meeting__school", "change")
                .get(pk=item_id)
            )
            meeting = item.meeting
            _must_run(actor, meeting)
            if item.is_decided:
                raise StaleChange(
                    gettext("The committee has already decided on %(reference)s: %(decision)s.")
                    % {
                        "reference": item.change.reference,
                        "decision": str(item.get_decision_display()).lower(),
                    }
                )
            if item.change.state not in AWAITING_DECISION_STATES:
                raise StaleChange(
                    gettext("%(reference)s is %(state)s: it no longer awaits a decision.")
                    % {
                        "reference": item.change.reference,
                        "state": gettext(item.change.get_state_display()).lower(),
                    }
                )
            action = DECISION_ACTIONS.get(decision)
            if action is not None:
                # The minute is the reason the history keeps: for a return or a rejection,
                # and for approving despite soft conflicts with the school calendar.
                data: dict[str, Any] = {"committee_meeting": meeting.pk}
                if minute and action == Action.APPROVE:
                    data["override_reason"] = minute
                change = perform(
                    item.change_id,
                    action,
                    actor,
                    comment=minute,
                    data=data,
                    expected_version=expected_version,
                )
                event = change.events.order_by("-sequence").only("on_behalf_of").first()
                assert event is not None
                item.decided_for_id = event.on_behalf_of_id
                # The RFC as the decision left it, for the confirmation (who is asked next).
                item.change = change
            item.decision = decision
            item.minute = minute
            item.decided_at = timezone.now()
            item.decided_by = actor
            item.save(
                update_fields=["decision", "minute", "decided_at", "decided_by", "decided_for"]
            )
            if meeting.status != MeetingStatus.HELD:
                meeting.status = MeetingStatus.HELD
                meeting.save(update_fields=["status", "updated_at"])
    except WorkflowError as error:
        # The page and the API call the decision's reason its minute.
        for name in ("comment", "override_reason"):
            if name in error.fields:
                error.fields["minute"] = error.fields.pop(name)
        raise
    return item


def approver_in_meeting(
    meeting_id: int, actor: User, change: Change, transition: Transition
) -> User:
    """Whom `actor` acts for when recording, in meeting `meeting_id`, a decision on `change`.

    Registered with the workflow at start-up (see `apps.py`) and called by `perform` with
    the RFC locked. The actor must chair the meeting or be a school administrator; the
    approver named on the RFC must be recorded present, and is held to every rule an
    approver acting alone is held to (their role, separation of duties).
    """
    meeting = (
        Meeting.objects.filter(pk=meeting_id, school_id=change.school_id)
        .select_related("school")
        .first()
    )
    if meeting is None:
        raise InvalidAction(
            gettext("No such meeting."),
            {
                "committee_meeting": gettext("Not a meeting of %(school)s.")
                % {"school": change.school.name}
            },
        )
    _must_run(actor, meeting)
    present = {person.pk: person for person in meeting.members_present.all()}
    return _approver_for(change, transition, present)


def _approver_for(change: Change, transition: Transition, present: Mapping[int, User]) -> User:
    """The approver whose step `transition` is, whom the committee may decide for when
    `present` (by id) are recorded at its meeting; else the refusal, in the plain words the
    meeting page shows next to the RFC and the server gives when the decision is posted
    anyway. The one statement of what the committee may decide, for both."""
    verb = gettext(transition.action.label).lower()
    if transition.by not in APPROVER_ROLES:
        raise InvalidAction(
            gettext("The committee decides approvals; it may not %(verb)s.") % {"verb": verb}
        )
    named: User | None = getattr(change, transition.person)
    role = gettext(Role(transition.by).label).lower()
    if named is None:
        raise InvalidAction(
            gettext("No %(role)s is named on %(reference)s: the committee can only defer it.")
            % {"role": role, "reference": change.reference},
            {transition.person: gettext("Name the %(role)s first.") % {"role": role}},
        )
    if named.pk not in present:
        raise NotPermitted(
            gettext(
                "%(name)s (%(role)s) is not at this meeting: "
                "the committee can only defer %(reference)s."
            )
            % {"name": named.display_name, "role": role, "reference": change.reference}
        )
    approver = _with_roles(present[named.pk])
    allowed, deputy_for = acting_for(approver, change, transition)
    if not allowed or deputy_for is not None:
        raise NotPermitted(
            gettext("%(reason)s: the committee can only defer it.")
            % {"reason": _why_not_for(approver, change, transition)}
        )
    return approver


def _why_not_for(approver: User, change: Change, transition: Transition) -> str:
    """Why `acting_for` refused the approver present, in words (the rule is its own)."""
    role = gettext(Role(transition.by).label).lower()
    name = approver.display_name
    words = {"name": name, "role": role, "reference": change.reference}
    if not approver.is_active:
        return gettext("The account of %(name)s (%(role)s) is deactivated") % words
    if transition.by not in permissions.roles(approver, change.school):
        if role[0] in "aeiou":
            return (
                gettext("%(name)s is named on %(reference)s but is no longer an %(role)s") % words
            )
        return gettext("%(name)s is named on %(reference)s but is no longer a %(role)s") % words
    return gettext("%(name)s raised %(reference)s, so may not %(verb)s it as its %(role)s") % {
        **words,
        "verb": gettext(transition.action.label).lower(),
    }
