"""The school calendar pages: periods, the teaching day, maintenance windows, .ics import.

Members of the school read them; its school administrators change them (403 for other
members); anyone outside the school gets a 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from changedesk.accounts.choices import Role
from changedesk.accounts.current import current_user
from changedesk.accounts.models import School
from changedesk.schedule.calendar import DAY_FULL_NAMES, describe_window
from changedesk.schedule.forms import (
    IcsUploadForm,
    MaintenanceWindowForm,
    PeriodForm,
    TeachingDayForm,
)
from changedesk.schedule.ics_import import IcsError, import_ics, read_ics
from changedesk.schedule.models import CalendarPeriod, MaintenanceWindow, SchoolCalendar
from changedesk.schedule.views.common import schools_of


@dataclass
class Place:
    """The signed-in user's standing in one school."""

    school: School
    is_admin: bool


def _place(request: HttpRequest, slug: str) -> Place:
    user = current_user(request)
    school = next((s for s in schools_of(user) if s.slug == slug), None)
    if school is None:
        raise Http404("No such school.")
    return Place(school, user.is_superuser or Role.SCHOOL_ADMIN in user.roles_in(school))


def _admin_place(request: HttpRequest, slug: str) -> Place:
    place = _place(request, slug)
    if not place.is_admin:
        raise PermissionDenied(
            f"Only a school administrator of {place.school.name} may change its calendar."
        )
    return place


@require_GET
def calendars(request: HttpRequest) -> HttpResponse:
    schools = schools_of(current_user(request))
    if len(schools) == 1:
        return redirect("schedule:calendar", slug=schools[0].slug)
    return render(request, "schedule/calendars.html", {"schools": schools})


@require_GET
def calendar_detail(request: HttpRequest, slug: str) -> HttpResponse:
    place = _place(request, slug)
    school = place.school
    show_all = request.GET.get("all") == "1"
    periods = CalendarPeriod.objects.filter(school=school).order_by("starts_at", "id")
    if not show_all:
        periods = periods.filter(ends_at__gt=timezone.now() - timedelta(days=1))
    calendar = SchoolCalendar.objects.filter(school=school).first() or SchoolCalendar(school=school)
    windows = list(MaintenanceWindow.objects.filter(school=school))
    with timezone.override(school.zone):
        return render(
            request,
            "schedule/calendar.html",
            {
                "school": school,
                "is_admin": place.is_admin,
                "calendar": calendar,
                "school_days": ", ".join(DAY_FULL_NAMES[int(d)] for d in calendar.school_days),
                "windows": [(w, describe_window(w)) for w in windows],
                "periods": periods[:500],
                "show_all": show_all,
            },
        )


@require_http_methods(["GET", "POST"])
def teaching_day_edit(request: HttpRequest, slug: str) -> HttpResponse:
    place = _admin_place(request, slug)
    calendar = SchoolCalendar.objects.filter(school=place.school).first() or SchoolCalendar(
        school=place.school
    )
    form = TeachingDayForm(request.POST or None, instance=calendar)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "The teaching day is saved.")
        return redirect("schedule:calendar", slug=slug)
    return _form_page(request, place, form, "The teaching day and school days")


def _form_page(
    request: HttpRequest,
    place: Place,
    form: Any,
    title: str,
    *,
    delete_url: str = "",
    template: str = "schedule/form.html",
) -> HttpResponse:
    status = 400 if form.is_bound and form.errors else 200
    context = {"school": place.school, "form": form, "title": title, "delete_url": delete_url}
    return render(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
def period_create(request: HttpRequest, slug: str) -> HttpResponse:
    place = _admin_place(request, slug)
    initial = {"kind": request.GET.get("kind", "term"), "all_day": True}
    form = PeriodForm(request.POST or None, school=place.school, initial=initial)
    if request.method == "POST" and form.is_valid():
        period = form.save()
        messages.success(request, f"“{period.name}” is added to the calendar.")
        return redirect("schedule:calendar", slug=slug)
    return _form_page(request, place, form, "Add a period", template="schedule/period_form.html")


@require_http_methods(["GET", "POST"])
def period_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    place = _admin_place(request, slug)
    period = get_object_or_404(CalendarPeriod, pk=pk, school=place.school)
    form = PeriodForm(request.POST or None, school=place.school, period=period)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"“{period.name}” is saved.")
        return redirect("schedule:calendar", slug=slug)
    return _form_page(
        request,
        place,
        form,
        f"Edit “{period.name}”",
        delete_url=reverse("schedule:period_delete", args=[slug, pk]),
        template="schedule/period_form.html",
    )


@require_http_methods(["GET", "POST"])
def period_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    place = _admin_place(request, slug)
    period = get_object_or_404(CalendarPeriod, pk=pk, school=place.school)
    if request.method == "POST":
        period.delete()
        messages.success(request, f"“{period.name}” is removed from the calendar.")
        return redirect("schedule:calendar", slug=slug)
    return render(
        request,
        "schedule/confirm_delete.html",
        {"school": place.school, "thing": f"the {period.get_kind_display().lower()} “{period}”"},
    )


@require_http_methods(["GET", "POST"])
def window_create(request: HttpRequest, slug: str) -> HttpResponse:
    place = _admin_place(request, slug)
    window = MaintenanceWindow(
        school=place.school, start_time=time(17, 30), weekdays=[0, 1, 2, 3, 4]
    )
    form = MaintenanceWindowForm(request.POST or None, instance=window)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"The maintenance window “{window.name}” is added.")
        return redirect("schedule:calendar", slug=slug)
    return _form_page(request, place, form, "Add a maintenance window")


@require_http_methods(["GET", "POST"])
def window_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    place = _admin_place(request, slug)
    window = get_object_or_404(MaintenanceWindow, pk=pk, school=place.school)
    form = MaintenanceWindowForm(request.POST or None, instance=window)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"The maintenance window “{window.name}” is saved.")
        return redirect("schedule:calendar", slug=slug)
    return _form_page(
        request,
        place,
        form,
        f"Edit the maintenance window “{window.name}”",
        delete_url=reverse("schedule:window_delete", args=[slug, pk]),
    )


@require_http_methods(["GET", "POST"])
def window_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    place = _admin_place(request, slug)
    window = get_object_or_404(MaintenanceWindow, pk=pk, school=place.school)
    if request.method == "POST":
        window.delete()
        messages.success(request, f"The maintenance window “{window.name}” is removed.")
        return redirect("schedule:calendar", slug=slug)
    return render(
        request,
        "schedule/confirm_delete.html",
        {"school": place.school, "thing": f"the maintenance window “{window.name}”"},
    )


ICS_SALT = "changedesk.schedule.ics-import"
ICS_MAX_AGE = 60 * 60


@require_http_methods(["GET", "POST"])
def ics_import(request: HttpRequest, slug: str) -> HttpResponse:
    """Upload, preview, then import: the file travels signed in the confirm form."""
    place = _admin_place(request, slug)
    school = place.school
    context: dict[str, Any] = {"school": school}
    if request.method == "POST" and "payload" in request.POST:
        try:
            payload = signing.loads(request.POST["payload"], salt=ICS_SALT, max_age=ICS_MAX_AGE)
        except signing.BadSignature:
            messages.error(request, "That preview has expired: choose the file again.")
            return redirect("schedule:import", slug=slug)
        if payload.get("school") != school.pk:
            raise PermissionDenied("That preview is of another school's calendar.")
        try:
            result = import_ics(payload["ics"], school, kind=payload.get("kind"))
        except (IcsError, IntegrityError):
            messages.error(request, "The calendar changed while importing: try again.")
            return redirect("schedule:import", slug=slug)
        messages.success(
            request,
            f"Imported: {result.created} new, {result.updated} updated, "
            f"{result.deleted} removed, {result.unchanged} unchanged, "
            f"{result.skipped} not imported.",
        )
        return redirect("schedule:calendar", slug=slug)
    form = IcsUploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            data = upload.read(2 * 1024 * 1024 + 1)
            kind = form.chosen_kind()
            try:
                preview = read_ics(data, school, kind=kind)
            except IcsError as error:
                form.add_error("file", error.message)
            else:
                status = 200
                context["preview"] = preview
                context["payload"] = signing.dumps(
                    {"school": school.pk, "kind": kind, "ics": data.decode("utf-8-sig")},
                    salt=ICS_SALT,
                    compress=True,
                )
    context["form"] = form
    with timezone.override(school.zone):
        return render(request, "schedule/import.html", context, status=status)
