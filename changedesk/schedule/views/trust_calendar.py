"""A trust's calendar: the periods it sets for all its schools (`schedule.trust_calendar`).

Seen by whoever holds a role in the trust; changed by its administrator (403 for its other
people); 404 for anyone else. The writes go through `trust_calendar`, which checks again."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods

from changedesk.accounts.current import current_user, member_trust
from changedesk.accounts.models import School, Trust, User
from changedesk.lib.views import act, form_page
from changedesk.schedule import trust_calendar
from changedesk.schedule.forms import PeriodForm
from changedesk.schedule.models import TrustPeriod


def _trust(request: HttpRequest, slug: str, *, admin: bool = False) -> tuple[Trust, User, bool]:
    # Its schools' members read it too: their calendars hold its periods.
    trust, is_admin = member_trust(request, slug, admin=admin, schools_too=True)
    return trust, current_user(request), is_admin


def _zone_of(trust: Trust) -> School:
    """Whose time zone the trust's dates are in: its first school's (the schools of a trust
    share one), else London's."""
    return School.objects.filter(trust=trust).order_by("name").first() or School(
        name=trust.name, timezone="Europe/London"
    )


def _page(trust: Trust) -> str:
    return reverse("schedule:trust_calendar", args=[trust.slug])


@require_GET
def calendar(request: HttpRequest, slug: str) -> HttpResponse:
    trust, _, is_admin = _trust(request, slug)
    zone = _zone_of(trust)
    with timezone.override(zone.zone):
        return render(
            request,
            "schedule/trust_calendar.html",
            {
                "trust": trust,
                "is_admin": is_admin,
                "zone": zone.timezone,
                "periods": list(TrustPeriod.objects.filter(trust=trust)),
                "schools": list(School.objects.filter(trust=trust).order_by("name")),
            },
        )


def _form_page(
    request: HttpRequest, trust: Trust, form: Any, title: str, **kw: Any
) -> HttpResponse:
    return form_page(
        request,
        form,
        "schedule/trust_period_form.html",
        {"trust": trust, "title": title, "zone": form.school.timezone, **kw.pop("context", {})},
        success_url=_page(trust),
        **kw,
    )


@require_http_methods(["GET", "POST"])
def period_create(request: HttpRequest, slug: str) -> HttpResponse:
    trust, user, _ = _trust(request, slug, admin=True)
    initial = {"kind": request.GET.get("kind", "term"), "all_day": True}
    form = PeriodForm(request.POST or None, school=_zone_of(trust), initial=initial)
    return _form_page(
        request,
        trust,
        form,
        gettext("Add a period for every school"),
        save=lambda: trust_calendar.create_period(trust, user, form.values()),
        done=lambda period: (
            gettext("“%(name)s” is added to every school's calendar.") % {"name": period.name}
        ),
    )


@require_http_methods(["GET", "POST"])
def period_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    trust, user, _ = _trust(request, slug, admin=True)
    period = get_object_or_404(TrustPeriod, pk=pk, trust=trust)
    zone = _zone_of(trust)
    form = PeriodForm(request.POST or None, school=zone, period=period)
    return _form_page(
        request,
        trust,
        form,
        gettext("Edit “%(name)s”") % {"name": period.name},
        save=lambda: trust_calendar.update_period(period.pk, user, form.values()),
        done=lambda saved: (
            gettext("“%(name)s” is saved in every school's calendar.") % {"name": saved.name}
        ),
        context={"delete_url": reverse("schedule:trust_period_delete", args=[slug, pk])},
    )


@require_http_methods(["GET", "POST"])
def period_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    trust, user, _ = _trust(request, slug, admin=True)
    period = get_object_or_404(TrustPeriod, pk=pk, trust=trust)
    if request.method == "POST":
        return act(
            request,
            lambda: trust_calendar.delete_period(period.pk, user),
            done=gettext("“%(name)s” is removed from every school's calendar.")
            % {"name": period.name},
            then=_page(trust),
        )
    return render(
        request,
        "schedule/trust_period_delete.html",
        {
            "trust": trust,
            "thing": gettext("the %(kind)s “%(name)s”")
            % {"kind": period.get_kind_display().lower(), "name": period.name},
        },
    )
