"""`measurements.figures_summed` (a trust's and `all` schools' release figures, in the same
queries however many schools) adds up exactly what `figures_many` finds school by school,
each school in its own time zone, and leaves at zero the periods a school's snapshot has."""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext

from changedesk.accounts.services import create_school
from changedesk.configuration.models import ConfigurationItem, ItemKind
from changedesk.releases import measurements
from changedesk.releases.models import BuildVersion, Installation
from changedesk.releases.tests.releases_factories import make_build

PERIODS = measurements.periods_before("month", date(2026, 7, 15), 3)  # May, June, July


def _utc(*args):
    return datetime(*args, tzinfo=UTC)


def _scene(school, isaac, services: int, installs: list[datetime]) -> None:
    made = [
        ConfigurationItem.objects.create(school=school, name=f"S{n}", kind=ItemKind.SERVICE)
        for n in range(services)
    ]
    ConfigurationItem.objects.filter(pk__in=[m.pk for m in made]).update(
        created_at=_utc(2026, 6, 30, 23, 30)  # 1 July in London, 30 June in New York
    )
    device = ConfigurationItem.objects.create(school=school, name="PC", kind=ItemKind.DEVICE_GROUP)
    build = make_build(school, "Image", service=made[0], approved_at=_utc(2026, 5, 31, 23, 30))
    make_build(school, "Office", approved_at=_utc(2026, 7, 3))
    for finished in installs:
        Installation.objects.create(
            school=school,
            build=build,
            version=BuildVersion.objects.get(build=build),
            item=device,
            installer=isaac,
            state="installed",
            finished_at=finished,
        )


def _sum(schools, counted=None):
    totals = [dict.fromkeys(measurements.NAMES, 0) for _ in PERIODS]
    for school in schools:
        wanted = range(len(PERIODS)) if counted is None else sorted(counted[school.pk])
        found = measurements.figures_many(school, [PERIODS[n] for n in wanted])
        for n, row in zip(wanted, found, strict=True):
            for name, value in row.items():
                totals[n][name] += value
    return totals


def test_the_sum_of_each_schools_figures(school, other_school, isaac):
    far = create_school("Far Away", "far-away", timezone="America/New_York")
    _scene(school, isaac, 2, [_utc(2026, 6, 30, 23, 30), _utc(2026, 6, 10)])
    _scene(other_school, isaac, 1, [_utc(2026, 7, 31, 23, 30)])
    _scene(far, isaac, 3, [_utc(2026, 7, 1, 2, 0), _utc(2026, 8, 1, 3, 0)])
    schools = [school, other_school, far]
    assert measurements.figures_summed(schools, PERIODS) == _sum(schools)
    # A school's frozen periods are left at zero: only those named are counted.
    counted = {school.pk: frozenset({2}), other_school.pk: frozenset(), far.pk: frozenset({0, 2})}
    assert measurements.figures_summed(schools, PERIODS, counted) == _sum(schools, counted)
    # July: Greenfield's 00:30 on 1 July (London) and Far Away's 23:00 on 31 July (New York).
    assert [row["installed"] for row in measurements.figures_summed(schools, PERIODS)] == [
        0,
        2,
        2,
    ]


def test_the_same_queries_however_many_schools(school, other_school, isaac):
    def queries(schools):
        with CaptureQueriesContext(connection) as captured:
            measurements.figures_summed(schools, PERIODS)
        return len(captured.captured_queries)

    few = queries([school])
    assert queries([school, other_school, create_school("Third", "third")]) == few == 4
