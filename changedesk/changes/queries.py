"""The queries behind the pages: what waits for whom, and the change log with its people.

Each returns a queryset with everything its page shows already joined, so the number of
queries a page makes does not grow with the number of RFCs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet, Window

from changedesk.accounts import permissions
from changedesk.accounts.choices import APPROVER_ROLES, Role
from changedesk.accounts.models import Delegation, User
from changedesk.changes import workflow
from changedesk.changes.models import Change
from changedesk.lib.paging import ids_of

# Each section shows this many (the oldest first, or the soonest) and links to the rest.
LIMIT = 10
PEOPLE = ("school", "originator", "initial_approver", "peer_reviewer", "final_approver",
          "implementer")  # fmt: skip


# What a card of My work shows: the RFC's reference, title, state and start, its school and
# who raised it.
CARD_FIELDS = ("school__name", "school__slug", "originator__username", "originator__first_name",
               "originator__last_name", "number", "title", "state", "is_emergency",
               "planned_start", "created_at")  # fmt: skip


def with_people(queryset: QuerySet[Change]) -> QuerySet[Change]:
    return queryset.select_related(*PEOPLE)


@dataclass
class WorkSection:
    key: str
    title: str
    role: str
    hint: str
    changes: list[Change]
    # How many wait in all (the page shows the first `LIMIT`), and the change log's
    # filter that lists them all (the states, and the person named).
    total: int = 0
    states: tuple[str, ...] = ()
    person_filter: str = "person"

    @property
    def more(self) -> int:
        return self.total - len(self.changes)


# How My work presents each role's section; what goes in it is read off the workflow's table.
SECTIONS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    Role.INITIAL_APPROVER: ("initial", "To approve for planning",
                            "Agree that these may be planned, send them back, or reject them.",
                            ("-is_emergency", "created_at")),
    Role.PEER_REVIEWER: ("peer", "To peer review", "Check that each plan is technically sound.",
                         ("planned_start", "created_at")),
    Role.FINAL_APPROVER: ("final", "To approve for implementation",
                          "Give the go-ahead, accepting the impact on the school; "
                          "ratify emergency changes.", ("planned_start", "created_at")),
    Role.IMPLEMENTER: ("implement", "To carry out",
                       "Approved changes to implement; record the outcome when done.",
                       ("planned_start", "created_at")),
    Role.ORIGINATOR: ("mine", "My requests",
                      "Drafts to submit, plans to write, and implemented changes to review "
                      "and close.",
                      ("state", "created_at")),
}  # fmt: skip


def _steps(role: str) -> Q:
    """The RFCs in a state where the table asks `role` to act."""
    condition = Q(pk__in=[])
    for row in workflow.task_rows(role):
        condition |= Q(state=row.source) & row.only_when.query
    return condition


def _named(user: User, role: str, deputising: list[Delegation], memberships: list[Any]) -> Q:
    """RFCs on which `user` is the person for `role`: named, a deputy of the one named, or
    (for work anyone holding the role may pick up) a holder while no one is named."""
    field = workflow.ROLE_FIELD[role]
    condition = Q(**{field: user})
    if role in APPROVER_ROLES:
        for delegation in deputising:
            if delegation.role in ("", role):
                condition |= Q(**{field: delegation.approver_id, "school": delegation.school_id})
    if any(row.claims for row in workflow.task_rows(role)):
        holding = [m.school_id for m in memberships if role in m.role_list]
        condition |= Q(**{f"{field}__isnull": True, "school__in": holding})
    if role != Role.ORIGINATOR:
        # Separation of duties: never one's own RFC where the rulebook says so.
        allowed = [
            m.school_id for m in memberships if permissions.originator_may_be(role, m.school)
        ]
        condition &= ~Q(originator=user) | Q(school__in=allowed)
    return condition


def my_work(user: User) -> list[WorkSection]:
    """What waits for `user`, one section per role they hold somewhere (as in FITS's steps)."""
    memberships = list(user.memberships.select_related("school").prefetch_related("roles"))
    roles: set[str] = {role for m in memberships for role in m.role_list}
    deputising = workflow.deputising(user)
    deputy_roles = {d.role for d in deputising}
    visible = Change.objects.filter(school__in=sorted(m.school_id for m in memberships))
    sections: list[WorkSection] = []
    found: dict[int, list[int]] = {}  # each section's ids, ids first (see lib.paging)
    mine = Q(pk__in=[])  # what waits for me in a role other than the originator's
    for role, (key, title, hint, order) in SECTIONS.items():
        deputy = role in APPROVER_ROLES and ("" in deputy_roles or role in deputy_roles)
        if role not in roles and not deputy:
            continue
        condition = _steps(role) & _named(user, role, deputising, memberships)
        if role != Role.ORIGINATOR:
            mine |= condition
        section = WorkSection(key, title, role, hint, [], states=_states(role))
        found[id(section)] = _first(section, visible.filter(condition).order_by(*order))
        sections.append(section)
    if Role.ORIGINATOR in roles:
        waiting = _waiting_on_others(user, visible, mine)
        section = WorkSection(
            "waiting",
            "My requests waiting on others",
            Role.ORIGINATOR,
            "Nothing for you to do until someone else acts.",
            [],
            states=tuple(sorted(_theirs())),
            person_filter="originator",
        )
        found[id(section)] = _first(section, waiting)
        sections.append(section)
    # One query loads the RFCs of every section, with the people the page names.
    shown = Change.objects.select_related("school", "originator").only(*CARD_FIELDS)
    loaded = shown.in_bulk({pk for ids in found.values() for pk in ids})
    for section in sections:
        section.changes = [loaded[pk] for pk in found[id(section)] if pk in loaded]
    return sections


def _first(section: WorkSection, queryset: QuerySet[Change]) -> list[int]:
    """The ids of the first `LIMIT` RFCs of `queryset`, counting them all in the same query
    (`section.total`)."""
    rows = list(
        ids_of(queryset).annotate(_total=Window(Count("pk"))).values_list("pk", "_total")[:LIMIT]
    )
    section.total = rows[0][1] if rows else 0
    return [pk for pk, _ in rows]


def _states(role: str) -> tuple[str, ...]:
    return tuple(sorted({row.source for row in workflow.task_rows(role)}))


def _theirs() -> set[str]:
    """The states in which an RFC waits on someone other than its originator."""
    theirs = {str(r.source) for r in workflow.TRANSITIONS if r.task and r.by != Role.ORIGINATOR}
    return theirs - {str(row.source) for row in workflow.task_rows(Role.ORIGINATOR)}


def _waiting_on_others(user: User, visible: QuerySet[Change], mine: Q) -> QuerySet[Change]:
    """My RFCs whose next step is someone else's: not mine as originator, nor in any other
    section of mine (e.g. one I implement myself)."""
    return visible.filter(originator=user, state__in=_theirs()).exclude(mine).order_by("created_at")
