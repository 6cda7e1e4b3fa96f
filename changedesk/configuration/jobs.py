"""The worker's part in item imports (`importer`): each pass takes the imports waiting for
it, one at a time, and checks or applies each.

How an import is worked on once, even with several workers on one database, and how a
crashed worker's import moves on: a worker *claims* an import in a short transaction (the
row locked with `SKIP LOCKED` where the database has it, and `attempts` counted up as a
compare-and-set), which gives it a lease of `importer.LEASE_SECONDS`, renewed by its
progress reports. Every later write is fenced on the claimed `attempts`, so a worker that
outlived its lease cannot overwrite what another recorded, and the apply's own transaction
rolls back if its import was taken over. An import whose worker died is claimed again when
its lease ends; after MAX_ATTEMPTS it fails, saying so, with nothing written.

Registered with the worker as `JOB_NAME` (see the README: the worker runs it on every pass).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from changedesk.configuration import importer
from changedesk.configuration.models import ImportState, ItemImport

logger = logging.getLogger("changedesk.configuration.import")

JOB_NAME = "configuration.item_imports"
MAX_ATTEMPTS = 3
# A pass stops taking new imports after this long, so the outbox is still sent.
PASS_SECONDS = 120
# A checked file nobody confirms is kept this long.
UNCONFIRMED_DAYS = 7
# What the page says when a worker takes an import, until its first report.
PHASES: dict[str, str] = {
    ImportState.CHECKING: "Reading the file",
    ImportState.APPLYING: "Reading the file again",
}


def run(now: datetime) -> int:
    """The worker job: check or apply every import waiting for a worker; returns how many.
    Previews nobody confirmed within UNCONFIRMED_DAYS are let go (their files dropped)."""
    expire(now)
    started = timezone.now()
    handled = 0
    while timezone.now() - started < timedelta(seconds=PASS_SECONDS):
        job = claim(max(now, timezone.now()))
        if job is None:
            break
        process(job)
        handled += 1
    return handled


def expire(now: datetime) -> int:
    """End the previews not confirmed within UNCONFIRMED_DAYS, dropping their files."""
    return (
        ItemImport.objects.filter(
            state=ImportState.PREVIEWED,
            checked_at__lt=now - timedelta(days=UNCONFIRMED_DAYS),
        )
        .exclude(text="")
        .update(
            state=ImportState.FAILED,
            failure=f"Not confirmed within {UNCONFIRMED_DAYS} days, so nothing was imported.",
            finished_at=now,
            text="",
        )
    )


def process_now(job_id: int) -> None:
    """Check or apply one import at once, in the request that made it (small files): the
    same steps the worker takes, claimed the same way."""
    job = claim(timezone.now(), job_id=job_id)
    if job is not None:
        process(job)


def process(job: ItemImport) -> None:
    """Run the step a claimed import is in; an unexpected error fails it, never half-done."""
    try:
        if job.state == ImportState.CHECKING:
            importer.check_job(job)
        elif job.state == ImportState.APPLYING:
            importer.apply_job(job)
    except Exception:
        logger.exception("Item import %s failed", job.pk)
        importer.fail(
            job,
            "Something went wrong while working on the file, so nothing was imported. "
            "Try again; if it happens again, tell whoever runs changedesk.",
        )


def waiting(now: datetime) -> Q:
    """Imports a worker may take: new ones, confirmed ones, and those whose worker's lease
    has run out."""
    lapsed = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    return Q(state=ImportState.QUEUED) | (
        Q(state__in=(ImportState.CHECKING, ImportState.APPLYING)) & lapsed
    )


def claim(now: datetime, job_id: int | None = None) -> ItemImport | None:
    """Take the next import waiting for a worker (or `job_id`, if it is waiting): count the
    attempt and start its lease."""
    while True:
        with transaction.atomic():
            due = ItemImport.objects.light().filter(waiting(now)).order_by("created_at", "id")
            if job_id is not None:
                due = due.filter(pk=job_id)
            if connection.features.has_select_for_update_skip_locked:
                due = due.select_for_update(skip_locked=True, of=("self",))
            job = due.first()
            if job is None:
                return None
            if job.attempts >= MAX_ATTEMPTS:
                importer.fail(
                    job,
                    f"The worker stopped while working on the file, {MAX_ATTEMPTS} times; "
                    "nothing was imported. Try a smaller file, or tell whoever runs changedesk.",
                )
                continue
            state = ImportState.CHECKING if job.state == ImportState.QUEUED else job.state
            lease = now + timedelta(seconds=importer.LEASE_SECONDS)
            claimed = ItemImport.objects.filter(
                pk=job.pk, state=job.state, attempts=job.attempts
            ).update(
                state=state,
                attempts=job.attempts + 1,
                lease_until=lease,
                phase=PHASES[state],
                progress_done=0,
            )
        if claimed == 1:
            job.state = state
            job.attempts += 1
            job.lease_until = lease
            job.phase = PHASES[state]
            job.progress_done = 0
            return job
