"""How standard changes plug into the RFC (through `changes.extensions`, registered in
`apps.py`).

- `raise_standard` (an RFC raised from a template going ahead at once) is guarded here: the
  RFC must have been raised from a template that may still be raised, at the version that
  was approved. The event keeps the template, its version and its approved digest.
- The approval that accepts the impact of an RFC proposing a template approves the
  template; rejecting or withdrawing that RFC sends the template back to draft.
- A raised RFC whose outcome is `failed_backed_out` suspends its template.
- The RFC page says which template an RFC was raised from, or which it proposes.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext

from changedesk.changes.choices import Action, Outcome, State
from changedesk.changes.extensions import Effect, Extension, Guard, Note, Panel
from changedesk.changes.models import Change, ChangeEvent
from changedesk.changes.workflow import Transition
from changedesk.lib.errors import InvalidAction
from changedesk.standard import services
from changedesk.standard.models import Raised, Template, TemplateState


def _raises(change: Change, transition: Transition) -> bool:
    return transition.action == Action.RAISE_STANDARD


def _check_raise(change: Change, transition: Transition, data: dict[str, Any]) -> dict[str, Any]:
    raised = Raised.objects.filter(change=change).select_related("template").first()
    if raised is None:
        raise InvalidAction(
            gettext("A standard change is raised from its template."),
            {"template": gettext("Raise it from an approved standard change template.")},
        )
    template = Template.objects.select_related("school").get(pk=raised.template_id)
    today = template.today()
    if not template.may_be_raised(today) or template.approved_digest != raised.digest:
        raise InvalidAction(
            gettext("“%(title)s” cannot be raised: %(status)s.")
            % {"title": template.title, "status": template.status(today).lower()},
            {
                "template": gettext(
                    "Raise it as a normal change, or ask its approvers to review it."
                )
            },
        )
    return {
        services.TEMPLATE_KEY: template.pk,
        "template_version": raised.version,
        "template_digest": raised.digest,
    }


def _approves(transition: Transition) -> bool:
    return bool(transition.approves)


def _approved(change: Change, event: ChangeEvent, data: dict[str, Any]) -> None:
    # The final approver's: the final approval (or the committee's in its place), or the
    # ratification of an emergency (whose initial approval is no approval of a template).
    final = (
        event.from_state == State.AWAITING_FINAL_APPROVAL and event.to_state == State.APPROVED
    ) or event.kind == Action.RATIFY
    if final and not change.is_standard:
        services.approved(change, event.actor)


def _ends(transition: Transition) -> bool:
    return transition.target in (State.REJECTED, State.WITHDRAWN)


def _refused(change: Change, event: ChangeEvent, data: dict[str, Any]) -> None:
    services.refused(change, event.actor, event.comment)


def _records_outcome(transition: Transition) -> bool:
    return transition.action == Action.RECORD_OUTCOME


def _outcome(change: Change, event: ChangeEvent, data: dict[str, Any]) -> None:
    # A raised RFC, or the proposing RFC's own first run.
    if change.outcome == Outcome.FAILED_BACKED_OUT:
        services.failed(change, event.actor)


def _panel(request: HttpRequest, change: Change) -> dict[str, Any] | None:
    # Only what the panel shows (standard/_rfc_panel.html) of the template, whose content is
    # long: one query, and a second for the raisers of a template still proposed.
    if change.is_standard:
        found = Raised.objects.filter(change=change).select_related("template")
        raised = next(iter(found.only("version", "template__title").order_by()[:1]), None)
        return {"raised": raised} if raised else None
    proposed = (
        Template.objects.filter(proposal=change)
        .only("title", "version", "state", "review_date")
        .first()
    )
    if proposed is None:
        return None
    # Only a template still proposed says who will raise it.
    raisers = list(proposed.raisers.all()) if proposed.state == TemplateState.PROPOSED else []
    return {"proposed": proposed, "raisers": raisers}


def _raise_note(event: ChangeEvent) -> list[Note]:
    data = event.data or {}
    if event.kind != Action.RAISE_STANDARD or services.TEMPLATE_KEY not in data:
        return []
    template = Template.objects.filter(pk=data[services.TEMPLATE_KEY]).first()
    if template is None:
        return []
    return [
        Note(
            text=gettext("%(title)s, version %(version)s")
            % {"title": template.title, "version": data.get("template_version")},
            url=template.get_absolute_url(),
            strong=gettext("Approved as the standard change"),
        )
    ]


EXTENSION = Extension(
    app="standard",
    guards=(Guard(applies=_raises, check=_check_raise),),
    effects=(
        Effect(applies=_approves, run=_approved),
        Effect(applies=_ends, run=_refused),
        Effect(applies=_records_outcome, run=_outcome),
    ),
    panels=(Panel("standard/_rfc_panel.html", _panel, place="top"),),
    event_notes=(_raise_note,),
)
