"""How patch management plugs into the RFC (through `changes.extensions`, registered in
`apps.py`).

- The outcome of an RFC deploying patches moves them on, through the patches' own door: a
  success (or partial success) deploys them, dated the day the outcome was recorded where
  the school is; `failed_backed_out` takes them off the RFC, back to `tested`, as does the
  RFC's rejection or withdrawal.
- The RFC page and its print list the patches it deploys.
- The worker nudges the patch administrators of overdue patches and reopens deferrals whose
  date has come (`jobs.py`).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from changedesk.changes.choices import Action, Outcome, State
from changedesk.changes.extensions import Effect, Extension, Job, Panel
from changedesk.changes.models import Change, ChangeEvent
from changedesk.changes.workflow import Transition
from changedesk.patches import jobs, workflow
from changedesk.patches.choices import PatchAction, PatchState, Severity
from changedesk.patches.models import Patch, today_in

SEVERITY_ORDER = {value: n for n, value in enumerate(Severity.values)}
# What the RFC's panel shows of each patch (patches/_rfc_panel.html): read alone.
PANEL_FIELDS = ("reference", "title", "severity", "state", "due_on", "vendor__name")


def _carried(change: Change) -> list[Patch]:
    return list(Patch.objects.filter(change=change, state=PatchState.SCHEDULED).order_by("id"))


def _records_outcome(transition: Transition) -> bool:
    return transition.action == Action.RECORD_OUTCOME


def _outcome(change: Change, event: ChangeEvent, data: dict[str, Any]) -> None:
    deployed = change.outcome in (Outcome.SUCCEEDED, Outcome.PARTIALLY_SUCCEEDED)
    on = today_in(change.school, event.created_at).isoformat()
    for patch in _carried(change):
        if deployed:
            workflow.perform(
                patch.pk,
                PatchAction.DEPLOY,
                event.actor,
                {"deployed_on": on},
                comment=f"RFC {change.reference}: {change.get_outcome_display().lower()}.",
                by_change=True,
            )
        else:
            _take_off(patch, change, event, "failed; its fallback plan was carried out")


def _ends(transition: Transition) -> bool:
    return transition.target in (State.REJECTED, State.WITHDRAWN)


def _ended(change: Change, event: ChangeEvent, data: dict[str, Any]) -> None:
    for patch in _carried(change):
        _take_off(patch, change, event, str(State(event.to_state).label).lower())


def _take_off(patch: Patch, change: Change, event: ChangeEvent, why: str) -> None:
    workflow.perform(
        patch.pk,
        PatchAction.UNSCHEDULE,
        event.actor,
        comment=f"RFC {change.reference} {why}.",
        by_change=True,
    )


def _panel(request: HttpRequest, change: Change) -> dict[str, Any] | None:
    # Only what the panel shows of the patches and their vendors (most RFCs carry none), in
    # no order: sorted here.
    shown = (
        Patch.objects.filter(change=change).select_related("vendor").only(*PANEL_FIELDS).order_by()
    )
    patches = sorted(shown, key=lambda p: (SEVERITY_ORDER[p.severity], p.pk))
    return {"patches": patches} if patches else None


EXTENSION = Extension(
    app="patches",
    effects=(
        Effect(applies=_records_outcome, run=_outcome),
        Effect(applies=_ends, run=_ended),
    ),
    panels=(
        Panel("patches/_rfc_panel.html", _panel, place="main"),
        Panel("patches/_rfc_panel.html", _panel, place="print"),
    ),
    jobs=(Job("patch-feeds", jobs.poll_feeds), Job("patch-deadlines", jobs.deadlines)),
)
