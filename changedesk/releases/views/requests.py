"""The install request pages: the requests of the person's schools (newest first), the
short form any member sends (also reached from an RFC's page, with the RFC named), one
request with the installers' answers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from changedesk.accounts import permissions as accounts_permissions
from changedesk.accounts.current import current_user
from changedesk.accounts.models import loaded_schools, seen_school_ids
from changedesk.lib import (
    converters,  # noqa: F401  (registers <id:...>)
    paging,
)
from changedesk.lib.loading import attach
from changedesk.lib.views import act, forbid, form_page
from changedesk.releases import permissions
from changedesk.releases.filters.releases import RequestFilterSet
from changedesk.releases.forms.requests import AnswerForm, RequestForm
from changedesk.releases.models import InstallRequest
from changedesk.releases.services import requests as services
from changedesk.releases.views.common import chosen_school, require, schools_where, visible

PAGE_SIZE = 50
# The 403 for anyone else: a whole sentence, which translates where a role's name would not.
INSTALLER = gettext_lazy("Only an installer or release manager of %(school)s may do that.")
LIST_COLUMNS = (
    "id",
    "school",
    "source",
    "what",
    "where",
    "needed_by",
    "state",
    "requested_by",
    "assigned_to",
    "created_at",
    "change",
)


@require_GET
def request_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    schools = accounts_permissions.schools(user)
    filters = RequestFilterSet(request.GET, queryset=InstallRequest.objects.visible_to(user))
    queryset = filters.qs if filters.is_valid() else InstallRequest.objects.none()
    ids = seen_school_ids(user)
    chosen = chosen_school(request, schools) if request.GET.get("school") else None
    if chosen is not None:
        ids = [chosen.pk]
    page = paging.page(
        queryset.order_by("-created_at", "-id"),
        request.GET.get("page"),
        PAGE_SIZE,
        load=InstallRequest.objects.only(*LIST_COLUMNS),
        schools=ids,
    )
    rows = list(page.object_list)
    attach(rows, "school", known=loaded_schools(user))
    attach(rows, "requested_by", "assigned_to")
    query = urlencode(
        [(k, v) for k, values in request.GET.lists() for v in values if k != "page" and v]
    )
    return render(
        request,
        "releases/requests/list.html",
        {"filters": filters, "page": page, "rows": rows, "schools": schools, "query": query},
        status=200 if filters.is_valid() else 400,
    )


@require_http_methods(["GET", "POST"])
def request_create(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    schools = schools_where(user, permissions.may_request_install)
    if not schools:
        raise PermissionDenied(gettext("Only a member of a school may ask for an installation."))
    school = chosen_school(request, schools)
    if (request.GET.get("school") or request.POST.get("school")) and school is None:
        raise PermissionDenied(gettext("You are not a member of that school."))
    form = RequestForm(request.POST or None, school=school)
    if school is None:
        return render(request, "releases/requests/choose_school.html", {"schools": schools})
    return form_page(
        request,
        form,
        "releases/requests/form.html",
        {"school": school},
        save=lambda: services.request_install(school, user, form.values()),
        done=gettext("Your request is sent to the school's installers."),
    )


def _detail(request: HttpRequest, found: InstallRequest, form: Any = None) -> dict[str, Any]:
    user = current_user(request)
    may = permissions.may_install(user, found.school)
    return {
        "req": found,
        "school": found.school,
        "may_answer": may and found.state in ("open", "accepted"),
        "may_accept": may and found.state == "open",
        "form": form or AnswerForm(),
        "installations": list(found.installations.select_related("version", "item")[:20]),
    }


@require_GET
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    found = visible(
        request,
        InstallRequest,
        pk,
        "requested_by",
        "assigned_to",
        "change",
        "item",
        "software",
        "build",
    )
    return render(request, "releases/requests/detail.html", _detail(request, found))


@require_POST
def request_act(request: HttpRequest, pk: int) -> HttpResponse:
    found = visible(request, InstallRequest, pk, "requested_by", "assigned_to", "change")
    user = require(request, found.school, permissions.may_install, INSTALLER)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        context = _detail(request, found, form)
        return render(request, "releases/requests/detail.html", context, status=400)
    data = form.cleaned_data
    step = data["step"]

    def run() -> InstallRequest:
        if step == "accept":
            return services.accept(found.pk, user)
        if step == "decline":
            return services.decline(found.pk, user, data["answer"])
        return services.done(found.pk, user, data["installation"], answer=data["answer"])

    def refused(error: Any) -> HttpResponse | None:
        forbid(error)
        from changedesk.lib.forms import show_workflow_error

        show_workflow_error(form, error)
        context = _detail(request, found, form)
        return render(request, "releases/requests/detail.html", context, status=error.status)

    return act(
        request,
        run,
        done={
            "accept": gettext("You have taken it on."),
            "decline": gettext("Declined: the requester is told."),
            "done": gettext("Marked installed: the requester is told."),
        }[step],
        then=found.get_absolute_url(),
        refused=refused,
    )


urlpatterns: list[URLPattern] = [
    path("requests/", request_list, name="requests"),
    path("requests/new/", request_create, name="request_create"),
    path("requests/<id:pk>/", request_detail, name="request"),
    path("requests/<id:pk>/act/", request_act, name="request_act"),
]
