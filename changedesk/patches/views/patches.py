"""The patch list (and its CSV), one patch with its history and the forms of its next steps,
and entering or correcting a patch by hand."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from changedesk.accounts import permissions
from changedesk.accounts.current import current_user
from changedesk.accounts.models import loaded_schools, seen_school_ids
from changedesk.lib import paging
from changedesk.lib.errors import WorkflowError
from changedesk.lib.forms import show_workflow_error
from changedesk.lib.loading import attach
from changedesk.lib.views import form_page
from changedesk.patches import export, services, workflow
from changedesk.patches.choices import CheckKind, Decision, PatchAction
from changedesk.patches.filters import PatchFilterSet, site_today
from changedesk.patches.forms import (
    AssessForm,
    ChecksForm,
    CloseForm,
    PatchForm,
    ReasonForm,
    ScheduleForm,
)
from changedesk.patches.models import Patch, PatchCheck, PatchEvent, today_in
from changedesk.patches.views.common import (
    chosen_school,
    managed_schools,
    require_manager,
    visible_patch,
)

PAGE_SIZE = 50
LIST_COLUMNS = ("school", "vendor", "product", "title", "reference", "release_date", "severity",
                "state", "due_on", "deployed_on", "change")  # fmt: skip


@require_GET
def patch_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    schools = permissions.schools(user)
    filters = PatchFilterSet(request.GET, queryset=Patch.objects.visible_to(user))
    queryset = filters.qs if filters.is_valid() else Patch.objects.none()
    ids = seen_school_ids(user)
    chosen = chosen_school(request, schools) if request.GET.get("school") else None
    if chosen is not None:
        ids = [chosen.pk]
    shown = Patch.objects.only(*LIST_COLUMNS)
    page = paging.page(
        queryset.order_by("-release_date", "-id"),
        request.GET.get("page"),
        PAGE_SIZE,
        load=shown,
        schools=ids,
    )
    patches = list(page.object_list)
    attach(patches, "school", known=loaded_schools(user))
    attach(patches, "vendor", "change")
    today = site_today()
    query = urlencode(
        [
            (key, one)
            for key, values in request.GET.lists()
            for one in values
            if key != "page" and one
        ]
    )
    return render(
        request,
        "patches/list.html",
        {
            "filters": filters,
            "page": page,
            "rows": [(p, p.is_overdue(today), services.deadline_text(p, today)) for p in patches],
            "schools": schools,
            "query": query,
            "may_write": bool(managed_schools(user)),
        },
    )


@require_GET
def patch_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The filtered list as CSV, written as the rows are read."""
    user = current_user(request)
    filters = PatchFilterSet(request.GET, queryset=Patch.objects.visible_to(user))
    if not filters.is_valid():
        return HttpResponse(
            "; ".join(f"{k}: {' '.join(v)}" for k, v in filters.errors.items()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    response = StreamingHttpResponse(
        export.csv_rows(filters.qs.order_by("-release_date", "-id")),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="patches-{stamp}.csv"'
    return response


# --- One patch. ---


def _forms(patch: Patch, allowed: list[str], bound: dict[str, Any]) -> dict[str, Any]:
    """The forms of the steps the person may take now (a bound one for the step tried)."""
    found: dict[str, Any] = {}
    if "assess" in allowed:
        found["assess"] = bound.get("assess") or AssessForm(patch=patch)
    if "test" in allowed:
        found["test"] = bound.get("test") or ChecksForm(patch=patch, prefix="test")
    if "verify" in allowed:
        found["verify"] = bound.get("verify") or ChecksForm(patch=patch, prefix="verify")
    if "schedule" in allowed:
        found["schedule"] = bound.get("schedule") or ScheduleForm(patch=patch)
    if "close" in allowed:
        found["close"] = bound.get("close") or CloseForm()
    for plain in ("reassess", "unschedule"):
        if plain in allowed:
            found[plain] = bound.get(plain) or ReasonForm(prefix=plain)
    aside = _aside(allowed)
    if aside:
        found["aside"] = bound.get("aside") or AssessForm(patch=patch, aside=aside)
    return found


def _aside(allowed: list[str]) -> tuple[str, ...]:
    """Once assessed (or deferred): deferring it, or setting it aside as not applicable."""
    if "assess" in allowed:
        return ()
    return tuple(d for d in (Decision.DEFER, Decision.NOT_APPLICABLE) if d in allowed)


def _detail(
    request: HttpRequest, patch: Patch, bound: dict[str, Any] | None = None
) -> dict[str, Any]:
    user = current_user(request)
    today = today_in(patch.school)
    allowed = [row.action for row in workflow.available_actions(user, patch)]
    events = list(
        PatchEvent.objects.filter(patch=patch)
        .select_related("actor", "change")
        .order_by("created_at", "id")
    )
    checks = list(PatchCheck.objects.filter(patch=patch).select_related("item").order_by("id"))
    return {
        "patch": patch,
        "school": patch.school,
        "today": today,
        "overdue": patch.is_overdue(today),
        "deadline": services.deadline_text(patch, today),
        "items": list(patch.items.all()),
        "events": events,
        "tests": [c for c in checks if c.kind == CheckKind.TEST],
        "verifications": [c for c in checks if c.kind == CheckKind.VERIFY],
        "installations": list(patch.installations.select_related("item")),
        "forms": _forms(patch, allowed, bound or {}),
        "may_edit": services.may_manage(user, patch.school)
        and (patch.is_open or patch.state == "deferred"),
    }


@require_GET
def patch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    patch = visible_patch(request, pk)
    with timezone.override(patch.school.zone):
        return render(request, "patches/detail.html", _detail(request, patch))


def _bound(request: HttpRequest, patch: Patch, step: str) -> tuple[Any, str, dict[str, Any]]:
    """The form of `step` bound to the POST, and (when valid) its action and payload."""
    post = request.POST
    if step == "assess":
        form: Any = AssessForm(post, patch=patch)
        return form, *(form.action() if form.is_valid() else ("", {}))
    if step == "aside":
        allowed = [row.action for row in workflow.available_actions(current_user(request), patch)]
        form = AssessForm(post, patch=patch, aside=_aside(allowed) or (Decision.DEFER,))
        return form, *(form.action() if form.is_valid() else ("", {}))
    if step in ("test", "verify"):
        form = ChecksForm(post, patch=patch, prefix=step)
        return form, step, {"results": form.results()} if form.is_valid() else {}
    if step == "schedule":
        form = ScheduleForm(post, patch=patch)
        valid = form.is_valid()
        return form, step, {"change": form.cleaned_data["change"].pk} if valid else {}
    if step == "close":
        form = CloseForm(post)
        return form, step, {"version": form.cleaned_data["version"]} if form.is_valid() else {}
    form = ReasonForm(post, prefix=step)
    return form, step, {}


@require_POST
def patch_act(request: HttpRequest, pk: int) -> HttpResponse:
    """A step of the patch's cycle, from its form on the patch's page."""
    patch = visible_patch(request, pk)
    user = current_user(request)
    step = request.POST.get("step", "")
    if step != "aside" and (
        step not in PatchAction.values or step in ("create", "edit", "deploy", "defer")
    ):
        messages.error(request, gettext("That is not a step a person takes."))
        return redirect(patch)
    form, action, payload = _bound(request, patch, step)
    if form.is_valid():
        try:
            workflow.perform(
                patch.pk, action, user, payload, comment=form.cleaned_data.get("comment", "")
            )
        except WorkflowError as error:
            if error.status == 403:
                raise PermissionDenied(error.message) from error
            show_workflow_error(form, error)
        else:
            patch.refresh_from_db()
            messages.success(
                request,
                gettext("%(patch)s: %(state)s.")
                % {"patch": patch, "state": patch.get_state_display().lower()},
            )
            return redirect(patch)
    with timezone.override(patch.school.zone):
        return render(
            request, "patches/detail.html", _detail(request, patch, {step: form}), status=400
        )


# --- Entering and correcting. ---


@require_http_methods(["GET", "POST"])
def patch_create(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    schools = managed_schools(user)
    if not schools:
        raise PermissionDenied(
            gettext("Only a patch administrator or a school administrator may add patches.")
        )
    school = chosen_school(request, schools)
    if school is None:
        return render(
            request, "patches/choose_school.html", {"schools": schools, "what": "Add a patch"}
        )
    form = PatchForm(
        request.POST if request.method == "POST" else None,
        school_id=school.pk,
        initial={"release_date": today_in(school), "severity": "high"},
    )
    return form_page(
        request,
        form,
        "patches/form.html",
        {"school": school, "patch": None, "multiple_schools": len(schools) > 1},
        save=lambda: services.create_patch(school, user, form.values(), items=form.chosen_items()),
        done=lambda patch: gettext("%(patch)s is added, available to assess.") % {"patch": patch},
    )


@require_http_methods(["GET", "POST"])
def patch_edit(request: HttpRequest, pk: int) -> HttpResponse:
    patch = visible_patch(request, pk)
    user = require_manager(request, patch.school)
    form = PatchForm(
        request.POST if request.method == "POST" else None,
        instance=Patch.objects.get(pk=patch.pk),
        school_id=patch.school_id,
        initial={"items": [i.pk for i in patch.items.all()]},
    )
    return form_page(
        request,
        form,
        "patches/form.html",
        {"school": patch.school, "patch": patch},
        save=lambda: services.update_patch(
            patch.pk, user, form.values(), items=form.chosen_items()
        ),
        done=gettext("The patch is saved."),
    )
