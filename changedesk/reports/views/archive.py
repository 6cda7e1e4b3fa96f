"""The report archive's pages: a school's frozen reports, one frozen report with its
decisions, its A4 print and its PDF.

    /reports/archive/                  reports:archive           ?school=<slug>&period=&page=
    /reports/archive/<id>/             reports:snapshot          GET; POST records a decision
    /reports/archive/<id>/print/       reports:snapshot_print    A4 print, charts as inline SVG
    /reports/archive/<id>/pdf/         reports:snapshot_pdf      the print through WeasyPrint

A frozen report is shown from its stored figures exactly as frozen (never recomputed), with
when it was frozen and its digest. Those who may read the school's reports see them
(`reports.permissions.may_read`: 403 for other members); those who may decide record
decisions (`may_decide`); another school's report is a 404.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from changedesk.accounts import permissions
from changedesk.accounts.current import current_user
from changedesk.accounts.models import School, User
from changedesk.changes.models import Change, format_reference
from changedesk.lib import (
    converters,  # noqa: F401  (registers <id:...>)
    paging,
)
from changedesk.lib.days import today_in
from changedesk.lib.views import form_page
from changedesk.reports import archive, pdf
from changedesk.reports.charts import trend_svg, trend_text
from changedesk.reports.models import Decision, Period, Snapshot
from changedesk.reports.permissions import may_decide, may_read
from changedesk.reports.shown import figure_label, group_label

PAGE_SIZE = 25


class DecisionForm(forms.Form):
    text = forms.CharField(
        label=_("What was decided"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=archive.MOST_TEXT,
    )
    decided_by = forms.CharField(
        label=_("Decided by"),
        max_length=archive.MOST_DECIDED_BY,
        help_text=_("A person, or a meeting such as the change advisory committee."),
    )
    decided_on = forms.DateField(
        label=_("Decided on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )


def _refuse(school: School) -> PermissionDenied:
    return PermissionDenied(
        gettext("Only the approvers and the school administrator of %(school)s read its reports.")
        % {"school": school.name}
    )


def _school(request: HttpRequest, user: User) -> School | None:
    """`?school=<slug>` among the person's schools (404 if not one of them; 403 if they may
    not read its reports), the only school whose reports they read, or None: choose."""
    schools = permissions.schools(user)
    slug = request.GET.get("school") or ""
    if slug:
        school = next((s for s in schools if s.slug == slug), None)
        if school is None:
            raise Http404("No such school among yours.")
        if not may_read(user, school):
            raise _refuse(school)
        return school
    if not schools:
        raise Http404("You are not a member of any school.")
    readable = [s for s in schools if may_read(user, s)]
    if not readable:
        raise _refuse(schools[0])
    return readable[0] if len(readable) == 1 else None


def _snapshot(request: HttpRequest, pk: int) -> tuple[User, Snapshot]:
    """The snapshot if the person may read it: another school's is a 404, a member who may
    not read the school's reports a 403."""
    user = current_user(request)
    snapshot = get_object_or_404(Snapshot.objects.visible_to(user).select_related("school"), pk=pk)
    if not may_read(user, snapshot.school):
        raise _refuse(snapshot.school)
    return user, snapshot


@require_GET
def archive_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    school = _school(request, user)
    if school is None:
        schools = [s for s in permissions.schools(user) if may_read(user, s)]
        return render(request, "reports/archive_choose.html", {"schools": schools})
    filters = archive.ArchiveFilterSet(
        request.GET, queryset=Snapshot.objects.filter(school=school).order_by("-start", "-id")
    )
    queryset = filters.qs if filters.is_valid() else Snapshot.objects.none()
    load = Snapshot.objects.annotate(decision_count=Count("decisions")).defer("figures")
    page = paging.page(queryset, request.GET.get("page"), PAGE_SIZE, load=load)
    for snapshot in page.object_list:
        snapshot.school = school
    return render(
        request,
        "reports/archive.html",
        {
            "school": school,
            "filters": filters,
            "page": page,
            "period": request.GET.get("period", ""),
            "periods": Period.choices,
            "many_schools": len(permissions.schools(user)) > 1,
        },
    )


def _charts(snapshot: Snapshot) -> list[dict[str, Any]]:
    """Each figure's trend as frozen: an inline SVG and its text equivalent."""
    trend = snapshot.figures.get("trend") or {}
    charts = []
    for group in snapshot.figures.get("groups") or []:
        for figure in group.get("figures") or []:
            points = trend.get(figure.get("key"))
            if points:
                label = figure_label(figure)
                charts.append(
                    {
                        "key": figure["key"],
                        "label": label,
                        "group": group_label(group),
                        "svg": trend_svg(label, points),
                        "text": trend_text(label, points),
                    }
                )
    return charts


def _with_references(snapshot: Snapshot) -> dict[str, Any]:
    """The frozen figures (a copy: the snapshot itself is never touched) with, for each
    figure, its RFCs as (id, reference) pairs: the ids are stored, the references ("RFC-0042",
    as people know them) are read in one query."""
    shown: dict[str, Any] = copy.deepcopy(snapshot.figures)
    groups = shown.get("groups") or []
    ids = {
        i
        for group in groups
        for figure in group.get("figures") or []
        if isinstance(figure, dict)
        for i in figure.get("ids") or []
        if isinstance(i, int)
    }
    numbers = dict(
        Change.objects.filter(school_id=snapshot.school_id, pk__in=ids).values_list("pk", "number")
    )
    for group in groups:
        for figure in group.get("figures") or []:
            if isinstance(figure, dict):
                figure["rfcs"] = [
                    (i, format_reference(numbers[i]) if i in numbers else f"RFC #{i}")
                    for i in figure.get("ids") or []
                    if isinstance(i, int)
                ]
    return shown


def _context(snapshot: Snapshot, user: User) -> dict[str, Any]:
    decisions = list(
        Decision.objects.filter(snapshot=snapshot)
        .select_related("recorded_by")
        .order_by("decided_on", "id")
    )
    return {
        "snapshot": snapshot,
        "school": snapshot.school,
        "last_day": snapshot.end - timedelta(days=1),
        "report": _with_references(snapshot),
        "decisions": decisions,
        "may_decide": may_decide(user, snapshot.school),
        "intact": archive.verify(snapshot),
    }


@require_http_methods(["GET", "POST"])
def snapshot_page(request: HttpRequest, pk: int) -> HttpResponse:
    user, snapshot = _snapshot(request, pk)
    if request.method == "POST" and not may_decide(user, snapshot.school):
        raise PermissionDenied(
            gettext("Only an approver or the school administrator of %(school)s records decisions.")
            % {"school": snapshot.school.name}
        )
    form = DecisionForm(
        request.POST if request.method == "POST" else None,
        initial={"decided_on": today_in(snapshot.school)},
    )
    here = reverse("reports:snapshot", args=[snapshot.pk])
    return form_page(
        request,
        form,
        "reports/snapshot.html",
        lambda: _print_context(snapshot, user),
        save=lambda: archive.record_decision(
            snapshot,
            user,
            form.cleaned_data["text"],
            form.cleaned_data["decided_by"],
            form.cleaned_data["decided_on"],
        ),
        done=gettext("The decision is recorded."),
        success_url=here,
    )


def _print_context(snapshot: Snapshot, user: User) -> dict[str, Any]:
    return {**_context(snapshot, user), "charts": _charts(snapshot)}


@require_GET
def snapshot_print(request: HttpRequest, pk: int) -> HttpResponse:
    user, snapshot = _snapshot(request, pk)
    return render(request, "reports/snapshot_print.html", _print_context(snapshot, user))


def _static_file(request: HttpRequest) -> Callable[[str], str | None]:
    """For WeasyPrint: the file on disk behind one of this site's static URLs, or None."""
    prefix = request.build_absolute_uri(settings.STATIC_URL)

    def find(url: str) -> str | None:
        if not url.startswith(prefix):
            return None
        name = url[len(prefix) :].split("?", 1)[0]
        found = finders.find(name) if name and ".." not in name else None
        return str(found) if isinstance(found, str) else None

    return find


def pdf_filename(snapshot: Snapshot) -> str:
    return f"{snapshot.school.slug}-report-{snapshot.period}-{snapshot.start:%Y-%m-%d}.pdf"


@require_GET
def snapshot_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    user, snapshot = _snapshot(request, pk)
    html = render_to_string(
        "reports/snapshot_print.html",
        {**_print_context(snapshot, user), "as_pdf": True},
        request=request,
    )
    try:
        document = pdf.render(html, request.build_absolute_uri("/"), _static_file(request))
    except pdf.PdfUnavailable as error:
        return render(
            request,
            "reports/snapshot_pdf_unavailable.html",
            {"snapshot": snapshot, "school": snapshot.school, "reason": error.reason},
            status=503,
        )
    response = HttpResponse(document, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{pdf_filename(snapshot)}"'
    return response


urlpatterns = [
    path("archive/", archive_list, name="archive"),
    path("archive/<id:pk>/", snapshot_page, name="snapshot"),
    path("archive/<id:pk>/print/", snapshot_print, name="snapshot_print"),
    path("archive/<id:pk>/pdf/", snapshot_pdf, name="snapshot_pdf"),
]
