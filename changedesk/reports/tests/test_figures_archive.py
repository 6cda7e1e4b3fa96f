"""The report's trend read from the archive: a past period a school has frozen takes its
figures from the snapshot (one query for all of them) instead of counting again, the period
asked for is always counted live, several schools add their snapshots' counts (never their
medians), a snapshot lacking a figure is counted again, and the number of queries does not
depend on how many periods are frozen. Also the event kinds the stage query asks for."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from changedesk.changes.choices import State
from changedesk.changes.models import Change
from changedesk.changes.services import create_change
from changedesk.changes.workflow import TRANSITIONS
from changedesk.conftest import REQUEST
from changedesk.reports import archive, figures
from changedesk.reports.models import Snapshot
from changedesk.reports.tests import test_figures

pytestmark = pytest.mark.django_db

october = test_figures.october  # the hand-counted RFCs about October 2026
NOVEMBER = date(2026, 11, 1)
AFTER = datetime(2026, 12, 2, 9, tzinfo=UTC)


def raised_at(school, person, when: datetime) -> Change:
    change = create_change(school, person, dict(REQUEST))
    Change.objects.filter(pk=change.pk).update(created_at=when)
    return change


def trend(result, key):
    return [point["value"] for point in result["trend"][key]]


def store(school, start: date, **values) -> Snapshot:
    """A snapshot of the school's month from `start` whose figures are the live report's
    with `values` put in their place (a figure set to None is left out)."""
    data = json.loads(archive.canonical(figures.report(school, "month", start)))
    for group in data["groups"]:
        group["figures"] = [
            {**f, "value": values.get(f["key"], f["value"])}
            for f in group["figures"]
            if not (f["key"] in values and values[f["key"]] is None)
        ]
    return Snapshot.objects.create(
        school=school,
        period="month",
        start=start,
        end=figures.next_start("month", start),
        figures=data,
        digest=archive.digest_of(data),
        frozen_at=AFTER,
    )


def queries(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def freeze_year(school, last: date) -> None:
    """Freeze the 11 months before the month from `last`."""
    for start, _ in figures.periods_ending("month", last)[:-1]:
        archive.freeze(school, "month", start, now=AFTER)


def test_frozen_past_periods_give_the_same_trend(school, october):
    live = figures.report(school, "month", NOVEMBER)
    freeze_year(school, NOVEMBER)
    assert Snapshot.objects.filter(school=school).count() == 11
    assert figures.report(school, "month", NOVEMBER) == live


def test_a_snapshot_s_values_show_in_the_trend(school, team, october):
    store(school, date(2026, 10, 1), raised=99, stage_planning=7.5)
    result = figures.report(school, "month", NOVEMBER)
    assert trend(result, "raised")[-2:] == [99, 1]  # October frozen, November live
    assert trend(result, "stage_planning")[-2] == 7.5
    assert trend(result, "raised")[-3] == 1  # September, not frozen: counted (RFC 3)
    # An RFC dated in October after the freeze changes the live count, not the trend.
    raised_at(school, team["olivia"], datetime(2026, 10, 20, 9, tzinfo=UTC))
    assert trend(figures.report(school, "month", NOVEMBER), "raised")[-2] == 99


def test_the_period_asked_for_is_counted_live_even_when_frozen(school, team, october):
    store(school, date(2026, 10, 1), raised=99)
    result = figures.report(school, "month", date(2026, 10, 1))
    assert figures.figure(result, "raised")["value"] == 5  # type: ignore[index]
    assert trend(result, "raised")[-1] == 5
    assert len(figures.figure(result, "raised")["ids"]) == 5  # type: ignore[index]


def test_only_the_school_s_own_month_snapshots_count(school, other_school, october):
    store(school, date(2026, 10, 1), raised=99)
    assert trend(figures.report(school, "month", date(2026, 12, 1)), "raised")[-3] == 99
    # Not another school's, and not a week's trend.
    assert 99 not in trend(figures.report(other_school, "month", NOVEMBER), "raised")
    assert 99 not in trend(figures.report(school, "week", date(2026, 11, 2)), "raised")


def test_a_snapshot_lacking_a_figure_is_counted_again(school, october):
    store(school, date(2026, 10, 1), raised=99, release_installed=None)
    assert trend(figures.report(school, "month", NOVEMBER), "raised")[-2] == 5


def test_several_schools_add_counts_and_count_medians_again(school, other_school, oscar, october):
    raised_at(other_school, oscar, datetime(2026, 10, 9, tzinfo=UTC))
    store(
        school,
        date(2026, 10, 1),
        raised=99,
        stage_planning=777.0,
        patches_on_time=1,
        patches_deployed=2,
        patches_overdue=2,
        patches_percent_on_time=0,
    )
    both = figures.report_many([school, other_school], "month", NOVEMBER)
    assert trend(both, "raised")[-2] == 99 + 1
    assert trend(both, "stage_planning")[-2] == 12.0  # the live median (24 h and 0 h)
    assert trend(both, "patches_percent_on_time")[-2] == 25  # 1 of 4 due, from the counts
    # A school without snapshots is counted as before.
    alone = figures.report_many([other_school], "month", NOVEMBER)
    assert trend(alone, "raised")[-2] == 1


def test_the_number_of_queries_does_not_depend_on_the_archive(school, other_school, october):
    report = queries(lambda: figures.report(school, "month", NOVEMBER))
    many = queries(lambda: figures.report_many([school, other_school], "month", NOVEMBER))
    store(school, date(2026, 10, 1))
    assert queries(lambda: figures.report(school, "month", NOVEMBER)) == report
    freeze_year(school, NOVEMBER)
    assert queries(lambda: figures.report(school, "month", NOVEMBER)) == report
    assert queries(lambda: figures.report_many([school, other_school], "month", NOVEMBER)) == many
    assert report <= 13


def test_the_stage_query_asks_for_every_kind_that_leaves_a_stage():
    stages = {state for state, _, _ in figures.STAGES}
    for row in TRANSITIONS:
        if str(row.source) in stages and (row.target != row.source or row.route):
            assert str(row.action) in figures.LEAVING_KINDS
    assert "edit" not in figures.LEAVING_KINDS and "create" not in figures.LEAVING_KINDS
    assert State.APPROVED.value in stages


def test_runs_of_periods():
    assert figures._runs([]) == []
    assert figures._runs([0, 1, 2, 5, 7, 8]) == [(0, 2), (5, 5), (7, 8)]
    assert figures._runs([11]) == [(11, 11)]


def test_every_event_query_is_bounded_by_kind_and_reads_only_the_index(
    school, other_school, october
):
    for call in (
        lambda: figures.report(school, "month", NOVEMBER),
        lambda: figures.report_many([school, other_school], "month", NOVEMBER),
    ):
        with CaptureQueriesContext(connection) as captured:
            call()
        events = [
            q["sql"] for q in captured.captured_queries if 'FROM "changes_changeevent"' in q["sql"]
        ]
        assert len(events) == 3  # the counts, the stage times, the ids of the period
        for sql in events:
            assert '"changes_changeevent"."kind" IN' in sql
            assert '"changes_changeevent"."created_at" >=' in sql
            # Nothing the covering (kind, created_at) index does not hold.
            assert '"changes_changeevent"."data"' not in sql
            assert '"changes_changeevent"."id"' not in sql
