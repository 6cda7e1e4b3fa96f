"""What the spreadsheets app plugs into the RFC (through `changes.extensions`): lines under
an imported RFC's "Imported from a change log" event naming the file, the row, the file's
own reference and the day it was closed, which the event's data keeps (`writing._event`);
and the worker job that checks and applies the change log imports (`jobs`)."""

from __future__ import annotations

from django.utils.translation import gettext

from changedesk.changes.choices import EventKind
from changedesk.changes.extensions import Extension, Job, Note
from changedesk.changes.models import ChangeEvent
from changedesk.spreadsheets import jobs


def _imported_note(event: ChangeEvent) -> list[Note]:
    if event.kind != EventKind.IMPORTED:
        return []
    data = event.data or {}
    where = {"row": data.get("row", "?"), "file": data.get("file") or gettext("the file")}
    if data.get("reference"):
        where["reference"] = data["reference"]
        source = gettext("Row %(row)s of %(file)s, where it was %(reference)s") % where
    else:
        source = gettext("Row %(row)s of %(file)s") % where
    notes = [Note(text=source)]
    if data.get("closed"):
        day = str(data["closed"])[:10]
        notes.append(Note(text=gettext("Closed on %(day)s, as the file says") % {"day": day}))
    return notes


EXTENSION = Extension(
    app="spreadsheets",
    event_notes=(_imported_note,),
    jobs=(Job(jobs.JOB_NAME, jobs.run), Job(jobs.TRUST_JOB_NAME, jobs.run_trust)),
)
