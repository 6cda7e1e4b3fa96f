"""FITS's five release figures: each one, the period's edges in the school's time zone, and
a query count that does not grow with the rows."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from changedesk.configuration.models import ConfigurationItem, ItemKind
from changedesk.releases import measurements
from changedesk.releases.models import BuildVersion, Installation
from changedesk.releases.tests.releases_factories import make_build

JULY = (date(2026, 7, 1), date(2026, 8, 1))
JUNE = (date(2026, 6, 1), date(2026, 7, 1))


def _utc(*args):
    return datetime(*args, tzinfo=UTC)


def _install(school, build, item, installer, finished, state="installed"):
    return Installation.objects.create(
        school=school,
        build=build,
        version=BuildVersion.objects.get(build=build),
        item=item,
        installer=installer,
        state=state,
        finished_at=finished,
    )


def test_period_bounds():
    assert measurements.period_bounds("month", date(2026, 12, 17)) == (
        date(2026, 12, 1),
        date(2027, 1, 1),
    )
    assert measurements.period_bounds("week", date(2026, 12, 3)) == (
        date(2026, 11, 30),
        date(2026, 12, 7),
    )
    with pytest.raises(ValueError):
        measurements.period_bounds("year", date(2026, 1, 1))
    months = measurements.periods_before("month", date(2026, 3, 15), 13)
    assert months[0] == (date(2025, 3, 1), date(2025, 4, 1)) and len(months) == 13
    assert months[-1] == (date(2026, 3, 1), date(2026, 4, 1))


def test_installed_counts_the_schools_days(school, other_school, isaac, laptop):
    build = make_build(school, "Image", approved_at=_utc(2026, 1, 5))
    # 23:30 UTC on 30 June is 00:30 on 1 July in London (summer time): July's.
    _install(school, build, laptop, isaac, _utc(2026, 6, 30, 23, 30))
    # 22:59 UTC on 30 June is 23:59 in London: June's.
    _install(school, build, laptop, isaac, _utc(2026, 6, 30, 22, 59))
    # The first moment of August in London is August's, not July's.
    _install(school, build, laptop, isaac, _utc(2026, 7, 31, 23, 0))
    _install(school, build, laptop, isaac, _utc(2026, 7, 10), state="failed")
    theirs = make_build(other_school, "Theirs", approved_at=_utc(2026, 1, 5))
    item = ConfigurationItem.objects.create(
        school=other_school, name="PC", kind=ItemKind.DEVICE_GROUP
    )
    _install(other_school, theirs, item, isaac, _utc(2026, 7, 10))
    assert measurements.figures(school, *JULY)["installed"] == 1
    assert measurements.figures(school, *JUNE)["installed"] == 1


def test_created_is_versions_approved_in_the_period(school):
    make_build(school, "Image", approved_at=_utc(2026, 7, 3))
    make_build(school, "Office", approved_at=_utc(2026, 6, 30, 23, 30))  # 1 July in London
    make_build(school, "Browser", approved_at=_utc(2026, 6, 3))
    make_build(school, "Draft", documented=False)
    assert measurements.figures(school, *JULY)["created"] == 2
    assert measurements.figures(school, *JUNE)["created"] == 1


def test_documented_is_counted_at_the_end_of_the_period(school):
    make_build(school, "Image", approved_at=_utc(2026, 6, 3))
    make_build(school, "Office", approved_at=_utc(2026, 7, 3))
    make_build(school, "Draft", documented=False)
    retired = make_build(school, "Old", approved_at=_utc(2026, 1, 3))
    retired.is_active = False
    retired.save()
    assert measurements.figures(school, *JUNE)["documented"] == 1
    assert measurements.figures(school, *JULY)["documented"] == 2


def test_services_and_services_still_to_document(school, service):
    email = ConfigurationItem.objects.create(school=school, name="E-mail", kind=ItemKind.SERVICE)
    ConfigurationItem.objects.create(
        school=school, name="Old MIS", kind=ItemKind.SERVICE, is_active=False
    )
    ConfigurationItem.objects.create(school=school, name="Switch", kind=ItemKind.NETWORK_DEVICE)
    make_build(school, "Laptop image", service=service, approved_at=_utc(2026, 7, 3))
    make_build(school, "Mail client", service=email, documented=False)
    # Both catalogued in May; a third only in July.
    ConfigurationItem.objects.filter(pk__in=[service.pk, email.pk]).update(
        created_at=_utc(2026, 5, 1)
    )
    later = ConfigurationItem.objects.create(school=school, name="Wi-Fi", kind=ItemKind.SERVICE)
    ConfigurationItem.objects.filter(pk=later.pk).update(created_at=_utc(2026, 7, 20))
    june = measurements.figures(school, *JUNE)
    july = measurements.figures(school, *JULY)
    assert (june["services"], june["undocumented"]) == (2, 2)
    assert (july["services"], july["undocumented"]) == (3, 2)
    # Many schools at once count the same way.
    (row,) = measurements.figures_by_school([school], "month", JULY[0])
    assert (row[3]["services"], row[3]["undocumented"]) == (3, 2)


def test_the_query_count_is_flat(school, isaac, laptop, django_assert_num_queries):
    with django_assert_num_queries(4):
        measurements.figures_many(
            school, measurements.periods_before("month", date(2026, 7, 1), 13)
        )
    for n in range(5):
        build = make_build(school, f"Build {n}", approved_at=_utc(2026, 7, 3))
        _install(school, build, laptop, isaac, _utc(2026, 7, 10))
    with django_assert_num_queries(4):
        rows = measurements.figures_many(
            school, measurements.periods_before("month", date(2026, 7, 1), 13)
        )
    assert rows[-1]["installed"] == 5 and rows[-1]["created"] == 5
    assert rows[-2] == {
        "installed": 0,
        "created": 0,
        "documented": 0,
        "services": 0,
        "undocumented": 0,
    }
