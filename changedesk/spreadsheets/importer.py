"""Importing a school's existing change log (CSV or XLSX): upload, map, check, confirm,
apply; the checking and the applying done by the worker, with progress the page shows.

1. *Upload* (`start`): the head of the file is read (`row_checks.read_head`), its header row
   found and each column's field guessed from its name, or from what the school mapped that
   name to last time (`ColumnMapping`; the fields and their names are `columns`'). The
   upload is kept as a `ChangeImport` (`uploaded`) with its first rows, so the columns can
   be chosen at once however long the file is.
2. *Check* (`check` queues it, the worker's `check_job` does it): with the mapping the
   person who uploaded it chose, every row is read and checked (`row_checks`: dates, states,
   outcomes, people, the window, references already imported); nothing is written but the
   preview: the row errors by row and field, and the first rows. The mapping is kept for
   the school's next file.
3. *Apply* (`apply` confirms it, the worker's `apply_job` does it): in one transaction, with
   the school locked (as raising an RFC locks it, so the references do not collide), every
   row is checked again and the RFCs written (`writing`), each with one `imported` event
   opening its history (sealed into the hash chain as any event is), or nothing is written
   at all.

A small file (`INLINE_MAX_BYTES`) is checked and applied at once, in the request, through
the same claim the worker makes (`lib.jobs.process_now`); a larger one waits for the worker,
whose claim, lease, fencing and progress reports are `lib.jobs`'s (`QUEUE`).

An imported RFC keeps the dates the file gives: when it was raised (its `created_at`), its
planned window, and the day it was closed (kept in the imported event's data, with the
file's own reference and the row it came from). Its history starts on the day of the import:
the event says who imported it and when, as the chain's times are when things were recorded.

A trust's change log (`trust_importer`) goes through these same steps (`started`,
`queue_check`, `confirm`, `check_step`, `apply_step`), its rows read, checked and written
school by school.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from changedesk.accounts import permissions
from changedesk.accounts.models import School, Trust, User
from changedesk.configuration.importer import ImportRefused, RowError
from changedesk.lib import jobs as lib_jobs
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.spreadsheets import columns, row_checks, wording, writing
from changedesk.spreadsheets.models import (
    ChangeImport,
    ChangeLogImport,
    ColumnMapping,
    ImportState,
    RememberedColumns,
)
from changedesk.spreadsheets.row_checks import Progress, Row
from changedesk.spreadsheets.wording import say

__all__ = ["ImportRefused", "RowError"]

KEPT_ERRORS = 500
# A file this small is checked and applied in the request; a larger one by the worker.
INLINE_MAX_BYTES = 64 * 1024
# How long a worker's claim on an import lasts unless its progress renews it.
LEASE_SECONDS = 600

# The imports as the worker takes them (lib.jobs): claimed, leased, fenced, reported on.
QUEUE = lib_jobs.upload_queue(
    ChangeImport,
    "Change log import",
    folder="change-imports",
    file_field="content",
    empty_file=b"",
    lease_seconds=LEASE_SECONDS,
)


def saved_mapping(school: School) -> dict[str, str]:
    row = ColumnMapping.objects.filter(school=school).first()
    return dict(row.fields) if row is not None else {}


def may_import(user: Any, school: School) -> bool:
    """Importing a change log is the school administrator's (a superuser is one anywhere)."""
    return permissions.is_school_admin(user, school)


def _refuse_unless_admin(user: User, school: School) -> None:
    if not may_import(user, school):
        raise NotPermitted(
            gettext("Only a school administrator of %(school)s may import a change log.")
            % {"school": school.name}
        )


# --- Upload. ---


def start(school: School, user: User, data: bytes, file_name: str) -> ChangeImport:
    """Keep an uploaded file with its header, its first rows and the mapping guessed for it;
    refuses a file that cannot be read (`ImportRefused`). Reads only the head of the file
    (the header and the first PREVIEW_ROWS rows), so a long file answers at once; the rest
    is read when the worker checks it."""
    _refuse_unless_admin(user, school)
    header, first_rows, whole, samples = row_checks.read_head(data, file_name, columns.known)
    return ChangeImport.objects.create(
        school=school,
        created_by=user,
        file_name=file_name[:255],
        size=len(data),
        content=data,
        header_row=header.row + 1,
        columns=header.names,
        mapping=columns.guess_mapping(header.names, saved_mapping(school)),
        # Counted now if the head is the whole file, else when the worker checks it.
        rows=len(first_rows) if whole else 0,
        preview=samples,
    )


J = TypeVar("J")


def started(file: UploadedFile[bytes], start: Callable[[bytes, str], J]) -> J:
    """What `start` (a school's import's or a trust's) makes of an uploaded file; a file
    too big is refused (`ImportRefused`) before it is read into memory."""
    if file.size is not None and file.size > row_checks.MAX_BYTES:
        raise ImportRefused(row_checks.too_big(file.size))
    return start(file.read(), file.name or "")


# --- The steps. ---


def _refuse_unless_uploader(job: ChangeImport, user: User) -> None:
    _refuse_unless_admin(user, job.school)
    # The RFCs' originator (where the file names none) and their history's actor.
    if job.created_by_id != user.pk:
        raise NotPermitted(gettext("Only the person who uploaded the file may import it."))


def check(job: ChangeImport, user: User, mapping: list[str]) -> ChangeImport:
    """Have every row of `job` (found among the imports `user` sees) checked with `mapping`
    by the worker (a small file at once), and keep the mapping for the school's next file.
    Refuses a bad mapping (400), a job that is over or being worked on (400), anyone but
    the school's administrator who uploaded it (403)."""
    _refuse_unless_uploader(job, user)
    queue_check(QUEUE, job, mapping, columns.bad_mapping(mapping, len(job.columns)), remember, user)
    return _worked_on(job)


def queue_check(
    queue: lib_jobs.Queue[Any],
    job: Any,
    mapping: list[str],
    errors: dict[str, str],
    keep: Callable[[Any, User], None],
    user: User,
) -> None:
    """Hand an open import (a school's or a trust's) to the worker to check with `mapping`,
    and `keep` the mapping for the next file; refuses one over or being worked on, or a
    mapping with `errors` (400)."""
    if job.state not in (ImportState.UPLOADED, ImportState.PREVIEWED):
        raise InvalidAction(_not_now(job))
    if errors:
        raise InvalidAction(gettext("Choose the columns again."), errors)
    with transaction.atomic():
        # Only while the import is still open: an `apply` that finished (or failed)
        # meanwhile must not be turned back into an import to check.
        handed = lib_jobs.hand_over(
            queue,
            job.pk,
            ImportState.QUEUED,
            "Waiting for the worker to check it",
            only_from=(ImportState.UPLOADED, ImportState.PREVIEWED),
            mapping=mapping,
            # The last check's problems were of the last mapping.
            error_count=0,
            errors=[],
        )
        if not handed:
            raise InvalidAction(gettext("This import is over; upload the file again."))
        job.mapping = mapping
        keep(job, user)


def _not_now(job: lib_jobs.Upload) -> str:
    if job.running:
        return gettext("The worker is working on this file; wait for it.")
    return gettext("This import is over; upload the file again.")


def _worked_on(job: ChangeImport) -> ChangeImport:
    """`job` as it is now: worked on at once if its file is small, else left to the worker."""
    if job.size <= INLINE_MAX_BYTES:
        process_now(job.pk)
    fresh = ChangeImport.objects.light().get(pk=job.pk)
    fresh.school = job.school
    return fresh


def remember(job: ChangeImport, user: User) -> None:
    """Keep the school's mapping: each mapped header's name and its field."""
    keep_columns(ColumnMapping.objects.get_or_create(school_id=job.school_id)[0], job, user)


def keep_columns(row: RememberedColumns, job: ChangeLogImport, user: User) -> None:
    """Write into a remembered mapping (a school's or a trust's) each of `job`'s mapped
    headers' names and its field."""
    fields = dict(row.fields)
    for name, chosen in zip(job.columns, job.mapping, strict=True):
        if columns.normal(name):
            fields[columns.normal(name)] = chosen
    row.fields = fields
    row.updated_by = user
    row.save()


def apply(job: ChangeImport, user: User) -> ChangeImport:
    """The person who uploaded a checked import (found among those `user` sees), still its
    school's administrator, confirms it: the worker writes every row as an RFC, all in one
    transaction, or none (a small file at once). Refuses an import not checked, with
    problems, or over (400), and anyone else (403)."""
    _refuse_unless_uploader(job, user)
    confirm(QUEUE, job)
    return _worked_on(job)


def confirm(queue: lib_jobs.Queue[Any], job: lib_jobs.Upload) -> None:
    """Hand a checked import (a school's or a trust's) to the worker to apply; refuses one
    not checked, with problems, or over (400)."""
    with transaction.atomic():
        locked = queue.light().select_for_update(of=("self",)).get(pk=job.pk)
        if locked.state != ImportState.PREVIEWED:
            raise InvalidAction(
                gettext("Choose the columns and check the rows first.")
                if locked.state == ImportState.UPLOADED
                else _not_now(locked)
            )
        if locked.error_count:
            problems = ngettext(
                "%(count)s problem in the file; correct it (or the columns) and check again. "
                "Nothing was imported.",
                "%(count)s problems in the file; correct them (or the columns) and check again. "
                "Nothing was imported.",
                locked.error_count,
            )
            raise InvalidAction(problems % {"count": locked.error_count})
        lib_jobs.hand_over(
            queue,
            job.pk,
            ImportState.APPLYING,
            "Waiting for the worker to import it",
            # Read and check again, then save: a third of the work each.
            total=3 * locked.rows,
            confirmed_at=timezone.now(),
        )


# --- The worker's steps (see `jobs`). ---


def live_progress(job: ChangeImport) -> ChangeImport:
    """`job` with the progress its worker reported from inside the transaction that applies
    it (see `lib.jobs.live_progress`)."""
    return lib_jobs.live_progress(QUEUE, job)


def process(job: ChangeImport) -> None:
    """Run the step a claimed import is in; an unexpected error fails it, never half-done."""
    lib_jobs.work(QUEUE, job, {ImportState.CHECKING: check_job, ImportState.APPLYING: apply_job})


def process_now(job_id: int) -> None:
    """Check or apply one import at once, in the request (a small file): the same steps the
    worker takes, claimed the same way."""
    lib_jobs.process_now(QUEUE, job_id, process)


def _uploader(job: ChangeImport) -> tuple[School, User | None]:
    """The import's school, and the person who uploaded it if they may still import."""
    school = School.objects.get(pk=job.school_id)
    job.school = school
    return school, uploader(job, lambda actor: may_import(permissions.with_roles(actor), school))


def check_job(job: ChangeImport) -> None:
    """The worker's first step (the job claimed, `checking`): read and check every row and
    keep the preview; or say why the file cannot be imported."""
    school, actor = _uploader(job)

    def read_all(actor: User, progress: Progress) -> row_checks.Plan:
        return row_checks.read(job, content(job), list(job.mapping), actor, progress)

    check_step(QUEUE, job, school, actor, read_all)


def apply_job(job: ChangeImport) -> None:
    """The worker's second step (confirmed, the job claimed): check every row again as the
    database is now and write them all as RFCs, in one transaction, or none.

    A row with a problem now (a person who left, a reference imported meanwhile) fails the
    import, with the errors kept and nothing written."""
    school, actor = _uploader(job)

    def write_all(actor: User, checking: Progress, saving: lib_jobs.JobProgress) -> dict[str, Any]:
        # Locking the school serialises numbering, as raising an RFC does.
        School.objects.select_for_update().filter(pk=school.pk).first()
        plan = row_checks.read(job, content(job), list(job.mapping), actor, checking)
        refuse_errors(plan, wording.SCHOOL_CHANGED)
        saving.offset = 2 * len(plan.rows)
        first, last = writing.write(plan, job, actor, saving)
        count = len(plan.rows)
        return {"rows": count, "created_count": count, "first_number": first, "last_number": last}

    apply_step(QUEUE, job, school, actor, write_all)


# --- The worker's steps of every import, a school's or a trust's. ---


class Checked(Protocol):
    """What reading every row of a file gives (a school's `row_checks.Plan`, a trust's
    `trust_importer.TrustPlan`): the rows and their errors."""

    rows: list[Row]

    @property
    def errors(self) -> list[RowError]: ...


def uploader(job: ChangeLogImport, may: Callable[[User], bool]) -> User | None:
    """The person who uploaded `job`, if they are still active and `may` import it."""
    found = job.created_by_id
    actor = User.objects.filter(pk=found, is_active=True).first() if found else None
    return actor if actor is not None and may(actor) else None


def content(job: ChangeLogImport) -> bytes:
    """The file of a claimed import (its row is claimed without it)."""
    model = type(job)._default_manager
    return bytes(model.values_list("content", flat=True).get(pk=job.pk))


def _no_longer(place: School | Trust) -> str:
    return say(wording.NO_LONGER_ADMIN, place=place.name)


def _kept(errors: list[RowError]) -> list[list[Any]]:
    return [[e.row, e.field, e.message] for e in errors[:KEPT_ERRORS]]


def check_step(
    queue: lib_jobs.Queue[Any],
    job: ChangeLogImport,
    place: School | Trust,
    actor: User | None,
    read_all: Callable[[User, Progress], Checked],
) -> None:
    """The worker's first step of an import into `place` (the job claimed, `checking`):
    `read_all` reads and checks every row, as the uploader `actor`, and the preview is kept;
    or it says why the file cannot be imported (`actor` None: they may no longer import)."""
    if actor is None:
        lib_jobs.fail(queue, job, _no_longer(place))
        return
    progress = lib_jobs.JobProgress(queue, job, "Checking the rows")

    def step() -> dict[str, Any]:
        plan = read_all(actor, progress)
        return checked(plan.rows, plan.errors)

    lib_jobs.check_and_preview(queue, job, progress, step)


def checked(found: list[Row], errors: list[RowError]) -> dict[str, Any]:
    """What a check of the rows `found` (a school's file or a trust's) keeps: the counts,
    the first problems and the preview."""
    return {
        "rows": len(found),
        "error_count": len(errors),
        "errors": _kept(errors),
        "preview": [
            {"number": row.number, "cells": row.cells, "problem": bool(row.errors)}
            for row in found[: row_checks.PREVIEW_ROWS]
        ],
        "progress_done": 2 * len(found),
        "progress_total": 2 * len(found),
    }


def apply_step(
    queue: lib_jobs.Queue[Any],
    job: ChangeLogImport,
    place: School | Trust,
    actor: User | None,
    write_all: Callable[[User, Progress, lib_jobs.JobProgress], dict[str, Any]],
) -> None:
    """The worker's second step of an import into `place` (confirmed, the job claimed), in
    one transaction: `write_all` checks every row again as the uploader `actor` (telling its
    first progress) and writes them all (telling the second, from where the first ended),
    returning what the import records; or nothing is written (`actor` None: they may no
    longer import; a row with a problem now: `refuse_errors`)."""
    if actor is None:
        lib_jobs.fail(queue, job, _no_longer(place))
        return
    total = job.progress_total or 3 * job.rows
    checking = lib_jobs.JobProgress(queue, job, "Checking the rows again", total=total)
    saving = lib_jobs.JobProgress(queue, job, "Saving the RFCs", total=total)

    def step() -> dict[str, Any]:
        return {
            **write_all(actor, checking, saving),
            "progress_done": total,
            "progress_total": total,
        }

    try:
        lib_jobs.apply_all_or_nothing(queue, job, step)
    finally:
        checking.close()
        saving.close()


def refuse_errors(plan: Checked, reason: str) -> None:
    """Refuse the apply (nothing written, the errors kept) if a row has a problem now."""
    if plan.errors:
        raise lib_jobs.Refused(reason, error_count=len(plan.errors), errors=_kept(plan.errors))


def recent(school: School) -> Iterable[ChangeImport]:
    return ChangeImport.objects.light().filter(school=school).select_related("created_by")[:10]
