"""The spreadsheets pages: importing a change log (upload, columns, the worker's progress,
preview, apply), the change log as XLSX, and a school's archive.

Importing and the archive are the school administrator's: a school the person is not in is
a 404, a school where they are not its administrator a 403. The XLSX is the change log's
CSV export in another form: anyone signed in, their own schools' RFCs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from changedesk.accounts import permissions
from changedesk.accounts.current import current_user
from changedesk.accounts.models import School, Trust, User
from changedesk.configuration.importer import RowError
from changedesk.lib import jobs as lib_jobs
from changedesk.lib.errors import WorkflowError
from changedesk.lib.forms import show_workflow_error
from changedesk.spreadsheets import (
    archive,
    columns,
    exports,
    importer,
    row_checks,
    trust_importer,
    wording,
)
from changedesk.spreadsheets.forms import MappingForm, UploadForm
from changedesk.spreadsheets.models import ChangeImport, ChangeLogImport, ImportState

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """What a person can do here: export the change log; import and archive the schools
    they administer."""
    user = current_user(request)
    schools = [s for s in permissions.schools(user) if importer.may_import(user, s)]
    trusts = trust_importer.administered(user)
    return render(request, "spreadsheets/index.html", {"schools": schools, "trusts": trusts})


def _admin_school(request: HttpRequest, slug: str) -> School:
    """The school, if the person is its administrator: 404 if not theirs, else 403."""
    user = current_user(request)
    school = get_object_or_404(School.objects.for_user(user), slug=slug)
    if not importer.may_import(user, school):
        raise PermissionDenied(
            gettext("Only a school administrator of %(school)s may do this.")
            % {"school": school.name}
        )
    return school


@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest, slug: str) -> HttpResponse:
    """Upload a change log; its page then asks which field each column holds."""
    school = _admin_school(request, slug)
    user = current_user(request)
    form = UploadForm(request.POST, request.FILES) if request.method == "POST" else UploadForm()
    job = started(form, lambda data, name: importer.start(school, user, data, name))
    if job is not None:
        return redirect(SCHOOL_PAGES.job_page, slug=school.slug, pk=job.pk)
    return upload_page(request, SCHOOL_PAGES, school, form, importer.recent(school), {})


def upload_page(
    request: HttpRequest,
    pages: ImportPages,
    place: School | Trust,
    form: UploadForm,
    recent: Iterable[ChangeLogImport],
    extra: dict[str, Any],
) -> HttpResponse:
    """The upload page of a school's import or a trust's (400 with the form's errors)."""
    context = {
        pages.place: place,
        "place": place,
        "job_page": pages.job_page,
        "form": form,
        "recent": recent,
        "fields": [(label, names) for label, names in pages.fields.values()],
        "max_rows": f"{row_checks.MAX_ROWS:,}",
        **extra,
    }
    status = 400 if form.is_bound else 200
    return render(request, pages.upload_template, context, status=status)


J = TypeVar("J")


def started(form: UploadForm, start: Callable[[bytes, str], J]) -> J | None:
    """The import `start` makes of a valid upload form's file (a school's or a trust's), or
    None: the form not sent or not valid, or the file refused (the form says why)."""
    if not (form.is_bound and form.is_valid()):
        return None
    try:
        return importer.started(form.cleaned_data["file"], start)
    except importer.ImportRefused as refusal:
        form.add_error("file", wording.in_language(str(refusal)))
    return None


def checked(form: MappingForm, check: Callable[[list[str]], object]) -> int | None:
    """Have a sent mapping form's columns checked by `check` (a school's or a trust's
    import): None once handed over, else the page's status (400, or the refusal's; a 403
    is raised)."""
    if not form.is_valid():
        return 400
    try:
        check(form.mapping())
    except WorkflowError as error:
        _forbidden(error)
        show_workflow_error(form, error)
        return error.status
    return None


def _forbidden(error: WorkflowError) -> None:
    """A refusal of the person's role is the 403 page."""
    if error.status == 403:
        raise PermissionDenied(error.message) from None


@dataclass(frozen=True)
class ImportPages:
    """What the pages of a school's import and of a trust's differ in: the name of their
    place (school or trust) in the templates, their URLs and templates, and their importer's
    steps and fields."""

    place: str
    job_page: str
    upload_page: str
    apply_page: str
    upload_template: str
    job_template: str
    fields: Mapping[str, tuple[str, tuple[str, ...]]]
    live_progress: Callable[[Any], Any]
    check: Callable[[Any, User, list[str]], object]
    apply: Callable[[Any, User], Any]
    # What the page says once the worker has imported `count` RFCs into the place.
    imported: Callable[[int, Any], str]


def show_job(
    request: HttpRequest, pages: ImportPages, place: School | Trust, job: ChangeLogImport
) -> HttpResponse:
    """An import's page (a school's or a trust's): choose the columns and have the rows
    checked (POST); its progress while the worker has it (polled by htmx); the preview and
    the problems, then apply; or what it did, or why nothing was imported."""
    job = pages.live_progress(job)
    over = lib_jobs.poll_over(request, job.running)
    if over is not None:
        return over
    here = {"slug": place.slug, "pk": job.pk}
    context: dict[str, Any] = {
        pages.place: place,
        "place": place,
        "job": job,
        "job_url": reverse(pages.job_page, kwargs=here),
        "apply_url": reverse(pages.apply_page, kwargs=here),
        "upload_url": reverse(pages.upload_page, kwargs={"slug": place.slug}),
    }
    if lib_jobs.is_poll(request):
        return render(request, "spreadsheets/_progress.html", context)
    user = current_user(request)
    choices = [(name, label) for name, (label, _) in pages.fields.items()]
    form = MappingForm(request.POST if request.method == "POST" else None, job=job, choices=choices)
    status = 200
    if form.is_bound:
        status = checked(form, lambda mapping: pages.check(job, user, mapping)) or 0
        if not status:
            return redirect(context["job_url"])
    context |= {
        "form": form,
        "mine": job.created_by_id == user.pk,
        "errors": [RowError(*error) for error in job.errors],
        "labels": dict(choices),
    }
    return render(request, pages.job_template, context, status=status)


def apply_job(
    request: HttpRequest, pages: ImportPages, place: School | Trust, job: ChangeLogImport
) -> HttpResponse:
    """Confirm a checked import (a school's or a trust's): the worker imports every row, or
    none (a small file at once); back to its page, saying what was done or why not."""
    try:
        done = pages.apply(job, current_user(request))
    except WorkflowError as error:
        _forbidden(error)
        messages.error(request, error.message)
    else:
        if done.state == ImportState.DONE:
            messages.success(request, pages.imported(done.created_count, place))
    return redirect(pages.job_page, slug=place.slug, pk=job.pk)


def _job(request: HttpRequest, school: School, pk: int) -> ChangeImport:
    user = current_user(request)
    queryset = ChangeImport.objects.visible_to(user).light().select_related("created_by")
    job = get_object_or_404(queryset, pk=pk, school=school)
    job.school = school
    return job


def _imported(count: int, school: School) -> str:
    text = ngettext(
        "Imported %(count)s RFC into %(school)s.", "Imported %(count)s RFCs into %(school)s.", count
    )
    return text % {"count": count, "school": school.name}


SCHOOL_PAGES = ImportPages(
    place="school",
    job_page="spreadsheets:job",
    upload_page="spreadsheets:upload",
    apply_page="spreadsheets:apply",
    upload_template="spreadsheets/upload.html",
    job_template="spreadsheets/job.html",
    fields=columns.FIELDS,
    live_progress=importer.live_progress,
    check=importer.check,
    apply=importer.apply,
    imported=_imported,
)


@require_http_methods(["GET", "POST"])
def job_page(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """A school's import (`show_job`)."""
    school = _admin_school(request, slug)
    return show_job(request, SCHOOL_PAGES, school, _job(request, school, pk))


@require_POST
def apply(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Confirm a checked file: the worker imports every row, or none (a small file at once)."""
    school = _admin_school(request, slug)
    return apply_job(request, SCHOOL_PAGES, school, _job(request, school, pk))


def xlsx_response(user: User, request: HttpRequest) -> HttpResponseBase:
    """The change log as filtered by the query string, as an XLSX download (400 if the
    filters are not valid)."""
    queryset = exports.filtered(user, request.GET)
    if queryset is None:
        return HttpResponseBadRequest(gettext("The filters are not valid."))
    out = exports.write_changes(queryset, exports.zones_of(user))
    stamp = timezone.localdate().isoformat()
    return FileResponse(
        out, as_attachment=True, filename=f"changes-{stamp}.xlsx", content_type=XLSX
    )


@require_GET
def changes_xlsx(request: HttpRequest) -> HttpResponseBase:
    """The change log as an Excel workbook: the CSV export's columns and filters."""
    return xlsx_response(current_user(request), request)


def archive_response(school: School, user: User) -> FileResponse:
    out = archive.write_archive(school, user)
    stamp = timezone.localdate().isoformat()
    return FileResponse(
        out,
        as_attachment=True,
        filename=f"{school.slug}-{stamp}.zip",
        content_type="application/zip",
    )


@require_GET
def school_archive(request: HttpRequest, slug: str) -> HttpResponseBase:
    """Everything of a school, as a ZIP archive of JSON and CSV files."""
    school = _admin_school(request, slug)
    return archive_response(school, current_user(request))
