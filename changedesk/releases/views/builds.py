"""Build procedures' pages: the builds (documented or not), one build with its approved
procedure in FITS's four parts, its versions and history; writing a version, sending it for
approval and the release manager's decision; the procedure printed on A4; and the services
with no build procedure yet. Installations' pages are in `installations.py` (their URLs are
added here)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, path
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from changedesk.accounts import permissions as accounts
from changedesk.accounts.current import current_user
from changedesk.accounts.models import loaded_schools, seen_school_ids
from changedesk.configuration.models import ConfigurationItem, ItemKind
from changedesk.lib import (
    converters,  # noqa: F401  (registers <id:...>)
    paging,
)
from changedesk.lib.loading import attach
from changedesk.lib.views import act, forbid, form_page
from changedesk.releases import permissions
from changedesk.releases.choices import VersionState
from changedesk.releases.filters.builds import BuildFilterSet
from changedesk.releases.forms.builds import BuildForm, DecisionForm, VersionForm
from changedesk.releases.models import Build, BuildVersion
from changedesk.releases.services import builds as services
from changedesk.releases.views import installations
from changedesk.releases.views.common import (
    chosen_school,
    query_without_page,
    require,
    schools_where,
    visible,
)

PAGE_SIZE = 50
# The most services offered on the list's filter.
MOST_SERVICES = 500
# The most services shown as undocumented of each school (a school has a few dozen).
MOST_PER_SCHOOL = 200
# The 403 for anyone else: a whole sentence, which translates where a role's name would not.
WRITERS = gettext_lazy("Only a build developer or a release manager of %(school)s may do that.")


@require_GET
def build_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    schools = accounts.schools(user)
    filters = BuildFilterSet(request.GET, queryset=Build.objects.visible_to(user))
    queryset = filters.qs if filters.is_valid() else Build.objects.none()
    page = paging.page(
        queryset.order_by("name", "id"),
        request.GET.get("page"),
        PAGE_SIZE,
        schools=seen_school_ids(user),
    )
    rows = list(page.object_list)
    attach(rows, "school", known=loaded_schools(user))
    attach(rows, "service", "approved_version")
    services_offered = ConfigurationItem.objects.filter(
        school__in=[s.pk for s in schools], kind=ItemKind.SERVICE
    ).order_by("name", "id")[:MOST_SERVICES]
    return render(
        request,
        "releases/builds/list.html",
        {
            "filters": filters,
            "page": page,
            "rows": rows,
            "schools": schools,
            "services": list(services_offered),
            "query": query_without_page(request),
            "may_write": bool(schools_where(user, permissions.may_write_builds)),
        },
    )


@require_GET
def undocumented(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    schools = accounts.schools(user)
    chosen = chosen_school(request, schools)
    shown = [chosen] if chosen is not None else schools
    # At most MOST_PER_SCHOOL of each school (one query: numbered within each school), one
    # more read to know when a school's list is cut short.
    numbered = services.undocumented_in([s.pk for s in shown]).annotate(
        n=Window(RowNumber(), partition_by=F("school_id"), order_by=[F("name"), F("id")])
    )
    found = list(numbered.filter(n__lte=MOST_PER_SCHOOL + 1))
    groups = []
    for school in shown:
        items = [item for item in found if item.school_id == school.pk]
        groups.append(
            (
                school,
                items[:MOST_PER_SCHOOL],
                permissions.may_write_builds(user, school),
                len(items) > MOST_PER_SCHOOL,
            )
        )
    return render(
        request,
        "releases/builds/undocumented.html",
        {"groups": groups, "schools": schools, "chosen": chosen},
    )


@require_http_methods(["GET", "POST"])
def build_create(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    schools = schools_where(user, permissions.may_write_builds)
    if not schools:
        raise PermissionDenied(
            gettext("Only a build developer or a release manager may write builds.")
        )
    school = chosen_school(request, schools)
    if school is None:
        return render(request, "releases/builds/choose_school.html", {"schools": schools})
    initial = {"is_active": True, "service": request.GET.get("service") or None}
    form = BuildForm(
        request.POST if request.method == "POST" else None, school_id=school.pk, initial=initial
    )
    return form_page(
        request,
        form,
        "releases/builds/form.html",
        {"school": school, "build": None, "multiple_schools": len(schools) > 1},
        save=lambda: services.save_build(school, user, form.values()),
        done=lambda b: (
            gettext("%(name)s is added. Write its procedure: start a version.") % {"name": b.name}
        ),
    )


def _build(request: HttpRequest, pk: int) -> Build:
    return visible(request, Build, pk, "service", "approved_version")


@require_GET
def build_detail(request: HttpRequest, pk: int) -> HttpResponse:
    build = _build(request, pk)
    user = current_user(request)
    school = build.school
    versions = list(build.versions.select_related("created_by", "approved_by").order_by("-number"))
    events = list(build.events.order_by("created_at", "id"))
    attach(events, "actor")
    numbers = {v.pk: v.number for v in versions}
    working = next((v for v in versions if v.state in services.IN_THE_WORKS), None)
    # One of its authors (created, edited or sent it) does not approve it: as the service.
    is_author = working is not None and user.pk in services.authors(working, events)
    return render(
        request,
        "releases/builds/detail.html",
        {
            "build": build,
            "school": school,
            "approved": build.approved_version,
            "versions": versions,
            "working": working,
            "events": [(e, numbers.get(e.version_id)) for e in events],
            "may_write": permissions.may_write_builds(user, school),
            "may_approve": permissions.may_approve_builds(user, school),
            "may_install": permissions.may_install(user, school),
            "decision_form": DecisionForm(),
            "is_author": is_author,
        },
    )


@require_http_methods(["GET", "POST"])
def build_edit(request: HttpRequest, pk: int) -> HttpResponse:
    build = _build(request, pk)
    user = require(request, build.school, permissions.may_write_builds, WRITERS)
    form = BuildForm(
        request.POST if request.method == "POST" else None, school_id=build.school_id, build=build
    )
    return form_page(
        request,
        form,
        "releases/builds/form.html",
        {"school": build.school, "build": build},
        save=lambda: services.save_build(build.school, user, form.values(), build),
        done=gettext("The build is saved."),
    )


@require_GET
def build_print(request: HttpRequest, pk: int) -> HttpResponse:
    build = _build(request, pk)
    if build.approved_version is None:
        raise Http404("This build has no approved procedure to print yet.")
    version = build.approved_version
    attach([version], "created_by", "approved_by")
    return render(request, "releases/builds/print.html", {"build": build, "version": version})


def _version(request: HttpRequest, pk: int, number: int) -> BuildVersion:
    build = _build(request, pk)
    version = get_object_or_404(
        BuildVersion.objects.select_related("created_by", "approved_by"), build=build, number=number
    )
    version.build = build
    version.school = build.school
    return version


@require_POST
def version_new(request: HttpRequest, pk: int) -> HttpResponse:
    build = _build(request, pk)
    user = current_user(request)
    return act(
        request,
        lambda: services.new_version(build, user),
        done=lambda v: gettext("Version %(number)s is started as a draft.") % {"number": v.number},
        then=build,
        done_then=lambda v: f"{build.get_absolute_url()}versions/{v.number}/edit/",
        refused=forbid,
    )


@require_GET
def version_detail(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    version = _version(request, pk, number)
    user = current_user(request)
    school = version.school
    events = list(version.events.order_by("created_at", "id"))
    attach(events, "actor")
    return render(
        request,
        "releases/builds/version.html",
        {
            "build": version.build,
            "version": version,
            "school": school,
            "events": events,
            "editable": version.state in services.EDITABLE,
            "waiting": version.state == VersionState.SUBMITTED,
            "may_write": permissions.may_write_builds(user, school),
            "may_approve": permissions.may_approve_builds(user, school),
            "is_author": user.pk in services.authors(version, events),
            "decision_form": DecisionForm(),
        },
    )


@require_http_methods(["GET", "POST"])
def version_edit(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    version = _version(request, pk, number)
    user = require(request, version.school, permissions.may_write_builds, WRITERS)
    form = VersionForm(request.POST if request.method == "POST" else None, version=version)
    return form_page(
        request,
        form,
        "releases/builds/version_form.html",
        {"build": version.build, "version": version},
        save=lambda: services.save_version(version, user, form.values()),
        done=gettext("The version is saved."),
        success_url=_version_url(version),
    )


def _version_url(version: BuildVersion) -> str:
    return f"{version.build.get_absolute_url()}versions/{version.number}/"


@require_POST
def version_submit(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    version = _version(request, pk, number)
    user = current_user(request)
    return act(
        request,
        lambda: services.submit(version, user),
        done=gettext("It is sent for approval: a release manager approves it or returns it."),
        then=_version_url(version),
        refused=forbid,
    )


@require_POST
def version_decide(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    version = _version(request, pk, number)
    user = current_user(request)
    form = DecisionForm(request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    decision: dict[str, Any] = {
        "approve": (
            lambda: services.approve(version, user, comment),
            gettext("Approved: it is the build's procedure in force."),
        ),
        "return": (
            lambda: services.return_version(version, user, comment),
            gettext("Returned to its author for more work."),
        ),
    }
    chosen = decision.get(request.POST.get("decision", ""))
    if chosen is None:
        return HttpResponse("Choose approve or return.", status=400)
    return act(request, chosen[0], done=chosen[1], then=_version_url(version), refused=forbid)


urlpatterns: list[URLPattern] = [
    path("builds/", build_list, name="builds"),
    path("builds/new/", build_create, name="build_create"),
    path("builds/undocumented/", undocumented, name="undocumented"),
    path("builds/<id:pk>/", build_detail, name="build"),
    path("builds/<id:pk>/edit/", build_edit, name="build_edit"),
    path("builds/<id:pk>/print/", build_print, name="build_print"),
    path("builds/<id:pk>/versions/new/", version_new, name="version_new"),
    path("builds/<id:pk>/versions/<id:number>/", version_detail, name="version"),
    path("builds/<id:pk>/versions/<id:number>/edit/", version_edit, name="version_edit"),
    path("builds/<id:pk>/versions/<id:number>/submit/", version_submit, name="version_submit"),
    path("builds/<id:pk>/versions/<id:number>/decide/", version_decide, name="version_decide"),
    *installations.urlpatterns,
]
