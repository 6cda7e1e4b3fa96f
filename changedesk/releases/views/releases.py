"""The release pages: the overview a network manager keeps open (`home`), the list of
releases, defining and editing one, one release through FITS's four steps with its builds,
RFCs, installations and history, and the release figures. (`views/requests.py` adds the
install request pages to `urlpatterns`.)

A release planned outside the policy's release windows is flagged on its page
(`releases.conflicts`). The overview counts what is overdue and expiring by each school's
own today (and each licence's notice, as the licence log does). The figures page shows
thirteen periods up to today, or up to a `date` from 2000 to 2100 (another is a 400).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from changedesk.accounts import permissions as accounts_permissions
from changedesk.accounts.current import current_user
from changedesk.accounts.models import School, loaded_schools, seen_school_ids
from changedesk.changes.models import Change
from changedesk.configuration.models import ConfigurationItem, ItemKind
from changedesk.lib import (
    converters,  # noqa: F401  (registers <id:...>)
    days,
    paging,
)
from changedesk.lib.loading import attach
from changedesk.lib.views import act, forbid, form_page
from changedesk.releases import measurements, permissions, workflow
from changedesk.releases.conflicts import release_window_conflict
from changedesk.releases.filters.releases import ReleaseFilterSet
from changedesk.releases.forms.releases import (
    ActForm,
    BuildChoiceForm,
    ChangeChoiceForm,
    ReleaseForm,
)
from changedesk.releases.models import (
    Build,
    Checkout,
    Installation,
    InstallRequest,
    Licence,
    Release,
    ReleaseChange,
    ReleaseEvent,
    ReleasePolicy,
)
from changedesk.releases.services import licences as licence_services
from changedesk.releases.services import releases as services
from changedesk.releases.views import requests
from changedesk.releases.views.common import chosen_school, require, schools_where, visible
from changedesk.schedule.conflicts import Conflict

PAGE_SIZE = 50
HOME_ROWS = 20
# The most schools the figures page shows at once (choose one for the rest).
FIGURE_SCHOOLS = 10
# The 403 for anyone else: a whole sentence, which translates where a role's name would not.
MANAGER = _("Only a release manager or school administrator of %(school)s may do that.")
LIST_COLUMNS = (
    "id",
    "school",
    "title",
    "state",
    "manager",
    "planned_start",
    "planned_end",
    "created_at",
)


AREAS = (
    ("releases:policy", _("Release policy")),
    ("releases:library", _("Definitive software library")),
    ("releases:checkouts", _("Pieces out (in/out book)")),
    ("releases:builds", _("Build procedures")),
    ("releases:undocumented", _("Services with no build procedure")),
    ("releases:installations", _("Installations")),
    ("releases:licences", _("Software licence log")),
    ("releases:list", _("All releases")),
    ("releases:requests", _("Install requests")),
    ("releases:measurements", _("Release figures")),
)


def _links() -> list[tuple[str, str]]:
    return [(reverse(name), str(label)) for name, label in AREAS]


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    schools = accounts_permissions.schools(user)
    releases = list(
        Release.objects.visible_to(user).open().order_by("planned_start", "id")[:HOME_ROWS]
    )
    attach(releases, "school", known=loaded_schools(user))
    waiting = InstallRequest.objects.visible_to(user).waiting()
    documented = Build.objects.filter(
        service=OuterRef("pk"), is_active=True, approved_version__isnull=False
    )
    licences = licence_services.summary(Licence.objects.visible_to(user), schools)
    context = {
        "schools": schools,
        "releases": releases,
        "requests_waiting": waiting.count(),
        "requests": list(waiting.select_related("requested_by").order_by("created_at", "id")[:5]),
        "out": Checkout.objects.visible_to(user).out().count(),
        # Overdue by each school's own today (due back before it).
        "overdue": Checkout.objects.visible_to(user)
        .out()
        .filter(days.compare_today("due_back", "lt", schools))
        .count(),
        # Each licence's status as the licence log shows it: expiring within its own notice
        # days, by its school's today.
        "over_allocated": licences["over_allocated"],
        "expiring": licences["expiring"],
        "undocumented": ConfigurationItem.objects.visible_to(user)
        .filter(kind=ItemKind.SERVICE, is_active=True)
        .exclude(Exists(documented))
        .count(),
        "policies": list(
            ReleasePolicy.objects.visible_to(user).published().select_related("school")
        ),
        "links": _links(),
        "may_create": bool(schools_where(user, permissions.may_manage)),
    }
    return render(request, "releases/releases/home.html", context)


@require_GET
def release_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    schools = accounts_permissions.schools(user)
    filters = ReleaseFilterSet(request.GET, queryset=Release.objects.visible_to(user))
    queryset = filters.qs if filters.is_valid() else Release.objects.none()
    ids = seen_school_ids(user)
    chosen = chosen_school(request, schools) if request.GET.get("school") else None
    if chosen is not None:
        ids = [chosen.pk]
    page = paging.page(
        queryset.order_by("-created_at", "-id"),
        request.GET.get("page"),
        PAGE_SIZE,
        load=Release.objects.only(*LIST_COLUMNS),
        schools=ids,
    )
    rows = list(page.object_list)
    attach(rows, "school", known=loaded_schools(user))
    attach(rows, "manager")
    query = urlencode(
        [(k, v) for k, values in request.GET.lists() for v in values if k != "page" and v]
    )
    return render(
        request,
        "releases/releases/list.html",
        {
            "filters": filters,
            "page": page,
            "rows": rows,
            "schools": schools,
            "query": query,
            "may_create": bool(schools_where(user, permissions.may_manage)),
        },
        status=200 if filters.is_valid() else 400,
    )


@require_http_methods(["GET", "POST"])
def release_create(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    schools = schools_where(user, permissions.may_manage)
    school = chosen_school(request, schools)
    if not schools:
        raise PermissionDenied(
            gettext("Only a release manager or school administrator may define a release.")
        )
    if school is None:
        return render(request, "releases/releases/choose_school.html", {"schools": schools})
    form = ReleaseForm(request.POST or None, school=school)
    with timezone.override(school.zone):
        return form_page(
            request,
            form,
            "releases/releases/form.html",
            {"school": school, "release": None},
            save=lambda: services.create_release(school, user, form.values()),
            done=gettext("The release is defined."),
        )


@require_http_methods(["GET", "POST"])
def release_edit(request: HttpRequest, pk: int) -> HttpResponse:
    release = visible(request, Release, pk)
    user = require(request, release.school, permissions.may_manage, MANAGER)
    form = ReleaseForm(request.POST or None, school=release.school, release=release)
    with timezone.override(release.school.zone):
        return form_page(
            request,
            form,
            "releases/releases/form.html",
            {"school": release.school, "release": release},
            save=lambda: services.update_release(release.pk, user, form.values()),
            done=gettext("The release is saved."),
        )


def window_conflict(release: Release) -> Conflict | None:
    """The release's planned window outside the policy's release windows, if it is."""
    if release.planned_start is None or release.planned_end is None:
        return None
    return release_window_conflict(release.school, release.planned_start, release.planned_end)


def _steps(release: Release) -> list[dict[str, Any]]:
    states = [str(s) for s in workflow.STEPS]
    at = states.index(release.state) if release.state in states else len(states)
    return [
        {"label": s.label, "current": n == at, "done": n < at or release.state == "closed"}
        for n, s in enumerate(workflow.STEPS)
    ]


def _detail(request: HttpRequest, release: Release, act_form: Any = None) -> dict[str, Any]:
    user = current_user(request)
    may_manage = permissions.may_manage(user, release.school)
    builds = list(
        release.builds.select_related("approved_version", "service").order_by("name", "id")
    )
    changes = list(
        Change.objects.filter(
            pk__in=ReleaseChange.objects.filter(release=release).values("change_id")
        ).order_by("planned_start", "id")
    )
    installations = list(
        Installation.objects.filter(release=release)
        .select_related("version", "item", "installer", "build")
        .order_by("-started_at", "-id")[:100]
    )
    events = list(
        ReleaseEvent.objects.filter(release=release)
        .select_related("actor")
        .order_by("created_at", "id")
    )
    open_for_builds = may_manage and release.state in services.BUILD_STATES
    open_for_changes = may_manage and release.is_open
    return {
        "release": release,
        "school": release.school,
        "steps": _steps(release),
        "builds": builds,
        "changes": changes,
        "installations": installations,
        "events": events,
        "actions": workflow.available_actions(user, release),
        "act_form": act_form or ActForm(),
        "may_manage": may_manage and release.is_open,
        "add_build": BuildChoiceForm(release=release, adding=True) if open_for_builds else None,
        "remove_build": BuildChoiceForm(release=release, adding=False)
        if open_for_builds and builds
        else None,
        "add_change": ChangeChoiceForm(release=release, adding=True) if open_for_changes else None,
        "remove_change": ChangeChoiceForm(release=release, adding=False)
        if open_for_changes and changes
        else None,
        "conflict": window_conflict(release),
        "may_request": permissions.may_request_install(user, release.school),
    }


@require_GET
def release_detail(request: HttpRequest, pk: int) -> HttpResponse:
    release = visible(request, Release, pk, "manager")
    with timezone.override(release.school.zone):
        return render(request, "releases/releases/detail.html", _detail(request, release))


@require_POST
def release_act(request: HttpRequest, pk: int) -> HttpResponse:
    release = visible(request, Release, pk)
    user = require(request, release.school, permissions.may_manage, MANAGER)
    form = ActForm(request.POST)
    if not form.is_valid():
        with timezone.override(release.school.zone):
            context = _detail(request, release, act_form=form)
            return render(request, "releases/releases/detail.html", context, status=400)
    data = form.cleaned_data
    return act(
        request,
        lambda: workflow.perform(
            release.pk, data["action"], user, {"reason": data["reason"]}, comment=data["comment"]
        ),
        done=lambda r: (
            gettext("The release is now in its %(step)s step.")
            % {"step": r.get_state_display().lower()}
            if r.is_open
            else gettext("The release is %(state)s.") % {"state": r.get_state_display().lower()}
        ),
        then=release.get_absolute_url(),
        refused=forbid,
    )


def _holdings(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """Add (`op=add`) or take out (`op=remove`) a build or an RFC."""
    release = visible(request, Release, pk)
    user = require(request, release.school, permissions.may_manage, MANAGER)
    adding = request.POST.get("op") != "remove"
    form: Any = (
        BuildChoiceForm(request.POST, release=release, adding=adding)
        if kind == "build"
        else ChangeChoiceForm(request.POST, release=release, adding=adding)
    )
    if not form.is_valid():
        with timezone.override(release.school.zone):
            context = _detail(request, release)
            context[f"{'add' if adding else 'remove'}_{kind}"] = form
            return render(request, "releases/releases/detail.html", context, status=400)
    chosen = form.cleaned_data[kind]
    run = {
        ("build", True): services.add_build,
        ("build", False): services.remove_build,
        ("change", True): services.add_change,
        ("change", False): services.remove_change,
    }[(kind, adding)]
    return act(
        request,
        lambda: run(release.pk, user, chosen.pk),
        done={
            ("build", True): gettext("The build is added."),
            ("build", False): gettext("The build is taken out."),
            ("change", True): gettext("The RFC is added."),
            ("change", False): gettext("The RFC is taken out."),
        }[(kind, adding)],
        then=release.get_absolute_url(),
        refused=forbid,
    )


@require_POST
def release_builds(request: HttpRequest, pk: int) -> HttpResponse:
    return _holdings(request, pk, "build")


@require_POST
def release_changes(request: HttpRequest, pk: int) -> HttpResponse:
    return _holdings(request, pk, "change")


@require_GET
def figures(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    schools = accounts_permissions.schools(user)
    kind = request.GET.get("period", "month")
    if kind not in measurements.PERIODS:
        kind = "month"
    chosen = chosen_school(request, schools) if request.GET.get("school") else None
    given = request.GET.get("date", "").strip()
    day: date | None = None
    date_error = ""
    if given:
        try:
            day = date.fromisoformat(given)
        except ValueError:
            date_error = gettext("Give a date as YYYY-MM-DD.")
        else:
            if not measurements.sane_day(day):
                day, date_error = (
                    None,
                    gettext("Give a date from %(first)s to %(last)s.")
                    % {
                        "first": measurements.EARLIEST.isoformat(),
                        "last": measurements.LATEST.isoformat(),
                    },
                )
    # A school at a time for a trust's people (four queries a school).
    shown: list[School] = [chosen] if chosen else schools[:FIGURE_SCHOOLS]
    tables = []
    for school in shown:
        today = day or timezone.now().astimezone(school.zone).date()
        periods = measurements.periods_before(kind, today, 13)[::-1]
        rows = measurements.figures_many(school, periods)
        tables.append((school, list(zip(periods, rows, strict=True))))
    return render(
        request,
        "releases/releases/figures.html",
        {
            "tables": tables,
            "kind": kind,
            "names": [(n, gettext(measurements.LABELS[n])) for n in measurements.NAMES],
            "schools": schools,
            "school": chosen,
            "more": len(schools) > len(shown),
            "day": day,
            "given": given,
            "date_error": date_error,
        },
        status=400 if date_error else 200,
    )


urlpatterns: list[URLPattern] = [
    path("", home, name="home"),
    path("all/", release_list, name="list"),
    path("new/", release_create, name="release_create"),
    path("figures/", figures, name="measurements"),
    path("<id:pk>/", release_detail, name="release"),
    path("<id:pk>/edit/", release_edit, name="release_edit"),
    path("<id:pk>/act/", release_act, name="release_act"),
    path("<id:pk>/builds/", release_builds, name="release_builds"),
    path("<id:pk>/changes/", release_changes, name="release_changes"),
    *requests.urlpatterns,
]
