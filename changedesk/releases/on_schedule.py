"""Releases on the forward schedule: each open or closed release with a planned window is a
band over it (`schedule.planned`, registered from `apps.py`). Cancelled releases are not
shown. One query, on the index (school, planned_start), bounded by the range shown: a
release starts before its end, and (as no release is planned longer than `LONGEST`) after
its start less that. When more than `LIMIT` meet the range, a second query counts them
(the page says "and N more")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from changedesk.accounts.models import School
from changedesk.releases.choices import ReleaseState
from changedesk.releases.models import Release
from changedesk.releases.services.releases import LONGEST
from changedesk.schedule.planned import LIMIT, Band, Cut

# The longest window searched back for is `LONGEST`, the longest a release is planned over
# (`services.releases` refuses longer): a bound an index can serve.
__all__ = ["LONGEST", "bands"]


def bands(schools: Sequence[School], start: datetime, end: datetime) -> list[Band]:
    meeting = Release.objects.filter(
        school_id__in=[s.pk for s in schools],
        planned_start__lt=end,
        planned_start__gte=start - LONGEST,
        planned_end__gt=start,
    ).exclude(state=ReleaseState.CANCELLED)
    rows = list(
        meeting.only("id", "school_id", "title", "state", "planned_start", "planned_end").order_by(
            "planned_start", "id"
        )[: LIMIT + 1]
    )
    if len(rows) > LIMIT:
        return Cut(_bands(rows[:LIMIT]), total=meeting.order_by().count())
    return _bands(rows)


def _bands(rows: list[Release]) -> list[Band]:
    return [
        Band(
            title=r.title,
            url=r.get_absolute_url(),
            start=r.planned_start,
            end=r.planned_end,
            school_id=r.school_id,
            kind="Release",
            state=f"{r.get_state_display()} step"
            if r.state not in (ReleaseState.CLOSED,)
            else "Closed",
        )
        for r in rows
        if r.planned_start is not None and r.planned_end is not None
    ]
