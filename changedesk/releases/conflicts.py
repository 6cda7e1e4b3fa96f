"""The release windows in the conflict engine: a rule of `schedule.conflicts` (its seam,
registered from `releases/apps.py`), and the check of a release's own planned window.

    outside_release_window   an RFC that carries an open release (`ReleaseChange`), in a
                             school whose published policy has release windows, planned
                             not wholly inside one of them (or
                             inside back-to-back ones).

The conflict is soft: the approval that accepts the impact needs an override reason, as
for the schedule's soft conflicts. Each plan is decided on its own (what else is checked in
the same call changes nothing), wherever in time it lies:

1. which of the schools have a published policy with any window at all (one query);
2. the windows of those policies that meet [earliest start, latest end) of the plans (one
   query on the published policies' ids, served by the `(policy, starts_at)` index);
   windows that touch (one ends as the next starts) are merged, and a plan of a school
   with windows that no merged window contains is flagged;
3. only when some plan is flagged: the windows of the flagged schools' policies, to name
   them in the message (one query, bounded: a policy has at most `MOST_WINDOWS`).

At most four queries for any number of RFCs (which of them are in an open release, then
the three above); one when none is.

The same windows constrain the next safe slots of an RFC in an open release
(`allowed`, given to the rule as `Rule.allowed`; see `schedule/slots.py`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef
from django.utils.formats import date_format
from django.utils.translation import gettext

from changedesk.accounts.models import School
from changedesk.lib.compiled import Compiled
from changedesk.releases.choices import OPEN_RELEASE_STATES, PolicyState
from changedesk.releases.models import ReleaseChange, ReleasePolicy, ReleaseWindow
from changedesk.schedule.conflicts import Conflict, Plan, Rule

KIND = "outside_release_window"
LABEL = "Outside the release windows"

# How many windows the message names.
NAMED = 4


@dataclass(frozen=True)
class _Window:
    name: str
    start: datetime
    end: datetime
    tz: ZoneInfo


def _day_words(day: date, *, year: bool) -> str:
    return date_format(day, "j F Y" if year else "j F")


def describe_window(name: str, start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """“Summer holidays: 22 July to 31 August 2027” (the local days it covers)."""
    first = start.astimezone(tz).date()
    last = max(first, (end.astimezone(tz) - timedelta(microseconds=1)).date())
    if first == last:
        return f"{name}: {_day_words(first, year=True)}"
    return gettext("%(name)s: %(first)s to %(last)s") % {
        "name": name,
        "first": _day_words(first, year=first.year != last.year),
        "last": _day_words(last, year=True),
    }


def _message(windows: list[_Window], start: datetime) -> str:
    ahead = [w for w in windows if w.end > start] or windows[-NAMED:]
    named = [describe_window(w.name, w.start, w.end, w.tz) for w in ahead[:NAMED]]
    more = len(ahead) - NAMED
    if more > 0:
        named.append(gettext("and %(more)s more") % {"more": more})
    return gettext("Runs outside the release windows of the release policy (%(windows)s).") % {
        "windows": "; ".join(named)
    }


def _published(school_ids: Iterable[int]) -> dict[int, int]:
    """{policy id: school id} of the published policies of `school_ids` that have any
    window at all. One query."""
    rows = (
        ReleasePolicy.objects.filter(
            school_id__in=sorted(set(school_ids)), state=PolicyState.PUBLISHED
        )
        .filter(Exists(ReleaseWindow.objects.filter(policy_id=OuterRef("pk"))))
        .order_by()
        .values_list("pk", "school_id")
    )
    return dict(rows)


def _read(policies: dict[int, int], **where: Any) -> dict[int, list[_Window]]:
    """The windows of `policies` ({policy id: school id}) meeting `where`, by school, in
    order. One query."""
    rows = (
        ReleaseWindow.objects.filter(policy_id__in=sorted(policies), **where)
        .order_by("policy_id", "starts_at", "id")
        .values_list("policy_id", "name", "starts_at", "ends_at", "school__timezone")
    )
    found: dict[int, list[_Window]] = defaultdict(list)
    for policy_id, name, w_start, w_end, zone in rows:
        found[policies[policy_id]].append(_Window(name, w_start, w_end, ZoneInfo(zone)))
    return found


def merged(spans: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """`spans` in order, those that overlap or touch (one ends as the next starts) joined."""
    out: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _inside(windows: list[_Window], start: datetime, end: datetime) -> bool:
    return any(s <= start and end <= e for s, e in merged((w.start, w.end) for w in windows))


def _outside_many(
    plans: Sequence[tuple[int, int, datetime, datetime]],
) -> dict[int, Conflict]:
    """{key: conflict} for the `(key, school id, start, end)` planned outside their
    schools' release windows. Each decided on its own; at most three queries."""
    plans = [p for p in plans if p[2] < p[3]]
    if not plans:
        return {}
    policies = _published(p[1] for p in plans)
    with_windows = set(policies.values())
    plans = [p for p in plans if p[1] in with_windows]
    if not plans:
        return {}
    near = _read(
        policies,
        ends_at__gt=min(p[2] for p in plans),
        starts_at__lt=max(p[3] for p in plans),
    )
    flagged = [p for p in plans if not _inside(near.get(p[1], []), p[2], p[3])]
    if not flagged:
        return {}
    schools = {p[1] for p in flagged}
    named = _read({pk: s for pk, s in policies.items() if s in schools})
    return {
        key: Conflict(kind=KIND, hard=False, message=_message(named[school_id], start))
        for key, school_id, start, _end in flagged
    }


def check(plans: list[Plan]) -> dict[int, list[Conflict]]:
    """The rule: RFCs of open releases planned outside their school's release windows."""
    released = _in_open_release(p.change_id for p in plans)
    found = _outside_many(
        [(p.change_id, p.school_id, p.start, p.end) for p in plans if p.change_id in released]
    )
    return {change_id: [conflict] for change_id, conflict in found.items()}


# Asked by every conflict check: compiled once per shape (`lib/compiled.py`).
_IN_OPEN_RELEASE = Compiled(
    lambda ids: (
        ReleaseChange.objects.filter(change_id__in=ids, release__state__in=OPEN_RELEASE_STATES)
        .values_list("change_id")
        .order_by()
    )
)


def _in_open_release(change_ids: Iterable[int]) -> set[int]:
    ids = sorted(set(change_ids))
    if not ids:
        return set()
    return {change_id for (change_id,) in _IN_OPEN_RELEASE.rows(ReleaseChange.objects.db, ids=ids)}


def allowed(
    school_id: int, change_id: int | None, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]] | None:
    """The rule's part in the next safe slots: for a change in an open release, at a school
    whose published policy has windows, the (merged) release windows within [start, end);
    otherwise nothing to say (`None`). At most three queries."""
    if change_id is None or end <= start or not _in_open_release([change_id]):
        return None
    policies = _published([school_id])
    if not policies:
        return None
    near = _read(policies, ends_at__gt=start, starts_at__lt=end).get(school_id, [])
    return merged((max(w.start, start), min(w.end, end)) for w in near)


RULE = Rule(kind=KIND, label=LABEL, check=check, allowed=allowed)


def release_window_conflict(school: School, start: datetime, end: datetime) -> Conflict | None:
    """Whether a release planned for [start, end) at `school` runs outside the release
    windows of its published policy (None: inside one, or no windows). At most three
    queries."""
    return _outside_many([(0, school.pk, start, end)]).get(0)
