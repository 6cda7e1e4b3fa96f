"""Conflicts: what an RFC's planned window collides with, in plain words.

    find_conflicts(change)                  # the RFC as saved
    find_conflicts(change, start=s, end=e, item_ids=[...])   # as the planner has it now
    find_conflicts_many(changes)            # {change id: [Conflict, ...]} for a page

The rules (all in the school's local time):

- overlap        another open RFC touching one of the same configuration items overlaps;
- exam           the window overlaps an exam period;
- freeze         the window overlaps a change freeze: hard (nothing may be approved, an
                 emergency aside) or soft (approval needs an override reason);
- teaching_day   it takes a system down during the teaching day, on a school day in term
                 (not in a holiday or on an INSET day);
- outside_window it is not inside the school's maintenance windows (when it has any).

Only a hard freeze makes a conflict `hard`; an emergency change is never hard-blocked.
An RFC without a planned window has no conflicts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.db import models

from changedesk.accounts.models import School
from changedesk.changes.models import Change, ChangeItem, format_reference
from changedesk.schedule.calendar import (
    EN_DASH,
    CalendarData,
    describe_period_span,
    describe_span,
    hhmm,
    load_calendars,
    overlaps,
    short_day,
)
from changedesk.schedule.models import PeriodKind
from changedesk.schedule.windows import OPEN_STATE_LIST, meeting


class ConflictKind(models.TextChoices):
    OVERLAP = "overlap", "Overlaps another change"
    EXAM = "exam", "Exam period"
    FREEZE = "freeze", "Change freeze"
    TEACHING_DAY = "teaching_day", "Teaching day"
    OUTSIDE_WINDOW = "outside_window", "Outside the maintenance windows"


@dataclass(frozen=True)
class Conflict:
    """One thing a planned window collides with.

    `change_id` names the other RFC of an overlap, `period_id` the exam period or freeze,
    and `item_ids` the configuration items the two RFCs share.
    """

    kind: str
    hard: bool
    message: str
    change_id: int | None = None
    period_id: int | None = None
    item_ids: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["item_ids"] = list(self.item_ids)
        return data


def hard_conflicts(conflicts: Iterable[Conflict]) -> list[Conflict]:
    """The conflicts that forbid approval (a hard freeze, for a change that is no emergency)."""
    return [c for c in conflicts if c.hard]


def soft_conflicts(conflicts: Iterable[Conflict]) -> list[Conflict]:
    """The conflicts an approver may override, giving a reason."""
    return [c for c in conflicts if not c.hard]


# --- What the engine knows of each RFC. ---


@dataclass(frozen=True)
class _Planned:
    id: int | None
    school_id: int
    start: datetime
    end: datetime
    item_ids: frozenset[int]
    is_emergency: bool


@dataclass
class _Other:
    """An open RFC that may collide: its school, its window and the items it touches."""

    id: int
    school_id: int
    reference: str
    title: str
    start: datetime
    end: datetime
    item_names: dict[int, str]


def _collect_others(
    school_ids: Iterable[int], item_ids: set[int], start: datetime, end: datetime
) -> tuple[dict[int, list[_Other]], dict[int, str]]:
    """Open RFCs of `school_ids` with a window meeting [start, end) touching any of
    `item_ids`, by item; one query.

    Bounded by school and by time (`windows.meeting`), the query starts from the few open
    RFCs planned around [start, end) rather than from every link of a busy item.
    """
    by_item: dict[int, list[_Other]] = defaultdict(list)
    names: dict[int, str] = {}
    if not item_ids:
        return by_item, names
    links = (
        ChangeItem.objects.filter(
            meeting(start, end, prefix="change__"),
            item_id__in=sorted(item_ids),
            change__school_id__in=sorted(set(school_ids)),
            change__state__in=OPEN_STATE_LIST,
        )
        .values_list(
            "item_id",
            "item__name",
            "change_id",
            "change__school_id",
            "change__number",
            "change__title",
            "change__planned_start",
            "change__planned_end",
        )
        .order_by("change__planned_start", "change_id")
    )
    others: dict[int, _Other] = {}
    for item_id, item_name, change_id, school_id, number, title, c_start, c_end in links:
        if c_start is None or c_end is None:  # excluded by the query; for the type checker
            continue
        names[item_id] = item_name
        other = others.get(change_id)
        if other is None:
            other = others[change_id] = _Other(
                change_id, school_id, format_reference(number), title, c_start, c_end, {}
            )
        other.item_names[item_id] = item_name
        by_item[item_id].append(other)
    return by_item, names


def _join(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _overlaps(
    plan: _Planned,
    cal: CalendarData,
    by_item: dict[int, list[_Other]],
    max_overlaps: int | None = None,
) -> list[Conflict]:
    seen: dict[int, _Other] = {}
    for item_id in sorted(plan.item_ids):
        for other in by_item.get(item_id, ()):
            if (
                other.id != plan.id
                and other.school_id == plan.school_id  # a page may hold several schools
                and overlaps(plan.start, plan.end, other.start, other.end)
            ):
                seen[other.id] = other
    conflicts = []
    ordered = sorted(seen.values(), key=lambda o: (o.start, o.id))
    if max_overlaps is not None and len(ordered) > max_overlaps:
        rest = len(ordered) - max_overlaps
        ordered = ordered[:max_overlaps]
    else:
        rest = 0
    for other in ordered:
        shared = sorted(i for i in other.item_names if i in plan.item_ids)
        names = _join([other.item_names[i] for i in shared])
        conflicts.append(
            Conflict(
                kind=ConflictKind.OVERLAP,
                hard=False,
                message=f"Overlaps {other.reference} “{other.title}”, which also touches "
                f"{names}, on {describe_span(other.start, other.end, cal.tz)}.",
                change_id=other.id,
                item_ids=tuple(shared),
            )
        )
    if rest:
        conflicts.append(
            Conflict(
                kind=ConflictKind.OVERLAP,
                hard=False,
                message=f"Overlaps {rest} more open change{'s' if rest > 1 else ''} touching "
                "the same items.",
            )
        )
    return conflicts


def _periods(plan: _Planned, cal: CalendarData) -> list[Conflict]:
    conflicts = []
    for period in cal.periods_of([PeriodKind.EXAM], plan.start, plan.end):
        span = describe_period_span(period.starts_at, period.ends_at, cal.tz)
        conflicts.append(
            Conflict(
                kind=ConflictKind.EXAM,
                hard=False,
                message=f"Falls in the exam period “{period.name}” ({span}).",
                period_id=period.pk,
            )
        )
    for period in cal.periods_of([PeriodKind.FREEZE], plan.start, plan.end):
        span = describe_period_span(period.starts_at, period.ends_at, cal.tz)
        if period.is_hard and plan.is_emergency:
            message = (
                f"Falls in the hard change freeze “{period.name}” ({span}); as an emergency "
                "change it may still be approved."
            )
        elif period.is_hard:
            message = (
                f"Falls in the hard change freeze “{period.name}” ({span}): nothing may be "
                "approved inside it."
            )
        else:
            message = (
                f"Falls in the change freeze “{period.name}” ({span}): approving it needs an "
                "override reason."
            )
        conflicts.append(
            Conflict(
                kind=ConflictKind.FREEZE,
                hard=period.is_hard and not plan.is_emergency,
                message=message,
                period_id=period.pk,
            )
        )
    return conflicts


def _teaching_day(plan: _Planned, cal: CalendarData) -> list[Conflict]:
    hit = [
        (s, e)
        for s, e in cal.teaching_intervals(plan.start, plan.end)
        if overlaps(s, e, plan.start, plan.end)
    ]
    if not hit:
        return []
    first = hit[0][0].astimezone(cal.tz)
    when = short_day(first)
    if len(hit) > 1:
        others = len(hit) - 1
        when += f" and {others} more school day{'s' if others > 1 else ''}"
    hours = f"{hhmm(cal.teaching_start)}{EN_DASH}{hhmm(cal.teaching_end)}"
    return [
        Conflict(
            kind=ConflictKind.TEACHING_DAY,
            hard=False,
            message=f"Takes a system down during the teaching day ({hours}) on {when}.",
        )
    ]


def _outside_window(plan: _Planned, cal: CalendarData) -> list[Conflict]:
    if not cal.windows:
        return []
    windows = cal.window_intervals(plan.start, plan.end)
    if any(s <= plan.start and plan.end <= e for s, e in windows):
        return []
    # One wording whether it runs over a window's edge or misses them all.
    message = f"Runs outside the maintenance windows ({cal.describe_windows()})."
    return [Conflict(kind=ConflictKind.OUTSIDE_WINDOW, hard=False, message=message)]


def _check(
    plan: _Planned,
    cal: CalendarData,
    by_item: dict[int, list[_Other]],
    max_overlaps: int | None = None,
) -> list[Conflict]:
    return [
        *_overlaps(plan, cal, by_item, max_overlaps),
        *_periods(plan, cal),
        *_teaching_day(plan, cal),
        *_outside_window(plan, cal),
    ]


# --- The two entry points. ---


def _item_ids_of(change_ids: Iterable[int]) -> dict[int, set[int]]:
    found: dict[int, set[int]] = defaultdict(set)
    links = (
        ChangeItem.objects.filter(change_id__in=sorted(change_ids))
        .values_list("change_id", "item_id")
        .order_by()  # not by the item's name (the model's ordering): no join, no sort
    )
    for change_id, item_id in links:
        found[change_id].add(item_id)
    return found


def find_conflicts(
    change: Change,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    item_ids: Iterable[int] | None = None,
) -> list[Conflict]:
    """The conflicts of `change`'s planned window, or of [start, end) and `item_ids` if given.

    Giving `start`, `end` and `item_ids` checks a plan before it is saved (the RFC may be
    unsaved). Without a window there is nothing to collide with: an empty list.
    """
    start = start if start is not None else change.planned_start
    end = end if end is not None else change.planned_end
    if start is None or end is None or end <= start:
        return []
    if item_ids is None:
        items = _item_ids_of([change.pk]).get(change.pk, set()) if change.pk else set()
    else:
        items = {int(i) for i in item_ids}
    school: School = change.school
    plan = _Planned(change.pk, school.pk, start, end, frozenset(items), change.is_emergency)
    cal = load_calendars([school], start, end)[school.pk]
    by_item, _ = _collect_others([school.pk], items, start, end)
    return _check(plan, cal, by_item)


def find_conflicts_many(
    changes: Iterable[Change], *, max_overlaps: int | None = None
) -> dict[int, list[Conflict]]:
    """The conflicts of each saved RFC in `changes`, in a fixed number of queries.

    Load the RFCs with `select_related("school")`. RFCs without a window map to [].
    `max_overlaps` names at most that many overlapping RFCs each and counts the rest in
    one last overlap conflict (without a `change_id`), to keep a page short.
    """
    changes = list(changes)
    result: dict[int, list[Conflict]] = {c.pk: [] for c in changes}
    planned = [
        c
        for c in changes
        if c.planned_start is not None
        and c.planned_end is not None
        and c.planned_end > c.planned_start
    ]
    if not planned:
        return result
    start = min(c.planned_start for c in planned if c.planned_start is not None)
    end = max(c.planned_end for c in planned if c.planned_end is not None)
    schools = {c.school_id: c.school for c in planned}
    calendars = load_calendars(schools.values(), start, end)
    items = _item_ids_of(c.pk for c in planned)
    by_item, _ = _collect_others(
        schools.keys(), set().union(*items.values()) if items else set(), start, end
    )
    for change in planned:
        assert change.planned_start is not None and change.planned_end is not None
        plan = _Planned(
            change.pk,
            change.school_id,
            change.planned_start,
            change.planned_end,
            frozenset(items.get(change.pk, ())),
            change.is_emergency,
        )
        result[change.pk] = _check(plan, calendars[change.school_id], by_item, max_overlaps)
    return result
