"""The slot finder: the next windows free of every conflict, after the school's lead time,
one click to plan in one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from changedesk.accounts.current import current_user
from changedesk.accounts.models import School, User
from changedesk.changes.models import Change, ChangeItem
from changedesk.changes.services import can_edit
from changedesk.schedule.forms import SlotsForm
from changedesk.schedule.slots import ChangeKind, describe_lead, describe_night, find_safe_slots
from changedesk.schedule.views.common import schools_of


def _slot_data_from_change(request: HttpRequest, user: User) -> dict[str, Any] | None:
    """Start the slot finder from an RFC: its school, its length, its kind and its items."""
    change_id = request.GET.get("change", "")
    if (
        not (change_id.isascii() and change_id.isdecimal())
        or len(change_id) > 18
        or "school" in request.GET
    ):
        return None
    change = get_object_or_404(
        Change.objects.visible_to(user).select_related("school"), pk=int(change_id)
    )
    minutes = 60
    if change.planned_start and change.planned_end:
        minutes = max(15, int((change.planned_end - change.planned_start).total_seconds() // 60))
    # Ordered by id, not by the item's name (the model's ordering): no join.
    items = (
        ChangeItem.objects.filter(change=change).values_list("item_id", flat=True).order_by("id")
    )
    return {
        "school": change.school.slug,
        "minutes": str(minutes),
        "items": [str(i) for i in items],
        "type": (ChangeKind.EMERGENCY if change.is_emergency else ChangeKind.NORMAL).value,
        "change": str(change.pk),
    }


def _use_slot_url(
    start: datetime, end: datetime, school: School, change: Change | None, user: User
) -> str:
    tz = school.zone
    times = {
        "planned_start": start.astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
        "planned_end": end.astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
    }
    if change is not None:
        if not can_edit(change, user):
            return ""
        return f"{reverse('changes:edit', args=[change.pk])}?{urlencode(times)}"
    return f"{reverse('changes:create')}?{urlencode({'school': school.slug, **times})}"


@require_GET
def safe_slots(request: HttpRequest) -> HttpResponse:
    """The slot finder: its form, and once asked the next safe slots (a partial for htmx)."""
    user = current_user(request)
    data: Any = _slot_data_from_change(request, user)
    if data is None and "school" in request.GET:
        data = request.GET
    form = SlotsForm(data, schools=schools_of(user))
    context: dict[str, Any] = {"form": form, "night": describe_night()}
    status = 200
    if form.is_bound:
        if form.is_valid():
            context.update(_search(form, user))
        else:
            status = 400
    htmx = bool(getattr(request, "htmx", False))
    context["htmx"] = htmx
    template = "schedule/_slots_results.html" if htmx else "schedule/slots.html"
    tz = context["school"].zone if "school" in context else ZoneInfo(settings.TIME_ZONE)
    with timezone.override(tz):
        return render(request, template, context, status=status)


def _search(form: SlotsForm, user: User) -> dict[str, Any]:
    """The slots the valid `form` asks for, each with the link to plan the change in it."""
    school: School = form.cleaned_data["school"]
    change = None
    if form.cleaned_data.get("change"):
        change = (
            Change.objects.visible_to(user)
            .filter(pk=form.cleaned_data["change"], school=school)
            .select_related("school")
            .first()
        )
    kind = form.kind()
    search = find_safe_slots(
        school,
        timedelta(minutes=form.cleaned_data["minutes"]),
        [item.pk for item in form.cleaned_data["items"]],
        kind=kind,
        after=form.after_instant(),
        exclude_change_id=change.pk if change else None,
    )
    return {
        "searched": True,
        "school": school,
        "change": change,
        "kind": kind.value,
        "lead": describe_lead(school, kind) if search.by_lead else "",
        "earliest": search.earliest,
        "slots": [(s, e, _use_slot_url(s, e, school, change, user)) for s, e in search.slots],
    }
