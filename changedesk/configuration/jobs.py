"""The worker's part in item imports (`importer`): each pass takes the imports waiting for
it, one at a time, and checks or applies each.

The claiming, the lease, the fencing on `attempts` and the progress reports are the ones
every long job shares (`lib.jobs`, which says how an import is worked on once and how a
crashed worker's import moves on); `importer.QUEUE` describes the item imports to it. After
MAX_ATTEMPTS an import whose worker kept dying fails, saying so, with nothing written.

Registered with the worker as `JOB_NAME` (see the README: the worker runs it on every pass).
"""

from __future__ import annotations

from datetime import datetime

from changedesk.configuration import importer
from changedesk.configuration.models import ImportState, ItemImport
from changedesk.lib import jobs as lib_jobs

JOB_NAME = "configuration.item_imports"
MAX_ATTEMPTS = importer.QUEUE.max_attempts
# A pass stops taking new imports after this long, so the outbox is still sent.
PASS_SECONDS = lib_jobs.PASS_SECONDS
# A checked file nobody confirms is kept this long.
UNCONFIRMED_DAYS = 7
# What the page says when a worker takes an import, until its first report.
PHASES = importer.QUEUE.phases


def run(now: datetime) -> int:
    """The worker job: check or apply every import waiting for a worker; returns how many.
    Previews nobody confirmed within UNCONFIRMED_DAYS are let go (their files dropped)."""
    expire(now)
    return lib_jobs.run(importer.QUEUE, now, process, PASS_SECONDS)


def expire(now: datetime) -> int:
    """End the previews not confirmed within UNCONFIRMED_DAYS, dropping their files."""
    return lib_jobs.expire(
        importer.QUEUE,
        now,
        (ImportState.PREVIEWED,),
        "checked_at",
        UNCONFIRMED_DAYS,
        f"Not confirmed within {UNCONFIRMED_DAYS} days, so nothing was imported.",
    )


def process_now(job_id: int) -> None:
    """Check or apply one import at once, in the request that made it (small files): the
    same steps the worker takes, claimed the same way."""
    lib_jobs.process_now(importer.QUEUE, job_id, process)


def process(job: ItemImport) -> None:
    """Run the step a claimed import is in; an unexpected error fails it, never half-done."""
    lib_jobs.work(
        importer.QUEUE,
        job,
        {ImportState.CHECKING: importer.check_job, ImportState.APPLYING: importer.apply_job},
    )


def claim(now: datetime, job_id: int | None = None) -> ItemImport | None:
    """Take the next import waiting for a worker (or `job_id`, if it is waiting): count the
    attempt and start its lease."""
    return lib_jobs.claim(importer.QUEUE, now, job_id)
