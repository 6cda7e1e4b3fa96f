"""How the change advisory committee plugs into the RFC (through `changes.extensions`).

- Its authority: with `data["committee_meeting"]`, `workflow.perform` lets the meeting's
  chair or secretary record the decision of the approver named on the RFC, who was present
  (`services.approver_in_meeting`). The event keeps the meeting's id.
- A line under such an event on the RFC page, linking the meeting.
- The worker's job: the nudges to the people an RFC has waited on too long.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext

from changedesk.changes.extensions import Authority, Extension, Job, Note
from changedesk.changes.models import ChangeEvent
from changedesk.committee import nudges
from changedesk.committee.services import approver_in_meeting

MEETING = "committee_meeting"


def _meeting_note(event: ChangeEvent) -> list[Note]:
    meeting = (event.data or {}).get(MEETING)
    if not meeting:
        return []
    url = reverse("committee:detail", args=[event.change.school.slug, meeting])
    return [Note(text=gettext("Decided in a change advisory committee meeting"), url=url)]


def _run_nudges(now: datetime) -> Any:
    # Looked up at each run, so that a test may replace `nudges.run_due`.
    return nudges.run_due(now)


EXTENSION = Extension(
    app="committee",
    authorities=(Authority(MEETING, approver_in_meeting),),
    event_notes=(_meeting_note,),
    jobs=(Job("nudges", _run_nudges),),
)
