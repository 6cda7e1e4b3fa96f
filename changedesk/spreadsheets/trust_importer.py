"""Importing the change log a trust kept for all its schools: the school import's steps
(`importer`: upload, map, check by the worker, preview, confirm, apply by the worker all or
nothing, with progress) with one more column, **School**, naming each row's school.

- The school is matched to one of the trust's schools by its name or its slug, in any case;
  a row naming any other (a school outside the trust, or none there is) is a row error, and
  so is a row naming none, unless the trust has a single school.
- Each row is read and checked as the school import reads it, in its school: its people
  among that school's members, its reference among that school's imports before.
- Applying locks the trust (as a school joining or leaving it does), then every school of
  the trust in the order of their ids, so it waits for (and cannot deadlock against) a
  school's own import, which locks its one school; the rows are checked again, and each
  school's RFCs are numbered after that school's last and written with their `imported`
  event opening the history chain (`writing.write`), all in one transaction or none.
- The mapping is remembered per trust (`TrustColumnMapping`).

The trust's administrator (or a superuser) imports; the worker's queue is `QUEUE`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from changedesk.accounts import permissions, trusts
from changedesk.accounts.choices import TrustRole
from changedesk.accounts.models import School, Trust, User
from changedesk.lib import jobs as lib_jobs
from changedesk.lib.errors import NotPermitted
from changedesk.spreadsheets import columns, importer, reading, row_checks, wording, writing
from changedesk.spreadsheets.importer import ImportRefused, RowError
from changedesk.spreadsheets.models import ImportState, TrustChangeImport, TrustColumnMapping
from changedesk.spreadsheets.row_checks import Progress, Row
from changedesk.spreadsheets.wording import say

__all__ = ["ImportRefused", "RowError"]

INLINE_MAX_BYTES = importer.INLINE_MAX_BYTES

QUEUE = lib_jobs.upload_queue(
    TrustChangeImport,
    "Trust change log import",
    folder="trust-change-imports",
    file_field="content",
    empty_file=b"",
    lease_seconds=importer.LEASE_SECONDS,
)

SCHOOL_NAMES = ("school", "school name", "site", "academy", "school slug", "setting")
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    # Marked for the catalogue: the pages translate the fields' labels as they show them.
    "school": (gettext_noop("School (its name or slug)"), SCHOOL_NAMES),
    **columns.FIELDS,
}
FIELD_CHOICES = [(name, label) for name, (label, _) in FIELDS.items()]
_SCHOOL_KEYS = {columns.normal(name) for name in (*SCHOOL_NAMES, FIELDS["school"][0])}


def known(name: str) -> str | None:
    """The field a header's name means (the school's column too), or None."""
    if name and columns.normal(name) in _SCHOOL_KEYS:
        return "school"
    return columns.known(name)


def may_import(user: Any, trust: Trust) -> bool:
    """Importing a trust's change log is its administrator's (a superuser's anywhere)."""
    return permissions.is_trust_admin(user, trust)


def administered(user: Any) -> list[Trust]:
    """The trusts whose change log `user` may import (one query; every trust for a
    superuser)."""
    if not user.is_authenticated or not user.is_active:
        return []
    found = Trust.objects.order_by("name")
    if not user.is_superuser:
        found = found.filter(
            memberships__user=user, memberships__role=TrustRole.TRUST_ADMIN
        ).distinct()
    return list(found)


def _refuse_unless_admin(user: User, trust: Trust) -> None:
    if not may_import(user, trust):
        raise NotPermitted(
            gettext("Only an administrator of %(trust)s may import its change log.")
            % {"trust": trust.name}
        )


def saved_mapping(trust: Trust) -> dict[str, str]:
    row = TrustColumnMapping.objects.filter(trust=trust).first()
    return dict(row.fields) if row is not None else {}


# --- Upload. ---


def start(trust: Trust, user: User, data: bytes, file_name: str) -> TrustChangeImport:
    """Keep an uploaded file with its header, its first rows and the mapping guessed for it
    (the trust's last, else from the names); refuses a file that cannot be read."""
    _refuse_unless_admin(user, trust)
    header, first_rows, whole, samples = row_checks.read_head(data, file_name, known)
    return TrustChangeImport.objects.create(
        trust=trust,
        created_by=user,
        file_name=file_name[:255],
        size=len(data),
        content=data,
        header_row=header.row + 1,
        columns=header.names,
        mapping=columns.guess_mapping(header.names, saved_mapping(trust), FIELDS, known),
        rows=len(first_rows) if whole else 0,
        preview=samples,
    )


# --- Reading and checking the rows. ---


@dataclass
class TrustPlan:
    """Every row of the file in its order, and the rows of each school (a plan each)."""

    rows: list[Row]
    plans: list[row_checks.Plan]

    @property
    def errors(self) -> list[RowError]:
        return [error for row in self.rows for error in row.errors]


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def schools_by_name(schools: Iterable[School]) -> dict[str, School | None]:
    """The trust's schools by their slugs and names, as `_key` writes them (a slug first,
    should one school's slug be another's name); None for a name two of them share (only
    their slugs tell them apart), so that no row goes to one of them by chance."""
    found: dict[str, School | None] = {}
    for school in schools:
        found.setdefault(_key(school.slug), school)
    slugs = set(found)
    for school in schools:
        key = _key(school.name)
        if key in slugs:
            continue
        found[key] = None if key in found and found[key] != school else school
    return found


def read(
    job: TrustChangeImport,
    data: bytes,
    mapping: list[str],
    actor: User,
    schools: list[School],
    progress: Progress = row_checks.no_progress,
) -> TrustPlan:
    """Parse and check every row of `job`'s file with `mapping`, each in the school it names
    among `schools` (the trust's); writes nothing. Queries: the file's, then per school its
    members and its references imported before (none per row)."""
    numbered = row_checks.data_rows(job, data, progress)
    total = len(numbered)
    by_name = schools_by_name(schools)
    only = schools[0] if len(schools) == 1 else None
    column = mapping.index("school") if "school" in mapping else None
    rows: list[Row] = []
    of_school: dict[int, list[Row]] = {}
    for index, cells in numbered:
        named = _cell_text(cells, column)
        key = _key(named)
        school = by_name.get(key) if key else only
        # The trust's schools keep one time zone; a row without a school is not written.
        zone = (school or schools[0]).zone if schools else timezone.get_default_timezone()
        row = row_checks.parse(index, cells, mapping, zone)
        if school is None:
            row.error("school", _no_school(job.trust, named, shared=key in by_name))
        else:
            of_school.setdefault(school.pk, []).append(row)
        rows.append(row)
        if len(rows) % row_checks.REPORT_EVERY == 0:
            progress(total + len(rows), 2 * total)
    del numbered
    plans = [row_checks.Plan(s, of_school[s.pk]) for s in schools if s.pk in of_school]
    for plan in plans:
        row_checks.check_people(plan, actor)
        row_checks.check_references(plan)
    progress(2 * total, 2 * total)
    return TrustPlan(rows, plans)


def _cell_text(cells: list[Any], column: int | None) -> str:
    if column is None or column >= len(cells):
        return ""
    return reading.cell_text(cells[column])


def _no_school(trust: Trust, named: str, *, shared: bool = False) -> str:
    named = " ".join(named.split())[:60]
    if not named:
        return say(wording.NO_SCHOOL_NAMED, trust=trust.name)
    if shared:
        return say(wording.SCHOOL_NAME_SHARED, trust=trust.name, name=named)
    return say(wording.NO_SUCH_SCHOOL, trust=trust.name, name=named)


# --- The steps. ---


def _refuse_unless_uploader(job: TrustChangeImport, user: User) -> None:
    _refuse_unless_admin(user, job.trust)
    if job.created_by_id != user.pk:
        raise NotPermitted(gettext("Only the person who uploaded the file may import it."))


def _bad_mapping(job: TrustChangeImport, mapping: list[str]) -> dict[str, str]:
    errors = columns.bad_mapping(mapping, len(job.columns), FIELDS)
    if not errors and "school" not in mapping and job.trust.schools.count() != 1:
        errors = {"mapping": gettext("Choose the column that names each change's school.")}
    return errors


def check(job: TrustChangeImport, user: User, mapping: list[str]) -> TrustChangeImport:
    """Have every row of `job` checked with `mapping` by the worker (a small file at once),
    and keep the mapping for the trust's next file. Refuses a bad mapping or a job over or
    being worked on (400), anyone but the trust's administrator who uploaded it (403)."""
    _refuse_unless_uploader(job, user)
    importer.queue_check(QUEUE, job, mapping, _bad_mapping(job, mapping), remember, user)
    return _worked_on(job)


def remember(job: TrustChangeImport, user: User) -> None:
    """Keep the trust's mapping: each mapped header's name and its field."""
    importer.keep_columns(
        TrustColumnMapping.objects.get_or_create(trust_id=job.trust_id)[0], job, user
    )


def _worked_on(job: TrustChangeImport) -> TrustChangeImport:
    if job.size <= INLINE_MAX_BYTES:
        process_now(job.pk)
    fresh = QUEUE.light().get(pk=job.pk)
    fresh.trust = job.trust
    return fresh


def apply(job: TrustChangeImport, user: User) -> TrustChangeImport:
    """The person who uploaded a checked import, still the trust's administrator, confirms
    it: the worker writes every row as an RFC of its school, all in one transaction, or none.
    Refuses an import not checked, with problems, or over (400), and anyone else (403)."""
    _refuse_unless_uploader(job, user)
    importer.confirm(QUEUE, job)
    return _worked_on(job)


# --- The worker's steps. ---


def live_progress(job: TrustChangeImport) -> TrustChangeImport:
    return lib_jobs.live_progress(QUEUE, job)


def process(job: TrustChangeImport) -> None:
    lib_jobs.work(QUEUE, job, {ImportState.CHECKING: check_job, ImportState.APPLYING: apply_job})


def process_now(job_id: int) -> None:
    lib_jobs.process_now(QUEUE, job_id, process)


def _uploader(job: TrustChangeImport) -> tuple[Trust, User | None]:
    trust = Trust.objects.get(pk=job.trust_id)
    job.trust = trust
    return trust, importer.uploader(job, lambda actor: may_import(actor, trust))


def check_job(job: TrustChangeImport) -> None:
    """The worker's first step: read and check every row and keep the preview."""
    trust, actor = _uploader(job)

    def read_all(actor: User, progress: Progress) -> TrustPlan:
        schools = list(School.objects.filter(trust=trust).order_by("pk"))
        return read(job, importer.content(job), list(job.mapping), actor, schools, progress)

    importer.check_step(QUEUE, job, trust, actor, read_all)


def apply_job(job: TrustChangeImport) -> None:
    """The worker's second step: with the trust and its schools locked, check every row
    again and write them all as RFCs of their schools, in one transaction, or none."""
    trust, actor = _uploader(job)

    def write_all(actor: User, checking: Progress, saving: lib_jobs.JobProgress) -> dict[str, Any]:
        # The trust's lock first (as a school joining or leaving takes it), then its schools
        # in the order of their ids: a school's own import holds only its school's.
        trusts.lock(trust)
        # Still its administrator? Checked again under the lock that giving or taking away a
        # trust role takes, so that one taken away meanwhile imports nothing.
        if not may_import(actor, trust):
            raise lib_jobs.Refused(say(wording.NO_LONGER_ADMIN, place=trust.name))
        schools = list(School.objects.select_for_update().filter(trust=trust).order_by("pk"))
        plan = read(job, importer.content(job), list(job.mapping), actor, schools, checking)
        importer.refuse_errors(plan, wording.TRUST_CHANGED)
        count = len(plan.rows)
        saving.offset = 2 * count
        done = 0
        results = []
        for school_plan in plan.plans:

            def tell(written: int, _: int, before: int = done) -> None:
                saving(before + written, count)

            first, last = writing.write(school_plan, job, actor, tell, key="trust_import")
            done += len(school_plan.rows)
            school = school_plan.school
            results.append(
                {
                    "school": school.slug,
                    "name": school.name,
                    "count": len(school_plan.rows),
                    "first": first,
                    "last": last,
                }
            )
        return {"rows": count, "created_count": count, "results": results}

    importer.apply_step(QUEUE, job, trust, actor, write_all)


def expire(now: Any, days: int, reason: str) -> int:
    return lib_jobs.expire(
        QUEUE, now, (ImportState.UPLOADED, ImportState.PREVIEWED), "created_at", days, reason
    )


def recent(trust: Trust) -> Iterable[TrustChangeImport]:
    return QUEUE.light().filter(trust=trust).select_related("created_by")[:10]
