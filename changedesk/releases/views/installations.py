"""Installations' pages: the list, starting one from a build, and the install build
checklist (made for a phone: a checkbox per step, passed or failed per criterion, notes,
Save and Finish; the finished record read-only). Also the section of a configuration item's
page saying which build it runs (`item_panel`, registered from `releases/apps.py`)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from changedesk.accounts import permissions as accounts
from changedesk.accounts.current import current_user
from changedesk.accounts.models import loaded_schools, member_schools, seen_school_ids
from changedesk.configuration.models import ConfigurationItem
from changedesk.lib import (
    converters,  # noqa: F401  (registers <id:...>)
    paging,
)
from changedesk.lib.loading import attach
from changedesk.lib.views import form_page
from changedesk.releases import permissions
from changedesk.releases.choices import InstallationState
from changedesk.releases.filters.builds import InstallationFilterSet
from changedesk.releases.forms.builds import ChecklistForm, StartForm
from changedesk.releases.models import Build, BuildVersion, Installation, RunningBuild
from changedesk.releases.services import builds as services
from changedesk.releases.views.common import query_without_page, require, visible

PAGE_SIZE = 50
# The 403 for anyone else: a whole sentence, which translates where a role's name would not.
INSTALLERS = gettext_lazy("Only an installer or a release manager of %(school)s may do that.")


@require_GET
def installation_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    schools = accounts.schools(user)
    filters = InstallationFilterSet(request.GET, queryset=Installation.objects.visible_to(user))
    queryset = filters.qs if filters.is_valid() else Installation.objects.none()
    page = paging.page(
        queryset.order_by("-started_at", "-id"),
        request.GET.get("page"),
        PAGE_SIZE,
        load=Installation.objects.defer("checklist", "results", "notes"),
        schools=seen_school_ids(user),
    )
    rows = list(page.object_list)
    attach(rows, "school", known=loaded_schools(user))
    attach(rows, "build", "version", "item", "installer")
    builds = Build.objects.filter(school__in=[s.pk for s in schools]).order_by("name", "id")
    query = query_without_page(request)
    return render(
        request,
        "releases/builds/installations.html",
        {
            "filters": filters,
            "page": page,
            "rows": rows,
            "schools": schools,
            "builds": list(builds[:500]),
            "states": InstallationState.choices,
            "query": query,
        },
    )


@require_http_methods(["GET", "POST"])
def install_start(request: HttpRequest, pk: int) -> HttpResponse:
    build = visible(request, Build, pk, "approved_version")
    user = require(request, build.school, permissions.may_install, INSTALLERS)
    version: BuildVersion | None = build.approved_version
    wanted = request.GET.get("version") or request.POST.get("version") or ""
    if wanted:
        found = (
            build.versions.filter(number=int(wanted), state__in=services.INSTALLABLE).first()
            if wanted.isdecimal() and len(wanted) < 10
            else None
        )
        if found is None:
            raise Http404("No approved version of that number.")
        version = found
    if version is None:
        return render(request, "releases/builds/not_installable.html", {"build": build}, status=409)
    chosen = version
    form = StartForm(request.POST if request.method == "POST" else None, school_id=build.school_id)
    return form_page(
        request,
        form,
        "releases/builds/install.html",
        {"build": build, "version": chosen},
        save=lambda: services.start_installation(chosen, user, form.values()),
        done=gettext("Started: work through the checklist, then finish it."),
    )


def _installation(request: HttpRequest, pk: int) -> Installation:
    return visible(request, Installation, pk, "build", "version", "item", "installer")


@require_http_methods(["GET", "POST"])
def installation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    installation = _installation(request, pk)
    user = current_user(request)
    open_ = installation.state == InstallationState.IN_PROGRESS
    may_record = open_ and services.may_record(user, installation)
    if request.method == "POST" and not may_record:
        if not open_:
            raise PermissionDenied(gettext("The installation is finished: its record is closed."))
        raise PermissionDenied(
            gettext("Only its installer or a release manager records an installation.")
        )
    form = ChecklistForm(
        request.POST if request.method == "POST" else None, installation=installation
    )
    finishing = "finish" in request.POST

    def save() -> Installation:
        done = services.record(installation, user, form.values())
        return services.finish(done, user) if finishing else done

    context: dict[str, Any] = {
        "installation": installation,
        "may_record": may_record,
        "running": _running(installation),
    }
    return form_page(
        request,
        form,
        "releases/builds/installation.html",
        context,
        save=save,
        done=lambda i: (
            gettext("Saved.")
            if i.state == InstallationState.IN_PROGRESS
            else gettext("Finished: installed.")
            if i.state == InstallationState.INSTALLED
            else gettext("Finished: the installation failed. The notes say why.")
        ),
    )


def _running(installation: Installation) -> RunningBuild | None:
    if installation.item_id is None:
        return None
    return (
        RunningBuild.objects.filter(item_id=installation.item_id)
        .select_related("version", "build")
        .first()
    )


def item_panel(request: HttpRequest, item: ConfigurationItem) -> dict[str, Any] | None:
    """The configuration item page's section "Build it runs": the build and version its last
    successful installation put on it, since when and by which installation (one query);
    nothing for an item with no build recorded."""
    user = current_user(request)
    running = (
        RunningBuild.objects.filter(Q(item=item), member_schools(user))
        .select_related("build", "version", "installation__installer")
        .first()
    )
    if running is None:
        return None
    return {"running": running}


urlpatterns: list[URLPattern] = [
    path("builds/<id:pk>/install/", install_start, name="install"),
    path("installations/", installation_list, name="installations"),
    path("installations/<id:pk>/", installation_detail, name="installation"),
]
