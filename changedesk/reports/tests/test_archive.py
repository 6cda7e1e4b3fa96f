"""The report archive's services: freezing at the right boundaries (London midnight in
summer time and in winter, a week across the year end), idempotent freezing, missed
periods caught up by the worker's job, and decisions validated and append-only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from changedesk.accounts.services import create_school
from changedesk.changes.models import Change
from changedesk.changes.services import create_change
from changedesk.conftest import REQUEST
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.notifications import worker
from changedesk.reports import archive, figures
from changedesk.reports.models import Decision, Period, ReportSettings, Snapshot

pytestmark = pytest.mark.django_db


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def raised_at(school, person, when: datetime, title: str = "") -> Change:
    """An RFC raised at `when` (its creation time set afterwards)."""
    change = create_change(school, person, {**REQUEST, "title": title or REQUEST["title"]})
    Change.objects.filter(pk=change.pk).update(created_at=when)
    return change


def raised(snapshot: Snapshot) -> dict:
    found = figures.figure(snapshot.figures, "raised")
    assert found is not None
    return found


# --- Boundaries. ---


def test_a_summer_month_ends_at_midnight_british_summer_time(school, team):
    # September 2026 ends at 00:00 BST on 1 October, which is 23:00 UTC on 30 September.
    inside = raised_at(school, team["olivia"], utc(2026, 9, 30, 22, 30))  # 23:30 BST
    raised_at(school, team["olivia"], utc(2026, 9, 30, 23, 30))  # 00:30 BST, October
    with pytest.raises(InvalidAction):
        archive.freeze(school, "month", date(2026, 9, 1), now=utc(2026, 9, 30, 22, 59))
    assert not Snapshot.objects.exists()
    snapshot = archive.freeze(school, "month", date(2026, 9, 1), now=utc(2026, 9, 30, 23, 0))
    assert (snapshot.start, snapshot.end) == (date(2026, 9, 1), date(2026, 10, 1))
    assert raised(snapshot)["value"] == 1
    assert raised(snapshot)["ids"] == [inside.pk]


def test_a_winter_month_ends_at_midnight_greenwich_mean_time(school, team):
    # November 2026 ends at 00:00 GMT on 1 December, which is 00:00 UTC.
    raised_at(school, team["olivia"], utc(2026, 11, 30, 23, 59))
    with pytest.raises(InvalidAction, match="has not ended"):
        archive.freeze(school, "month", date(2026, 11, 1), now=utc(2026, 11, 30, 23, 59, 59))
    snapshot = archive.freeze(school, "month", date(2026, 11, 1), now=utc(2026, 12, 1, 0, 0))
    assert snapshot.end == date(2026, 12, 1)
    assert raised(snapshot)["value"] == 1


def test_a_week_across_the_year_end(school, team):
    # The week from Monday 28 December 2026 to Monday 4 January 2027.
    new_year = raised_at(school, team["olivia"], utc(2027, 1, 1, 10, 0))
    old_year = raised_at(school, team["olivia"], utc(2026, 12, 29, 10, 0))
    raised_at(school, team["olivia"], utc(2027, 1, 4, 0, 5))  # the next week
    with pytest.raises(InvalidAction):
        archive.freeze(school, "week", date(2026, 12, 28), now=utc(2027, 1, 3, 23, 59))
    snapshot = archive.freeze(school, "week", date(2026, 12, 28), now=utc(2027, 1, 4, 0, 0))
    assert (snapshot.start, snapshot.end) == (date(2026, 12, 28), date(2027, 1, 4))
    assert raised(snapshot)["ids"] == sorted([old_year.pk, new_year.pk])


def test_a_school_elsewhere_freezes_at_its_own_midnight(db, team):
    sydney = create_school("Harbour School", "harbour")
    sydney.timezone = "Australia/Sydney"
    sydney.save()
    # 1 December 2026 begins in Sydney (AEDT, +11) at 13:00 UTC on 30 November.
    with pytest.raises(InvalidAction):
        archive.freeze(sydney, "month", date(2026, 11, 1), now=utc(2026, 11, 30, 12, 59))
    assert archive.freeze(sydney, "month", date(2026, 11, 1), now=utc(2026, 11, 30, 13, 0))


def test_a_day_that_does_not_start_a_period_or_an_unknown_period_is_refused(school):
    with pytest.raises(InvalidAction) as refused:
        archive.freeze(school, "month", date(2026, 9, 2), now=utc(2026, 12, 1))
    assert "start" in refused.value.fields
    with pytest.raises(InvalidAction):
        archive.freeze(school, "week", date(2026, 11, 3), now=utc(2026, 12, 1))  # a Tuesday
    with pytest.raises(InvalidAction) as refused:
        archive.freeze(school, "year", date(2026, 1, 1), now=utc(2027, 1, 2))
    assert "period" in refused.value.fields
    assert not Snapshot.objects.exists()


# --- Idempotent, and frozen. ---


def test_freezing_again_returns_the_snapshot_already_there_unchanged(school, team):
    raised_at(school, team["olivia"], utc(2026, 10, 10, 9))
    first = archive.freeze(school, "month", date(2026, 10, 1), now=utc(2026, 11, 1, 1))
    raised_at(school, team["olivia"], utc(2026, 10, 11, 9))  # comes too late for it
    again = archive.freeze(school, "month", date(2026, 10, 1), now=utc(2026, 11, 2, 1))
    assert again.pk == first.pk
    again.refresh_from_db()
    assert again.frozen_at == utc(2026, 11, 1, 1)
    assert again.digest == first.digest
    assert raised(again)["value"] == 1
    assert Snapshot.objects.count() == 1


def test_the_digest_is_the_sha256_of_the_stored_figures_as_canonical_json(school, team):
    raised_at(school, team["olivia"], utc(2026, 10, 10, 9))
    snapshot = archive.freeze(school, "month", date(2026, 10, 1), now=utc(2026, 11, 1, 1))
    snapshot = Snapshot.objects.get(pk=snapshot.pk)  # as read back from the database
    assert len(snapshot.digest) == 64
    assert archive.verify(snapshot)
    assert snapshot.figures["school"]["slug"] == "greenfield"
    assert archive.digest_of({"b": 1, "a": [1, 2]}) == archive.digest_of({"a": [1, 2], "b": 1})
    assert archive.digest_of({"a": 1}) != archive.digest_of({"a": 2})
    snapshot.figures["groups"][0]["figures"][0]["value"] = 999  # tampered with, in memory
    assert not archive.verify(snapshot)


def test_a_snapshot_refuses_to_be_changed_or_deleted(school, team):
    snapshot = archive.freeze(school, "month", date(2026, 10, 1), now=utc(2026, 11, 1, 1))
    snapshot.digest = "0" * 64
    with pytest.raises(TypeError):
        snapshot.save()
    with pytest.raises(TypeError):
        snapshot.delete()
    with pytest.raises(TypeError):
        Snapshot.objects.filter(pk=snapshot.pk).update(figures={})
    with pytest.raises(TypeError):
        Snapshot.objects.filter(pk=snapshot.pk).delete()
    fresh = Snapshot.objects.get(pk=snapshot.pk)
    assert fresh.digest != "0" * 64 and archive.verify(fresh)


def test_a_later_change_to_the_rfcs_leaves_the_snapshot_as_frozen(school, team):
    change = raised_at(school, team["olivia"], utc(2026, 10, 10, 9))
    snapshot = archive.freeze(school, "month", date(2026, 10, 1), now=utc(2026, 11, 1, 1))
    stored = Snapshot.objects.get(pk=snapshot.pk).figures
    # Afterwards: an RFC is moved out of October and two more are backdated into it.
    Change.objects.filter(pk=change.pk).update(created_at=utc(2026, 9, 10, 9))
    raised_at(school, team["olivia"], utc(2026, 10, 20, 9))
    raised_at(school, team["olivia"], utc(2026, 10, 21, 9))
    now = figures.report(school, "month", date(2026, 10, 1))
    assert figures.figure(now, "raised")["value"] == 2  # the live report has moved on
    fresh = Snapshot.objects.get(pk=snapshot.pk)
    assert fresh.figures == stored
    assert fresh.digest == snapshot.digest and archive.verify(fresh)
    assert raised(fresh)["ids"] == [change.pk]


# --- The worker's job. ---


def test_the_job_is_registered_with_the_worker_and_freezes_the_last_period(school, team):
    assert worker.has_job(archive.JOB_NAME)
    raised_at(school, team["olivia"], utc(2026, 11, 5, 9))
    worker.run_jobs(utc(2026, 12, 1, 0, 30))
    snapshot = Snapshot.objects.get(school=school)
    assert (snapshot.period, snapshot.start) == ("month", date(2026, 11, 1))
    assert snapshot.frozen_at == utc(2026, 12, 1, 0, 30)
    # The next pass finds nothing to do.
    worker.run_jobs(utc(2026, 12, 1, 0, 31))
    assert Snapshot.objects.filter(school=school).count() == 1


def test_the_job_freezes_at_the_school_frequency(school, team):
    ReportSettings.objects.create(school=school, frequency=Period.WEEK)
    raised_at(school, team["olivia"], utc(2026, 12, 30, 9))
    archive.freeze_due(utc(2027, 1, 4, 0, 1))
    assert list(Snapshot.objects.values_list("period", "start", "end")) == [
        ("week", date(2026, 12, 28), date(2027, 1, 4))
    ]


def test_nothing_is_frozen_before_a_period_ends(school, team):
    raised_at(school, team["olivia"], utc(2026, 11, 5, 9))
    archive.freeze_due(utc(2026, 11, 30, 23, 59))
    assert not Snapshot.objects.filter(period="month", start=date(2026, 11, 1)).exists()


def test_missed_periods_are_caught_up_back_to_the_first_rfc(school, team):
    raised_at(school, team["olivia"], utc(2026, 7, 15, 9))
    archive.freeze_due(utc(2026, 12, 2, 9))
    starts = sorted(Snapshot.objects.filter(school=school).values_list("start", flat=True))
    assert starts == [date(2026, m, 1) for m in (7, 8, 9, 10, 11)]


def test_catching_up_is_bounded(school, team):
    raised_at(school, team["olivia"], utc(2024, 1, 15, 9))
    archive.freeze_due(utc(2026, 12, 2, 9))
    starts = sorted(Snapshot.objects.filter(school=school).values_list("start", flat=True))
    assert len(starts) == archive.MOST_CATCH_UP
    assert starts[0] == date(2025, 12, 1) and starts[-1] == date(2026, 11, 1)


def test_missed_periods_after_the_last_snapshot_are_caught_up(school, team):
    raised_at(school, team["olivia"], utc(2026, 3, 15, 9))
    archive.freeze(school, "month", date(2026, 8, 1), now=utc(2026, 9, 1, 1))
    archive.freeze_due(utc(2026, 12, 2, 9))
    starts = sorted(Snapshot.objects.filter(school=school).values_list("start", flat=True))
    # Only those after the last snapshot: the months before it are not filled in.
    assert starts == [date(2026, m, 1) for m in (8, 9, 10, 11)]


def test_a_school_with_no_rfcs_has_only_its_last_period_frozen(school):
    archive.freeze_due(utc(2026, 12, 2, 9))
    assert list(Snapshot.objects.values_list("start", flat=True)) == [date(2026, 11, 1)]


def test_a_pass_with_everything_frozen_costs_a_fixed_few_queries(
    school, other_school, team, django_assert_max_num_queries
):
    raised_at(school, team["olivia"], utc(2026, 10, 15, 9))
    archive.freeze_due(utc(2026, 12, 2, 9))
    for n in range(5):
        create_school(f"School {n}", f"school-{n}")
    archive.freeze_due(utc(2026, 12, 2, 9))
    with django_assert_max_num_queries(3):
        assert archive.freeze_due(utc(2026, 12, 3, 9)) == []


def test_a_failing_school_is_logged_and_the_others_are_frozen(school, other_school, monkeypatch):
    real = figures.report_and_samples

    def report(one, period, start):
        if one.pk == school.pk:
            raise RuntimeError("boom")
        return real(one, period, start)

    monkeypatch.setattr(figures, "report_and_samples", report)
    archive.freeze_due(utc(2026, 12, 2, 9))
    assert list(Snapshot.objects.values_list("school__slug", flat=True)) == ["hillside"]


# --- Decisions. ---


@pytest.fixture
def october(school, team) -> Snapshot:
    raised_at(school, team["olivia"], utc(2026, 10, 10, 9))
    return archive.freeze(school, "month", date(2026, 10, 1), now=utc(2026, 11, 1, 1))


def test_an_approver_records_a_decision(october, team):
    decision = archive.record_decision(
        october,
        team["fiona"],
        "  More lead time for network changes.  ",
        "Committee",
        date(2026, 11, 5),
    )
    assert (decision.text, decision.decided_by, decision.recorded_by) == (
        "More lead time for network changes.",
        "Committee",
        team["fiona"],
    )
    assert decision.recorded_at is not None


@pytest.mark.parametrize(
    ("text", "decided_by", "decided_on", "field"),
    [
        ("", "Committee", date(2026, 11, 5), "text"),
        ("   ", "Committee", date(2026, 11, 5), "text"),
        ("x" * (archive.MOST_TEXT + 1), "Committee", date(2026, 11, 5), "text"),
        ("Fine", "", date(2026, 11, 5), "decided_by"),
        ("Fine", "x" * 201, date(2026, 11, 5), "decided_by"),
        ("Fine", "Committee", None, "decided_on"),
        ("Fine", "Committee", date(2026, 9, 30), "decided_on"),
        ("Fine", "Committee", date.today() + timedelta(days=2), "decided_on"),
        ("Fi\x00ne", "Committee", date(2026, 11, 5), "text"),
    ],
)
def test_a_bad_decision_is_refused_with_its_field(
    october, team, text, decided_by, decided_on, field
):
    with pytest.raises(InvalidAction) as refused:
        archive.record_decision(october, team["fiona"], text, decided_by, decided_on)
    assert field in refused.value.fields
    assert not Decision.objects.exists()


def test_only_those_who_may_decide_record_decisions(october, team):
    for person in (team["olivia"], team["peter"], team["ivan"]):
        with pytest.raises(NotPermitted):
            archive.record_decision(october, person, "No.", "Me", date(2026, 11, 5))
    for person in (team["ian"], team["fiona"], team["sam"]):
        archive.record_decision(october, person, "Yes.", "Committee", date(2026, 11, 5))
    assert Decision.objects.count() == 3


def test_decisions_are_append_only(october, team):
    decision = archive.record_decision(october, team["fiona"], "Yes.", "Fiona", date(2026, 11, 5))
    decision.text = "Changed"
    with pytest.raises(TypeError):
        decision.save()
    with pytest.raises(TypeError):
        decision.delete()
    with pytest.raises(TypeError):
        Decision.objects.filter(pk=decision.pk).update(text="Changed")
    with pytest.raises(TypeError):
        Decision.objects.all().delete()
    assert Decision.objects.get(pk=decision.pk).text == "Yes."
