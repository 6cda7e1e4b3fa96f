"""The school calendar pages: periods, the teaching day, maintenance windows, .ics import.

Members of the school read them; its school administrators change them (403 for other
members); anyone outside the school gets a 404. The writes go through `services`, which
checks again who may.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods

from changedesk.accounts.current import current_user
from changedesk.accounts.models import School, User
from changedesk.lib.views import act, forbid, form_page
from changedesk.schedule import services
from changedesk.schedule.calendar import day_name, describe_window
from changedesk.schedule.filters import CalendarPeriodFilterSet
from changedesk.schedule.forms import (
    IcsUploadForm,
    MaintenanceWindowForm,
    PeriodForm,
    TeachingDayForm,
)
from changedesk.schedule.ics_import import IcsError, IcsPreview, preview_rows, read_ics
from changedesk.schedule.models import CalendarPeriod, MaintenanceWindow, SchoolCalendar
from changedesk.schedule.views.common import schools_of

PERIODS_SHOWN = 500


@dataclass
class Place:
    """The signed-in user's standing in one school."""

    user: User
    school: School
    is_admin: bool

    @property
    def calendar_url(self) -> str:
        return reverse("schedule:calendar", args=[self.school.slug])


def _place(request: HttpRequest, slug: str) -> Place:
    user = current_user(request)
    school = next((s for s in schools_of(user) if s.slug == slug), None)
    if school is None:
        raise Http404("No such school.")
    return Place(user, school, services.may_change_calendar(user, school))


def _admin_place(request: HttpRequest, slug: str) -> Place:
    place = _place(request, slug)
    if not place.is_admin:
        raise PermissionDenied(
            gettext("Only a school administrator of %(school)s may change its calendar.")
            % {"school": place.school.name}
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
                "school_days": ", ".join(day_name(int(d)) for d in calendar.school_days),
                "windows": [(w, describe_window(w)) for w in windows],
                "periods": _periods(school, show_all)[:PERIODS_SHOWN],
                "show_all": show_all,
            },
        )


def _periods(school: School, show_all: bool) -> Any:
    """The page's list, through the API's filter set: current and coming ones are those
    ending after yesterday (`ends_after`), all of them with `?all=1`."""
    data = {"school": school.slug}
    if not show_all:
        data["ends_after"] = (timezone.now() - timedelta(days=1)).isoformat()
    base = CalendarPeriod.objects.filter(school=school).order_by("starts_at", "id")
    return CalendarPeriodFilterSet(data, queryset=base).qs


def _calendar_form(
    request: HttpRequest,
    place: Place,
    form: Any,
    title: str,
    *,
    save: Any,
    done: Any,
    delete_url: str = "",
    template: str = "schedule/form.html",
) -> HttpResponse:
    """A calendar form page: `save` runs the service; a refusal shows on the form."""
    return form_page(
        request,
        form,
        template,
        {"school": place.school, "title": title, "delete_url": delete_url},
        save=save,
        done=done,
        success_url=place.calendar_url,
    )


@require_http_methods(["GET", "POST"])
def teaching_day_edit(request: HttpRequest, slug: str) -> HttpResponse:
    place = _admin_place(request, slug)
    calendar = SchoolCalendar.objects.filter(school=place.school).first() or SchoolCalendar(
        school=place.school
    )
    form = TeachingDayForm(request.POST or None, instance=calendar)
    return _calendar_form(
        request,
        place,
        form,
        gettext("The teaching day and school days"),
        save=lambda: services.save_teaching_day(place.school, place.user, form.values()),
        done=gettext("The teaching day is saved."),
    )


@require_http_methods(["GET", "POST"])
def period_create(request: HttpRequest, slug: str) -> HttpResponse:
    place = _admin_place(request, slug)
    initial = {"kind": request.GET.get("kind", "term"), "all_day": True}
    form = PeriodForm(request.POST or None, school=place.school, initial=initial)
    return _calendar_form(
        request,
        place,
        form,
        gettext("Add a period"),
        save=lambda: services.create_period(place.school, place.user, form.values()),
        done=lambda period: gettext("“%(name)s” is added to the calendar.") % {"name": period.name},
        template="schedule/period_form.html",
    )


@require_http_methods(["GET", "POST"])
def period_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    place = _admin_place(request, slug)
    # A copy of the trust's period is changed on the trust's calendar.
    period = get_object_or_404(
        CalendarPeriod, pk=pk, school=place.school, trust_period__isnull=True
    )
    form = PeriodForm(request.POST or None, school=place.school, period=period)
    return _calendar_form(
        request,
        place,
        form,
        gettext("Edit “%(name)s”") % {"name": period.name},
        save=lambda: services.update_period(period.pk, place.user, form.values()),
        done=lambda saved: gettext("“%(name)s” is saved.") % {"name": saved.name},
        delete_url=reverse("schedule:period_delete", args=[slug, pk]),
        template="schedule/period_form.html",
    )


@require_http_methods(["GET", "POST"])
def period_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    place = _admin_place(request, slug)
    period = get_object_or_404(
        CalendarPeriod, pk=pk, school=place.school, trust_period__isnull=True
    )
    return _delete_page(
        request,
        place,
        _the_period(period.get_kind_display(), str(period)),
        run=lambda: services.delete_period(period.pk, place.user),
        done=gettext("“%(name)s” is removed from the calendar.") % {"name": period.name},
    )


@require_http_methods(["GET", "POST"])
def window_create(request: HttpRequest, slug: str) -> HttpResponse:
    place = _admin_place(request, slug)
    window = MaintenanceWindow(
        school=place.school, start_time=time(17, 30), weekdays=[0, 1, 2, 3, 4]
    )
    form = MaintenanceWindowForm(request.POST or None, instance=window)
    return _calendar_form(
        request,
        place,
        form,
        gettext("Add a maintenance window"),
        save=lambda: services.create_window(place.school, place.user, form.values()),
        done=lambda added: (
            gettext("The maintenance window “%(name)s” is added.") % {"name": added.name}
        ),
    )


@require_http_methods(["GET", "POST"])
def window_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    place = _admin_place(request, slug)
    window = get_object_or_404(MaintenanceWindow, pk=pk, school=place.school)
    title = gettext("Edit the maintenance window “%(name)s”") % {"name": window.name}
    form = MaintenanceWindowForm(request.POST or None, instance=window)
    return _calendar_form(
        request,
        place,
        form,
        title,
        save=lambda: services.update_window(window.pk, place.user, form.values()),
        done=lambda saved: (
            gettext("The maintenance window “%(name)s” is saved.") % {"name": saved.name}
        ),
        delete_url=reverse("schedule:window_delete", args=[slug, pk]),
    )


@require_http_methods(["GET", "POST"])
def window_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    place = _admin_place(request, slug)
    window = get_object_or_404(MaintenanceWindow, pk=pk, school=place.school)
    return _delete_page(
        request,
        place,
        gettext("the maintenance window “%(name)s”") % {"name": window.name},
        run=lambda: services.delete_window(window.pk, place.user),
        done=gettext("The maintenance window “%(name)s” is removed.") % {"name": window.name},
    )


def _the_period(kind: str, name: str) -> str:
    """ "the holiday “Easter”": what a page asks to remove."""
    return gettext("the %(kind)s “%(name)s”") % {"kind": str(kind).lower(), "name": name}


def _delete_page(
    request: HttpRequest, place: Place, thing: str, *, run: Callable[[], Any], done: str
) -> HttpResponse:
    """Ask "Remove {thing}?"; on the POST, remove it and go back to the calendar."""
    if request.method == "POST":
        return act(request, run, done=done, then=place.calendar_url)
    return render(request, "schedule/confirm_delete.html", {"school": place.school, "thing": thing})


# --- Importing an .ics file: upload, preview, then import. ---


ICS_SALT = "changedesk.schedule.ics-import"
ICS_MAX_AGE = 60 * 60
ICS_READ_LIMIT = 2 * 1024 * 1024 + 1


@require_http_methods(["GET", "POST"])
def ics_import(request: HttpRequest, slug: str) -> HttpResponse:
    """Upload, preview, then import: the preview's rows travel signed in the confirm form,
    so that the file is read once."""
    place = _admin_place(request, slug)
    if request.method == "POST" and "payload" in request.POST:
        return _ics_confirm(request, place)
    form = IcsUploadForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"school": place.school, "form": form}
    status = 200
    if request.method == "POST":
        preview = _ics_preview(form, place.school)
        status = 400 if preview is None else 200
        if preview is not None:
            context.update(preview)
    with timezone.override(place.school.zone):
        return render(request, "schedule/import.html", context, status=status)


def _ics_preview(form: IcsUploadForm, school: School) -> dict[str, Any] | None:
    """What importing the uploaded file would do, and the signed rows to confirm it with;
    None, with the reason on the form, when it cannot be read."""
    if not form.is_valid():
        return None
    data = form.cleaned_data["file"].read(ICS_READ_LIMIT)
    kind = form.chosen_kind()
    try:
        preview: IcsPreview = read_ics(data, school, kind=kind)
    except IcsError as error:
        form.add_error("file", error.message)
        return None
    payload = signing.dumps(
        {"school": school.pk, "rows": preview_rows(preview)}, salt=ICS_SALT, compress=True
    )
    return {"preview": preview, "payload": payload}


def _ics_refused(request: HttpRequest, place: Place, reason: str) -> HttpResponse:
    """The upload form again, saying why the preview cannot be imported (400)."""
    form = IcsUploadForm()
    form.full_clean()  # an unbound form: no errors, and none of its fields read
    form.cleaned_data = {}
    again = gettext("%(reason)s Nothing was imported: choose the file again.")
    form.add_error(None, again % {"reason": reason})
    with timezone.override(place.school.zone):
        context = {"school": place.school, "form": form}
        return render(request, "schedule/import.html", context, status=400)


def _ics_confirm(request: HttpRequest, place: Place) -> HttpResponse:
    """Import the rows the preview showed, as signed into its confirm form."""
    again = reverse("schedule:import", args=[place.school.slug])
    try:
        payload = signing.loads(request.POST["payload"], salt=ICS_SALT, max_age=ICS_MAX_AGE)
    except signing.SignatureExpired:
        return _ics_refused(request, place, gettext("That preview is more than an hour old."))
    except signing.BadSignature:
        return _ics_refused(request, place, gettext("That preview could not be read."))
    if isinstance(payload, dict) and payload.get("school") != place.school.pk:
        raise PermissionDenied(gettext("That preview is of another school's calendar."))
    if not isinstance(payload, dict) or not isinstance(payload.get("rows"), list):
        return _ics_refused(request, place, gettext("That preview could not be read."))
    return act(
        request,
        lambda: services.import_calendar(place.school, place.user, payload["rows"]),
        done=lambda result: (
            gettext(
                "Imported: %(created)s new, %(updated)s updated, %(deleted)s removed, "
                "%(unchanged)s unchanged, %(skipped)s not imported."
            )
            % {
                "created": result.created,
                "updated": result.updated,
                "deleted": result.deleted,
                "unchanged": result.unchanged,
                "skipped": result.skipped,
            }
        ),
        then=again,
        done_then=lambda _: place.calendar_url,
        refused=forbid,
    )
