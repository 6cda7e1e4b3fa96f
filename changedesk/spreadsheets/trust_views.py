"""The pages of a trust's change log import (`trust_importer`): upload, choose the columns
(with the school's), the worker's progress, preview, apply; as a school's (`views`).

The trust's administrator's (or a superuser's): someone with no role in the trust gets a
404, someone with another trust role a 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from changedesk.accounts.current import current_user, member_trust
from changedesk.accounts.models import School, Trust
from changedesk.lib import jobs as lib_jobs
from changedesk.lib.errors import WorkflowError
from changedesk.spreadsheets import importer, trust_importer, views
from changedesk.spreadsheets.forms import MappingForm, UploadForm
from changedesk.spreadsheets.models import ImportState, TrustChangeImport


def _admin_trust(request: HttpRequest, slug: str) -> Trust:
    trust, _ = member_trust(request, slug, admin=True)
    return trust


@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest, slug: str) -> HttpResponse:
    """Upload the trust's change log; its page then asks which field each column holds."""
    trust = _admin_trust(request, slug)
    user = current_user(request)
    form = UploadForm(request.POST, request.FILES) if request.method == "POST" else UploadForm()
    job = views.started(form, lambda data, name: trust_importer.start(trust, user, data, name))
    if job is not None:
        return redirect("spreadsheets:trust_job", slug=trust.slug, pk=job.pk)
    schools = list(School.objects.filter(trust=trust).order_by("name"))
    context = {
        "trust": trust,
        "schools": schools,
        "school_list": ", ".join(f"{school.name} ({school.slug})" for school in schools),
        "form": form,
        "recent": trust_importer.recent(trust),
        "fields": trust_importer.FIELDS.values(),
        "max_rows": f"{importer.MAX_ROWS:,}",
    }
    status = 400 if form.is_bound else 200
    return render(request, "spreadsheets/trust_upload.html", context, status=status)


def _job(trust: Trust, pk: int) -> TrustChangeImport:
    queryset = trust_importer.QUEUE.light().select_related("created_by")
    job = get_object_or_404(queryset, pk=pk, trust=trust)
    job.trust = trust
    return job


@require_http_methods(["GET", "POST"])
def job_page(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """A trust's import: choose the columns and have the rows checked (POST); the worker's
    progress (polled by htmx); the preview and the problems, then apply; or the outcome."""
    trust = _admin_trust(request, slug)
    job = trust_importer.live_progress(_job(trust, pk))
    over = lib_jobs.poll_over(request, job.running)
    if over is not None:
        return over
    if lib_jobs.is_poll(request):
        return render(request, "spreadsheets/_trust_progress.html", {"trust": trust, "job": job})
    user = current_user(request)
    form = MappingForm(
        request.POST if request.method == "POST" else None,
        job=job,
        choices=trust_importer.FIELD_CHOICES,
    )
    status = 200
    if form.is_bound:
        status = views.checked(form, lambda mapping: trust_importer.check(job, user, mapping)) or 0
        if not status:
            return redirect("spreadsheets:trust_job", slug=trust.slug, pk=job.pk)
    context: dict[str, Any] = {
        "trust": trust,
        "job": job,
        "form": form,
        "mine": job.created_by_id == user.pk,
        "errors": [importer.RowError(*error) for error in job.errors],
        "labels": dict(trust_importer.FIELD_CHOICES),
    }
    return render(request, "spreadsheets/trust_job.html", context, status=status)


@require_POST
def apply(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Confirm a checked file: the worker imports every row into its school, or none."""
    trust = _admin_trust(request, slug)
    job = _job(trust, pk)
    try:
        done = trust_importer.apply(job, current_user(request))
    except WorkflowError as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from None
        messages.error(request, error.message)
        return redirect("spreadsheets:trust_job", slug=trust.slug, pk=job.pk)
    if done.state == ImportState.DONE:
        text = ngettext(
            "Imported %(count)s RFC into the schools of %(trust)s.",
            "Imported %(count)s RFCs into the schools of %(trust)s.",
            done.created_count,
        )
        messages.success(request, text % {"count": done.created_count, "trust": trust.name})
    return redirect("spreadsheets:trust_job", slug=trust.slug, pk=job.pk)
