"""Raising one change for many schools, copying its plan to them, and acting on many.

Every write to a school's RFC goes through the RFC's own doors (`changes.services` and
`changes.workflow.perform`), as the trust technician, so each school's RFC is checked,
recorded and told about exactly as one raised there would be: its own people, its own
separation of duties, its own history and notices. Raising is all or nothing; the actions
on many are taken school by school, each in its own transaction, and the result of each
is reported (a school whose RFC has moved on is refused, the others go ahead).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NoReturn

from django.db import transaction
from django.db.models import Exists, Max, QuerySet, Value
from django.utils.translation import gettext

from changedesk.accounts import permissions, trusts
from changedesk.accounts.choices import TrustRole
from changedesk.accounts.models import School, Trust, TrustMembership, User
from changedesk.changes import services as change_services
from changedesk.changes import workflow
from changedesk.changes.choices import State
from changedesk.changes.models import PLAN_FIELDS, REQUEST_FIELDS, Change
from changedesk.lib.errors import InvalidAction, NotPermitted, WorkflowError, refuse_unknown
from changedesk.lib.loading import attach
from changedesk.schedule.calendar import sane_year
from changedesk.schedule.slots import ChangeKind, find_safe_slots
from changedesk.trustwide.models import Child, ParentChange

# What is asked once and copied to every school's RFC when it is raised.
RAISED_FIELDS = (*REQUEST_FIELDS, *PLAN_FIELDS)
# What "copy the plan" copies: the plan, never a school's people.
COPIED_FIELDS = PLAN_FIELDS
# The parent keeps the request as it was asked.
PARENT_FIELDS = ("title", "description", "reason", "is_emergency")
# Most schools one change is raised for at once (a trust of this size is very large).
MOST_SCHOOLS = 500


@dataclass(frozen=True)
class Placement:
    """Where each school's window goes: the same for every school (`start`, `end`), or
    each school's own next safe slot of `minutes` from `after` (default: its lead time)."""

    start: datetime | None = None
    end: datetime | None = None
    minutes: int | None = None
    after: datetime | None = None

    @property
    def each_school(self) -> bool:
        return self.minutes is not None


@dataclass
class Result:
    """What happened at one school."""

    child: Child
    ok: bool
    message: str = ""
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def school(self) -> School:
        return self.child.school


# --- Who may. ---


def may_raise(user: Any, trust: Trust) -> bool:
    """A trust technician raises changes in the trust's schools."""
    return TrustRole.TRUST_TECHNICIAN in permissions.trust_roles(user, trust)


def may_see(user: Any, trust: Trust) -> bool:
    """Whoever holds a role in the trust (a superuser: every trust) sees its trust-wide
    changes; a school's own people see their school's RFC, not the other schools'."""
    if not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_superuser) or bool(permissions.trust_roles(user, trust))


def may_see_in_sql(user: Any, trust: Any) -> Any:
    """`may_see` as an expression of a query whose rows name the trust (`trust`, e.g.
    `OuterRef("parent__trust")`): read with the row rather than asked after it."""
    if not user.is_authenticated or not user.is_active:
        return Value(False)
    if user.is_superuser:
        return Value(True)
    return Exists(TrustMembership.objects.filter(user=user.pk, trust=trust))


def visible_parents(user: Any) -> QuerySet[ParentChange]:
    """The trust-wide changes `user` may see, newest first."""
    found = ParentChange.objects.select_related("trust", "originator")
    if not user.is_authenticated or not user.is_active:
        return found.none()
    if user.is_superuser:
        return found
    return found.filter(trust__in=[t.pk for t in permissions.trusts(user)])


# --- Raising. ---


def schools_of(trust: Trust, slugs: Iterable[str] | None) -> list[School]:
    """The trust's schools named by `slugs` (None: all of them), by name; a field error
    names any that is not one of the trust's."""
    in_trust = School.objects.filter(trust=trust).order_by("name")
    if slugs is None:
        found = list(in_trust)
        if not found:
            raise InvalidAction(
                gettext("%(trust)s has no schools yet.") % {"trust": trust.name},
                {"schools": gettext("%(trust)s has no schools.") % {"trust": trust.name}},
            )
        return found
    wanted = list(dict.fromkeys(s.strip() for s in slugs if s.strip()))
    if not wanted:
        _no_schools()
    if len(wanted) > MOST_SCHOOLS:
        raise InvalidAction(
            gettext("Too many schools."),
            {"schools": gettext("At most %(most)s schools at once.") % {"most": MOST_SCHOOLS}},
        )
    found = list(in_trust.filter(slug__in=wanted))
    missing = sorted(set(wanted) - {s.slug for s in found})
    if missing:
        names = {"trust": trust.name, "schools": ", ".join(missing)}
        raise InvalidAction(
            gettext("Not all of them are schools of %(trust)s.") % names,
            {"schools": gettext("Not a school of %(trust)s: %(schools)s.") % names},
        )
    return found


def _no_schools() -> NoReturn:
    raise InvalidAction(
        gettext("Choose the schools."), {"schools": gettext("Choose at least one school.")}
    )


def raise_for_schools(
    trust: Trust,
    originator: User,
    data: dict[str, Any],
    schools: Sequence[School],
    placement: Placement = Placement(),
) -> tuple[ParentChange, list[str]]:
    """Raise one change in each of `schools` (the trust's) as `originator`, a trust
    technician: the parent and an RFC per school (a draft, with each school's own people
    named where it has one holder of a role), all or nothing. Returns the parent and notes
    for the person (a school where no safe slot was found keeps its window open)."""
    if not may_raise(originator, trust):
        raise NotPermitted(
            gettext("Only a trust technician of %(trust)s may raise a trust-wide change.")
            % {"trust": trust.name}
        )
    refuse_unknown(data, RAISED_FIELDS)
    if not schools:
        _no_schools()
    if any(school.trust_id != trust.pk for school in schools):
        raise InvalidAction(
            gettext("Not all of them are the trust's."),
            {"schools": gettext("Not all of them are schools of the trust.")},
        )
    values = dict(data)
    if not placement.each_school and placement.start is not None:
        values.update(planned_start=placement.start, planned_end=placement.end)
    notes: list[str] = []
    errors: dict[str, list[str]] = {}
    with transaction.atomic():
        # Locking the trust serialises its numbering, and its schools joining and leaving:
        # a school that left since it was chosen is refused, not raised for.
        trusts.lock(trust)
        still = set(
            School.objects.filter(pk__in=[s.pk for s in schools], trust=trust).values_list(
                "pk", flat=True
            )
        )
        gone = [school.name for school in schools if school.pk not in still]
        if gone:
            raise InvalidAction(
                gettext("Not all of them are the trust's."),
                {
                    "schools": gettext("No longer a school of %(trust)s: %(schools)s.")
                    % {"trust": trust.name, "schools": ", ".join(gone)}
                },
            )
        last = ParentChange.objects.filter(trust=trust).aggregate(n=Max("number"))["n"] or 0
        parent = ParentChange.objects.create(
            trust=trust,
            number=last + 1,
            originator=originator,
            **{name: values[name] for name in PARENT_FIELDS if name in values},
        )
        children: list[Child] = []
        for school in schools:
            own = dict(values)
            if placement.each_school:
                slot = _next_slot(school, placement, values.get("is_emergency", False), None)
                if slot is None:
                    notes.append(
                        gettext(
                            "No safe slot in the next 60 days at %(school)s: "
                            "its window is left to plan."
                        )
                        % {"school": school.name}
                    )
                else:
                    own.update(planned_start=slot[0], planned_end=slot[1])
            try:
                with transaction.atomic():
                    change = change_services.create_change(school, originator, own)
            except WorkflowError as error:
                for name, message in (error.fields or {"schools": error.message}).items():
                    errors.setdefault(name, []).append(f"{school.name}: {message}")
                continue
            children.append(Child(parent=parent, change=change, school=school))
        if errors:
            # Raised inside the transaction: every school's RFC made so far goes with it.
            raise InvalidAction(
                gettext("It could not be raised in every school; nothing was raised."),
                {name: " ".join(messages) for name, messages in errors.items()},
            )
        Child.objects.bulk_create(children)
    return parent, notes


def _next_slot(
    school: School, placement: Placement, emergency: bool, change_id: int | None
) -> tuple[datetime, datetime] | None:
    assert placement.minutes is not None
    if placement.after is not None and not sane_year(placement.after.year + 1):
        raise InvalidAction(
            gettext("Choose a time between 1900 and 2998."),
            {"after": gettext("Choose a time between 1900 and 2998.")},
        )
    search = find_safe_slots(
        school,
        timedelta(minutes=placement.minutes),
        [],
        kind=ChangeKind.EMERGENCY if emergency else ChangeKind.NORMAL,
        after=placement.after,
        count=1,
        exclude_change_id=change_id,
    )
    return search.slots[0] if search.slots else None


# --- The parent's children, and acting on many. ---


def children(parent: ParentChange, schools: Iterable[str] | None = None) -> list[Child]:
    """The parent's children (each with its RFC, school and people loaded), by school name;
    with `schools`, only those of the schools with these slugs."""
    # A school that has left the trust keeps its RFC, but it is no longer the trust's to
    # see (its people no longer hold roles there): it drops out of the parent.
    found = Child.objects.filter(parent=parent, school__trust=parent.trust_id).select_related(
        "school", "change"
    )
    if schools is not None:
        found = found.filter(school__slug__in=list(schools))
    rows = list(found.order_by("school__name"))
    changes = [row.change for row in rows]
    for row in rows:
        # The RFC's school is the child's (one query for both).
        row.change.school = row.school
    attach(
        changes, "originator", "initial_approver", "peer_reviewer", "final_approver", "implementer"
    )
    return rows


def chosen(parent: ParentChange, slugs: Iterable[str] | None) -> list[Child]:
    """The children of the schools named (None: all), refusing a school without one."""
    rows = children(parent)
    if slugs is None:
        return rows
    wanted = list(dict.fromkeys(slugs))
    if not wanted:
        _no_schools()
    by_slug = {row.school.slug: row for row in rows}
    missing = [slug for slug in wanted if slug not in by_slug]
    if missing:
        raise InvalidAction(
            gettext("Not all of them are part of this change."),
            {
                "schools": gettext("Not part of %(reference)s: %(schools)s.")
                % {"reference": parent.reference, "schools": ", ".join(missing)}
            },
        )
    return [by_slug[slug] for slug in wanted]


def act_on_many(
    parent: ParentChange,
    actor: User,
    action: str,
    rows: Sequence[Child],
    *,
    comment: str = "",
    data: dict[str, Any] | None = None,
) -> list[Result]:
    """Take `action` on each of `rows`' RFCs as `actor`, through the workflow's one door,
    each on its own: where the actor may not, or the RFC is not ready, that school is
    refused with the reason and the others go ahead."""
    _check_seen(parent, actor)
    results: list[Result] = []
    for row in rows:
        try:
            with transaction.atomic():
                row.change = workflow.perform(
                    row.change_id, action, actor, comment=comment, data=dict(data or {})
                )
        except WorkflowError as error:
            results.append(Result(row, False, error.message, error.fields))
            continue
        state = gettext(row.change.get_state_display()).lower()
        results.append(Result(row, True, f"{row.change.reference}: {state}"))
    return results


def copy_plan(
    parent: ParentChange,
    actor: User,
    plan: dict[str, Any],
    rows: Sequence[Child],
    placement: Placement = Placement(),
    *,
    comment: str = "",
) -> list[Result]:
    """Copy one plan (and a window: the same for all, or each school's next safe slot) to
    each of `rows`' RFCs, as an edit by `actor` (their originator), school by school. An RFC
    whose plan is no longer open to edits (submitted, approved) is refused and kept."""
    _check_seen(parent, actor)
    refuse_unknown(plan, COPIED_FIELDS, gettext("Only the plan is copied."))
    values = dict(plan)
    if not placement.each_school and placement.start is not None:
        values.update(planned_start=placement.start, planned_end=placement.end)
    if not values and not placement.each_school:
        raise InvalidAction(
            gettext("Nothing to copy."), {"details": gettext("Give the plan to copy.")}
        )
    results: list[Result] = []
    for row in rows:
        own = dict(values)
        if placement.each_school:
            slot = _next_slot(row.school, placement, row.change.is_emergency, row.change_id)
            if slot is None:
                message = gettext("No safe slot in the next 60 days at %(school)s.")
                results.append(Result(row, False, message % {"school": row.school.name}))
                continue
            own.update(planned_start=slot[0], planned_end=slot[1])
        try:
            with transaction.atomic():
                row.change = change_services.update_change(
                    row.change_id, actor, own, comment=comment
                )
        except WorkflowError as error:
            results.append(Result(row, False, error.message, error.fields))
            continue
        copied = gettext("%(reference)s: plan copied") % {"reference": row.change.reference}
        results.append(Result(row, True, copied))
    return results


def _check_seen(parent: ParentChange, actor: User) -> None:
    if not may_see(actor, parent.trust):
        raise NotPermitted(
            gettext("Only the people of %(trust)s act on its trust-wide changes.")
            % {"trust": parent.trust.name}
        )


# --- What the parent page and the API show. ---


@dataclass(frozen=True)
class Row:
    """One school's line of the matrix."""

    child: Child
    change: Change
    waiting_for: str
    waiting_person: User | None


def matrix(parent: ParentChange) -> list[Row]:
    """Each school's RFC: where it stands, and what (and whom) it waits on."""
    rows = []
    for child in children(parent):
        change = child.change
        waiting = workflow.waiting_on(change)
        rows.append(
            Row(
                child,
                change,
                waiting[0].task if waiting else "",
                waiting[1] if waiting else None,
            )
        )
    return rows


def summary(rows: Sequence[Row]) -> list[tuple[str, int]]:
    """How many schools' RFCs stand in each state, in the workflow's order."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.change.state] = counts.get(row.change.state, 0) + 1
    return [(State(state).label, counts[state]) for state in State.values if state in counts]
