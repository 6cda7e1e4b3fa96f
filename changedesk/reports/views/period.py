"""The period report's pages:

    /reports/                 reports:period        a school's (or all my schools') report for a
                                                    week or a month, with its trends and their
                                                    text; several schools and none chosen: a
                                                    choice
    /reports/print/           reports:period_print  the same, laid out for A4
    /reports/figure/          reports:figure        the RFCs behind one figure (paged ids first)
    /reports/settings/        reports:settings      how often the school reports (its
                                                    administrator)

The query (`?school=&period=&start=`, or `?trust=` for a trust's schools together) is read by
`reports.filters.ask`, as the API reads it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from changedesk.accounts import permissions as accounts_permissions
from changedesk.accounts.current import current_user
from changedesk.changes.models import Change
from changedesk.lib import paging
from changedesk.lib.days import today_in
from changedesk.lib.views import form_page
from changedesk.reports import figures, services
from changedesk.reports.filters import Asked, BadQuery, MustChoose, ask
from changedesk.reports.forms import FrequencyForm
from changedesk.reports.permissions import may_set_frequency
from changedesk.reports.shown import figure_label, figure_note

PAGE_SIZE = 50


def _asked(request: HttpRequest) -> Asked | HttpResponse:
    """The report asked for, or the page that answers instead (an error, or a choice)."""
    user = current_user(request)
    try:
        return ask(user, request.GET)
    except BadQuery as error:
        return render(request, "reports/period_error.html", {"errors": error.errors}, status=400)
    except MustChoose as choice:
        return render(request, "reports/period_choose.html", {"schools": choice.schools})


def _context(request: HttpRequest, asked: Asked, report: dict[str, Any]) -> dict[str, Any]:
    user = current_user(request)
    name = asked.school.name if asked.school else gettext("All my schools")
    if asked.trust is not None:
        name = asked.trust.name
    return {
        "report": report,
        "school": asked.school,
        "trust": asked.trust,
        "schools": [s for s in accounts_permissions.schools(user) if _reads(user, s)],
        "period": asked.period,
        "start": asked.start,
        "last_day": asked.end - timedelta(days=1),
        "previous": figures.previous_start(asked.period, asked.start),
        "next": asked.end,
        "title": f"{name}, {_period_name(asked)}",
        "query": urlencode(asked.params),
        "frequency": figures.frequency_of(asked.school) if asked.school else "",
        "may_set": bool(asked.school and may_set_frequency(user, asked.school)),
        "in_progress": asked.start <= _today(asked) < asked.end,
    }


def _today(asked: Asked) -> date:
    """Today in the school's days (across schools: the server's)."""
    if asked.trust is not None:
        return today_in(asked.schools[0])  # a trust's schools keep one time zone
    return today_in(asked.school) if asked.school else timezone.localdate()


def _reads(user: Any, school: Any) -> bool:
    from changedesk.reports.permissions import may_read

    return may_read(user, school)


def _period_name(asked: Asked) -> str:
    if asked.period == "week":
        return gettext("week from %(day)s") % {"day": date_format(asked.start, "j F Y")}
    return date_format(asked.start, "F Y")


@require_GET
def period(request: HttpRequest) -> HttpResponse:
    asked = _asked(request)
    if isinstance(asked, HttpResponse):
        return asked
    template = "reports/period_print.html" if request.GET.get("print") else "reports/period.html"
    return render(request, template, _context(request, asked, asked.report()))


@require_GET
def period_print(request: HttpRequest) -> HttpResponse:
    asked = _asked(request)
    if isinstance(asked, HttpResponse):
        return asked
    return render(request, "reports/period_print.html", _context(request, asked, asked.report()))


@require_GET
def figure(request: HttpRequest) -> HttpResponse:
    asked = _asked(request)
    if isinstance(asked, HttpResponse):
        return asked
    report = asked.report()
    found = figures.figure(report, request.GET.get("figure", ""))
    if found is None:
        errors = {"figure": gettext("Choose a figure of the report (its key).")}
        return render(request, "reports/period_error.html", {"errors": errors}, status=400)
    # Ids first: the figure's ids are known; one page of RFCs is loaded by id.
    page = Paginator(found["ids"], PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = paging.rows_of(
        Change.objects.select_related("school"), list(page.object_list)
    )
    return render(
        request,
        "reports/figure.html",
        {
            **_context(request, asked, report),
            "figure": {
                **found,
                "label": figure_label(found),
                "note": figure_note(found.get("note", "")),
            },
            "page_obj": page,
            "count": len(found["ids"]),
        },
    )


def settings(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    slug = request.POST.get("school") or request.GET.get("school") or ""
    mine = accounts_permissions.schools(user)
    school = next((s for s in mine if s.slug == slug), None)
    if school is None and not slug and len(mine) == 1:
        school = mine[0]
    if school is None:
        raise Http404("No such school of yours.")
    if not may_set_frequency(user, school):
        raise PermissionDenied(
            gettext("Only the school administrator of %(school)s may do that.")
            % {"school": school.name}
        )
    form = FrequencyForm(
        request.POST if request.method == "POST" else None,
        initial={"frequency": figures.frequency_of(school)},
    )
    return form_page(
        request,
        form,
        "reports/settings.html",
        {"school": school},
        save=lambda: services.set_frequency(school, user, form.cleaned_data["frequency"]),
        done=lambda saved: (
            (
                gettext("%(school)s now reports every week.")
                if saved.frequency == "week"
                else gettext("%(school)s now reports every month.")
            )
            % {"school": school.name}
        ),
        success_url=f"{reverse('reports:period')}?school={school.slug}",
    )


urlpatterns: list[URLPattern] = [
    path("", period, name="period"),
    path("print/", period_print, name="period_print"),
    path("figure/", figure, name="figure"),
    path("settings/", settings, name="settings"),
]
