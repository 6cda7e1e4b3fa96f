"""The queries behind the pages: what waits for whom, and the change log with its people.

Each returns a queryset with everything its page shows already joined, so the number of
queries a page makes does not grow with the number of RFCs.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Delegation, User
from changedesk.changes import workflow
from changedesk.changes.choices import State
from changedesk.changes.models import Change

PEOPLE = ("school", "originator", "initial_approver", "peer_reviewer", "final_approver",
          "implementer")  # fmt: skip


def with_people(queryset: QuerySet[Change]) -> QuerySet[Change]:
    return queryset.select_related(*PEOPLE)


@dataclass
class WorkSection:
    key: str
    title: str
    role: str
    hint: str
    changes: list[Change]


def _covered(user: User, role: str, deputising: list[Delegation]) -> Q:
    """RFCs naming `user` in the role's field, or an approver `user` deputises for."""
    field = {
        Role.INITIAL_APPROVER: "initial_approver",
        Role.PEER_REVIEWER: "peer_reviewer",
        Role.FINAL_APPROVER: "final_approver",
    }[role]  # type: ignore[index]
    condition = Q(**{field: user})
    for delegation in deputising:
        if delegation.role in ("", role):
            condition |= Q(**{field: delegation.approver_id, "school": delegation.school_id})
    return condition


def my_work(user: User) -> list[WorkSection]:
    """What waits for `user`, one section per role they hold somewhere (as in FITS's steps)."""
    memberships = list(user.memberships.prefetch_related("roles"))
    roles: set[str] = {role for m in memberships for role in m.role_list}
    implementer_schools = [m.school_id for m in memberships if Role.IMPLEMENTER in m.role_list]
    deputising = workflow.deputising(user)
    visible = with_people(Change.objects.filter(school__memberships__user=user))
    sections: list[WorkSection] = []

    def add(key: str, title: str, role: str, hint: str, query: QuerySet[Change]) -> None:
        sections.append(WorkSection(key, title, role, hint, list(query[:100])))

    deputy_roles = {d.role for d in deputising}

    def acts_as(role: str) -> bool:
        return role in roles or "" in deputy_roles or role in deputy_roles

    if acts_as(Role.INITIAL_APPROVER):
        add(
            "initial",
            "To approve for planning",
            Role.INITIAL_APPROVER,
            "Agree that these may be planned, send them back, or reject them.",
            visible.filter(
                _covered(user, Role.INITIAL_APPROVER, deputising),
                state=State.AWAITING_INITIAL_APPROVAL,
            ).order_by("-is_emergency", "created_at"),
        )
    if acts_as(Role.PEER_REVIEWER):
        add(
            "peer",
            "To peer review",
            Role.PEER_REVIEWER,
            "Check that each plan is technically sound.",
            visible.filter(
                _covered(user, Role.PEER_REVIEWER, deputising), state=State.AWAITING_PEER_REVIEW
            )
            .exclude(originator=user)
            .order_by("planned_start", "created_at"),
        )
    if acts_as(Role.FINAL_APPROVER):
        add(
            "final",
            "To approve for implementation",
            Role.FINAL_APPROVER,
            "Give the go-ahead, accepting the impact on the school; ratify emergency changes.",
            visible.filter(
                _covered(user, Role.FINAL_APPROVER, deputising),
                Q(state=State.AWAITING_FINAL_APPROVAL)
                | Q(
                    state__in=(State.APPROVED, State.IMPLEMENTED),
                    is_emergency=True,
                    ratified=False,
                ),
            ).order_by("planned_start", "created_at"),
        )
    if Role.IMPLEMENTER in roles:
        add(
            "implement",
            "To carry out",
            Role.IMPLEMENTER,
            "Approved changes to implement; record the outcome when done.",
            visible.filter(
                Q(implementer=user) | Q(implementer__isnull=True, school__in=implementer_schools),
                state=State.APPROVED,
            ).order_by("planned_start", "created_at"),
        )
    if Role.ORIGINATOR in roles:
        add(
            "mine",
            "My requests",
            Role.ORIGINATOR,
            "Drafts to submit, plans to write, and implemented changes to review and close.",
            visible.filter(
                originator=user,
                state__in=(State.DRAFT, State.PLANNING, State.IMPLEMENTED),
            ).order_by("state", "created_at"),
        )
        add(
            "waiting",
            "My requests waiting on others",
            Role.ORIGINATOR,
            "Nothing for you to do until someone else acts.",
            visible.filter(
                originator=user,
                state__in=(
                    State.AWAITING_INITIAL_APPROVAL,
                    State.AWAITING_PEER_REVIEW,
                    State.AWAITING_FINAL_APPROVAL,
                    State.APPROVED,
                ),
            )
            .exclude(state=State.APPROVED, implementer=user)
            .order_by("created_at"),
        )
    return sections
