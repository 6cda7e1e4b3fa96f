"""The pages of a trust's change log import (`trust_importer`): upload, choose the columns
(with the school's), the worker's progress, preview, apply; as a school's (`views`).

The trust's administrator's (or a superuser's): someone with no role in the trust gets a
404, someone with another trust role a 403.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from changedesk.accounts.current import current_user, member_trust
from changedesk.accounts.models import School, Trust
from changedesk.spreadsheets import trust_importer, views
from changedesk.spreadsheets.forms import UploadForm
from changedesk.spreadsheets.models import TrustChangeImport


def _admin_trust(request: HttpRequest, slug: str) -> Trust:
    trust, _ = member_trust(request, slug, admin=True)
    return trust


def _imported(count: int, trust: Trust) -> str:
    text = ngettext(
        "Imported %(count)s RFC into the schools of %(trust)s.",
        "Imported %(count)s RFCs into the schools of %(trust)s.",
        count,
    )
    return text % {"count": count, "trust": trust.name}


TRUST_PAGES = views.ImportPages(
    place="trust",
    job_page="spreadsheets:trust_job",
    upload_page="spreadsheets:trust_upload",
    apply_page="spreadsheets:trust_apply",
    upload_template="spreadsheets/trust_upload.html",
    job_template="spreadsheets/trust_job.html",
    fields=trust_importer.FIELDS,
    live_progress=trust_importer.live_progress,
    check=trust_importer.check,
    apply=trust_importer.apply,
    imported=_imported,
)


@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest, slug: str) -> HttpResponse:
    """Upload the trust's change log; its page then asks which field each column holds."""
    trust = _admin_trust(request, slug)
    user = current_user(request)
    form = UploadForm(request.POST, request.FILES) if request.method == "POST" else UploadForm()
    job = views.started(form, lambda data, name: trust_importer.start(trust, user, data, name))
    if job is not None:
        return redirect(TRUST_PAGES.job_page, slug=trust.slug, pk=job.pk)
    schools = list(School.objects.filter(trust=trust).order_by("name"))
    extra = {
        "schools": schools,
        "school_list": ", ".join(f"{school.name} ({school.slug})" for school in schools),
    }
    return views.upload_page(request, TRUST_PAGES, trust, form, trust_importer.recent(trust), extra)


def _job(trust: Trust, pk: int) -> TrustChangeImport:
    queryset = trust_importer.QUEUE.light().select_related("created_by")
    job = get_object_or_404(queryset, pk=pk, trust=trust)
    job.trust = trust
    return job


@require_http_methods(["GET", "POST"])
def job_page(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """A trust's import (`views.show_job`)."""
    trust = _admin_trust(request, slug)
    return views.show_job(request, TRUST_PAGES, trust, _job(trust, pk))


@require_POST
def apply(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Confirm a checked file: the worker imports every row into its school, or none."""
    trust = _admin_trust(request, slug)
    return views.apply_job(request, TRUST_PAGES, trust, _job(trust, pk))
