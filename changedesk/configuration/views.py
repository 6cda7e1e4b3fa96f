"""Pages for configuration items: the list, an item and the RFCs that touched it, the forms,
and the CSV import (upload; the import's page: progress, preview, confirm, result).

Items of a school the user is not a member of are a 404; changing them needs a school
administrator or an originator there (403 otherwise), importing needs the administrator.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from changedesk.accounts import permissions
from changedesk.accounts.current import current_user as _current_user
from changedesk.accounts.models import School, User
from changedesk.configuration import importer, jobs, panels
from changedesk.configuration.filters import STATUSES, ItemFilterSet
from changedesk.configuration.forms import ImportForm, ItemForm
from changedesk.configuration.models import ConfigurationItem, ImportState, ItemImport, ItemKind
from changedesk.configuration.services import (
    create_item,
    delete_item,
    may_import,
    may_manage,
    update_item,
)
from changedesk.lib import jobs as lib_jobs
from changedesk.lib import paging
from changedesk.lib.errors import WorkflowError
from changedesk.lib.views import act, forbid, form_page

PAGE_SIZE = 25
# A file this small is checked, and once confirmed applied, in the request itself (by the
# same steps the worker takes); a larger one is left to the worker, its page showing the
# progress.
INLINE_MAX_BYTES = 64 * 1024
RECENT_IMPORTS = 5


def _schools(user: User) -> list[School]:
    return permissions.schools(user)


def _visible_item(request: HttpRequest, pk: int) -> tuple[ConfigurationItem, bool]:
    """The item if the user may see it (else 404), and whether they may change it."""
    user = _current_user(request)
    item = get_object_or_404(
        ConfigurationItem.objects.visible_to(user).select_related("school", "owner"), pk=pk
    )
    return item, may_manage(user, item.school)


def _school_for(request: HttpRequest, slug: str) -> School:
    user = _current_user(request)
    school = next((s for s in _schools(user) if s.slug == slug), None)
    if school is None:
        raise Http404("No such school.")
    return school


@require_GET
def item_list(request: HttpRequest) -> HttpResponse:
    user = _current_user(request)
    base = ConfigurationItem.objects.visible_to(user).order_by("school__name", "name", "id")
    filterset = ItemFilterSet(request.GET, queryset=base)
    queryset = filterset.qs if filterset.is_valid() else base.none()
    shown = ConfigurationItem.objects.select_related("school", "owner").annotate(
        change_count=Count("change_links")
    )
    page = paging.page(queryset, request.GET.get("page"), PAGE_SIZE, load=shown)
    query = request.GET.copy()
    query.pop("page", None)
    schools = _schools(user)
    return render(
        request,
        "configuration/list.html",
        {
            "filter": filterset,
            "page": page,
            "query": query.urlencode(),
            "schools": schools,
            "kinds": ItemKind.choices,
            "statuses": STATUSES,
            "managed": [s for s in schools if may_manage(user, s)],
            "importable": [s for s in schools if may_import(user, s)],
        },
    )


@require_GET
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item, can_manage = _visible_item(request, pk)
    links = item.change_links.select_related("change", "recorded_by").order_by(
        "-change__created_at", "-change_id"
    )
    page = paging.page(links, request.GET.get("page"), PAGE_SIZE)
    return render(
        request,
        "configuration/detail.html",
        {
            "item": item,
            "can_manage": can_manage,
            "page": page,
            "panels": panels.render_panels(request, item),
        },
    )


def _school_to_add_to(request: HttpRequest, user: User) -> tuple[School | None, list[School]]:
    """The school a new item goes to (the one asked for, or the only one the user manages;
    None to ask), and the schools the user may add items to. 403 for someone with none."""
    managed = [s for s in _schools(user) if may_manage(user, s)]
    if not managed:
        raise PermissionDenied(
            gettext("Only a school administrator or an originator may add items.")
        )
    slug = request.GET.get("school") or request.POST.get("school")
    if not slug:
        return (managed[0] if len(managed) == 1 else None), managed
    school = _school_for(request, slug)
    if school not in managed:
        raise PermissionDenied(gettext("You may not add items to %(school)s.") % {"school": school})
    return school, managed


@require_http_methods(["GET", "POST"])
def item_create(request: HttpRequest) -> HttpResponse:
    user = _current_user(request)
    school, managed = _school_to_add_to(request, user)
    if school is None:
        return render(request, "configuration/choose_school.html", {"schools": managed})
    form = ItemForm(request.POST if request.method == "POST" else None, school=school)
    return form_page(
        request,
        form,
        "configuration/form.html",
        {"school": school, "item": None},
        save=lambda: create_item(school, user, form.values()),
        done=lambda item: (
            gettext("%(item)s is added to %(school)s.") % {"item": item.name, "school": school.name}
        ),
    )


def _managed_item(request: HttpRequest, pk: int) -> ConfigurationItem:
    """The item, if the user may change it: 404 if they may not see it, else 403."""
    item, can_manage = _visible_item(request, pk)
    if not can_manage:
        raise PermissionDenied(
            gettext("You may not change the items of %(school)s.") % {"school": item.school.name}
        )
    return item


@require_http_methods(["GET", "POST"])
def item_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = _managed_item(request, pk)
    user = _current_user(request)
    data = request.POST if request.method == "POST" else None
    form = ItemForm(data, school=item.school, instance=item)
    return form_page(
        request,
        form,
        "configuration/form.html",
        {"school": item.school, "item": item},
        save=lambda: update_item(item.pk, user, form.values()),
        done=lambda saved: gettext("%(item)s is saved.") % {"item": saved.name},
        success_url=reverse("configuration:detail", args=[item.pk]),
    )


@require_POST
def item_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Retire, bring back, or delete an item (only one no RFC has named may be deleted)."""
    item = _managed_item(request, pk)
    user = _current_user(request)
    action = request.POST.get("action")
    if action in ("retire", "reinstate"):
        in_use = action == "reinstate"
        said = (
            gettext("%(item)s is back in use.")
            if in_use
            else gettext("%(item)s is retired; its history stays.")
        )
        return act(
            request,
            lambda: update_item(item.pk, user, {"is_active": in_use}),
            done=said % {"item": item.name},
            then=item,
            refused=forbid,
        )
    if action == "delete":
        return act(
            request,
            lambda: delete_item(item.pk, user),
            done=gettext("%(item)s is deleted.") % {"item": item.name},
            then=item,
            done_then=lambda _: f"{reverse('configuration:list')}?school={item.school.slug}",
            refused=forbid,
        )
    messages.error(request, gettext("Choose retire, reinstate or delete."))
    return redirect(item)


# --- Import from CSV: upload, then the import's page (progress, preview, confirm, result). ---


@require_http_methods(["GET", "POST"])
def item_import(request: HttpRequest, slug: str) -> HttpResponse:
    """Upload a file: it is kept as an import for the worker to check (a small one is
    checked at once), and its page shows the progress, then the preview."""
    school = _importable_school(request, slug)
    user = _current_user(request)
    form = ImportForm(request.POST, request.FILES) if request.method == "POST" else ImportForm()
    if form.is_bound and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > importer.MAX_BYTES:
                raise importer.ImportRefused(importer.too_big(upload.size))
            text = importer.decode(upload.read())
            job = importer.start(school, user, text, upload.name or "")
        except importer.ImportRefused as refusal:
            form.add_error("file", str(refusal))
        else:
            if job.size <= INLINE_MAX_BYTES:
                jobs.process_now(job.pk)
            return redirect("configuration:import_job", slug=school.slug, pk=job.pk)
    recent = ItemImport.objects.light().filter(school=school).select_related("created_by")
    context = {
        "school": school,
        "form": form,
        "columns": importer.COLUMNS,
        "max_rows": f"{importer.MAX_ROWS:,}",
        "recent": recent[:RECENT_IMPORTS],
    }
    return render(
        request, "configuration/import.html", context, status=400 if form.is_bound else 200
    )


def _importable_school(request: HttpRequest, slug: str) -> School:
    """The school, if the user may import into it: 404 if not theirs, else 403."""
    school = _school_for(request, slug)
    if not may_import(_current_user(request), school):
        raise PermissionDenied(
            gettext("Only a school administrator of %(school)s may import items.")
            % {"school": school.name}
        )
    return school


@require_http_methods(["GET", "POST"])
def import_job(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """An import: its progress while the worker has it (polled by htmx), then the preview
    to confirm (POST), then what it did, or why nothing was imported."""
    school = _importable_school(request, slug)
    user = _current_user(request)
    job = get_object_or_404(
        ItemImport.objects.visible_to(user).light().select_related("created_by"),
        pk=pk,
        school=school,
    )
    if request.method == "POST":
        return _confirm(request, school, user, job)
    importer.live_progress(job)
    over = lib_jobs.poll_over(request, job.running)
    if over is not None:
        return over
    template = "_import_progress.html" if lib_jobs.is_poll(request) else "import_job.html"
    errors = [importer.RowError(*error) for error in job.errors]
    context = {"school": school, "job": job, "errors": errors, "mine": job.created_by_id == user.pk}
    return render(request, f"configuration/{template}", context)


def _confirm(request: HttpRequest, school: School, user: User, job: ItemImport) -> HttpResponse:
    try:
        importer.confirm(job.pk, user)
    except WorkflowError as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from None
        messages.error(request, error.message)
        return redirect("configuration:import_job", slug=school.slug, pk=job.pk)
    if job.size <= INLINE_MAX_BYTES:
        jobs.process_now(job.pk)
        done = ItemImport.objects.light().get(pk=job.pk)
        if done.state == ImportState.DONE:
            messages.success(
                request,
                gettext(
                    "Imported into %(school)s: %(created)s added, %(updated)s updated, "
                    "%(unchanged)s unchanged."
                )
                % {
                    "school": school.name,
                    "created": done.created_count,
                    "updated": done.updated_count,
                    "unchanged": done.unchanged_count,
                },
            )
            return redirect(f"{reverse('configuration:list')}?school={school.slug}&status=all")
    return redirect("configuration:import_job", slug=school.slug, pk=job.pk)
