"""FITS's five release management figures for a school over a period, shared by the figures
page and the API.

    installed     builds installed in the period: installations that finished as installed
                  in [start, end), the days being the school's (its time zone)
    created       builds created in the period: build procedure versions approved in the
                  period (a new build's first version, or a new version of one: each is a
                  build the installers can now follow)
    documented    builds documented in total at the end of the period: active builds with a
                  version approved before the period's end
    services      services in the school: its configuration items of kind service
                  catalogued before the period's end and not retired (an item's retirement
                  keeps no date: a retired service counts in no period)
    undocumented  services still to document: of those, the ones with no active build
                  documented before the period's end

A period is [start, end): `period_bounds` gives a week (Monday to Monday) or a month. Each
figure is one query over the school's rows, bounded in time and served by an index
((school, state, finished_at) for installations, (school, approved_at) for versions), the
same few queries for one period or many (`figures_many`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from django.db.models import Case, Count, Min, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_noop

from changedesk.accounts.models import School
from changedesk.configuration.models import ConfigurationItem, ItemKind
from changedesk.releases.choices import InstallationState
from changedesk.releases.models import BuildVersion, Installation

NAMES = ("installed", "created", "documented", "services", "undocumented")
LABELS = {
    "installed": gettext_noop("Builds installed"),
    "created": gettext_noop("Builds created (versions approved)"),
    "documented": gettext_noop("Builds documented in total"),
    "services": gettext_noop("Services in the school"),
    "undocumented": gettext_noop("Services still to document"),
}
PERIODS = ("month", "week")
# The days a period may be asked for (a far date is no period of release management, and
# the year 9999's last month or week has no end a date can hold).
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
DAYS_TEXT = f"Give a date from {EARLIEST.isoformat()} to {LATEST.isoformat()}."


def sane_day(day: date) -> bool:
    """Whether figures may be asked for the period holding `day`."""
    return EARLIEST <= day <= LATEST


def period_bounds(kind: str, day: date) -> tuple[date, date]:
    """The week (Monday to the next Monday) or month (the 1st to the next 1st) holding
    `day`, as [start, end)."""
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    if kind == "month":
        start = day.replace(day=1)
        return start, date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    raise ValueError(f"A period is a week or a month, not {kind!r}.")


def periods_before(kind: str, day: date, count: int) -> list[tuple[date, date]]:
    """The `count` periods of `kind` up to and including the one holding `day`, oldest
    first."""
    found = [period_bounds(kind, day)]
    while len(found) < count:
        found.append(period_bounds(kind, found[-1][0] - timedelta(days=1)))
    return found[::-1]


def _at(school: School, day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=school.zone)


def figures(school: School, start: date, end: date) -> dict[str, int]:
    """The five figures for [start, end) at `school`."""
    return figures_many(school, [(start, end)])[0]


def figures_many(school: School, periods: Sequence[tuple[date, date]]) -> list[dict[str, int]]:
    """The five figures for each period, in four queries however many periods."""
    if not periods:
        return []
    bounds = [(_at(school, s), _at(school, e)) for s, e in periods]
    first = min(s for s, _ in bounds)
    last = max(e for _, e in bounds)
    installed = Installation.objects.filter(
        school=school,
        state=InstallationState.INSTALLED,
        finished_at__gte=first,
        finished_at__lt=last,
    ).aggregate(
        **{
            f"p{n}": Count("id", filter=Q(finished_at__gte=s, finished_at__lt=e))
            for n, (s, e) in enumerate(bounds)
        }
    )
    created = BuildVersion.objects.filter(
        school=school, approved_at__gte=first, approved_at__lt=last
    ).aggregate(
        **{
            f"p{n}": Count("id", filter=Q(approved_at__gte=s, approved_at__lt=e))
            for n, (s, e) in enumerate(bounds)
        }
    )
    # Each active build's first approval (and its service): a few rows a school.
    documented: list[dict[str, Any]] = cast(Any, list)(
        BuildVersion.objects.filter(
            school=school, approved_at__isnull=False, approved_at__lt=last, build__is_active=True
        )
        .values("build_id", "build__service_id")
        .annotate(first=Min("approved_at"))
        .order_by()
    )
    # The services as the period ends: those catalogued by then (and not retired).
    catalogued = dict(
        ConfigurationItem.objects.filter(
            school=school, kind=ItemKind.SERVICE, is_active=True, created_at__lt=last
        ).values_list("pk", "created_at")
    )
    rows = []
    for n, (_, end) in enumerate(bounds):
        services = {pk for pk, created in catalogued.items() if created < end}
        ready = [d for d in documented if d["first"] < end]
        covered = {d["build__service_id"] for d in ready} & services
        rows.append(
            {
                "installed": installed[f"p{n}"] or 0,
                "created": created[f"p{n}"] or 0,
                "documented": len({d["build_id"] for d in ready}),
                "services": len(services),
                "undocumented": len(services - covered),
            }
        )
    return rows


def figures_summed(
    schools: Sequence[School],
    periods: Sequence[tuple[date, date]],
    counted: dict[int, frozenset[int]] | None = None,
) -> list[dict[str, int]]:
    """The five figures of several schools summed, for each period (each school's days),
    in four queries however many schools and periods: each count one query grouped by
    period (a CASE over each time zone's bounds), the builds and services read once for all
    the schools. `counted` names, by school id, the periods (indices) to count for it (the
    others are left at zero: the caller has them); a school not named counts them all."""
    totals = [dict.fromkeys(NAMES, 0) for _ in periods]
    if not schools or not periods:
        return totals
    everything = frozenset(range(len(periods)))
    # The schools sharing a time zone and the periods counted: one set of bounds each.
    groups: dict[tuple[str, frozenset[int]], list[School]] = defaultdict(list)
    for school in schools:
        wanted = everything if counted is None else counted.get(school.pk, everything)
        groups[(school.timezone, wanted)].append(school)
    ends: dict[int, list[datetime]] = {}  # school id -> each period's end, its instant
    installed_when: list[tuple[Q, int]] = []
    created_when: list[tuple[Q, int]] = []
    for (_, wanted), members in groups.items():
        ids = [s.pk for s in members]
        instants = [(_at(members[0], s), _at(members[0], e)) for s, e in periods]
        for school in members:
            ends[school.pk] = [e for _, e in instants]
        for n in sorted(wanted):
            s, e = instants[n]
            installed_when.append((Q(school_id__in=ids, finished_at__gte=s, finished_at__lt=e), n))
            created_when.append((Q(school_id__in=ids, approved_at__gte=s, approved_at__lt=e), n))
    ids = list(ends)
    first = min(_at(s, periods[0][0]) for s in schools)
    last = max(e[-1] for e in ends.values())
    if installed_when:
        for column, queryset, whens, name in (
            (
                "finished_at",
                Installation.objects.filter(state=InstallationState.INSTALLED),
                installed_when,
                "installed",
            ),
            ("approved_at", BuildVersion.objects.all(), created_when, "created"),
        ):
            rows = (
                queryset.filter(
                    school_id__in=ids, **{f"{column}__gte": first, f"{column}__lt": last}
                )
                .annotate(bucket=Case(*(When(q, then=Value(n)) for q, n in whens), default=None))
                .order_by()
                .values("bucket")
                .annotate(n=Count("*"))
                .values_list("bucket", "n")
            )
            for bucket, n in rows:
                if bucket is not None:
                    totals[bucket][name] += n
    # Each active build's first approval (and its service), and the services catalogued.
    documented: dict[int, list[tuple[int, int | None, datetime]]] = defaultdict(list)
    for school_id, build_id, service_id, approved in (
        BuildVersion.objects.filter(
            school_id__in=ids, approved_at__isnull=False, approved_at__lt=last,
            build__is_active=True,
        )
        .values("school_id", "build_id", "build__service_id")
        .annotate(first=Min("approved_at"))
        .order_by()
        .values_list("school_id", "build_id", "build__service_id", "first")
    ):  # fmt: skip
        documented[school_id].append((build_id, service_id, approved))
    catalogued: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    for school_id, pk, created in (
        ConfigurationItem.objects.filter(
            school_id__in=ids, kind=ItemKind.SERVICE, is_active=True, created_at__lt=last
        )
        .order_by()
        .values_list("school_id", "pk", "created_at")
    ):
        catalogued[school_id].append((pk, created))
    for (_, wanted), members in groups.items():
        for school in members:
            for n in wanted:
                end = ends[school.pk][n]
                services = {pk for pk, created in catalogued[school.pk] if created < end}
                ready = [(b, svc) for b, svc, approved in documented[school.pk] if approved < end]
                covered = {svc for _, svc in ready} & services
                totals[n]["documented"] += len({b for b, _ in ready})
                totals[n]["services"] += len(services)
                totals[n]["undocumented"] += len(services - covered)
    return totals


def figures_by_school(
    schools: Sequence[School], kind: str, day: date | None = None, now: datetime | None = None
) -> list[tuple[School, date, date, dict[str, int]]]:
    """The five figures of each school for the period of `kind` holding `day` (default:
    today at the school), in four queries however many schools: each figure is counted for
    all of them at once, grouped by school (the schools of a time zone share their bounds)."""
    if not schools:
        return []
    now = now or timezone.now()
    by_zone: dict[str, list[School]] = defaultdict(list)
    for school in schools:
        by_zone[school.timezone].append(school)
    periods: dict[int, tuple[date, date]] = {}
    installed_q = created_q = documented_q = Q(pk__in=[])
    for group in by_zone.values():
        zone = group[0].zone
        start, end = period_bounds(kind, day or now.astimezone(zone).date())
        first = datetime.combine(start, time(), tzinfo=zone)
        last = datetime.combine(end, time(), tzinfo=zone)
        ids = [s.pk for s in group]
        installed_q |= Q(school_id__in=ids, finished_at__gte=first, finished_at__lt=last)
        created_q |= Q(school_id__in=ids, approved_at__gte=first, approved_at__lt=last)
        documented_q |= Q(school_id__in=ids, approved_at__lt=last)
        for school in group:
            periods[school.pk] = (start, end)
    installed = dict(
        Installation.objects.filter(installed_q, state=InstallationState.INSTALLED)
        .values("school_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("school_id", "n")
    )
    created = dict(
        BuildVersion.objects.filter(created_q)
        .values("school_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("school_id", "n")
    )
    # The active builds with a version approved before the period's end (and their service).
    documented: dict[int, set[tuple[int, int | None]]] = defaultdict(set)
    for school_id, build_id, service_id in (
        BuildVersion.objects.filter(documented_q, approved_at__isnull=False, build__is_active=True)
        .order_by()
        .values_list("school_id", "build_id", "build__service_id")
        .distinct()
    ):
        documented[school_id].add((build_id, service_id))
    # The services as each period ends: those catalogued by then (and not retired).
    services: dict[int, set[int]] = defaultdict(set)
    zone_of = {s.pk: s.zone for s in schools}
    for school_id, pk, catalogued_at in (
        ConfigurationItem.objects.filter(
            school_id__in=list(periods), kind=ItemKind.SERVICE, is_active=True
        )
        .order_by()
        .values_list("school_id", "pk", "created_at")
    ):
        school_end = periods[school_id][1]
        if catalogued_at < datetime.combine(school_end, time(), tzinfo=zone_of[school_id]):
            services[school_id].add(pk)
    rows = []
    for school in schools:
        start, end = periods[school.pk]
        builds = documented[school.pk]
        covered = {service for _, service in builds if service is not None} & services[school.pk]
        rows.append(
            (
                school,
                start,
                end,
                {
                    "installed": installed.get(school.pk, 0),
                    "created": created.get(school.pk, 0),
                    "documented": len({build for build, _ in builds}),
                    "services": len(services[school.pk]),
                    "undocumented": len(services[school.pk] - covered),
                },
            )
        )
    return rows
