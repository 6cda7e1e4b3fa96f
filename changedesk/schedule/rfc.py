"""How the schedule plugs into the RFC (through `changes.extensions`, registered in `apps.py`).

- The approval that accepts the impact on the school (the final approval, the committee's
  decision in its place, an emergency's initial approval) weighs the window's conflicts
  with the school calendar: a hard freeze refuses it; soft conflicts need an
  `override_reason`, kept in the event's data with the conflicts it overrode. A standard
  change (`raise_standard`) has no approver to give one: any conflict refuses it, naming
  the next safe slot.
- The RFC page shows the conflicts to everyone (above the sections), and so do its edit
  form beside the plan and the page an approver's e-mail link opens; the decision form
  asks for the override reason when it is needed.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext
from rest_framework import serializers

from changedesk.changes.choices import OPEN_STATES, Action
from changedesk.changes.extensions import ActionField, Extension, Guard, Note, Panel
from changedesk.changes.models import Change, ChangeEvent, ChangeItem
from changedesk.changes.workflow import Transition
from changedesk.lib.errors import InvalidAction
from changedesk.schedule.calendar import describe_span
from changedesk.schedule.conflicts import Conflict, find_conflicts, hard_conflicts, soft_conflicts
from changedesk.schedule.slots import ChangeKind, find_safe_slots

OVERRIDE = "override_reason"


def conflicts_of(change: Change) -> list[Conflict]:
    """What the saved window collides with (worked out once per RFC object)."""
    cached: list[Conflict] | None = getattr(change, "_conflicts", None)
    if cached is None:
        open_window = change.planned_start is not None and change.state in OPEN_STATES
        cached = find_conflicts(change) if open_window else []
        change._conflicts = cached  # type: ignore[attr-defined]
    return cached


# --- The guard. ---


def _accepts_impact(change: Change, transition: Transition) -> bool:
    return transition.accepts_impact(change)


def weigh_conflicts(change: Change, transition: Transition, data: dict[str, Any]) -> dict[str, Any]:
    if change.planned_start is None or change.planned_end is None:
        return {}
    found = find_conflicts(change)
    hard = [c.message for c in hard_conflicts(found)]
    soft = [c.message for c in soft_conflicts(found)]
    if hard:
        raise InvalidAction(
            gettext("This change cannot be approved in that window."),
            {"planned_start": " ".join([*hard, gettext("Move the change to another time.")])},
        )
    if not soft:
        return {}
    if change.is_standard:
        # Approved once for a clear window: one with conflicts needs the approvals.
        raise InvalidAction(
            gettext("A standard change goes ahead only in a window without conflicts."),
            {"planned_start": " ".join(soft) + " " + _next_slot(change)},
        )
    reason = data.get(OVERRIDE)
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidAction(
            gettext("The window has conflicts."),
            {OVERRIDE: gettext("Say why it should be approved anyway:") + " " + " ".join(soft)},
        )
    return {OVERRIDE: reason.strip()[:1000], "conflicts": soft}


def _next_slot(change: Change) -> str:
    """Where the standard change could go instead, in words."""
    assert change.planned_start is not None and change.planned_end is not None
    items = list(ChangeItem.objects.filter(change=change).values_list("item_id", flat=True))
    found = find_safe_slots(
        change.school,
        change.planned_end - change.planned_start,
        items,
        kind=ChangeKind.STANDARD,
        count=1,
        exclude_change_id=change.pk,
    )
    if not found.slots:
        return gettext("No safe slot was found soon: raise it as a normal change.")
    start, end = found.slots[0]
    when = describe_span(start, end, change.school.zone)
    return gettext("The next safe slot is %(when)s; or raise it as a normal change.") % {
        "when": when
    }


# --- What the pages show. ---


def _override_shown(change: Change, actions: list[str]) -> bool:
    if Action.APPROVE not in actions:
        return False
    from changedesk.changes.workflow import transition_for

    approve = transition_for(change.state, Action.APPROVE)
    return (
        approve is not None
        and approve.accepts_impact(change)
        and any(not c.hard for c in conflicts_of(change))
    )


def _override_form_field() -> forms.Field:
    return forms.CharField(
        label=gettext("Why approve despite the conflicts?"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext("Needed to approve a change with conflicts; the history keeps it."),
    )


def _override_serializer_field() -> serializers.Field[Any, Any, Any, Any]:
    return serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=1000,
        help_text="For approve: why approve despite the window's soft conflicts "
        "(see /changes/{id}/conflicts/); the history keeps it.",
    )


def _panel(request: HttpRequest, change: Change) -> dict[str, Any] | None:
    conflicts = conflicts_of(change)
    return {"conflicts": conflicts} if conflicts else None


def _decide_panel(request: HttpRequest, change: Change) -> dict[str, Any] | None:
    # Seen without signing in: the conflicts, but no link into the rest of changedesk.
    conflicts = conflicts_of(change)
    return {"conflicts": conflicts, "links": False} if conflicts else None


def _override_note(event: ChangeEvent) -> list[Note]:
    reason = (event.data or {}).get(OVERRIDE)
    strong = gettext("Approved despite conflicts:")
    return [Note(text=str(reason), strong=strong)] if reason else []


EXTENSION = Extension(
    app="schedule",
    guards=(Guard(applies=_accepts_impact, check=weigh_conflicts),),
    action_fields=(
        ActionField(OVERRIDE, _override_form_field, _override_serializer_field, _override_shown),
    ),
    panels=(
        Panel("schedule/_conflicts.html", _panel, place="top", stylesheet="schedule/schedule.css"),
        Panel(
            "schedule/_plan_conflicts.html",
            _panel,
            place="edit",
            stylesheet="schedule/schedule.css",
        ),
        Panel(
            "schedule/_conflicts.html",
            _decide_panel,
            place="decide",
            stylesheet="schedule/schedule.css",
        ),
    ),
    event_notes=(_override_note,),
)
