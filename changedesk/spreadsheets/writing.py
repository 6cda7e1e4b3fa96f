"""Writing the RFCs of a checked change log (`write`): BATCH rows at a time, each RFC with
the dates the file gives and one `imported` event opening its history, sealed into the hash
chain as `history.record_event` seals any event. The caller holds the school's lock and the
transaction (`importer.apply_job`, `trust_importer.apply_job`, a school at a time)."""

from __future__ import annotations

from datetime import datetime

from django.db import connection, models
from django.db.models import Max
from django.utils import timezone

from changedesk.accounts.models import User
from changedesk.changes.choices import EventKind
from changedesk.changes.models import Change, ChangeEvent, field_value
from changedesk.lib import jobs as lib_jobs
from changedesk.spreadsheets.row_checks import PEOPLE, Plan, Progress, Row, no_progress

BATCH = 500

MODEL_FIELDS = (
    "title", "description", "reason", "details", "impact", "risk", "fallback_plan",
    "emergency_justification", "is_emergency", "is_standard", "planned_start", "planned_end",
    "state", "outcome", *PEOPLE,
)  # fmt: skip
RECORDED = tuple(name for name in MODEL_FIELDS if name != "state")


def write(
    plan: Plan,
    job: lib_jobs.Upload,
    actor: User,
    progress: Progress = no_progress,
    key: str = "import",
) -> tuple[int, int]:
    """Make the RFCs and their `imported` events, BATCH rows at a time, telling `progress`
    after each batch (the caller holds the school's lock and the transaction); returns the
    first and last reference numbers given. The events name the import by `key` ("import",
    or the trust's "trust_import") and its id."""
    school = plan.school
    last = Change.objects.filter(school=school).aggregate(n=Max("number"))["n"] or 0
    now = timezone.now()
    total = len(plan.rows)
    progress(0, total)
    for start in range(0, total, BATCH):
        rows = plan.rows[start : start + BATCH]
        changes = [
            Change(
                school=school,
                number=last + start + offset,
                **{name: row.values[name] for name in MODEL_FIELDS},
            )
            for offset, row in enumerate(rows, start=1)
        ]
        Change.objects.bulk_create(changes)
        # Kept as the file gives it (auto_now_add set it to now): when the change was raised.
        for change, row in zip(changes, rows, strict=True):
            change.created_at = row.values["raised"] or now
        _set_raised(changes)
        pairs = zip(changes, rows, strict=True)
        ChangeEvent.objects.bulk_create([_event(c, row, job, actor, now, key) for c, row in pairs])
        progress(start + len(rows), total)
    return last + 1, last + total


def _set_raised(changes: list[Change]) -> None:
    """Set the RFCs' `created_at` as they hold it. Not `bulk_update`: it builds a CASE
    expression per row in Python (a third of an import's time); this is one statement,
    prepared once and run for each RFC (`executemany`)."""
    created = Change._meta.get_field("created_at")
    assert isinstance(created, models.Field)
    quote = connection.ops.quote_name
    sql = (
        f"UPDATE {quote(Change._meta.db_table)} SET {quote(created.attname)} = %s "  # noqa: S608
        f"WHERE {quote('id')} = %s"
    )
    params = [(created.get_db_prep_save(c.created_at, connection), c.pk) for c in changes]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _event(
    change: Change, row: Row, job: lib_jobs.Upload, actor: User, now: datetime, key: str
) -> ChangeEvent:
    """The event opening an imported RFC's history: the first link of its chain, made and
    sealed as `history.record_event` makes one (sequence 1, no previous hash)."""
    diffs = [
        {"field": name, "before": None, "after": field_value(change, name)}
        for name in ("originator", *RECORDED)
        if field_value(change, name) not in (None, "", False)
    ]
    data = {
        key: job.pk,
        "file": job.file_name,
        "row": row.number,
        "reference": row.values["reference"],
        "raised": change.created_at.isoformat(),
        "closed": row.values["closed"],
    }
    event = ChangeEvent(
        change=change,
        sequence=1,
        kind=EventKind.IMPORTED,
        actor=actor,
        from_state="",
        to_state=change.state,
        comment=row.values["notes"],
        diffs=diffs,
        data={key: value for key, value in data.items() if value not in ("", None)},
        previous_hash="",
        created_at=now,
    )
    event.hash = event.compute_hash()
    return event
