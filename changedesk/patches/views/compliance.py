"""Compliance with the patch deadlines: per school (per severity, per item, the deferrals
with their reasons), across the person's schools, the printable dated statement, and the
school's deadline policy."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from changedesk.accounts import permissions
from changedesk.accounts.current import current_user, member_school
from changedesk.accounts.models import School
from changedesk.configuration.models import ConfigurationItem
from changedesk.lib.views import form_page
from changedesk.patches import compliance, services
from changedesk.patches.forms import DateInput, PolicyForm
from changedesk.patches.models import Installation, Patch, PatchPolicy, today_in
from changedesk.patches.views.common import chosen_school, require_manager

# The most rows each list of an item's page shows.
MOST_ROWS = 200


class PeriodField(forms.DateField):
    def to_python(self, value: Any) -> date | None:
        day = super().to_python(value)
        if day is not None and not 2000 <= day.year <= 2999:
            raise forms.ValidationError(_("Give a day from 2000 to 2999."))
        return day


class PeriodForm(forms.Form):
    start = PeriodField(required=False, widget=DateInput(), label=_("Released from"))
    end = PeriodField(required=False, widget=DateInput(), label=_("Released to"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("end", _("On or after the start."))
        # The period as it will be read (an end left empty is today): at most three years.
        last = end or timezone.localdate()
        if start and (last - start).days > compliance.LONGEST:
            self.add_error("start", _("At most three years before the end."))
        return cleaned


def _period(form: PeriodForm, today: date) -> tuple[date, date]:
    end = form.cleaned_data.get("end") or today
    start = form.cleaned_data.get("start") or end - timedelta(days=compliance.DEFAULT_DAYS)
    return start, end


@require_GET
def compliance_page(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    schools = permissions.schools(user)
    school = chosen_school(request, schools)
    form = PeriodForm(request.GET or None)
    valid = form.is_valid() if form.is_bound else True
    if not form.is_bound:
        form.cleaned_data = {}
    reports: list[compliance.Report] = []
    totals: list[tuple[School, compliance.Tally]] = []
    if valid and school is not None:
        start, end = _period(form, today_in(school))
        reports.append(compliance.report(school, start, end))
    elif valid and schools:
        # Across the person's schools: one query for all of them, the period the site's.
        start, end = _period(form, timezone.localdate())
        totals = compliance.summary(schools, start, end)
    return render(
        request,
        "patches/compliance.html",
        {
            "form": form,
            "school": school,
            "schools": schools,
            "report": reports[0] if reports else None,
            "totals": totals,
            "may_set_policy": bool(school and services.may_manage(user, school)),
        },
        status=200 if valid else 400,
    )


@require_GET
def statement(request: HttpRequest, slug: str) -> HttpResponse:
    """The dated statement an auditor is handed: printable on A4."""
    school = member_school(request, slug)
    form = PeriodForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "patches/compliance.html", {"form": form, "schools": [school],
                      "school": school, "totals": []}, status=400)  # fmt: skip
    if not form.is_bound:
        form.cleaned_data = {}
    start, end = _period(form, today_in(school))
    with timezone.override(school.zone):
        return render(
            request,
            "patches/statement.html",
            {
                "report": compliance.report(school, start, end),
                "school": school,
                "printed_at": timezone.now(),
                "printed_by": current_user(request),
            },
        )


@require_http_methods(["GET", "POST"])
def policy(request: HttpRequest, slug: str) -> HttpResponse:
    school = member_school(request, slug)
    user = require_manager(request, school)
    form = PolicyForm(
        request.POST if request.method == "POST" else None, instance=PatchPolicy.of(school)
    )
    return form_page(
        request,
        form,
        "patches/policy.html",
        {"school": school},
        save=lambda: services.save_policy(school, user, form.values()),
        done="The deadlines are saved; the patches still to deploy have their new due dates.",
        success_url=f"{reverse('patches:compliance')}?school={school.slug}",
    )


@require_GET
def item_patches(request: HttpRequest, pk: int) -> HttpResponse:
    """One configuration item's patches: what it now runs (each closed patch's record), and
    the patches still to deploy on it."""
    user = current_user(request)
    item = get_object_or_404(
        ConfigurationItem.objects.visible_to(user).select_related("school"), pk=pk
    )
    today = today_in(item.school)
    installed = (
        Installation.objects.filter(item=item)
        .select_related("patch", "patch__vendor")
        .order_by("-installed_on", "-id")[:MOST_ROWS]
    )
    applies = (
        Patch.objects.filter(items=item, school_id=item.school_id)
        .exclude(state__in=("closed", "not_applicable"))
        .select_related("vendor")
        .order_by("due_on", "id")[:MOST_ROWS]
    )
    return render(
        request,
        "patches/item.html",
        {
            "item": item,
            "school": item.school,
            "today": today,
            "installed": list(installed),
            "open": [(p, services.deadline_text(p, today)) for p in applies],
        },
    )
