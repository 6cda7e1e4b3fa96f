"""Who hears of an action: the next people to act, and the originator of any decision.

Called by `workflow.perform` inside its transaction, so mail is queued if and only if
the action happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.urls import reverse

from changedesk.accounts import permissions
from changedesk.accounts.choices import APPROVER_ROLES
from changedesk.accounts.models import Delegation, User
from changedesk.changes import decision_links
from changedesk.changes.choices import Action
from changedesk.changes.models import Change, ChangeEvent
from changedesk.notifications.outbox import enqueue

# (role, the RFC field naming the person, what they are asked to do)
Task = tuple[str, str, str]
DECISIONS = {Action.APPROVE, Action.RETURN, Action.REJECT}


def notify_after_action(change: Change, event: ChangeEvent, asked: Sequence[Task]) -> None:
    """The originator hears of every decision; each person newly `asked` to act (the
    workflow's table says who, see `workflow.perform`) is told, with their deputies."""
    told: set[int] = set()
    if event.kind in DECISIONS:
        _send(change, event, change.originator, "change_decision", "", told)
    for role, field, task in asked:
        person = getattr(change, field)
        if person is not None:
            _send(change, event, person, "change_waiting", task, told)
            _tell_deputies(change, event, person, role, task, told)


def _tell_deputies(
    change: Change, event: ChangeEvent, approver: User, role: str, task: str, told: set[int]
) -> None:
    # Only approvals may be delegated, and only the deputies covering this one can act on it.
    if role not in APPROVER_ROLES:
        return
    deputies = User.objects.filter(
        pk__in=Delegation.objects.active()
        .covering(role)
        .filter(school=change.school_id, approver=approver)
        .values("deputy")
    )
    if not permissions.originator_may_be(role, change.school):
        # The originator may not decide this one, not even as someone's deputy.
        deputies = deputies.exclude(pk=change.originator_id)
    for deputy in deputies:
        _send(change, event, deputy, "change_waiting", task, told, on_behalf_of=approver)


def _send(
    change: Change,
    event: ChangeEvent,
    recipient: User,
    template: str,
    task: str,
    told: set[int],
    on_behalf_of: User | None = None,
) -> None:
    if recipient.pk in told:
        return
    told.add(recipient.pk)
    enqueue(
        recipient=recipient,
        template=template,
        context=_context(change, event, recipient, task, on_behalf_of),
        key=f"change:{change.pk}:{event.sequence}:{template}:{recipient.pk}",
        school=change.school,
    )


def change_mail_context(
    change: Change, recipient: User, task: str, on_behalf_of: User | None = None
) -> dict[str, Any]:
    """What every e-mail about an RFC says of it, to `recipient` (see the e-mail templates);
    the nudges use it too."""
    path = reverse("changes:detail", args=[change.pk])
    return {
        "recipient_name": recipient.display_name,
        "change_id": change.pk,
        "reference": change.reference,
        "title": change.title,
        "school": change.school.name,
        "is_emergency": change.is_emergency,
        "state": change.get_state_display(),
        "task": task,
        "deputy_for": on_behalf_of.display_name if on_behalf_of else "",
        "path": path,
        # A decision link for an approver when the school allows them (`decision_links`).
        "decide_path": decision_links.mail_decide_path(change, recipient),
        "planned_start": change.planned_start.isoformat() if change.planned_start else "",
        "planned_end": change.planned_end.isoformat() if change.planned_end else "",
    }


def _context(
    change: Change, event: ChangeEvent, recipient: User, task: str, on_behalf_of: User | None
) -> dict[str, Any]:
    return {
        **change_mail_context(change, recipient, task, on_behalf_of),
        "action": event.get_kind_display(),
        "action_code": event.kind,
        "actor": event.actor.display_name,
        "actor_for": event.on_behalf_of.display_name if event.on_behalf_of else "",
        "comment": event.comment,
    }
