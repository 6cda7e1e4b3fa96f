"""Pages for configuration items: the list, an item and the RFCs that touched it, the forms,
and the CSV import (upload, preview, confirm).

Items of a school the user is not a member of are a 404; changing them needs a school
administrator or an originator there (403 otherwise), importing needs the administrator.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from changedesk.accounts import permissions
from changedesk.accounts.current import current_user as _current_user
from changedesk.accounts.models import School, User
from changedesk.configuration import importer
from changedesk.configuration.filters import STATUSES, ItemFilterSet
from changedesk.configuration.forms import ImportForm, ItemForm
from changedesk.configuration.models import ConfigurationItem, ItemKind
from changedesk.configuration.services import (
    create_item,
    delete_item,
    may_import,
    may_manage,
    update_item,
)
from changedesk.lib.errors import WorkflowError
from changedesk.lib.views import act, forbid, form_page

PAGE_SIZE = 25
IMPORT_SALT = "changedesk.configuration.import"
# How long a preview may be confirmed; after that the file is uploaded again.
IMPORT_MAX_AGE = 60 * 60
PREVIEW_ROWS = 500


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
    base = (
        ConfigurationItem.objects.visible_to(user)
        .select_related("school", "owner")
        .annotate(change_count=Count("change_links"))
        .order_by("school__name", "name", "id")
    )
    filterset = ItemFilterSet(request.GET, queryset=base)
    queryset = filterset.qs if filterset.is_valid() else base.none()
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
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
    page = Paginator(links, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "configuration/detail.html",
        {"item": item, "can_manage": can_manage, "page": page},
    )


def _school_to_add_to(request: HttpRequest, user: User) -> tuple[School | None, list[School]]:
    """The school a new item goes to (the one asked for, or the only one the user manages;
    None to ask), and the schools the user may add items to. 403 for someone with none."""
    managed = [s for s in _schools(user) if may_manage(user, s)]
    if not managed:
        raise PermissionDenied("Only a school administrator or an originator may add items.")
    slug = request.GET.get("school") or request.POST.get("school")
    if not slug:
        return (managed[0] if len(managed) == 1 else None), managed
    school = _school_for(request, slug)
    if school not in managed:
        raise PermissionDenied(f"You may not add items to {school}.")
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
        done=lambda item: f"{item.name} is added to {school.name}.",
    )


def _managed_item(request: HttpRequest, pk: int) -> ConfigurationItem:
    """The item, if the user may change it: 404 if they may not see it, else 403."""
    item, can_manage = _visible_item(request, pk)
    if not can_manage:
        raise PermissionDenied(f"You may not change the items of {item.school.name}.")
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
        done=lambda saved: f"{saved.name} is saved.",
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
        said = "is back in use." if in_use else "is retired; its history stays."
        return act(
            request,
            lambda: update_item(item.pk, user, {"is_active": in_use}),
            done=f"{item.name} {said}",
            then=item,
            refused=forbid,
        )
    if action == "delete":
        return act(
            request,
            lambda: delete_item(item.pk, user),
            done=f"{item.name} is deleted.",
            then=item,
            done_then=lambda _: f"{reverse('configuration:list')}?school={item.school.slug}",
            refused=forbid,
        )
    messages.error(request, "Choose retire, reinstate or delete.")
    return redirect(item)


# --- Import from CSV. ---


@require_http_methods(["GET", "POST"])
def item_import(request: HttpRequest, slug: str) -> HttpResponse:
    """Upload a file and preview it; confirm it with the signed copy the preview carries."""
    school = _school_for(request, slug)
    user = _current_user(request)
    if not may_import(user, school):
        raise PermissionDenied(f"Only a school administrator of {school.name} may import items.")
    if request.method == "POST" and "payload" in request.POST:
        return _confirm(request, school, user)
    form = ImportForm(request.POST, request.FILES) if request.method == "POST" else ImportForm()
    context: dict[str, Any] = {"school": school, "form": form, "columns": importer.COLUMNS}
    if not form.is_bound:
        return render(request, "configuration/import.html", context)
    read = _read_upload(form, school)
    if read is None:
        return render(request, "configuration/import.html", context, status=400)
    plan, text = read
    payload = signing.dumps(
        {"school": school.pk, "user": user.pk, "text": text}, salt=IMPORT_SALT, compress=True
    )
    return _preview(request, school, plan, payload)


def _read_upload(form: ImportForm, school: School) -> tuple[importer.ImportPlan, str] | None:
    """What importing the uploaded file would do, and its text; None, with the reason on
    the form, when it cannot be read."""
    if not form.is_valid():
        return None
    upload = form.cleaned_data["file"]
    try:
        if upload.size > importer.MAX_BYTES:
            raise importer.ImportRefused(
                f"The file is {upload.size // 1024} KB; the most that can be imported at once "
                f"is {importer.MAX_BYTES // 1024} KB. Split it into smaller files."
            )
        text = importer.decode(upload.read())
        return importer.read(school, text), text
    except importer.ImportRefused as refusal:
        form.add_error("file", str(refusal))
        return None


def _preview(
    request: HttpRequest,
    school: School,
    plan: importer.ImportPlan,
    payload: str | None,
    status: int | None = None,
) -> HttpResponse:
    errors = plan.errors
    return render(
        request,
        "configuration/import_preview.html",
        {
            "school": school,
            "plan": plan,
            "rows": plan.rows[:PREVIEW_ROWS],
            "hidden_rows": max(0, len(plan.rows) - PREVIEW_ROWS),
            "errors": errors,
            "counts": plan.counts,
            "payload": payload if not errors else None,
        },
        status=status or (400 if errors else 200),
    )


def _confirm(request: HttpRequest, school: School, user: User) -> HttpResponse:
    try:
        data = signing.loads(request.POST["payload"], salt=IMPORT_SALT, max_age=IMPORT_MAX_AGE)
    except signing.SignatureExpired:
        return _start_again(request, school, "The preview is more than an hour old.")
    except signing.BadSignature:
        return _start_again(request, school, "The preview could not be read.")
    if data.get("school") != school.pk or data.get("user") != user.pk:
        return _start_again(request, school, "The preview was made for someone else.")
    try:
        plan = importer.apply(school, data["text"], user)
    except importer.ImportRefused as refusal:
        return _start_again(request, school, str(refusal))
    except WorkflowError as error:
        raise PermissionDenied(error.message) from None
    if plan.errors:
        # The items changed since the preview; show what is wrong now, and write nothing.
        return _preview(request, school, plan, None)
    counts = plan.counts
    messages.success(
        request,
        f"Imported into {school.name}: {counts['create']} added, {counts['update']} updated, "
        f"{counts['unchanged']} unchanged.",
    )
    return redirect(f"{reverse('configuration:list')}?school={school.slug}&status=all")


def _start_again(request: HttpRequest, school: School, reason: str) -> HttpResponse:
    return render(
        request,
        "configuration/import.html",
        {
            "school": school,
            "form": ImportForm(),
            "columns": importer.COLUMNS,
            "refusal": f"{reason} Nothing was imported; upload the file again.",
        },
        status=400,
    )
