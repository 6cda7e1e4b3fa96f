"""The spreadsheets pages: importing a change log (upload, columns, the worker's progress,
preview, apply), the change log as XLSX, and a school's archive.

Importing and the archive are the school administrator's: a school the person is not in is
a 404, a school where they are not its administrator a 403. The XLSX is the change log's
CSV export in another form: anyone signed in, their own schools' RFCs.
"""

from __future__ import annotations

from collections.abc import Callable
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
from django.utils import timezone
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from changedesk.accounts import permissions
from changedesk.accounts.current import current_user
from changedesk.accounts.models import School, User
from changedesk.lib import jobs as lib_jobs
from changedesk.lib.errors import WorkflowError
from changedesk.lib.forms import show_workflow_error
from changedesk.spreadsheets import archive, exports, importer, trust_importer
from changedesk.spreadsheets.forms import MappingForm, UploadForm
from changedesk.spreadsheets.models import ChangeImport, ImportState

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
        raise PermissionDenied(f"Only a school administrator of {school.name} may do this.")
    return school


@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest, slug: str) -> HttpResponse:
    """Upload a change log; its page then asks which field each column holds."""
    school = _admin_school(request, slug)
    user = current_user(request)
    form = UploadForm(request.POST, request.FILES) if request.method == "POST" else UploadForm()
    job = started(form, lambda data, name: importer.start(school, user, data, name))
    if job is not None:
        return redirect("spreadsheets:job", slug=school.slug, pk=job.pk)
    context = {
        "school": school,
        "form": form,
        "recent": importer.recent(school),
        "fields": importer.FIELDS.values(),
        "max_rows": f"{importer.MAX_ROWS:,}",
    }
    status = 400 if form.is_bound else 200
    return render(request, "spreadsheets/upload.html", context, status=status)


J = TypeVar("J")


def started(form: UploadForm, start: Callable[[bytes, str], J]) -> J | None:
    """The import `start` makes of a valid upload form's file (a school's or a trust's), or
    None: the form not sent or not valid, or the file refused (the form says why)."""
    if not (form.is_bound and form.is_valid()):
        return None
    file = form.cleaned_data["file"]
    try:
        if file.size > importer.MAX_BYTES:
            # Refused before it is read into memory.
            raise importer.ImportRefused(importer.too_big(file.size))
        return start(file.read(), file.name or "")
    except importer.ImportRefused as refusal:
        form.add_error("file", str(refusal))
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
        if error.status == 403:
            raise PermissionDenied(error.message) from None
        show_workflow_error(form, error)
        return error.status
    return None


def _job(request: HttpRequest, school: School, pk: int) -> ChangeImport:
    user = current_user(request)
    queryset = ChangeImport.objects.visible_to(user).light().select_related("created_by")
    job = get_object_or_404(queryset, pk=pk, school=school)
    job.school = school
    return job


@require_http_methods(["GET", "POST"])
def job_page(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """An import: choose the columns and have the rows checked (POST); its progress while
    the worker has it (polled by htmx); the preview and the problems, then apply; or what
    it did, or why nothing was imported."""
    school = _admin_school(request, slug)
    job = importer.live_progress(_job(request, school, pk))
    over = lib_jobs.poll_over(request, job.running)
    if over is not None:
        return over
    if lib_jobs.is_poll(request):
        return render(request, "spreadsheets/_progress.html", {"school": school, "job": job})
    user = current_user(request)
    form = MappingForm(request.POST if request.method == "POST" else None, job=job)
    status = 200
    if form.is_bound:
        status = checked(form, lambda mapping: importer.check(job, user, mapping)) or 0
        if not status:
            return redirect("spreadsheets:job", slug=school.slug, pk=job.pk)
    context: dict[str, Any] = {
        "school": school,
        "job": job,
        "form": form,
        "mine": job.created_by_id == user.pk,
        "errors": [importer.RowError(*error) for error in job.errors],
        "labels": dict(importer.FIELD_CHOICES),
    }
    return render(request, "spreadsheets/job.html", context, status=status)


@require_POST
def apply(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Confirm a checked file: the worker imports every row, or none (a small file at once)."""
    school = _admin_school(request, slug)
    job = _job(request, school, pk)
    user = current_user(request)
    try:
        done = importer.apply(job, user)
    except WorkflowError as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from None
        messages.error(request, error.message)
        return redirect("spreadsheets:job", slug=school.slug, pk=job.pk)
    if done.state == ImportState.DONE:
        messages.success(
            request,
            ngettext(
                "Imported %(count)s RFC into %(school)s.",
                "Imported %(count)s RFCs into %(school)s.",
                done.created_count,
            )
            % {"count": done.created_count, "school": school.name},
        )
    return redirect("spreadsheets:job", slug=school.slug, pk=job.pk)


def xlsx_response(user: User, request: HttpRequest) -> HttpResponseBase:
    """The change log as filtered by the query string, as an XLSX download (400 if the
    filters are not valid)."""
    queryset = exports.filtered(user, request.GET)
    if queryset is None:
        return HttpResponseBadRequest("The filters are not valid.")
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
