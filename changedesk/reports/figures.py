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

The archive: a past period of the trend that the school has frozen (`Snapshot`, the
`report()` dict as it stood) takes its figures from the snapshot (one query for all eleven)
instead of being counted again; only the periods not frozen, and always the period asked for,
are counted live, and the queries below read only their ranges. Several schools
(`report_many`) add up their snapshots' counts with the live counts of the others; medians do
not add up, so their stage times are made from the stage times each snapshot keeps beside its
figures (`Snapshot.samples`, whole seconds, `stored_samples`) with the live ones of the
periods counted, and read live only for a snapshot that keeps none (frozen before they were
kept, or more than `MOST_SAMPLES`); the share of patches on time is made again from the
summed counts. A snapshot lacking a figure is counted again. A stage time is counted in whole
seconds, live or kept, so a median is the same either way.

Queries: 13 per report however many RFCs and however many periods are frozen: the snapshots
(one); for the periods counted, the RFCs raised, the events and the told changes, each one
query grouped by period (a CASE over the periods' bounds) and by what tells the figures apart;
the stage times (one query: each event leaving a stage, with the time its stage was entered,
from the RFC's previous state change by the change's index); the patches (one); the release
figures (four, `measurements.figures_summed`); then the RFC ids of the period asked for
(three). `report_many` takes the same queries over several schools: its query count does not
grow with the schools (a trust's report reads a trust of 50 schools in the same queries).

Every event query asks for the kinds it counts (`EVENT_KINDS`, `LEAVING_KINDS`), within a
range of `created_at`, and reads nothing else of the event than the covering
(kind, created_at) index holds (an outcome is read from its RFC), so PostgreSQL reads the
range from the index alone (the events have no school column to start from). Cost at trust
scale (`bench-data`: 200 schools, 500,000 RFCs, 3.9 million events; see the report of
issue 12): the biggest school (63,000 RFCs) about 0.1 s with its last 11 months frozen and
2-3 s without (the stage times' per-event look-up of when the stage was entered); the middle
school (835 RFCs) about 0.05-0.1 s. `report_many` of the ten-school person's schools with
their last 11 months frozen: about 0.25 s (5 s when the stage times of every period were read
live); nothing frozen, 8-10 s.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When

from changedesk.accounts.models import School, Trust
from changedesk.changes.choices import EventKind, Outcome, State
from changedesk.changes.models import Change, ChangeEvent
from changedesk.changes.workflow import TRANSITIONS
from changedesk.communication.choices import NoticeStatus
from changedesk.communication.models import Notice
from changedesk.patches import compliance
from changedesk.patches.models import Patch
from changedesk.releases import measurements
from changedesk.reports.models import Period, ReportSettings, Snapshot
from changedesk.trustwide import reporting

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
    a time column per period, and one for the whole range.

    `live` names, per school (by id), the periods (indices into `periods`) counted here; a
    school not named has them all. The others' figures come from the archive, so their
    instants are left out of every condition and the ranges an index reads shrink to the
    periods still to count (usually the last one)."""

    def __init__(
        self,
        schools: Sequence[School],
        periods: Sequence[tuple[date, date]],
        live: dict[int, frozenset[int]] | None = None,
    ):
        self.schools = list(schools)
        self.periods = list(periods)
        everything = frozenset(range(len(self.periods)))
        groups: dict[tuple[str, frozenset[int]], list[School]] = {}
        for school in self.schools:
            counted = everything if live is None else live.get(school.pk, everything)
            groups.setdefault((school.timezone, counted), []).append(school)
        # (the schools, their periods' indices): schools sharing a time zone and periods.
        self.groups = [(members, sorted(counted)) for (_, counted), members in groups.items()]

    def each(self, column: str, school_column: str = "school_id") -> list[Q | None]:
        """A condition per period: `column` within the period at each school's midnights,
        for the schools counting it here (None: no school counts it)."""
        found: list[Q | None] = []
        for n, (start, end) in enumerate(self.periods):
            parts = [
                self._within(column, school_column, members, start, end)
                for members, counted in self.groups
                if n in counted
            ]
            found.append(_any(parts) if parts else None)
        return found

    def whole(self, column: str, school_column: str = "school_id") -> Q:
        """`column` within any period counted here, each run of adjacent periods one range."""
        parts = []
        earliest: datetime | None = None
        latest: datetime | None = None
        for members, counted in self.groups:
            for first, last in _runs(counted):
                start, end = self.periods[first][0], self.periods[last][1]
                parts.append(self._within(column, school_column, members, start, end))
                low, high = _midnight(members[0], start), _midnight(members[0], end)
                earliest = low if earliest is None else min(earliest, low)
                latest = high if latest is None else max(latest, high)
        if not parts:
            return Q(pk__in=[])
        if len(parts) == 1:
            return parts[0]
        # The whole range as well, so that an index on `column` is read over it alone.
        return Q(**{f"{column}__gte": earliest, f"{column}__lt": latest}) & _any(parts)

    @staticmethod
    def _within(
        column: str, school_column: str, members: list[School], start: date, end: date
    ) -> Q:
        zone = members[0]
        return Q(
            **{
                f"{school_column}__in": [s.pk for s in members],
                f"{column}__gte": _midnight(zone, start),
                f"{column}__lt": _midnight(zone, end),
            }
        )


def _any(conditions: list[Q]) -> Q:
    found = conditions[0]
    for condition in conditions[1:]:
        found |= condition
    return found


def _runs(indices: list[int]) -> list[tuple[int, int]]:
    """Sorted indices as runs of adjacent ones, (first, last): [0, 1, 2, 5] -> (0, 2), (5, 5)."""
    runs: list[tuple[int, int]] = []
    for n in indices:
        if runs and runs[-1][1] == n - 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return runs


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
# An outcome event's outcome, read from its RFC (recorded there by the same action, once)
# so that the events are read from the (kind, created_at) index alone, not their table.
_OUTCOME = Case(When(kind=EventKind.RECORD_OUTCOME, then=F("change__outcome")), default=Value(""))


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


# The event kinds that may leave a measured stage (read off the process's table): the stage
# query asks for them by the (kind, created_at) index rather than reading every event.
STAGE_STATES = frozenset(state for state, _, _ in STAGES)
LEAVING_KINDS = tuple(
    sorted(
        {
            str(t.action)
            for t in TRANSITIONS
            if str(t.source) in STAGE_STATES and (t.target != t.source or t.route is not None)
        }
    )
)

StageRow = tuple[int, int, str, str, datetime, datetime | None]


def _stage_rows(bounds: _Bounds) -> list[StageRow]:
    """Each event in the range that left a measured stage: (change, school, from, to, left,
    entered)."""
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
        .filter(bounds.whole("created_at", "change__school_id"), leaving, kind__in=LEAVING_KINDS)
        .exclude(to_state=F("from_state"))
        .exclude(to_state="")
        .annotate(entered=Subquery(entered))
        .order_by()
        .values_list(
            "change_id", "change__school_id", "from_state", "to_state", "created_at", "entered"
        )
    )
    return list(rows)


def _median(seconds: list[int]) -> float | None:
    """The median of stage times (whole seconds), in hours to a tenth."""
    return round(statistics.median(seconds) / 3600, 1) if seconds else None


def _stage_hours(
    stages: list[StageRow], schools: Sequence[School], periods: Sequence[tuple[date, date]]
) -> tuple[list[dict[str, list[int]]], dict[str, set[int]]]:
    """The time spent in each stage left in each period, in whole seconds (as the archive
    keeps them, `stored_samples`), and the RFCs behind those of the last period; each row
    placed once (its school's midnights, bisected)."""
    edges = {s.pk: [_midnight(s, a) for a, _ in periods] + [_midnight(s, periods[-1][1])]
             for s in schools}  # fmt: skip
    hours: list[dict[str, list[int]]] = [{state: [] for state in STAGE_STATES} for _ in periods]
    last = len(periods) - 1
    behind: dict[str, set[int]] = {f"stage_{state}": set() for state in STAGE_STATES}
    for change_id, school_id, from_state, _to, left, entered in stages:
        bounds = edges.get(school_id)
        if entered is None or bounds is None or not bounds[0] <= left < bounds[-1]:
            continue
        n = bisect.bisect_right(bounds, left) - 1
        hours[n][from_state].append(round((left - entered).total_seconds()))
        if n == last:
            behind[f"stage_{from_state}"].add(change_id)
    return hours, behind


def _patch_figures(
    schools: Sequence[School],
    periods: Sequence[tuple[date, date]],
    live: dict[int, frozenset[int]],
) -> list[dict[str, Any]]:
    """The patch figures of each period: patches released in it (release date), judged as
    the compliance page judges them today at each school; only the periods `live` names
    for each school (the others are zero here)."""
    from changedesk.lib.days import today_in

    todays = {s.pk: today_in(s) for s in schools}
    tallies = [compliance.Tally() for _ in periods]
    counted = sorted(set().union(*live.values()))
    rows = Patch.objects.filter(
        school_id__in=list(todays),
        release_date__gte=periods[counted[0]][0],
        release_date__lt=periods[counted[-1]][1],
    ).only("pk", "school_id", "state", "due_on", "deployed_on", "release_date")
    for patch in rows.iterator(chunk_size=2000):
        for n, (start, end) in enumerate(periods):
            if start <= patch.release_date < end:
                if n in live[patch.school_id]:
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


def _percent_on_time(row: dict[str, Any]) -> int | None:
    """The share deployed on time from a row's counts, as `compliance.Tally` makes it."""
    due = row["patches_deployed"] + row["patches_overdue"]
    return round(100 * row["patches_on_time"] / due) if due else None


def _release_figures(
    schools: Sequence[School],
    periods: Sequence[tuple[date, date]],
    live: dict[int, frozenset[int]],
) -> list[dict[str, Any]]:
    """The release figures of the schools summed, each period (only the periods `live`
    names for each school: the others are zero here): four queries however many schools."""
    found = measurements.figures_summed(schools, periods, live)
    return [{f"release_{name}": value for name, value in row.items()} for row in found]


# --- The archive. ---

# The figures that add up over several schools (the others, medians and a share, do not).
ADDITIVE = tuple(
    key for group in FIGURE_GROUPS.values() for key, _, unit in group if unit == "count"
)


# The most stage times a snapshot keeps (`Snapshot.samples`): a school's period with more is
# kept without them, and a report across several schools reads its stage times live.
MOST_SAMPLES = 20_000
SAMPLES_VERSION = 1

Samples = dict[str, list[int]]


def stored_samples(seconds: Samples) -> dict[str, Any] | None:
    """A period's stage times (whole seconds, per stage state) as a snapshot keeps them, so
    that a report across several schools takes its medians from them rather than reading the
    period again; None when there are more than `MOST_SAMPLES`."""
    if sum(len(values) for values in seconds.values()) > MOST_SAMPLES:
        return None
    return {
        "version": SAMPLES_VERSION,
        "seconds": {state: sorted(seconds.get(state, [])) for state in sorted(STAGE_STATES)},
    }


def _read_samples(data: Any) -> Samples | None:
    """The stage times a snapshot keeps, or None (none kept, or not in today's form)."""
    if not isinstance(data, dict) or data.get("version") != SAMPLES_VERSION:
        return None
    seconds = data.get("seconds")
    if not isinstance(seconds, dict) or any(
        not isinstance(seconds.get(state), list) for state in STAGE_STATES
    ):
        return None
    return {state: seconds[state] for state in STAGE_STATES}


def _frozen(
    schools: Sequence[School],
    period: str,
    periods: Sequence[tuple[date, date]],
    with_samples: bool = False,
) -> tuple[dict[int, dict[int, dict[str, Any]]], dict[int, dict[int, Samples]]]:
    """The figures of each school's frozen periods before the last of `periods`, from its
    snapshots: {school id: {period's index: {figure: value}}}, one query; and, asked
    `with_samples`, the stage times kept with them: {school id: {period's index: samples}}
    (a snapshot without them is not named). A snapshot that lacks a figure (frozen before
    the figure existed) is passed over: counted again."""
    index = {start: n for n, (start, _) in enumerate(periods[:-1])}
    columns = ("school_id", "start", "end", "figures", *(("samples",) if with_samples else ()))
    rows = (
        Snapshot.objects.filter(
            school_id__in=[s.pk for s in schools], period=period, start__in=list(index)
        )
        .order_by()
        .values_list(*columns)
    )
    found: dict[int, dict[int, dict[str, Any]]] = {}
    samples: dict[int, dict[int, Samples]] = {}
    for school_id, start, end, data, *kept in rows:
        n = index.get(start)
        values = _snapshot_values(data)
        if n is not None and end == periods[n][1] and values is not None:
            found.setdefault(school_id, {})[n] = values
            seconds = _read_samples(kept[0]) if kept else None
            if seconds is not None:
                samples.setdefault(school_id, {})[n] = seconds
    return found, samples


def _snapshot_values(data: Any) -> dict[str, Any] | None:
    """{figure: value} of a frozen report, or None if it lacks one of today's figures."""
    try:
        values = {f["key"]: f["value"] for g in data["groups"] for f in g["figures"]}
    except (KeyError, TypeError):
        return None
    if any(key not in values for key in LABELS):
        return None
    return {key: values[key] for key in LABELS}


def _compute(schools: Sequence[School], period: str, start: date) -> tuple[dict[str, Any], Samples]:
    """The groups and trend of `schools` together for the period holding `start`, and the
    stage times (whole seconds) of that period."""
    periods = periods_ending(period, start)
    one = len(schools) == 1
    # The past periods a school has frozen are read from its snapshots; the rest (always the
    # period asked for) are counted here.
    frozen, samples = _frozen(schools, period, periods, with_samples=not one)
    everything = frozenset(range(len(periods)))
    live = {s.pk: everything - frozenset(frozen.get(s.pk, {})) for s in schools}
    bounds = _Bounds(schools, periods, live)
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
        .annotate(outcome=_OUTCOME, incidents=F("change__caused_incidents")),
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
    # Medians do not add up: several schools' stage times are read live for a frozen period
    # only where its snapshot kept no samples of them (frozen before they were kept, or too
    # many); the others' samples are added to the live ones.
    stage_live = live
    if not one:
        stage_live = {s.pk: everything - frozenset(samples.get(s.pk, {})) for s in schools}
    stages = _stage_rows(_Bounds(schools, periods, stage_live) if stage_live != live else bounds)
    hours, stage_ids = _stage_hours(stages, schools, periods)
    for kept in samples.values():
        for n, seconds in kept.items():
            for stage, times in seconds.items():
                hours[n][stage].extend(times)
    releases = _release_figures(schools, periods, live)
    patches = _patch_figures(schools, periods, live)

    # The trend of each figure.
    values: list[dict[str, Any]] = []
    for n in range(len(periods)):
        snapshots = [frozen[s.pk][n] for s in schools if n in frozen.get(s.pk, {})]
        if one and snapshots:
            values.append(dict(snapshots[0]))  # the period as it was frozen
            continue
        row: dict[str, Any] = {key: found[n] for key, found in counts.items()}
        for state in STAGES:
            row[f"stage_{state[0]}"] = _median(hours[n][state[0]])
        row.update(releases[n])
        row.update(patches[n])
        for snapshot in snapshots:
            for key in ADDITIVE:
                row[key] += snapshot[key] or 0
        if snapshots:
            row["patches_percent_on_time"] = _percent_on_time(row)
        values.append(row)

    # The RFCs behind the period's figures.
    behind = {**_ids(schools, bounds), **{k: sorted(v) for k, v in stage_ids.items()}}
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
    found = {
        "period": period,
        "start": period_start.isoformat(),
        "end": period_end.isoformat(),
        "groups": groups,
        "trend": trend,
    }
    return found, hours[-1]


def _grouped(queryset: QuerySet[Any], each: list[Q | None], *columns: str) -> list[tuple[Any, ...]]:
    """(period's index, *columns, count) of `queryset`'s rows, grouped: one query."""
    bucket = Case(
        *(When(within, then=Value(n)) for n, within in enumerate(each) if within is not None),
        default=None,
    )
    rows = (
        queryset.annotate(bucket=bucket)
        .order_by()
        .values("bucket", *columns)
        .annotate(n=Count("*"))
        .values_list("bucket", *columns, "n")
    )
    return [row for row in rows if row[0] is not None]


def _ids(schools: Sequence[School], bounds: _Bounds) -> dict[str, list[int]]:
    """The RFC ids behind each counted change figure of the last period (sorted, no
    repeats); the stages' come with their rows."""
    last = _Bounds(schools, bounds.periods[-1:])
    found: dict[str, set[int]] = {key: set() for key in WITH_IDS if not key.startswith("stage_")}
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
            "change__outcome",
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
    return ""


def _school(school: School) -> dict[str, Any]:
    return {"id": school.pk, "slug": school.slug, "name": school.name}


def report(school: School, period: str, start: date) -> dict[str, Any]:
    """The school's report for the period of `period` ("week" or "month") holding `start`:
    JSON-able and self-contained (the archive freezes it as it is)."""
    if period not in PERIODS:
        raise ValueError(f"A period is a week or a month, not {period!r}.")
    return report_and_samples(school, period, start)[0]


def report_and_samples(
    school: School, period: str, start: date
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """`report()`, and its period's stage times as a snapshot keeps them (`stored_samples`):
    what the archive freezes."""
    if period not in PERIODS:
        raise ValueError(f"A period is a week or a month, not {period!r}.")
    found, seconds = _compute([school], period, start)
    return {"school": _school(school), **found}, stored_samples(seconds)


def report_many(
    schools: Sequence[School], period: str, start: date, trust: Trust | None = None
) -> dict[str, Any]:
    """Several schools' report together: counts summed, medians over all their RFCs. Its
    `school` is {"id": None, "slug": "", "name": "All my schools"} (a trust's: the trust's
    name, and `trust` names the trust); `schools` names them. The same queries however many
    schools. A trust's report also lists the trust-wide changes it raised in the period
    (`trust_wide`, `trustwide.reporting`: two or three more queries)."""
    if period not in PERIODS:
        raise ValueError(f"A period is a week or a month, not {period!r}.")
    schools = list(schools)
    if not schools:
        raise ValueError("A report needs at least one school.")
    name = trust.name if trust is not None else "All my schools"
    found: dict[str, Any] = {"school": {"id": None, "slug": "", "name": name}}
    if trust is not None:
        found["trust"] = {"id": trust.pk, "slug": trust.slug, "name": trust.name}
    computed, _ = _compute(schools, period, start)
    result = {**found, "schools": [_school(s) for s in schools], **computed}
    if trust is not None:
        # The trust-wide changes raised in the period (a trust's schools keep one zone).
        first, after = period_bounds(period, start)
        zone = schools[0].zone
        result["trust_wide"] = reporting.raised_between(
            trust,
            datetime.combine(first, time(), tzinfo=zone),
            datetime.combine(after, time(), tzinfo=zone),
        )
    return result


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
