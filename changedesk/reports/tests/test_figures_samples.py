"""Medians across several schools from the archive: a snapshot keeps its period's stage times
(`Snapshot.samples`), so a report across several schools makes its medians from them and
reads live only the periods not frozen (and those of a snapshot that kept none). The medians
equal those read live; old snapshots without samples still give the right figures; the
number of queries stays the same whatever is frozen."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from changedesk.accounts import permissions
from changedesk.accounts.services import set_membership
from changedesk.changes.services import create_change
from changedesk.changes.workflow import perform
from changedesk.conftest import REQUEST
from changedesk.reports import archive, figures
from changedesk.reports.models import Snapshot
from changedesk.reports.tests import test_figures
from changedesk.reports.tests.test_figures_archive import AFTER, NOVEMBER

pytestmark = pytest.mark.django_db

october = test_figures.october  # the hand-counted RFCs about October 2026 at Greenfield


@pytest.fixture
def hillside(team, school, other_school):
    """RFCs at Hillside too (the same people), each submitted and approved after `hours`:
    time awaiting initial approval in September, October (two) and November 2026."""
    for user in team.values():
        set_membership(user, other_school, sorted(permissions.roles(user, school)))
    for month, day, hours in ((9, 3, 5), (10, 7, 30), (10, 20, 3), (11, 2, 7)):
        with time_machine.travel(datetime(2026, month, day, 9, tzinfo=UTC), tick=False) as t:
            change = create_change(other_school, team["olivia"], dict(REQUEST))
            perform(change.pk, "submit", team["olivia"])
            t.shift(timedelta(hours=hours, seconds=1))
            perform(change.pk, "approve", team["ian"])


def trend(result, key):
    return [point["value"] for point in result["trend"][key]]


def freeze_year(school) -> None:
    for start, _ in figures.periods_ending("month", NOVEMBER)[:-1]:
        archive.freeze(school, "month", start, now=AFTER)


def stage_periods(monkeypatch) -> list[dict[int, list[int]]]:
    """Each stage query's periods read live, per school: {school id: [period's index]}."""
    seen: list[dict[int, list[int]]] = []
    real = figures._stage_rows

    def spy(bounds):
        seen.append({s.pk: counted for members, counted in bounds.groups for s in members})
        return real(bounds)

    monkeypatch.setattr(figures, "_stage_rows", spy)
    return seen


def queries(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def test_a_frozen_period_keeps_its_stage_times(other_school, hillside):
    snapshot = archive.freeze(other_school, "month", date(2026, 10, 1), now=AFTER)
    assert snapshot.samples["version"] == figures.SAMPLES_VERSION
    seconds = snapshot.samples["seconds"]
    assert seconds["awaiting_initial_approval"] == [3 * 3600 + 1, 30 * 3600 + 1]
    assert set(seconds) == set(figures.STAGE_STATES)
    # Outside the digest: the figures are the report as it stood.
    assert archive.verify(snapshot)


def test_medians_from_samples_equal_medians_read_live(
    school, other_school, october, hillside, monkeypatch
):
    both = [school, other_school]
    live = figures.report_many(both, "month", NOVEMBER)
    assert trend(live, "stage_awaiting_initial_approval")[-3:] == [5.0, 3.0, 7.0]
    for one in both:
        freeze_year(one)
    assert Snapshot.objects.filter(samples__isnull=False).count() == 22
    seen = stage_periods(monkeypatch)
    assert figures.report_many(both, "month", NOVEMBER) == live
    # Only the period asked for is read live.
    assert seen == [{school.pk: [11], other_school.pk: [11]}]
    # Each school alone, from its snapshots, as before.
    for one in both:
        assert (
            figures.report_many([one], "month", NOVEMBER)["trend"]
            == (figures.report(one, "month", NOVEMBER)["trend"])
        )


def test_a_snapshot_s_samples_make_the_median(school, other_school, october, hillside):
    # Greenfield's October kept one time awaiting initial approval: 101 hours. With
    # Hillside's 3 h and 30 h (live), the median is 30 h (read live, it is 3 h).
    assert trend(figures.report_many([school, other_school], "month", NOVEMBER),
                 "stage_awaiting_initial_approval")[-2] == 3.0  # fmt: skip
    store_with(school, date(2026, 10, 1), figures.stored_samples(
        {"awaiting_initial_approval": [101 * 3600]}))  # fmt: skip
    result = figures.report_many([school, other_school], "month", NOVEMBER)
    assert trend(result, "stage_awaiting_initial_approval")[-2] == 30.0


def store_with(school, start, samples) -> Snapshot:
    """A snapshot of the school's month whose figures are the live report's, keeping
    `samples` (None: as frozen before samples were kept)."""
    data = json.loads(archive.canonical(figures.report(school, "month", start)))
    return Snapshot.objects.create(
        school=school,
        period="month",
        start=start,
        end=figures.next_start("month", start),
        figures=data,
        digest=archive.digest_of(data),
        frozen_at=AFTER,
        samples=samples,
    )


def test_old_snapshots_without_samples_are_read_live(
    school, other_school, october, hillside, monkeypatch
):
    both = [school, other_school]
    live = figures.report_many(both, "month", NOVEMBER)
    # Greenfield's year frozen before samples were kept; Hillside's with them.
    for start, _ in figures.periods_ending("month", NOVEMBER)[:-1]:
        store_with(school, start, None)
    freeze_year(other_school)
    assert not Snapshot.objects.filter(school=school, samples__isnull=False).exists()
    seen = stage_periods(monkeypatch)
    assert figures.report_many(both, "month", NOVEMBER) == live
    assert seen == [{school.pk: list(range(12)), other_school.pk: [11]}]


def test_samples_in_another_form_are_read_live(school, other_school, october, hillside):
    live = figures.report_many([school, other_school], "month", NOVEMBER)
    forms = ({"version": 99, "seconds": {}}, {"version": 1}, {"version": 1, "seconds": {}}, [], "x")
    for month, samples in zip((6, 7, 8, 9, 10), forms, strict=True):
        store_with(school, date(2026, month, 1), samples)
    assert figures.report_many([school, other_school], "month", NOVEMBER) == live


def test_too_many_stage_times_are_not_kept():
    many = {"planning": list(range(figures.MOST_SAMPLES + 1))}
    assert figures.stored_samples(many) is None
    kept = figures.stored_samples({"planning": [9, 3]})
    assert kept is not None and kept["seconds"]["planning"] == [3, 9]
    assert kept["seconds"]["approved"] == []


def test_the_query_count_of_report_many_stays_flat(school, other_school, october, hillside):
    both = [school, other_school]

    def many() -> int:
        return queries(lambda: figures.report_many(both, "month", NOVEMBER))

    nothing = many()
    for start, _ in figures.periods_ending("month", NOVEMBER)[:-2]:
        store_with(school, start, None)  # old snapshots, without samples
    assert many() == nothing
    freeze_year(other_school)
    assert many() == nothing
    store_with(school, date(2026, 10, 1), figures.stored_samples({}))
    assert many() == nothing
    assert nothing <= 13
