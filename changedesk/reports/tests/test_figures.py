"""The period report's figures against hand-counted RFCs built through the workflow, with
time travelled so that events fall either side of the period's edges in London: a month
across the end of British Summer Time, the year's end, the start of summer time; and a query
count that does not grow with the RFCs."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from changedesk.changes.services import create_change, update_change
from changedesk.changes.workflow import perform
from changedesk.communication.models import Notice, NoticeStatus
from changedesk.conftest import REQUEST, advance, plan_data
from changedesk.reports import figures
from changedesk.reports.models import ReportSettings


def _utc(*args):
    return datetime(*args, tzinfo=UTC)


def at(*args):
    return time_machine.travel(_utc(*args), tick=False)


def _raise(school, team, when, **extra):
    with at(*when):
        return create_change(school, team["olivia"], {**REQUEST, **extra})


def _do(change, action, actor, when, **kwargs):
    with at(*when):
        return perform(change.pk, action, actor, **kwargs)


def _values(result):
    return {f["key"]: f["value"] for g in result["groups"] for f in g["figures"]}


def _ids(result):
    return {f["key"]: f["ids"] for g in result["groups"] for f in g["figures"]}


@pytest.fixture
def october(team, school):
    """Six RFCs about October 2026 (summer time ends on 25 October): see each comment."""
    olivia, ian, peter, fiona = (team[n] for n in ("olivia", "ian", "peter", "fiona"))
    made = {}
    # 1: the whole path in October; caused incidents; its users told before its start.
    one = _raise(school, team, (2026, 10, 5, 9))
    _do(one, "submit", olivia, (2026, 10, 5, 10))
    _do(one, "approve", ian, (2026, 10, 5, 12))  # 2 h awaiting initial approval
    with at(2026, 10, 6, 12):
        update_change(one.pk, olivia, plan_data())  # planned start 13 October 18:00
        perform(one.pk, "submit_plan", olivia)  # 24 h planning
    _do(one, "approve", peter, (2026, 10, 6, 14))  # 2 h peer review
    _do(one, "approve", fiona, (2026, 10, 6, 18))  # 4 h final approval
    _do(one, "record_outcome", olivia, (2026, 10, 14, 10), data={"outcome": "succeeded"})
    review = {"records_updated": True, "caused_incidents": True, "users_informed": True}
    _do(one, "close", olivia, (2026, 10, 15, 10), data=review)  # 24 h implemented
    Notice.objects.create(
        school=school,
        change=one,
        title="Switch",
        status=NoticeStatus.PUBLISHED,
        first_published_at=_utc(2026, 10, 10),
        published_at=_utc(2026, 10, 10),
    )
    made["one"] = one
    # 2: raised at 00:30 on 1 October in London (23:30 UTC on 30 September): October's;
    # returned after 24 h, then withdrawn.
    two = _raise(school, team, (2026, 9, 30, 23, 30))
    _do(two, "submit", olivia, (2026, 10, 1, 0))
    _do(two, "return", ian, (2026, 10, 2, 0), comment="Say which switch.")
    _do(two, "withdraw", olivia, (2026, 10, 3, 0))
    made["two"] = two
    # 3: raised and submitted on 30 September in London (September's); rejected at 23:30
    # UTC on 31 October, which is 23:30 GMT: still October.
    three = _raise(school, team, (2026, 9, 30, 22, 30))
    _do(three, "submit", olivia, (2026, 9, 30, 22, 45))
    _do(three, "reject", ian, (2026, 10, 31, 23, 30), comment="Not this term.")
    made["three"] = three
    # 4: an emergency approved at once (30 min); failed at 00:30 on 1 November: November's.
    four = _raise(
        school,
        team,
        (2026, 10, 10, 8),
        is_emergency=True,
        emergency_justification="The server room is flooding.",
    )
    _do(four, "submit", olivia, (2026, 10, 10, 8, 10))
    _do(four, "approve", ian, (2026, 10, 10, 8, 40))
    _do(four, "record_outcome", olivia, (2026, 11, 1, 0, 30), data={"outcome": "failed_backed_out"})
    made["four"] = four
    # 5: raised at midnight on 1 November: November's.
    made["five"] = _raise(school, team, (2026, 11, 1, 0))
    # 6: approved in one instant on 20 October; planned to start on 27 October, untold.
    with at(2026, 10, 20, 9):
        six = create_change(school, olivia, dict(REQUEST))
        advance(six, team, "approved")
    made["six"] = six
    # 7: a standard change raised in October.
    with at(2026, 10, 21, 9):
        made["seven"] = create_change(school, olivia, dict(REQUEST), standard=True)
    return made


def test_october_by_hand(school, october):
    result = figures.report(school, "month", date(2026, 10, 17))
    assert result["start"] == "2026-10-01" and result["end"] == "2026-11-01"
    assert result["school"] == {"id": school.pk, "slug": school.slug, "name": school.name}
    values, ids = _values(result), _ids(result)
    pk = {name: change.pk for name, change in october.items()}
    assert values["raised"] == 5
    assert ids["raised"] == sorted(pk[n] for n in ("one", "two", "four", "six", "seven"))
    assert (values["emergencies"], ids["emergencies"]) == (1, [pk["four"]])
    assert (values["standard"], ids["standard"]) == (1, [pk["seven"]])
    assert values["approved"] == 3
    assert ids["approved"] == sorted([pk["one"], pk["four"], pk["six"]])
    assert (values["returned"], ids["returned"]) == (1, [pk["two"]])
    assert (values["rejected"], ids["rejected"]) == (1, [pk["three"]])
    assert (values["withdrawn"], ids["withdrawn"]) == (1, [pk["two"]])
    assert (values["succeeded"], ids["succeeded"]) == (1, [pk["one"]])
    assert (values["partly"], values["failed"]) == (0, 0)
    assert (values["caused_incidents"], ids["caused_incidents"]) == (1, [pk["one"]])
    assert (values["told"], ids["told"]) == (1, [pk["one"]])
    assert (values["not_told"], ids["not_told"]) == (1, [pk["six"]])
    # Awaiting initial approval: 2, 24, 744.75 (30 Sept 22:45 to 31 Oct 23:30), 0.5, 0.
    assert values["stage_awaiting_initial_approval"] == 2.0
    assert len(ids["stage_awaiting_initial_approval"]) == 5
    assert values["stage_planning"] == 12.0  # 24 and 0
    assert values["stage_awaiting_peer_review"] == 1.0  # 2 and 0
    assert values["stage_awaiting_final_approval"] == 2.0  # 4 and 0
    assert values["stage_approved"] == 184.0  # 6 Oct 18:00 to 14 Oct 10:00
    assert values["stage_implemented"] == 24.0
    # The release and patch figures are there, with no RFCs behind them.
    assert values["release_installed"] == 0 and ids["release_installed"] == []
    assert values["patches_released"] == 0
    json.dumps(result)  # JSON as it is: the archive freezes it


def test_november_and_the_trend(school, october):
    result = figures.report(school, "month", date(2026, 11, 1))
    values = _values(result)
    assert values["raised"] == 1 and values["failed"] == 1 and values["succeeded"] == 0
    assert values["stage_awaiting_initial_approval"] is None
    trend = result["trend"]["raised"]
    assert len(trend) == 12
    assert trend[-1] == {"start": "2026-11-01", "end": "2026-12-01", "value": 1}
    assert trend[-2]["value"] == 5 and trend[-3]["value"] == 1  # September: RFC 3
    assert result["trend"]["stage_planning"][-2]["value"] == 12.0
    assert result["trend"]["failed"][-2]["value"] == 0


def test_weeks_across_the_clock_change(school, october):
    # 19-26 October holds 6's approval (20 Oct) and the end of summer time (25 Oct).
    values = _values(figures.report(school, "week", date(2026, 10, 25)))
    assert values["approved"] == 1 and values["raised"] == 2  # 6 and 7
    # 26 Oct-2 Nov: 3's rejection at 23:30 GMT on 31 October, and 5 and 4's failure.
    values = _values(figures.report(school, "week", date(2026, 10, 26)))
    assert values["rejected"] == 1 and values["raised"] == 1 and values["failed"] == 1


def test_year_end_and_summer_time(school, team):
    # 23:30 UTC on 31 December is 31 December in London (winter): 2026's.
    dec = _raise(school, team, (2026, 12, 31, 23, 30))
    # Midnight UTC on 4 January 2027 is the first moment of the week from Monday 4 January.
    jan = _raise(school, team, (2027, 1, 4, 0))
    # 23:30 UTC on 31 March 2027 is 00:30 on 1 April in London (summer time): April's.
    april = _raise(school, team, (2027, 3, 31, 23, 30))
    assert _ids(figures.report(school, "month", date(2026, 12, 5)))["raised"] == [dec.pk]
    assert _ids(figures.report(school, "month", date(2027, 1, 5)))["raised"] == [jan.pk]
    assert _ids(figures.report(school, "month", date(2027, 3, 5)))["raised"] == []
    assert _ids(figures.report(school, "month", date(2027, 4, 5)))["raised"] == [april.pk]
    week = figures.report(school, "week", date(2027, 1, 1))
    assert (week["start"], week["end"]) == ("2026-12-28", "2027-01-04")
    assert _ids(week)["raised"] == [dec.pk]
    year = figures.report(school, "month", date(2027, 4, 1))["trend"]["raised"]
    assert [p["value"] for p in year[-5:]] == [1, 1, 0, 0, 1]  # Dec, Jan, Feb, Mar, Apr


def test_other_schools_do_not_count(school, other_school, oscar, october):
    with at(2026, 10, 9):
        create_change(other_school, oscar, dict(REQUEST))
    assert _values(figures.report(school, "month", date(2026, 10, 1)))["raised"] == 5
    assert _values(figures.report(other_school, "month", date(2026, 10, 1)))["raised"] == 1
    both = figures.report_many([school, other_school], "month", date(2026, 10, 1))
    assert _values(both)["raised"] == 6
    assert _values(both)["stage_awaiting_initial_approval"] == 2.0
    assert [s["slug"] for s in both["schools"]] == [school.slug, other_school.slug]


def test_periods_and_frequency(school):
    assert figures.period_bounds("month", date(2026, 12, 17)) == (
        date(2026, 12, 1),
        date(2027, 1, 1),
    )
    assert figures.period_bounds("week", date(2027, 1, 1)) == (date(2026, 12, 28), date(2027, 1, 4))
    assert figures.previous_start("month", date(2026, 1, 15)) == date(2025, 12, 1)
    assert figures.next_start("week", date(2026, 12, 30)) == date(2027, 1, 4)
    assert figures.frequency_of(school) == "month"
    ReportSettings.objects.create(school=school, frequency="week")
    assert figures.frequency_of(school) == "week"
    with pytest.raises(ValueError):
        figures.report(school, "year", date(2026, 1, 1))


def _build(school, team, count):
    for n in range(count):
        with at(2026, 10, 2 + n % 20, 9):
            change = create_change(school, team["olivia"], dict(REQUEST))
            perform(change.pk, "submit", team["olivia"])
            perform(change.pk, "approve" if n % 2 else "reject", team["ian"], comment="x")


def _queries(school):
    with CaptureQueriesContext(connection) as captured:
        figures.report(school, "month", date(2026, 10, 1))
    return len(captured.captured_queries)


@pytest.mark.django_db
def test_query_count_does_not_grow_with_the_rfcs(school, team):
    _build(school, team, 5)
    few = _queries(school)
    _build(school, team, 45)
    assert _values(figures.report(school, "month", date(2026, 10, 1)))["raised"] == 50
    assert _queries(school) == few
    assert few <= 14


def test_a_standard_change_and_a_partial_success(school, team):
    from changedesk.configuration.models import ConfigurationItem
    from changedesk.standard import services as standard
    from changedesk.standard.tests.conftest import CONTENT, approve

    laptops = ConfigurationItem.objects.create(school=school, name="Staff laptops")
    with at(2026, 9, 10, 9):
        template = standard.create_template(school, team["olivia"], dict(CONTENT), items=[laptops])
        approve(template, team)
    with at(2026, 10, 21, 9):
        change = standard.raise_change(
            template.pk, team["olivia"], planned_start=_utc(2026, 10, 29, 18)
        )
    _do(change, "record_outcome", team["olivia"], (2026, 10, 29, 20),
        data={"outcome": "partially_succeeded"})  # fmt: skip
    result = figures.report(school, "month", date(2026, 10, 1))
    values, ids = _values(result), _ids(result)
    assert ids["standard"] == [change.pk] and ids["approved"] == [change.pk]
    assert (values["partly"], ids["partly"]) == (1, [change.pk])
    assert values["succeeded"] == 0 and values["stage_approved"] == 8 * 24 + 11.0
    assert ids["not_told"] == [change.pk]
