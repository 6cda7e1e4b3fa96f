"""Who hears of patches: the school's patch administrators, of new patches from a feed and
of patches past their deadline (once a day, one mail listing them all)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.urls import reverse

from changedesk.accounts.choices import Role
from changedesk.accounts.models import School, User
from changedesk.notifications.outbox import enqueue
from changedesk.patches.models import Patch, Source

NEW = "patches_new"
OVERDUE = "patches_overdue"
# The most patches one mail lists (the rest: "and N more", on the page).
MOST_LISTED = 50


def administrators(school: School) -> list[User]:
    return list(school.holders_of(Role.PATCH_ADMINISTRATOR).order_by("pk"))


def _entries(patches: Sequence[Patch]) -> list[dict[str, str]]:
    return [
        {
            "title": p.title,
            "reference": p.reference,
            "severity": p.get_severity_display(),
            "vendor": p.vendor.name,
            "due": p.due_on.strftime("%-d %B %Y"),
            "path": p.get_absolute_url(),
        }
        for p in patches[:MOST_LISTED]
    ]


def tell_new(source: Source, patches: Sequence[Patch]) -> int:
    """Tell the patch administrators what a feed brought; returns the mails queued."""
    if not patches:
        return 0
    school = source.school
    context = {
        "school": school.name,
        "vendor": source.vendor.name,
        "count": len(patches),
        "more": max(0, len(patches) - MOST_LISTED),
        "patches": _entries(patches),
        "path": reverse("patches:board"),
    }
    first = min(p.pk for p in patches)
    queued = 0
    for person in administrators(school):
        key = f"patches-new:{source.pk}:{first}:{person.pk}"
        context["recipient_name"] = person.get_short_name() or person.username
        if enqueue(recipient=person, template=NEW, context=dict(context), key=key, school=school):
            queued += 1
    return queued


def tell_overdue(school: School, patches: Sequence[Patch], today: date) -> int:
    """Tell the patch administrators, once on `today`, of the school's overdue patches."""
    if not patches:
        return 0
    context = {
        "school": school.name,
        "count": len(patches),
        "more": max(0, len(patches) - MOST_LISTED),
        "patches": _entries(patches),
        "path": reverse("patches:list") + "?overdue=true",
        "day": today.isoformat(),
    }
    queued = 0
    for person in administrators(school):
        key = f"patches-overdue:{school.pk}:{today.isoformat()}:{person.pk}"
        context["recipient_name"] = person.get_short_name() or person.username
        if enqueue(
            recipient=person, template=OVERDUE, context=dict(context), key=key, school=school
        ):
            queued += 1
    return queued
