"""The release windows in the conflict engine: a rule of `schedule.conflicts` (its seam,
registered from `releases/apps.py`), and the check of a release's own planned window.

    outside_release_window   an RFC that carries an open release (`ReleaseChange`), in a
                             school whose published policy has release windows, planned
                             not wholly inside one of them.

The conflict is soft: the approval that accepts the impact needs an override reason, as
for the schedule's soft conflicts. The windows read are those of the published policy
within a year either side of the plans (an index on the window's policy and start serves
it): a policy whose windows are all further away than that says nothing about the plan.
Two queries for any number of RFCs (which of them are in an open release; the windows),
one when none is.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from changedesk.accounts.models import School
from changedesk.releases.choices import OPEN_RELEASE_STATES, PolicyState
from changedesk.releases.models import ReleaseChange, ReleaseWindow
from changedesk.schedule.conflicts import Conflict, Plan, Rule

KIND = "outside_release_window"
LABEL = "Outside the release windows"

# How far either side of the plans the windows are read.
MARGIN = timedelta(days=366)
# How many windows the message names.
NAMED = 4


@dataclass(frozen=True)
class _Window:
    name: str
    start: datetime
    end: datetime
    tz: ZoneInfo


def _day_words(day: date, *, year: bool) -> str:
    return f"{day.day} {day:%B}" + (f" {day.year}" if year else "")


def describe_window(name: str, start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """“Summer holidays: 22 July to 31 August 2027” (the local days it covers)."""
    first = start.astimezone(tz).date()
    last = max(first, (end.astimezone(tz) - timedelta(microseconds=1)).date())
    if first == last:
        return f"{name}: {_day_words(first, year=True)}"
    return (
        f"{name}: {_day_words(first, year=first.year != last.year)} to "
        f"{_day_words(last, year=True)}"
    )


def _message(windows: list[_Window], start: datetime) -> str:
    ahead = [w for w in windows if w.end > start] or windows[-NAMED:]
    named = [describe_window(w.name, w.start, w.end, w.tz) for w in ahead[:NAMED]]
    more = len(ahead) - NAMED
    if more > 0:
        named.append(f"and {more} more")
    return f"Runs outside the release windows of the release policy ({'; '.join(named)})."


def _windows(school_ids: set[int], start: datetime, end: datetime) -> dict[int, list[_Window]]:
    """The published policies' windows of `school_ids` near [start, end), by school. One
    query, bounded by time."""
    rows = (
        ReleaseWindow.objects.filter(
            school_id__in=sorted(school_ids),
            policy__state=PolicyState.PUBLISHED,
            ends_at__gt=start - MARGIN,
            starts_at__lt=end + MARGIN,
        )
        .order_by("school_id", "starts_at", "id")
        .values_list("school_id", "name", "starts_at", "ends_at", "school__timezone")
    )
    found: dict[int, list[_Window]] = defaultdict(list)
    for school_id, name, w_start, w_end, zone in rows:
        found[school_id].append(_Window(name, w_start, w_end, ZoneInfo(zone)))
    return found


def _outside(windows: list[_Window], start: datetime, end: datetime) -> Conflict | None:
    if not windows or any(w.start <= start and end <= w.end for w in windows):
        return None
    return Conflict(kind=KIND, hard=False, message=_message(windows, start))


def check(plans: list[Plan]) -> dict[int, list[Conflict]]:
    """The rule: RFCs of open releases planned outside their school's release windows."""
    in_release = set(
        ReleaseChange.objects.filter(
            change_id__in=sorted({p.change_id for p in plans}),
            release__state__in=OPEN_RELEASE_STATES,
        )
        .values_list("change_id", flat=True)
        .order_by()
    )
    released = [p for p in plans if p.change_id in in_release]
    if not released:
        return {}
    windows = _windows(
        {p.school_id for p in released},
        min(p.start for p in released),
        max(p.end for p in released),
    )
    found: dict[int, list[Conflict]] = {}
    for plan in released:
        conflict = _outside(windows.get(plan.school_id, []), plan.start, plan.end)
        if conflict is not None:
            found[plan.change_id] = [conflict]
    return found


RULE = Rule(kind=KIND, label=LABEL, check=check)


def release_window_conflict(school: School, start: datetime, end: datetime) -> Conflict | None:
    """Whether a release planned for [start, end) at `school` runs outside the release
    windows of its published policy (None: inside one, or no windows). One query."""
    if end <= start:
        return None
    return _outside(_windows({school.pk}, start, end).get(school.pk, []), start, end)
