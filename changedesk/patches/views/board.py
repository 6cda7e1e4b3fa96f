"""The monthly cycle board (a month's patches by state, the second Tuesday marked, safe slots
for the patch run) and raising the patch run: one standard change for the tested patches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods

from changedesk.accounts import permissions
from changedesk.accounts.current import current_user
from changedesk.accounts.models import School, loaded_schools
from changedesk.changes.models import Change
from changedesk.lib.loading import attach
from changedesk.lib.views import form_page
from changedesk.patches import services
from changedesk.patches.choices import BOARD_STATES, OPEN_STATES, PatchState
from changedesk.patches.filters import month_bounds
from changedesk.patches.forms import RunForm
from changedesk.patches.models import Patch, today_in
from changedesk.patches.views.common import chosen_school, managed_schools
from changedesk.schedule.calendar import describe_span
from changedesk.schedule.slots import ChangeKind, find_safe_slots
from changedesk.standard.models import Template, TemplateState

# The most cards a column shows (the list page has the rest).
MOST_CARDS = 60
SLOTS_OFFERED = 3
# The patch run's length when no template is chosen yet.
RUN_LENGTH = timedelta(minutes=90)


def second_tuesday(year: int, month: int) -> date:
    """Patch Tuesday: the second Tuesday of the month."""
    first = date(year, month, 1)
    return first + timedelta(days=(1 - first.weekday()) % 7 + 7)


def _month(value: str, today: date) -> date:
    """`?month=YYYY-MM` (from 2000 to 2999), else this month."""
    try:
        month = datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        return today.replace(day=1)
    return month if 2000 <= month.year <= 2999 else today.replace(day=1)


@dataclass
class Column:
    state: str
    label: str
    patches: list[Patch]
    total: int


@dataclass
class Slot:
    text: str
    url: str


def _slots(school: School, tested: list[Patch], tuesday: date) -> tuple[list[Slot], str]:
    """The next safe slots for the patch run, from Patch Tuesday (or now, when later); and
    the approved standard change they are sized by."""
    template = (
        Template.objects.filter(
            school=school, state=TemplateState.APPROVED, review_date__gte=today_in(school)
        )
        .order_by("title", "id")
        .first()
    )
    length = timedelta(minutes=template.duration_minutes) if template else RUN_LENGTH
    items = {i.pk for p in tested for i in p.items.all()}
    start = datetime.combine(tuesday, datetime.min.time(), tzinfo=school.zone)
    found = find_safe_slots(
        school, length, items, kind=ChangeKind.STANDARD, after=start, count=SLOTS_OFFERED
    )
    run = reverse("patches:run")
    slots = [
        Slot(
            describe_span(s, e, school.zone), run + "?" + urlencode(_run_query(school, s, template))
        )
        for s, e in found.slots
    ]
    return slots, template.title if template else ""


def _run_query(school: School, start: datetime, template: Template | None) -> dict[str, Any]:
    query: dict[str, Any] = {
        "school": school.slug,
        "planned_start": start.astimezone(school.zone).strftime("%Y-%m-%dT%H:%M"),
    }
    if template is not None:
        query["template"] = template.pk
    return query


@require_GET
def board(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    schools = permissions.schools(user)
    school = chosen_school(request, schools)
    zone = school.zone if school else timezone.get_default_timezone()
    today = timezone.now().astimezone(zone).date()
    month = _month(request.GET.get("month", ""), today)
    first, after = month_bounds(month)
    ids = [school.pk] if school else [s.pk for s in schools]
    released = Patch.objects.filter(
        school_id__in=ids, release_date__gte=first, release_date__lt=after
    )
    this_month = first <= today < after
    columns = []
    for state in BOARD_STATES:
        rows = released.filter(state=state).order_by("due_on", "id")
        cards = list(rows.select_related("vendor")[:MOST_CARDS])
        columns.append(Column(state, str(PatchState(state).label), cards, len(cards)))
    shown = [p for c in columns for p in c.patches]
    attach(shown, "school", known=loaded_schools(user))
    full = [c for c in columns if len(c.patches) == MOST_CARDS]
    for column in full:
        column.total = released.filter(state=column.state).count()
    earlier = Patch.objects.filter(
        school_id__in=ids, release_date__lt=first, state__in=OPEN_STATES
    ).count() if this_month else 0  # fmt: skip
    tuesday = second_tuesday(month.year, month.month)
    slots: list[Slot] = []
    sized_by = ""
    if school is not None and this_month and services.may_manage(user, school):
        tested = services.runnable(school)
        slots, sized_by = _slots(school, tested, max(tuesday, today))
    previous = (first - timedelta(days=1)).replace(day=1)
    return render(
        request,
        "patches/board.html",
        {
            "school": school,
            "schools": schools,
            "month": first,
            "previous": previous.strftime("%Y-%m"),
            "next": after.strftime("%Y-%m"),
            "this_month": this_month,
            "today": today,
            "tuesday": tuesday,
            "days_to_tuesday": (tuesday - today).days,
            "days_since_tuesday": (today - tuesday).days,
            "columns": columns,
            "count": sum(c.total for c in columns),
            "earlier": earlier,
            "slots": slots,
            "sized_by": sized_by,
            "may_write": bool(managed_schools(user)),
            "tested": next(c.total for c in columns if c.state == PatchState.TESTED),
            "school_query": f"&school={school.slug}" if school and len(schools) > 1 else "",
        },
    )


# --- The patch run. ---


def _run_message(change: Change) -> str:
    return gettext(
        "%(reference)s is raised from the standard change and approved: the patches "
        "are on it. Tell the staff from its page, and record its outcome afterwards."
    ) % {"reference": change.reference}


@require_http_methods(["GET", "POST"])
def patch_run(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    schools = managed_schools(user)
    if not schools:
        raise PermissionDenied(gettext("Only a patch administrator may raise the patch run."))
    school = chosen_school(request, schools)
    if school is None:
        return render(
            request,
            "patches/choose_school.html",
            {"schools": schools, "what": "Raise the patch run"},
        )
    today = today_in(school)
    tested = services.runnable(school)
    initial: dict[str, Any] = {
        "planned_start": request.GET.get("planned_start", ""),
        "template": request.GET.get("template", ""),
        "patches": [p.pk for p in tested],
    }
    with timezone.override(school.zone):
        data = request.POST if request.method == "POST" else None
        form = RunForm(data, school_id=school.pk, today=today, initial=initial)
        tuesday = second_tuesday(today.year, today.month)
        return form_page(
            request,
            form,
            "patches/run.html",
            lambda: {
                "school": school,
                "multiple_schools": len(schools) > 1,
                "slots": _slots(school, tested, max(tuesday, today))[0] if tested else [],
                "tuesday": tuesday,
            },
            save=lambda: services.raise_run(
                form.cleaned_data["template"].pk,
                user,
                [p.pk for p in form.cleaned_data["patches"]],
                planned_start=form.cleaned_data["planned_start"],
                planned_end=form.cleaned_data.get("planned_end"),
            ),
            done=_run_message,
        )
