"""A trust's compliance across its schools (`adoption.trust_compliance`):

    /getting-started/trusts/<slug>/compliance/      adoption:trust_compliance      the table
    /getting-started/trusts/<slug>/compliance.csv   adoption:trust_compliance_csv  its CSV

`?period=week|month&start=YYYY-MM-DD` (by default this month), read as the period report
reads it (a bad value: 400). Read by the trust's people (any trust role) and operators
(`reports.filters.trust_of`): a member of one of its schools without a trust role 403,
anyone else 404.
"""

from __future__ import annotations

import csv
from datetime import timedelta
from io import StringIO
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_GET

from changedesk.accounts.current import current_user
from changedesk.accounts.models import School, Trust
from changedesk.adoption import trust_compliance
from changedesk.lib.cells import csv_cell
from changedesk.lib.days import today_in
from changedesk.reports import figures
from changedesk.reports.filters import ReportQuery, trust_of
from changedesk.reports.models import Period


class BadPeriod(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def read(user: Any, slug: str, data: Any) -> trust_compliance.TrustCompliance:
    """The trust's compliance asked for: `BadPeriod` (400), `Http404` or `PermissionDenied`."""
    form = ReportQuery(data)
    valid = form.is_valid()
    errors = {
        name: " ".join(str(e) for e in found)
        for name, found in form.errors.items()
        if name in ("period", "start")
    }
    trust: Trust = trust_of(user, slug)
    if not valid and errors:
        raise BadPeriod(errors)
    period = form.cleaned_data.get("period") or Period.MONTH.value
    # A trust's schools keep one time zone: today is the same day at each.
    first = School.objects.filter(trust=trust).first()
    day = form.cleaned_data.get("start") or (today_in(first) if first else timezone.localdate())
    start, end = figures.period_bounds(period, day)
    return trust_compliance.build(trust, period, start, end)


def _asked(request: HttpRequest, slug: str) -> trust_compliance.TrustCompliance | HttpResponse:
    try:
        return read(current_user(request), slug, request.GET)
    except BadPeriod as error:
        return render(request, "reports/period_error.html", {"errors": error.errors}, status=400)


@require_GET
def page(request: HttpRequest, slug: str) -> HttpResponse:
    found = _asked(request, slug)
    if isinstance(found, HttpResponse):
        return found
    context = {
        "found": found,
        "trust": found.trust,
        "totals": found.totals,
        "last_day": found.end - timedelta(days=1),
        "query": f"period={found.period}&start={found.start.isoformat()}",
    }
    return render(request, "adoption/trust_compliance.html", context)


HEADER = (
    "school",
    "slug",
    "going_live",
    "go_live_on",
    "live_on",
    "patches_applicable",
    "patches_on_time",
    "patches_late",
    "patches_overdue",
    "patches_percent_on_time",
    "rfcs_open",
    "rfcs_overdue",
    "rfcs_failed",
    "emergencies",
    "reviewed_on",
    "review_passed",
    "review_judged",
    "review_next_due",
)


@require_GET
def csv_file(request: HttpRequest, slug: str) -> HttpResponse:
    found = _asked(request, slug)
    if isinstance(found, HttpResponse):
        return found
    out = StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(HEADER)
    for row in found.rows:
        writer.writerow(
            [
                csv_cell(row.school.name),
                csv_cell(row.school.slug),
                row.going_live,
                row.go_live_on or "",
                row.live_on or "",
                row.patches.applicable,
                row.patches.on_time,
                row.patches.late,
                row.patches.overdue,
                "" if row.patches.percent_on_time is None else row.patches.percent_on_time,
                row.open,
                row.overdue,
                row.failed,
                row.emergencies,
                row.reviewed_on or "",
                "" if row.review_passed is None else row.review_passed,
                "" if row.review_judged is None else row.review_judged,
                row.review_due or "",
            ]
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"{found.trust.slug}-compliance-{found.start.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


urlpatterns: list[URLPattern] = [
    path("trusts/<slug:slug>/compliance/", page, name="trust_compliance"),
    path("trusts/<slug:slug>/compliance.csv", csv_file, name="trust_compliance_csv"),
]
