"""The worker's part in change log imports (`importer`): each pass takes the imports waiting
for it, one at a time, and checks or applies each.

The claiming, the lease, the fencing on `attempts` and the progress reports are the ones
every long job shares (`lib.jobs`, which says how an import is worked on once and how a
crashed worker's import moves on); `importer.QUEUE` describes the change log imports to it.

Registered with the worker as `JOB_NAME` through the RFC's seam (`rfc.EXTENSION`'s `jobs`).
"""

from __future__ import annotations

from datetime import datetime

from changedesk.lib import jobs as lib_jobs
from changedesk.spreadsheets import importer, trust_importer, wording
from changedesk.spreadsheets.models import ChangeImport, ImportState
from changedesk.spreadsheets.wording import say

JOB_NAME = "spreadsheets.change_imports"
# The trust's change log imports (`trust_importer`), a queue of their own.
TRUST_JOB_NAME = "spreadsheets.trust_change_imports"
# A file uploaded or checked and then left is kept this long.
UNCONFIRMED_DAYS = 7


def run(now: datetime) -> int:
    """The worker job: check or apply every import waiting for a worker; returns how many.
    Imports left unchecked or unconfirmed for UNCONFIRMED_DAYS are let go (files dropped)."""
    expire(now)
    return lib_jobs.run(importer.QUEUE, now, importer.process)


def expire(now: datetime) -> int:
    """End the imports nobody went on with within UNCONFIRMED_DAYS, dropping their files."""
    return lib_jobs.expire(
        importer.QUEUE,
        now,
        (ImportState.UPLOADED, ImportState.PREVIEWED),
        "created_at",
        UNCONFIRMED_DAYS,
        say(wording.NOT_CONFIRMED, days=UNCONFIRMED_DAYS),
    )


def claim(now: datetime, job_id: int | None = None) -> ChangeImport | None:
    """Take the next import waiting for a worker (or `job_id`): count the attempt and start
    its lease."""
    return lib_jobs.claim(importer.QUEUE, now, job_id)


def run_trust(now: datetime) -> int:
    """The worker job of the trusts' change log imports (`trust_importer`), as `run`."""
    trust_importer.expire(
        now,
        UNCONFIRMED_DAYS,
        say(wording.NOT_CONFIRMED, days=UNCONFIRMED_DAYS),
    )
    return lib_jobs.run(trust_importer.QUEUE, now, trust_importer.process)
