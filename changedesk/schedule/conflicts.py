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

The seam: rules of the apps above. An app the schedule may not import (release management:
its release windows) adds a rule of its own, registered from its `AppConfig.ready()`:

    register_rule(Rule(kind="outside_release_window",
                       label="Outside the release windows", check=check))

`check(plans)` gets the planned RFCs of one call at once, `[Plan(change_id, school_id,
start, end), ...]` (saved RFCs only: `find_conflicts` of an unsaved RFC skips the rules),
and returns `{change_id: [Conflict, ...]}` for those it has something to say about, in a
fixed number of queries however many plans it gets (each bounded in time). A rule may
also constrain the next safe slots (`schedule/slots.py`): `allowed(school_id, change_id,
start, end)` gives the intervals of [start, end) in which that change (or, `None`, a change
not yet saved) may be planned, or `None` when the rule says nothing about it; the slot
search keeps to the intersection of every rule's answer, in a fixed number of queries. Both
`find_conflicts` and `find_conflicts_many` call every rule; its conflicts come after the
schedule's own. A soft one (`hard=False`) needs an override reason at the approval that
accepts the impact, as the schedule's do (`schedule/rfc.py`). The rule's `kind` is a value
of the conflicts API's `kind` (`conflict_kinds()`), so it is public API; a kind already
taken is refused at start-up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.db import models
from django.db.models import (
    BigIntegerField,
    CharField,
    DateTimeField,
    IntegerField,
    Value,
)
from django.utils.translation import gettext, ngettext

from changedesk.accounts.models import School
from changedesk.changes.models import Change, ChangeItem, format_reference
from changedesk.lib.compiled import Compiled
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
from changedesk.schedule.windows import LONG_WINDOW, OPEN_STATE_LIST, meeting


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


# --- The rules of the apps above (see the module's docstring). ---


@dataclass(frozen=True)
class Plan:
    """A saved RFC's planned window, as a registered rule gets it."""

    change_id: int
    school_id: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Rule:
    """A conflict rule of an app above the schedule: its `kind` (a value of the API's
    `kind`), the `label` of that kind, `check`, which answers for many plans at once, and
    optionally `allowed`, the intervals a change may be planned in (see the module's
    docstring)."""

    kind: str
    label: str
    check: Callable[[list[Plan]], dict[int, list[Conflict]]]
    allowed: (
        Callable[[int, int | None, datetime, datetime], list[tuple[datetime, datetime]] | None]
        | None
    ) = None


_RULES: dict[str, Rule] = {}


def register_rule(rule: Rule) -> None:
    """Add `rule` to every conflict check. Registering the same rule again is harmless; a
    kind taken by the schedule or by another rule is refused."""
    taken = _RULES.get(rule.kind)
    if taken is rule:
        return
    if taken is not None or rule.kind in ConflictKind.values:
        raise ValueError(f"The conflict kind {rule.kind!r} is taken.")
    _RULES[rule.kind] = rule


def unregister_rule(kind: str) -> None:
    """Take the rule of `kind` off (for tests)."""
    _RULES.pop(kind, None)


def registered_rules() -> list[Rule]:
    return list(_RULES.values())


def conflict_kinds() -> list[tuple[str, str]]:
    """Every kind a conflict may have: the schedule's, then the registered rules'."""
    return [*ConflictKind.choices, *((r.kind, r.label) for r in _RULES.values())]


def allowed_by_rules(
    school_id: int, change_id: int | None, start: datetime, end: datetime
) -> list[list[tuple[datetime, datetime]]]:
    """What each registered rule that constrains slots allows of [start, end) for the
    change (`None`: an unsaved one) at the school; rules with nothing to say are left out."""
    found = []
    for rule in list(_RULES.values()):
        if rule.allowed is None:
            continue
        answer = rule.allowed(school_id, change_id, start, end)
        if answer is not None:
            found.append(answer)
    return found


def _by_rules(plans: list[Plan]) -> dict[int, list[Conflict]]:
    found: dict[int, list[Conflict]] = defaultdict(list)
    if not plans:
        return found
    for rule in list(_RULES.values()):
        for change_id, conflicts in rule.check(plans).items():
            found[change_id].extend(conflicts)
    return found


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


# The columns `_collect_others` reads of each link: the item, and the RFC it belongs to.
_LINK_COLUMNS = ("item_id", "item__name", "change_id", "change__school_id", "change__number",
                 "change__title", "change__planned_start", "change__planned_end")  # fmt: skip


_NO_LIMIT = 2**62

# What the columns of `_LINK_COLUMNS` but the item and the RFC are: NULL in an RFC's own links.
_NULL_KINDS = (CharField(), BigIntegerField(), IntegerField(), CharField(), DateTimeField(),
               DateTimeField())  # fmt: skip


def _links(
    schools: list[int],
    start: datetime,
    end: datetime,
    lowest: datetime,
    items: list[int] | None = None,
    mine: list[int] | None = None,
) -> Any:
    """The query of `_collect_others` (compiled once per shape: `_LINKS`)."""
    touched: Any = items
    if touched is None:
        # Sliced by a bound no list reaches, the items are read once, first: PostgreSQL
        # cannot pull a subquery with a LIMIT up into a semi join, which it would plan as
        # an index probe of each candidate link's item among all of that item's links.
        touched = ChangeItem.objects.filter(change_id__in=mine or []).values("item_id").order_by()
        touched = touched[:_NO_LIMIT]
    links = (
        ChangeItem.objects.filter(
            meeting(start, end, prefix="change__", lowest=lowest),
            item_id__in=touched,
            change__school_id__in=schools,
            change__state__in=OPEN_STATE_LIST,
        )
        .annotate(mine=Value(False))
        .values_list(*_LINK_COLUMNS, "mine")
        .order_by()
    )
    if mine:
        # The RFCs' own links need only their item: the rest is NULL, not joined (the two
        # joins cost more to plan than to run). Second, so that the columns' types are the
        # others' real ones.
        nulls = {f"_{n}": Value(None, _NULL_KINDS[n]) for n in range(len(_NULL_KINDS))}
        own = (
            ChangeItem.objects.filter(change_id__in=mine)
            .annotate(**nulls, mine=Value(True))
            .values_list("item_id", "_0", "change_id", "_1", "_2", "_3", "_4", "_5", "mine")
            .order_by()
        )
        links = links.union(own, all=True)
    return links


# Built and compiled once per shape (2.6 ms a call, where PostgreSQL takes less).
_LINKS = Compiled(_links)


def _collect_others(
    school_ids: Iterable[int],
    start: datetime,
    end: datetime,
    *,
    item_ids: Iterable[int] | None = None,
    of: Iterable[int] = (),
) -> tuple[dict[int, list[_Other]], dict[int, set[int]]]:
    """Open RFCs of `school_ids` with a window meeting [start, end) touching any of
    `item_ids` (by default, any item of the RFCs `of`), by item; and the items of each RFC
    `of`. One query (the links of the RFCs `of`, and the others', in a UNION ALL).

    Bounded by school and by time (`windows.meeting`), the query starts from the few open
    RFCs planned around [start, end) rather than from every link of a busy item.
    """
    by_item: dict[int, list[_Other]] = defaultdict(list)
    items_of: dict[int, set[int]] = defaultdict(set)
    mine = sorted(set(of))
    schools = sorted(set(school_ids))
    values: dict[str, Any] = {}
    if item_ids is not None:
        touched = sorted(set(item_ids))
        if not touched and not mine:
            return by_item, items_of
        values["items"] = touched
    elif not mine:
        return by_item, items_of
    if mine:
        values["mine"] = mine
    # An empty list is an id no row has (0): nothing of it is found, and the RFCs' own
    # links still are.
    values = {name: ids or [0] for name, ids in values.items()}
    links = _LINKS.rows(
        ChangeItem.objects.db,
        schools=schools or [0],
        start=start,
        end=end,
        lowest=start - LONG_WINDOW,
        **values,
    )
    others: dict[int, _Other] = {}
    for item_id, item_name, change_id, school_id, number, title, c_start, c_end, is_mine in links:
        if is_mine:
            items_of[change_id].add(item_id)
            continue
        if c_start is None or c_end is None:  # excluded by the query; for the type checker
            continue
        other = others.get(change_id)
        if other is None:
            other = others[change_id] = _Other(
                change_id, school_id, format_reference(number), title, c_start, c_end, {}
            )
        other.item_names[item_id] = item_name
        by_item[item_id].append(other)
    return by_item, items_of


def _join(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return gettext("%(items)s and %(last)s") % {"items": ", ".join(words[:-1]), "last": words[-1]}


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
                message=gettext(
                    "Overlaps %(reference)s “%(title)s”, which also touches %(items)s, on %(when)s."
                )
                % {
                    "reference": other.reference,
                    "title": other.title,
                    "items": names,
                    "when": describe_span(other.start, other.end, cal.tz),
                },
                change_id=other.id,
                item_ids=tuple(shared),
            )
        )
    if rest:
        conflicts.append(
            Conflict(
                kind=ConflictKind.OVERLAP,
                hard=False,
                message=ngettext(
                    "Overlaps %(count)s more open change touching the same items.",
                    "Overlaps %(count)s more open changes touching the same items.",
                    rest,
                )
                % {"count": rest},
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
                message=gettext("Falls in the exam period “%(name)s” (%(when)s).")
                % {"name": period.name, "when": span},
                period_id=period.pk,
            )
        )
    for period in cal.periods_of([PeriodKind.FREEZE], plan.start, plan.end):
        span = describe_period_span(period.starts_at, period.ends_at, cal.tz)
        if period.is_hard and plan.is_emergency:
            message = gettext(
                "Falls in the hard change freeze “%(name)s” (%(when)s); as an emergency "
                "change it may still be approved."
            ) % {"name": period.name, "when": span}
        elif period.is_hard:
            message = gettext(
                "Falls in the hard change freeze “%(name)s” (%(when)s): nothing may be "
                "approved inside it."
            ) % {"name": period.name, "when": span}
        else:
            message = gettext(
                "Falls in the change freeze “%(name)s” (%(when)s): approving it needs an "
                "override reason."
            ) % {"name": period.name, "when": span}
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
        when = ngettext(
            "%(day)s and %(count)s more school day",
            "%(day)s and %(count)s more school days",
            others,
        ) % {"day": when, "count": others}
    hours = f"{hhmm(cal.teaching_start)}{EN_DASH}{hhmm(cal.teaching_end)}"
    return [
        Conflict(
            kind=ConflictKind.TEACHING_DAY,
            hard=False,
            message=gettext("Takes a system down during the teaching day (%(hours)s) on %(when)s.")
            % {"hours": hours, "when": when},
        )
    ]


def _outside_window(plan: _Planned, cal: CalendarData) -> list[Conflict]:
    if not cal.windows:
        return []
    windows = cal.window_intervals(plan.start, plan.end)
    if any(s <= plan.start and plan.end <= e for s, e in windows):
        return []
    # One wording whether it runs over a window's edge or misses them all.
    message = gettext("Runs outside the maintenance windows (%(windows)s).") % {
        "windows": cal.describe_windows()
    }
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


def find_conflicts(
    change: Change,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    item_ids: Iterable[int] | None = None,
) -> list[Conflict]:
    """The conflicts of `change`'s planned window, or of [start, end) and `item_ids` if given.

    Giving `start`, `end` and `item_ids` checks a plan before it is saved (the RFC may be
    unsaved). Without a window there is nothing to collide with: an empty list. The
    registered rules are asked about a saved RFC only (with the window given, if any).
    """
    start = start if start is not None else change.planned_start
    end = end if end is not None else change.planned_end
    if start is None or end is None or end <= start:
        return []
    school: School = change.school
    cal = load_calendars([school], start, end)[school.pk]
    if item_ids is not None:
        items = {int(i) for i in item_ids}
        by_item, _ = _collect_others([school.pk], start, end, item_ids=items)
    elif change.pk:
        # The RFC's own items and the others touching them, in one query.
        by_item, items_of = _collect_others([school.pk], start, end, of=[change.pk])
        items = items_of.get(change.pk, set())
    else:
        items, by_item = set(), {}
    plan = _Planned(change.pk, school.pk, start, end, frozenset(items), change.is_emergency)
    found = _check(plan, cal, by_item)
    if change.pk:
        found.extend(_by_rules([Plan(change.pk, school.pk, start, end)]).get(change.pk, ()))
    return found


def find_conflicts_many(
    changes: Iterable[Change],
    *,
    max_overlaps: int | None = None,
    calendars: dict[int, CalendarData] | None = None,
) -> dict[int, list[Conflict]]:
    """The conflicts of each saved RFC in `changes`, in a fixed number of queries.

    Load the RFCs with `select_related("school")`. RFCs without a window map to [].
    `calendars` (by school id, as `load_calendars` gives them) saves loading them again:
    they must hold the schools of `changes` over their windows.
    `max_overlaps` names at most that many overlapping RFCs each and counts the rest in
    one last overlap conflict (without a `change_id`), to keep a page short. The registered
    rules are asked once, about every planned RFC at once.
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
    if calendars is None:
        calendars = load_calendars(schools.values(), start, end)
    by_item, items = _collect_others(schools.keys(), start, end, of=[c.pk for c in planned])
    extra = _by_rules(
        [
            Plan(c.pk, c.school_id, c.planned_start, c.planned_end)
            for c in planned
            if c.planned_start is not None and c.planned_end is not None
        ]
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
        result[change.pk].extend(extra.get(change.pk, ()))
    return result
