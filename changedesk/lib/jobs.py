"""Long work done by the worker, with progress a page can show: an upload checked, confirmed,
then applied all or nothing (the item import, the change log import).

An app keeps each piece of work as a row of a model deriving from `Upload` (or `Job`: the
claim and progress fields alone), describes it once as a `Queue` (`upload_queue`: its model,
the column holding the uploaded file), hands a row to the worker (`hand_over`), and
registers a worker job (through `changes.extensions`, from its `AppConfig.ready()`) whose
`run` is `run(queue, now, process)`, `process` running the app's steps through `work`,
`check_and_preview` and `apply_all_or_nothing`. Its page includes `jobs/_progress.html`,
which htmx polls (`is_poll`, `poll_over`).

How a job is worked on once, even with several workers on one database, and how a crashed
worker's job moves on: a worker *claims* a job in a short transaction (the row locked with
`SKIP LOCKED` where the database has it, and `attempts` counted up as a compare-and-set),
which gives it a lease of `queue.lease_seconds`, renewed by its progress reports
(`JobProgress`). Every later write is fenced on the claimed `attempts` (`finish`, `fail`),
so a worker that outlived its lease cannot overwrite what another recorded, and a step's own
transaction rolls back if its job was taken over (`finish` returns False: raise `Lost`). A
job whose worker died is claimed again when its lease ends; after `queue.max_attempts` it
fails, saying so, with nothing written.

Progress from inside a step's transaction cannot simply be written to the row (the page
would not see it before the commit): on PostgreSQL it goes through a connection of its own,
on SQLite to a small file in the data directory, which `live_progress` reads.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

logger = logging.getLogger("changedesk.jobs")

# A pass stops taking new jobs after this long, so the outbox is still sent.
PASS_SECONDS = 120
FAILED_UNEXPECTEDLY = (
    "Something went wrong while working on the file, so nothing was imported. "
    "Try again; if it happens again, tell whoever runs changedesk."
)


class Job(models.Model):
    """The fields the worker's claim, lease and progress need (an abstract model: each app's
    job keeps its own table, states and results)."""

    phase = models.CharField(max_length=100, blank=True, help_text="What the worker is doing.")
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    # The worker's claim: counted up by each claim, and the lease that hides the job from
    # other workers (None: waiting for a worker).
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 0
        return min(100, self.progress_done * 100 // self.progress_total)


# The steps of an uploaded file, as every app's states name them (`upload_queue`).
QUEUED, CHECKING, PREVIEWED, APPLYING, DONE, FAILED = (
    "queued",
    "checking",
    "previewed",
    "applying",
    "done",
    "failed",
)
# The steps in which the worker has (or will have) something to do: the page polls.
RUNNING = (QUEUED, CHECKING, APPLYING)


class Upload(Job):
    """An uploaded file the worker checks (keeping a preview: its rows, their problems, the
    first rows), a person confirms, and the worker applies all or nothing: the fields every
    such import has (an abstract model; each app adds its school, uploader, file, `state`
    with the values above, and results)."""

    file_name = models.CharField(max_length=255, blank=True)
    size = models.PositiveIntegerField(default=0, help_text="The file's size in bytes.")
    rows = models.PositiveIntegerField(default=0, help_text="Data rows in the file.")
    error_count = models.PositiveIntegerField(default=0)
    # The first row errors (as many as the app keeps), each [row, column or field, message].
    errors = models.JSONField(default=list, blank=True)
    # The first rows of the file, as the app's preview shows them.
    preview = models.JSONField(default=list, blank=True)
    failure = models.TextField(blank=True, help_text="Why nothing was imported.")
    created_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def running(self) -> bool:
        return _state(self) in RUNNING

    @property
    def hidden_errors(self) -> int:
        return max(0, self.error_count - len(self.errors))

    @property
    def hidden_rows(self) -> int:
        return max(0, self.rows - len(self.preview))


J = TypeVar("J", bound=Job)


@dataclass(frozen=True)
class Queue(Generic[J]):
    """One kind of job: its model (which has `state`, `failure` and `finished_at` besides
    `Job`'s fields) and the states the worker moves it through."""

    model: type[J]
    # Names the job in the logs ("Item import") and its progress files' folder.
    name: str
    folder: str
    # The column holding the uploaded file: not read when a job is claimed, dropped when
    # the job ends; and its empty value ("" or b"").
    file_field: str
    empty_file: Any
    # A new job, waiting for a worker; the state a worker claims it into.
    queued: str
    first: str
    # The states a worker works in (a job there without a live lease is claimed again), and
    # what the page says when a worker takes a job in each, until its first report.
    phases: Mapping[str, str]
    failed: str
    over: tuple[str, ...]
    lease_seconds: int = 600
    max_attempts: int = 3
    # Said when a job killed its worker `max_attempts` times.
    exhausted: str = field(
        default="The worker stopped while working on the file, {attempts} times; nothing was "
        "imported. Try a smaller file, or tell whoever runs changedesk."
    )

    @property
    def working(self) -> tuple[str, ...]:
        return tuple(self.phases)

    @property
    def running(self) -> tuple[str, ...]:
        """The states in which the worker has (or will have) something to do: the page polls."""
        return (self.queued, *self.phases)

    def light(self) -> models.QuerySet[J]:
        """The jobs without their file."""
        return self.model._default_manager.defer(self.file_field)


def upload_queue(
    model: type[J],
    name: str,
    folder: str,
    file_field: str,
    empty_file: Any,
    lease_seconds: int = 600,
) -> Queue[J]:
    """The queue of an `Upload` model whose states are the steps above: checked by the
    worker (`queued`, then `checking`), confirmed, applied (`applying`); `done` or `failed`."""
    return Queue(
        model=model,
        name=name,
        folder=folder,
        file_field=file_field,
        empty_file=empty_file,
        queued=QUEUED,
        first=CHECKING,
        phases={CHECKING: "Reading the file", APPLYING: "Reading the file again"},
        failed=FAILED,
        over=(DONE, FAILED),
        lease_seconds=lease_seconds,
    )


def hand_over(
    queue: Queue[J],
    job_id: int,
    state: str,
    phase: str,
    total: int = 0,
    only_from: tuple[str, ...] = (),
    **values: Any,
) -> bool:
    """Leave a job to the worker in `state` (`queued` to be checked, `applying` once
    confirmed): its attempts counted afresh, no lease, its progress from nought of `total`,
    `phase` said meanwhile. With `only_from`, only a job in one of those states is handed
    over; returns whether it was."""
    jobs = queue.model._default_manager.filter(pk=job_id)
    if only_from:
        jobs = jobs.filter(state__in=only_from)
    return bool(
        jobs.update(
            state=state,
            attempts=0,
            lease_until=None,
            phase=phase,
            progress_done=0,
            progress_total=total,
            **values,
        )
    )


def waiting(queue: Queue[J], now: datetime) -> Q:
    """Jobs a worker may take: new ones, confirmed ones, and those whose worker's lease has
    run out."""
    lapsed = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    return Q(state=queue.queued) | (Q(state__in=queue.working) & lapsed)


def claim(queue: Queue[J], now: datetime, job_id: int | None = None) -> J | None:
    """Take the next job waiting for a worker (or `job_id`, if it is waiting): count the
    attempt and start its lease."""
    while True:
        with transaction.atomic():
            due = queue.light().filter(waiting(queue, now)).order_by("created_at", "id")
            if job_id is not None:
                due = due.filter(pk=job_id)
            if connection.features.has_select_for_update_skip_locked:
                due = due.select_for_update(skip_locked=True, of=("self",))
            job = due.first()
            if job is None:
                return None
            if job.attempts >= queue.max_attempts:
                fail(queue, job, queue.exhausted.format(attempts=queue.max_attempts))
                continue
            current = _state(job)
            state = queue.first if current == queue.queued else current
            lease = now + timedelta(seconds=queue.lease_seconds)
            phase = queue.phases[state]
            claimed = (
                queue.model._default_manager.filter(pk=job.pk, state=current, attempts=job.attempts)
                .update(
                    state=state,
                    attempts=job.attempts + 1,
                    lease_until=lease,
                    phase=phase,
                    progress_done=0,
                )
            )  # fmt: skip
        if claimed == 1:
            setattr(job, "state", state)  # noqa: B010 (each model declares its own states)
            job.attempts += 1
            job.lease_until = lease
            job.phase = phase
            job.progress_done = 0
            return job


def _state(job: Job) -> str:
    return str(getattr(job, "state"))  # noqa: B009 (each model declares its own states)


def run(
    queue: Queue[J],
    now: datetime,
    process: Callable[[J], None],
    pass_seconds: float = PASS_SECONDS,
) -> int:
    """A worker's pass: claim and `process` every job waiting, one at a time, for up to
    `pass_seconds`; returns how many."""
    started = timezone.now()
    handled = 0
    while timezone.now() - started < timedelta(seconds=pass_seconds):
        job = claim(queue, max(now, timezone.now()))
        if job is None:
            break
        process(job)
        handled += 1
    return handled


def process_now(queue: Queue[J], job_id: int, process: Callable[[J], None]) -> None:
    """Work on one job at once, in the request that made it (a small file): the same steps
    the worker takes, claimed the same way."""
    job = claim(queue, timezone.now(), job_id=job_id)
    if job is not None:
        process(job)


def work(queue: Queue[J], job: J, steps: Mapping[str, Callable[[J], None]]) -> None:
    """Run the step for the state a claimed job is in; an unexpected error fails it, never
    half-done (the step's transaction rolls back)."""
    step = steps.get(_state(job))
    if step is None:
        return
    try:
        step(job)
    except Exception:
        logger.exception("%s %s failed", queue.name, job.pk)
        fail(queue, job, FAILED_UNEXPECTEDLY)


def fail(queue: Queue[J], job: J, reason: str, **values: Any) -> None:
    """End the job with `reason`, if this worker still holds it; its file is dropped (it is
    uploaded again) and nothing it would have written is kept."""
    queue.model._default_manager.filter(pk=job.pk, attempts=job.attempts).exclude(
        state__in=queue.over
    ).update(
        state=queue.failed,
        failure=reason,
        finished_at=timezone.now(),
        lease_until=None,
        phase="",
        **{queue.file_field: queue.empty_file},
        **values,
    )


def finish(queue: Queue[J], job: J, current: str, **values: Any) -> bool:
    """Record the end of a step, if this worker still holds the job (in state `current`)."""
    return bool(
        queue.model._default_manager.filter(pk=job.pk, state=current, attempts=job.attempts).update(
            lease_until=None, **values
        )
    )


class Lost(Exception):
    """Another worker has the job now: roll back what this one wrote."""


class Refused(Exception):
    """The file cannot be imported (as a whole, or some rows now): the job fails, saying
    so, and keeps `values` (the rows' errors, say); nothing it wrote is kept."""

    def __init__(self, message: str, **values: Any) -> None:
        super().__init__(message)
        self.values = values


def check_and_preview(
    queue: Queue[J], job: J, progress: JobProgress, step: Callable[[], dict[str, Any]]
) -> None:
    """Run a claimed job's check `step`: it reads and checks every row, telling `progress`,
    writes nothing, and returns the preview the job keeps as `previewed` (its rows, counts,
    errors, first rows, progress); or raises `Refused`, and the job fails, saying why."""
    try:
        values = step()
    except Refused as refusal:
        fail(queue, job, str(refusal), **refusal.values)
        return
    finally:
        progress.close()
    finish(
        queue,
        job,
        CHECKING,
        state=PREVIEWED,
        checked_at=timezone.now(),
        phase="",
        **values,
    )


def apply_all_or_nothing(queue: Queue[J], job: J, step: Callable[[], dict[str, Any]]) -> None:
    """Run a claimed job's apply `step` in one transaction: it writes everything, and
    returns what the job records as `done` (its counts); or raises `Refused`, and the job
    fails with nothing written. If another worker took the job over meanwhile (this one
    outlived its lease), everything is rolled back and nothing recorded. Other errors
    roll back and propagate (`work` fails the job)."""
    try:
        with transaction.atomic():
            values = step()
            if not finish(
                queue,
                job,
                APPLYING,
                state=DONE,
                finished_at=timezone.now(),
                phase="",
                # Its rows are written now; the counts and the preview stay.
                **{queue.file_field: queue.empty_file},
                **values,
            ):
                raise Lost
    except Refused as refusal:
        fail(queue, job, str(refusal), **refusal.values)
    except Lost:
        logger.warning("%s %s was taken over by another worker; rolled back", queue.name, job.pk)


def expire(
    queue: Queue[J], now: datetime, states: tuple[str, ...], since: str, days: int, reason: str
) -> int:
    """End the jobs left in `states` (waiting for a person) since more than `days` before
    `now` by their field `since`, dropping their files."""
    return (
        queue.model._default_manager.filter(
            state__in=states, **{f"{since}__lt": now - timedelta(days=days)}
        )
        .exclude(**{queue.file_field: queue.empty_file})
        .update(
            state=queue.failed,
            failure=reason,
            finished_at=now,
            **{queue.file_field: queue.empty_file},
        )
    )


class JobProgress:
    """Reports a step's progress on its job's row, at most every REPORT_SECONDS, renewing
    the worker's lease; called with (done, total) of the step.

    Inside the step's transaction the row cannot simply be updated: the page would not see
    it before the commit. On PostgreSQL the report goes through a connection of its own;
    SQLite lets one writer at a time, and the web and the worker share its machine, so
    there it goes to a small file in the data directory (`live_progress` reads it).
    """

    REPORT_SECONDS = 0.5

    def __init__(
        self, queue: Queue[Any], job: Job, phase: str, offset: int = 0, total: int = 0
    ) -> None:
        self.queue = queue
        self.job = job
        self.phase = phase
        # Where this step starts, in a job whose progress spans several steps.
        self.offset = offset
        self.total = total
        self.last = 0.0
        self._side: BaseDatabaseWrapper | None = None

    def __call__(self, done: int, total: int) -> None:
        moment = time.monotonic()
        if done < total and moment - self.last < self.REPORT_SECONDS:
            return
        self.last = moment
        values = {
            "phase": self.phase,
            "progress_done": self.offset + done,
            "progress_total": max(self.total, self.offset + total),
            "lease_until": timezone.now() + timedelta(seconds=self.queue.lease_seconds),
        }
        try:
            self.store(values)
        except (DatabaseError, OSError):
            # The page shows older progress for a moment; the work itself goes on.
            logger.warning(
                "Could not report the progress of %s %s",
                self.queue.name.lower(),
                self.job.pk,
                exc_info=True,
            )

    def store(self, values: dict[str, Any]) -> None:
        if not connection.in_atomic_block:
            self.queue.model._default_manager.filter(
                pk=self.job.pk, attempts=self.job.attempts
            ).update(**values)
        elif connection.vendor == "postgresql":
            self._store_aside(values)
        else:
            _write_progress_file(self.queue, self.job, values)

    def _store_aside(self, values: dict[str, Any]) -> None:
        if self._side is None:
            main = connections[DEFAULT_DB_ALIAS]
            self._side = type(main)(dict(main.settings_dict), alias="job-progress")
        quote = self._side.ops.quote_name
        names = list(values)
        assignments = ", ".join(f"{quote(name)} = %s" for name in names)
        with self._side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(self.queue.model._meta.db_table)} SET {assignments} "  # noqa: S608
                "WHERE id = %s AND attempts = %s",
                [values[n] for n in names] + [self.job.pk, self.job.attempts],
            )

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None
        progress_file(self.queue, self.job.pk).unlink(missing_ok=True)


def progress_file(queue: Queue[Any], job_id: int) -> Path:
    return Path(settings.DATA_DIR) / queue.folder / f"{job_id}.progress.json"


def _write_progress_file(queue: Queue[Any], job: Job, values: dict[str, Any]) -> None:
    path = progress_file(queue, job.pk)
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "attempts": job.attempts,
        **{name: values[name] for name in ("phase", "progress_done", "progress_total")},
    }
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(report), encoding="utf-8")
    partial.replace(path)  # whole, never half-written


def live_progress(queue: Queue[J], job: J, state: str = APPLYING) -> J:
    """`job` with the progress its worker reported from inside the transaction of its step
    `state`, where that went to a file (SQLite) rather than the row."""
    if _state(job) != state or connection.vendor == "postgresql":
        return job
    try:
        report = json.loads(progress_file(queue, job.pk).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return job
    if isinstance(report, dict) and report.get("attempts") == job.attempts:
        job.phase = str(report.get("phase", job.phase))[:100]
        job.progress_done = int(report.get("progress_done", 0))
        job.progress_total = int(report.get("progress_total", 0))
    return job


def is_poll(request: HttpRequest) -> bool:
    """Whether the request is the progress partial's poll (htmx), not the whole page."""
    return bool(request.headers.get("HX-Request"))


def poll_over(request: HttpRequest, running: bool) -> HttpResponse | None:
    """The answer to a poll once the work is over: htmx reloads the whole page (the preview,
    or what was done); None while the job runs, or for the page itself."""
    if not is_poll(request) or running:
        return None
    response = HttpResponse(status=204)
    response["HX-Refresh"] = "true"
    return response
