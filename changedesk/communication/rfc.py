"""How telling the school plugs into the RFC (through `changes.extensions`, see `apps.py`).

- The RFC page's "Telling the school" panel, once the change is approved.
- The worker's job: the notice reminders at their lead times, and the FITS summaries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest

from changedesk.changes.choices import State
from changedesk.changes.extensions import Extension, Job, Panel
from changedesk.changes.models import Change
from changedesk.communication import jobs
from changedesk.communication.services import notice_panel

SHOWN_IN = (State.APPROVED, State.IMPLEMENTED, State.CLOSED)


def _panel(request: HttpRequest, change: Change) -> dict[str, Any] | None:
    if change.state not in SHOWN_IN:
        return None
    user = getattr(request, "user", None)
    return {"panel": notice_panel(change, user)}


def _run_due(now: datetime) -> Any:
    # Looked up at each run, so that a test may replace `jobs.run_due`.
    return jobs.run_due(now)


EXTENSION = Extension(
    app="communication",
    panels=(Panel("communication/_rfc_notice.html", _panel, place="main"),),
    jobs=(Job("notices", _run_due),),
)
