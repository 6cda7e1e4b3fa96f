"""How a school stands against its patch deadlines, for a period of release dates: the figures
the compliance page, its printable statement and the API share.

A patch counts when it was released in the period; it is `applicable` unless assessed as not
applicable; `on_time` when deployed on or before its due day, `late` when deployed after it,
`overdue` when still to be deployed past its due day, `in_time` when still to be deployed and
not yet due, and `deferred` when deferred (with its reason).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from changedesk.accounts.models import School
from changedesk.configuration.models import ConfigurationItem
from changedesk.patches.choices import DEPLOYED_STATES, OPEN_STATES, PatchState, Severity
from changedesk.patches.models import Patch, PatchPolicy, today_in

# The default period: the last 90 days of releases.
DEFAULT_DAYS = 90
# The most days one report covers.
LONGEST = 366 * 3
FIGURES = ("applicable", "on_time", "late", "overdue", "in_time", "deferred", "not_applicable")


@dataclass
class Tally:
    applicable: int = 0
    on_time: int = 0
    late: int = 0
    overdue: int = 0
    in_time: int = 0
    deferred: int = 0
    not_applicable: int = 0

    def add(self, verdict: str) -> None:
        setattr(self, verdict, getattr(self, verdict) + 1)
        if verdict != "not_applicable":
            self.applicable += 1

    @property
    def deployed(self) -> int:
        return self.on_time + self.late

    @property
    def percent_on_time(self) -> int | None:
        """Of those deployed or due by now, the share deployed on time (None: none yet)."""
        due = self.on_time + self.late + self.overdue
        return round(100 * self.on_time / due) if due else None

    def as_dict(self) -> dict[str, Any]:
        return {
            **{name: getattr(self, name) for name in FIGURES},
            "deployed": self.deployed,
            "percent_on_time": self.percent_on_time,
        }


@dataclass
class Report:
    school: School
    start: date
    end: date
    today: date
    policy: PatchPolicy
    total: Tally = field(default_factory=Tally)
    by_severity: dict[str, Tally] = field(default_factory=dict)
    by_item: list[tuple[ConfigurationItem, Tally]] = field(default_factory=list)
    # The patches behind it, newest release first, each with its verdict.
    patches: list[tuple[Patch, str]] = field(default_factory=list)

    @property
    def severities(self) -> list[tuple[str, str, int, Tally]]:
        """(value, label, days allowed, tally) in order of severity."""
        return [
            (s.value, str(s.label), self.policy.days(s.value), self.by_severity[s.value])
            for s in Severity
        ]

    @property
    def deferred(self) -> list[Patch]:
        return [p for p, verdict in self.patches if verdict == "deferred"]

    @property
    def urgent(self) -> list[tuple[Patch, str]]:
        """The critical and high patches, each with its verdict: what an auditor reads. One
        the vendor rated critical or high is listed even where the school's assessment
        lowered it (the statement shows both)."""
        urgent = (Severity.CRITICAL, Severity.HIGH)
        return [
            (p, v)
            for p, v in self.patches
            if (p.severity in urgent or p.vendor_severity in urgent) and v != "not_applicable"
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "school": self.school.slug,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "today": self.today.isoformat(),
            "deadlines": {s.value: self.policy.days(s.value) for s in Severity},
            "total": self.total.as_dict(),
            "by_severity": {s: t.as_dict() for s, t in self.by_severity.items()},
            "by_item": [
                {"item": item.pk, "name": item.name, **tally.as_dict()}
                for item, tally in self.by_item
            ],
            "deferred": [
                {
                    "patch": p.pk,
                    "title": p.title,
                    "reason": p.reason,
                    "defer_until": p.defer_until.isoformat() if p.defer_until else None,
                }
                for p in self.deferred
            ],
        }


def verdict(patch: Patch, today: date) -> str:
    if patch.state == PatchState.NOT_APPLICABLE:
        return "not_applicable"
    if patch.state == PatchState.DEFERRED:
        return "deferred"
    if patch.state in DEPLOYED_STATES:
        return "on_time" if patch.on_time() else "late"
    assert patch.state in OPEN_STATES
    return "overdue" if patch.due_on < today else "in_time"


def default_period(school: School) -> tuple[date, date]:
    today = today_in(school)
    return today - timedelta(days=DEFAULT_DAYS), today


def report(school: School, start: date | None = None, end: date | None = None) -> Report:
    """The school's compliance for patches released from `start` to `end` (inclusive)."""
    first, last = default_period(school)
    start, end = start or first, end or last
    today = today_in(school)
    result = Report(school=school, start=start, end=end, today=today, policy=PatchPolicy.of(school))
    result.by_severity = {s.value: Tally() for s in Severity}
    patches = list(
        Patch.objects.filter(school=school, release_date__gte=start, release_date__lte=end)
        .select_related("vendor", "change")
        .order_by("-release_date", "-id")
    )
    verdicts = {}
    for patch in patches:
        found = verdict(patch, today)
        verdicts[patch.pk] = found
        result.total.add(found)
        result.by_severity[patch.severity].add(found)
        result.patches.append((patch, found))
    links = Patch.items.through.objects.filter(patch_id__in=list(verdicts)).values_list(
        "configurationitem_id", "patch_id"
    )
    per_item: dict[int, Tally] = defaultdict(Tally)
    for item_id, patch_id in links:
        per_item[item_id].add(verdicts[patch_id])
    items = ConfigurationItem.objects.in_bulk(list(per_item))
    result.by_item = sorted(
        ((items[i], t) for i, t in per_item.items()),
        key=lambda pair: (-pair[1].overdue, -pair[1].late, pair[0].name.lower()),
    )
    return result


def summary(schools: list[School], start: date, end: date) -> list[tuple[School, Tally]]:
    """Each school's totals for patches released from `start` to `end`, in one query
    however many schools (each judged by its own day)."""
    tallies = {school.pk: Tally() for school in schools}
    todays = {school.pk: today_in(school) for school in schools}
    rows = Patch.objects.filter(
        school_id__in=list(tallies), release_date__gte=start, release_date__lte=end
    ).only("pk", "school_id", "state", "due_on", "deployed_on")
    for patch in rows.iterator(chunk_size=2000):
        tallies[patch.school_id].add(verdict(patch, todays[patch.school_id]))
    return [(school, tallies[school.pk]) for school in schools]
