"""FITS's period report: a school's figures for a week or a month, with the RFCs behind each
and the trend of each over the last 12 periods. Shared by the report page, its print, the API
and the archive (which freezes `report()`'s dict as it is).

A period is [start, end) of the school's days (`period_bounds`: a week Monday to Monday, or a
month the 1st to the next 1st), compared with time columns as a range of instants from the
school's midnights (its time zone, `school.zone`), so that an index serves it and British
Summer Time and the year's end fall where the school's clocks put them.

The figures, in three groups:

change      raised (RFCs created in the period); emergencies and standard changes raised
            (counted apart); approved (the approval that made an RFC approved: the final
            approval, an emergency's initial approval, a standard change going ahead);
            returned, rejected, withdrawn (events of those kinds); implemented succeeded,
            partly, failed and backed out (`record_outcome` events, by the outcome in the
            event's data); the median hours spent in each stage, of the stages left in the
            period (from the event that entered it to the one that left it); the approved
            changes whose planned start fell in the period and whose users were told before
            it (a published notice first published before the start), and those not told;
            the changes that caused incidents (the closing review said so; outcome recorded
            in the period).
release     FITS's five release figures, `changedesk.releases.measurements` (no RFCs).
patch       patches released in the period (their release date), deployed, deployed on
            time, overdue, and the share deployed on time, judged as
            `changedesk.patches.compliance` judges them (no RFCs).

Queries: 12 per report however many RFCs. For the 12 periods at once: the RFCs raised, the
events and the told changes, each one query grouped by period (a CASE over the periods'
bounds) and by what tells the figures apart; the stage times (one query: each event leaving a
stage, with the time its stage was entered, from the RFC's previous state change by the
(change, sequence) index); the patches (one); the release figures (four, `figures_many`);
then the RFC ids of the period asked for (three). `report_many` takes the same queries over
several schools, except the release figures: four per school.

Cost at trust scale (`bench-data`, 200 schools, 500,000 RFCs, 3.9 million events, on
PostgreSQL): about 0.1-0.25 s for the middle school (835 RFCs); several seconds for the
biggest (63,000 RFCs), whose 12 months of events are read by a sequential scan of the events'
table, which has no school column for an index to start with (see the report of issue 12).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.fields.json import KeyTextTransform

from changedesk.accounts.models import School
from changedesk.changes.choices import EventKind, Outcome, State
from changedesk.changes.models import Change, ChangeEvent
from changedesk.communication.choices import NoticeStatus
from changedesk.communication.models import Notice
from changedesk.patches import compliance
from changedesk.patches.models import Patch
from changedesk.releases import measurements
from changedesk.reports.models import Period, ReportSettings

PERIODS = (Period.WEEK.value, Period.MONTH.value)
TREND = 12
EARLIEST = measurements.EARLIEST
LATEST = measurements.LATEST
DAYS_TEXT = measurements.DAYS_TEXT
sane_day = measurements.sane_day

GROUPS = (
    ("change", "Change management"),
    ("release", "Release management"),
    ("patch", "Patch management"),
)

# The stages whose time is measured: the state, and the states leaving it to (None: any).
STAGES: tuple[tuple[str, str, str | None], ...] = (
    ("awaiting_initial_approval", "awaiting initial approval", None),
    ("planning", "planning", None),
    ("awaiting_peer_review", "awaiting peer review", None),
    ("awaiting_final_approval", "awaiting final approval", None),
    ("approved", "approved to implemented", State.IMPLEMENTED.value),
    ("implemented", "implemented to closed", State.CLOSED.value),
)

# (key, label, unit) in the order shown.
CHANGE_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("raised", "RFCs raised", "count"),
    ("emergencies", "Emergency changes raised", "count"),
    ("standard", "Standard changes raised", "count"),
    ("approved", "RFCs approved", "count"),
    ("returned", "RFCs returned for amendment", "count"),
    ("rejected", "RFCs rejected", "count"),
    ("withdrawn", "RFCs withdrawn", "count"),
    ("succeeded", "Implemented successfully", "count"),
    ("partly", "Implemented partly", "count"),
    ("failed", "Failed and backed out", "count"),
    ("caused_incidents", "Changes that caused incidents", "count"),
    ("told", "Approved changes whose users were told before the start", "count"),
    ("not_told", "Approved changes whose users were not told before the start", "count"),
    *((f"stage_{s}", f"Median hours {label}", "hours") for s, label, _ in STAGES),
)
RELEASE_FIGURES: tuple[tuple[str, str, str], ...] = tuple(
    (f"release_{name}", measurements.LABELS[name], "count") for name in measurements.NAMES
)
PATCH_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("patches_released", "Patches released (that apply)", "count"),
    ("patches_deployed", "Patches deployed", "count"),
    ("patches_on_time", "Patches deployed on time", "count"),
    ("patches_overdue", "Patches overdue", "count"),
    ("patches_percent_on_time", "Share deployed on time", "percent"),
)
FIGURE_GROUPS = {"change": CHANGE_FIGURES, "release": RELEASE_FIGURES, "patch": PATCH_FIGURES}
LABELS = {key: label for figures in FIGURE_GROUPS.values() for key, label, _ in figures}
# The figures with RFCs behind them.
WITH_IDS = frozenset(key for key, _, _ in CHANGE_FIGURES)

# The states an approved RFC may be in afterwards (withdrawn after approval is not counted).
APPROVED_SINCE = (State.APPROVED, State.IMPLEMENTED, State.CLOSED)
OUTCOMES = {
    "succeeded": Outcome.SUCCEEDED.value,
    "partly": Outcome.PARTIALLY_SUCCEEDED.value,
    "failed": Outcome.FAILED_BACKED_OUT.value,
}


# --- Periods. ---


def period_bounds(period: str, day: date) -> tuple[date, date]:
    """The week (Monday to the next Monday) or month (the 1st to the next 1st) holding `day`,
    as [start, end): `changedesk.releases.measurements.period_bounds`."""
    return measurements.period_bounds(period, day)


def periods_ending(period: str, start: date, count: int = TREND) -> list[tuple[date, date]]:
    """The `count` periods up to and including the one holding `start`, oldest first."""
    return measurements.periods_before(period, start, count)


def frequency_of(school: School) -> str:
    """How often the school reports: "week" or "month" (its `ReportSettings`; default month)."""
    found = ReportSettings.objects.filter(school=school).values_list("frequency", flat=True)
    return next(iter(found), Period.MONTH.value)


def _midnight(school: School, day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=school.zone)


class _Bounds:
    """The periods' instants for a set of schools, each at its own midnights: a condition on
    a time column per period, and one for the whole range."""

    def __init__(self, schools: Sequence[School], periods: Sequence[tuple[date, date]]):
        self.schools = list(schools)
        self.periods = list(periods)
        zones: dict[str, list[School]] = {}
        for school in self.schools:
            zones.setdefault(school.timezone, []).append(school)
        self.zones = list(zones.values())

    def each(self, column: str, school_column: str = "school_id") -> list[Q]:
        """A condition per period: `column` within the period at each school's midnights."""
        found = []
        for start, end in self.periods:
            found.append(self._within(column, school_column, start, end))
        return found

    def whole(self, column: str, school_column: str = "school_id") -> Q:
        return self._within(column, school_column, self.periods[0][0], self.periods[-1][1])

    def _within(self, column: str, school_column: str, start: date, end: date) -> Q:
        condition = Q(pk__in=[])
        for group in self.zones:
            zone = group[0]
            condition |= Q(
                **{
                    f"{school_column}__in": [s.pk for s in group],
                    f"{column}__gte": _midnight(zone, start),
                    f"{column}__lt": _midnight(zone, end),
                }
            )
        return condition


# --- The queries. ---


def _events(schools: Sequence[School]) -> QuerySet[ChangeEvent]:
    return ChangeEvent.objects.filter(change__school_id__in=[s.pk for s in schools])


# The figures counted from events (`_event_figures` tells which an event counts in).
EVENT_FIGURES = ("approved", "returned", "rejected", "withdrawn", *OUTCOMES, "caused_incidents")


EVENT_KINDS = (
    EventKind.APPROVE,
    EventKind.RAISE_STANDARD,
    EventKind.RETURN,
    EventKind.REJECT,
    EventKind.WITHDRAW,
    EventKind.RECORD_OUTCOME,
)
RAISED_FIGURES = ("raised", "emergencies", "standard")


def _told_changes(schools: Sequence[School], bounds: _Bounds) -> QuerySet[Change]:
    """The approved RFCs planned to start in the range, each with `told`: a notice still
    published, first published before the start."""
    told = Notice.objects.filter(
        change=OuterRef("pk"),
        status=NoticeStatus.PUBLISHED,
        first_published_at__lt=OuterRef("planned_start"),
    )
    return (
        Change.objects.filter(bounds.whole("planned_start"), state__in=APPROVED_SINCE)
        .annotate(told=Exists(told))
        .order_by()
    )


def _stage_rows(bounds: _Bounds) -> list[tuple[int, str, str, datetime, datetime | None]]:
    """Each event in the range that left a measured stage: (change, from, to, left, entered)."""
    entered = (
        ChangeEvent.objects.filter(
            change_id=OuterRef("change_id"),
            sequence__lt=OuterRef("sequence"),
            to_state=OuterRef("from_state"),
        )
        .exclude(from_state=F("to_state"))
        .order_by("-sequence")
        .values("created_at")[:1]
    )
    leaving = Q(pk__in=[])
    for state, _, to in STAGES:
        leaving |= Q(from_state=state, to_state=to) if to else Q(from_state=state)
    rows = (
        _events(bounds.schools)
        .filter(bounds.whole("created_at", "change__school_id"), leaving)
        .exclude(to_state=F("from_state"))
        .exclude(to_state="")
        .annotate(entered=Subquery(entered))
        .order_by()
        .values_list("change_id", "from_state", "to_state", "created_at", "entered")
    )
    return list(rows)


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _patch_figures(
    schools: Sequence[School], periods: Sequence[tuple[date, date]]
) -> list[dict[str, Any]]:
    """The patch figures of each period: patches released in it (release date), judged as
    the compliance page judges them today at each school."""
    from changedesk.lib.days import today_in

    todays = {s.pk: today_in(s) for s in schools}
    tallies = [compliance.Tally() for _ in periods]
    rows = Patch.objects.filter(
        school_id__in=list(todays),
        release_date__gte=periods[0][0],
        release_date__lt=periods[-1][1],
    ).only("pk", "school_id", "state", "due_on", "deployed_on", "release_date")
    for patch in rows.iterator(chunk_size=2000):
        for n, (start, end) in enumerate(periods):
            if start <= patch.release_date < end:
                tallies[n].add(compliance.verdict(patch, todays[patch.school_id]))
                break
    return [
        {
            "patches_released": t.applicable,
            "patches_deployed": t.deployed,
            "patches_on_time": t.on_time,
            "patches_overdue": t.overdue,
            "patches_percent_on_time": t.percent_on_time,
        }
        for t in tallies
    ]


def _release_figures(
    schools: Sequence[School], periods: Sequence[tuple[date, date]]
) -> list[dict[str, Any]]:
    totals: list[dict[str, Any]] = [
        {f"release_{n}": 0 for n in measurements.NAMES} for _ in periods
    ]
    for school in schools:
        for n, row in enumerate(measurements.figures_many(school, periods)):
            for name, value in row.items():
                totals[n][f"release_{name}"] += value
    return totals


def _compute(schools: Sequence[School], period: str, start: date) -> dict[str, Any]:
    """The groups and trend of `schools` together for the period holding `start`."""
    periods = periods_ending(period, start)
    bounds = _Bounds(schools, periods)
    ids = [s.pk for s in schools]
    # Each count is one query grouped by period (a CASE over the periods' bounds, evaluated
    # once a row) and by what tells the figures apart: a few dozen groups, summed here.
    zero = {key: [0] * len(periods) for key in (*RAISED_FIGURES, *EVENT_FIGURES)}
    counts: dict[str, list[int]] = {**zero, "told": [0] * len(periods)}
    counts["not_told"] = [0] * len(periods)
    for bucket, emergency, standard, n in _grouped(
        Change.objects.filter(bounds.whole("created_at")),
        bounds.each("created_at"),
        "is_emergency",
        "is_standard",
    ):
        counts["raised"][bucket] += n
        counts["emergencies"][bucket] += n if emergency else 0
        counts["standard"][bucket] += n if standard else 0
    for bucket, kind, from_state, to_state, outcome, incidents, n in _grouped(
        _events(schools)
        .filter(bounds.whole("created_at", "change__school_id"), kind__in=EVENT_KINDS)
        .annotate(
            outcome=KeyTextTransform("outcome", "data"), incidents=F("change__caused_incidents")
        ),
        bounds.each("created_at", "change__school_id"),
        "kind",
        "from_state",
        "to_state",
        "outcome",
        "incidents",
    ):
        for key in _event_figures(kind, from_state, to_state, outcome, incidents):
            counts[key][bucket] += n
    for bucket, was_told, n in _grouped(
        _told_changes(schools, bounds), bounds.each("planned_start"), "told"
    ):
        counts["told" if was_told else "not_told"][bucket] += n
    stages = _stage_rows(bounds)
    releases = _release_figures(schools, periods)
    patches = _patch_figures(schools, periods)

    # The trend of each figure.
    values: list[dict[str, Any]] = []
    stage_bounds = [{s.pk: (_midnight(s, a), _midnight(s, b)) for s in schools} for a, b in periods]
    school_of = _school_of_changes(stages, ids)
    for n in range(len(periods)):
        row: dict[str, Any] = {}
        for key, found in counts.items():
            row[key] = found[n]
        hours: dict[str, list[float]] = {state: [] for state, _, _ in STAGES}
        for change_id, from_state, _to, left, entered in stages:
            first, last = stage_bounds[n][school_of[change_id]]
            if entered is not None and first <= left < last:
                hours[from_state].append((left - entered).total_seconds() / 3600)
        for state, _, _ in STAGES:
            row[f"stage_{state}"] = _median(hours[state])
        row.update(releases[n])
        row.update(patches[n])
        values.append(row)

    # The RFCs behind the period's figures.
    behind = _ids(schools, bounds, stages, stage_bounds[-1], school_of)
    current = values[-1]
    groups = []
    for group, label in GROUPS:
        figures = []
        for key, figure_label, unit in FIGURE_GROUPS[group]:
            figure: dict[str, Any] = {
                "key": key,
                "label": figure_label,
                "value": current[key],
                "unit": unit,
                "ids": behind.get(key, []),
            }
            note = _note(key, current)
            if note:
                figure["note"] = note
            figures.append(figure)
        groups.append({"key": group, "label": label, "figures": figures})
    trend = {
        key: [
            {"start": a.isoformat(), "end": b.isoformat(), "value": values[n][key]}
            for n, (a, b) in enumerate(periods)
        ]
        for key in LABELS
    }
    period_start, period_end = periods[-1]
    return {
        "period": period,
        "start": period_start.isoformat(),
        "end": period_end.isoformat(),
        "groups": groups,
        "trend": trend,
    }


def _grouped(queryset: QuerySet[Any], each: list[Q], *columns: str) -> list[tuple[Any, ...]]:
    """(period's index, *columns, count) of `queryset`'s rows, grouped: one query."""
    bucket = Case(*(When(within, then=Value(n)) for n, within in enumerate(each)), default=None)
    rows = (
        queryset.annotate(bucket=bucket)
        .order_by()
        .values("bucket", *columns)
        .annotate(n=Count("pk"))
        .values_list("bucket", *columns, "n")
    )
    return [row for row in rows if row[0] is not None]


def _school_of_changes(stages: Iterable[tuple[Any, ...]], school_ids: list[int]) -> dict[int, int]:
    """Each stage row's RFC's school (one school: no query)."""
    change_ids = {row[0] for row in stages}
    if len(school_ids) == 1:
        return dict.fromkeys(change_ids, school_ids[0])
    if not change_ids:
        return {}
    return dict(Change.objects.filter(pk__in=change_ids).values_list("pk", "school_id"))


def _ids(
    schools: Sequence[School],
    bounds: _Bounds,
    stages: list[tuple[int, str, str, datetime, datetime | None]],
    stage_bounds: dict[int, tuple[datetime, datetime]],
    school_of: dict[int, int],
) -> dict[str, list[int]]:
    """The RFC ids behind each change figure of the last period (sorted, no repeats)."""
    last = _Bounds(schools, bounds.periods[-1:])
    found: dict[str, set[int]] = {key: set() for key in WITH_IDS}
    for pk, emergency, standard in (
        Change.objects.filter(last.whole("created_at"))
        .order_by()
        .values_list("pk", "is_emergency", "is_standard")
    ):
        found["raised"].add(pk)
        if emergency:
            found["emergencies"].add(pk)
        if standard:
            found["standard"].add(pk)
    for pk, kind, from_state, to_state, outcome, incidents in (
        _events(schools)
        .filter(last.whole("created_at", "change__school_id"), kind__in=EVENT_KINDS)
        .order_by()
        .values_list(
            "change_id",
            "kind",
            "from_state",
            "to_state",
            "data__outcome",
            "change__caused_incidents",
        )
    ):
        for key in _event_figures(kind, from_state, to_state, outcome, incidents):
            found[key].add(pk)
    told_rows: Iterable[tuple[int, bool]] = _told_changes(schools, last).values_list(
        "pk",
        "told",  # type: ignore[misc]  # an annotation the stubs do not see
    )
    for pk, was_told in told_rows:
        found["told" if was_told else "not_told"].add(pk)
    for change_id, from_state, _to, left, entered in stages:
        first, end = stage_bounds[school_of[change_id]]
        if entered is not None and first <= left < end:
            found[f"stage_{from_state}"].add(change_id)
    return {key: sorted(ids) for key, ids in found.items()}


def _event_figures(
    kind: str, from_state: str, to_state: str, outcome: Any, incidents: bool | None
) -> list[str]:
    """The event figures an event counts in."""
    found = []
    if kind in (EventKind.APPROVE, EventKind.RAISE_STANDARD):
        if to_state == State.APPROVED and from_state != State.APPROVED:
            found.append("approved")
    elif kind == EventKind.RETURN:
        found.append("returned")
    elif kind == EventKind.REJECT:
        found.append("rejected")
    elif kind == EventKind.WITHDRAW:
        found.append("withdrawn")
    elif kind == EventKind.RECORD_OUTCOME:
        found.extend(key for key, value in OUTCOMES.items() if value == outcome)
        if incidents:
            found.append("caused_incidents")
    return found


def _note(key: str, row: dict[str, Any]) -> str:
    if key == "told":
        planned = row["told"] + row["not_told"]
        return f"Of {planned} approved changes planned to start in the period." if planned else ""
    if key.startswith("stage_") and row[key] is None:
        return "No RFC left this stage in the period."
    if key == "patches_percent_on_time" and row[key] is None:
        return "No patch released in the period was due or deployed yet."
    if key.startswith("release_") or key.startswith("patches_"):
        return "Release and patch figures have no RFCs behind them."
    return ""


def _school(school: School) -> dict[str, Any]:
    return {"id": school.pk, "slug": school.slug, "name": school.name}


def report(school: School, period: str, start: date) -> dict[str, Any]:
    """The school's report for the period of `period` ("week" or "month") holding `start`:
    JSON-able and self-contained (the archive freezes it as it is)."""
    if period not in PERIODS:
        raise ValueError(f"A period is a week or a month, not {period!r}.")
    return {"school": _school(school), **_compute([school], period, start)}


def report_many(schools: Sequence[School], period: str, start: date) -> dict[str, Any]:
    """Several schools' report together: counts summed, medians over all their RFCs. Its
    `school` is {"id": None, "slug": "", "name": "All my schools"}; `schools` names them."""
    if period not in PERIODS:
        raise ValueError(f"A period is a week or a month, not {period!r}.")
    schools = list(schools)
    if not schools:
        raise ValueError("A report needs at least one school.")
    return {
        "school": {"id": None, "slug": "", "name": "All my schools"},
        "schools": [_school(s) for s in schools],
        **_compute(schools, period, start),
    }


def figure(result: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The figure `key` of a report's dict, or None."""
    for group in result["groups"]:
        for found in group["figures"]:
            if found["key"] == key:
                return dict(found)
    return None


def next_start(period: str, start: date) -> date:
    return period_bounds(period, start)[1]


def previous_start(period: str, start: date) -> date:
    return period_bounds(period, period_bounds(period, start)[0] - timedelta(days=1))[0]
