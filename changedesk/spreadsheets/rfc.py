"""What the spreadsheets app plugs into the RFC (through `changes.extensions`): lines under
an imported RFC's "Imported from a change log" event naming the file, the row, the file's
own reference and the day it was closed, which the event's data keeps (`importer._event`);
and the worker job that checks and applies the change log imports (`jobs`)."""

from __future__ import annotations

from changedesk.changes.choices import EventKind
from changedesk.changes.extensions import Extension, Job, Note
from changedesk.changes.models import ChangeEvent
from changedesk.spreadsheets import jobs


def _imported_note(event: ChangeEvent) -> list[Note]:
    if event.kind != EventKind.IMPORTED:
        return []
    data = event.data or {}
    source = f"Row {data.get('row', '?')} of {data.get('file') or 'the file'}"
    if data.get("reference"):
        source += f", where it was {data['reference']}"
    notes = [Note(text=source)]
    if data.get("closed"):
        notes.append(Note(text=f"Closed on {str(data['closed'])[:10]}, as the file says"))
    return notes


EXTENSION = Extension(
    app="spreadsheets",
    event_notes=(_imported_note,),
    jobs=(Job(jobs.JOB_NAME, jobs.run), Job(jobs.TRUST_JOB_NAME, jobs.run_trust)),
)
