"""What the worker does for patch management on its passes (registered through `rfc.py`):
fetch the feeds that are due, reopen deferrals whose day has come and tell the patch
administrators of overdue patches, once a day."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from changedesk.accounts.models import School
from changedesk.patches import notify, workflow
from changedesk.patches.choices import OPEN_STATES, PatchAction, PatchState
from changedesk.patches.models import Patch, PatchPolicy, today_in

logger = logging.getLogger(__name__)

# Deadlines are days: looked at every few minutes, not on every pass of the worker.
DEADLINE_EVERY = timedelta(minutes=10)
_last_deadlines: list[datetime] = []


def poll_feeds(now: datetime) -> int:
    """Fetch the feeds that are due; returns how many were fetched."""
    from changedesk.patches import feeds

    return int(feeds.poll_due(now))


def deadlines(now: datetime, *, force: bool = False) -> tuple[int, int]:
    """Reopen deferrals whose day has come; nudge about overdue patches. Returns (reopened,
    mails queued)."""
    if not force and _last_deadlines and now - _last_deadlines[-1] < DEADLINE_EVERY:
        return 0, 0
    _last_deadlines[:] = [now]
    return reopen_deferred(now), nudge_overdue(now)


def reopen_deferred(now: datetime) -> int:
    # Deferral dates are the school's days: the latest day anywhere bounds the query.
    latest = (now + timedelta(days=1)).date()
    due = Patch.objects.filter(state=PatchState.DEFERRED, defer_until__lte=latest)
    reopened = 0
    # The earliest first: those a later zone's day has not reached yet come last.
    for patch in due.select_related("school").order_by("defer_until", "id")[:1000]:
        assert patch.defer_until is not None
        if patch.defer_until > today_in(patch.school, now):
            continue
        workflow.perform(
            patch.pk,
            PatchAction.REASSESS,
            None,
            comment=f"Deferred until {patch.defer_until:%-d %B %Y}: assess it again.",
            by_change=True,
        )
        reopened += 1
    return reopened


def nudge_overdue(now: datetime) -> int:
    latest = (now + timedelta(days=1)).date()
    overdue = (
        Patch.objects.filter(state__in=OPEN_STATES, due_on__lt=latest)
        .select_related("vendor")
        .order_by("school_id", "due_on", "id")
    )
    by_school: dict[int, list[Patch]] = defaultdict(list)
    for patch in overdue[:20000]:
        by_school[patch.school_id].append(patch)
    if not by_school:
        return 0
    silent = set(
        PatchPolicy.objects.filter(school_id__in=by_school, nudge_overdue=False).values_list(
            "school_id", flat=True
        )
    )
    queued = 0
    for school in School.objects.filter(pk__in=set(by_school) - silent):
        today = today_in(school, now)
        late = [p for p in by_school[school.pk] if p.due_on < today]
        queued += notify.tell_overdue(school, late, today)
    if queued:
        logger.info("Queued %s overdue patch reminders", queued)
    return queued
