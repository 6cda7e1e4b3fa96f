"""Deadlines: the school's policy (days from release by severity), due dates across months
and leap years, the school's day (British Summer Time and the clock change) for a deployment
recorded by an RFC's outcome and for what is overdue, the compliance figures, and the
worker's daily pass (deferrals reopened, overdue patches told to the patch administrators)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from changedesk.accounts.choices import Role
from changedesk.changes.models import ChangeEvent
from changedesk.changes.services import create_change
from changedesk.changes.workflow import perform as act
from changedesk.conftest import REQUEST, advance, member
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.notifications.models import OutboxMessage
from changedesk.patches import compliance, jobs, services, workflow
from changedesk.patches.models import Patch, PatchEvent, PatchPolicy, today_in
from changedesk.patches.tests.conftest import new_patch, take

pytestmark = pytest.mark.django_db


def _items(school):
    """Every item of the school: an RFC deploying patches names what they apply to."""
    from changedesk.configuration.models import ConfigurationItem

    return list(ConfigurationItem.objects.filter(school=school))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _own_worker_clock(monkeypatch):
    """The worker's memory of its last deadline pass is this test's own."""
    monkeypatch.setattr(jobs, "_last_deadlines", [])


def overdue_mail() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(template="patches_overdue").order_by("id"))


# --- The policy and due dates. ---


def test_the_default_policy(school):
    policy = PatchPolicy.of(school)
    assert policy.pk is None  # the default: nothing saved
    assert [policy.days(s) for s in ("critical", "high", "medium", "low")] == [14, 14, 30, 30]
    assert policy.nudge_overdue is True
    assert policy.due_on(date(2026, 3, 2), "high") == date(2026, 3, 16)


@pytest.mark.parametrize(
    ("now", "released", "severity", "due"),
    [
        # Across a month's end: 20 January + 14 days.
        (utc(2027, 1, 21, 12), date(2027, 1, 20), "critical", date(2027, 2, 3)),
        (utc(2027, 1, 21, 12), date(2027, 1, 20), "high", date(2027, 2, 3)),
        (utc(2027, 1, 21, 12), date(2027, 1, 20), "medium", date(2027, 2, 19)),
        # 31 January + 30 days: 2 March in 2027, 1 March in 2028 (a leap year).
        (utc(2027, 2, 1, 12), date(2027, 1, 31), "medium", date(2027, 3, 2)),
        (utc(2027, 2, 1, 12), date(2027, 1, 31), "low", date(2027, 3, 2)),
        (utc(2028, 2, 1, 12), date(2028, 1, 31), "medium", date(2028, 3, 1)),
        (utc(2028, 2, 1, 12), date(2028, 1, 31), "critical", date(2028, 2, 14)),
        # Across the year's end.
        (utc(2026, 12, 24, 12), date(2026, 12, 20), "critical", date(2027, 1, 3)),
    ],
)
def test_due_dates(now, released, severity, due, school, pam, vendor, pilot):
    with time_machine.travel(now, tick=False):
        patch = new_patch(
            school, pam, vendor, items=[pilot], release_date=released, severity=severity
        )
    assert Patch.objects.get(pk=patch.pk).due_on == due


def test_a_schools_policy_sets_the_due_dates(school, pam, vendor, pilot):
    services.save_policy(school, pam, {"critical_days": 3, "low_days": 60})
    critical = new_patch(school, pam, vendor, items=[pilot])
    low = new_patch(school, pam, vendor, items=[pilot], severity="low", reference="KB2")
    medium = new_patch(school, pam, vendor, items=[pilot], severity="medium", reference="KB3")
    assert critical.due_on == critical.release_date + timedelta(days=3)
    assert low.due_on == low.release_date + timedelta(days=60)
    assert medium.due_on == medium.release_date + timedelta(days=30)


def test_save_policy_moves_the_open_patches_not_the_deployed(school, pam, vendor, pilot, team):
    rfc = create_change(school, team["olivia"], dict(REQUEST), items=_items(school))
    made = {}
    for n, state in enumerate(
        ["available", "assessed", "tested", "scheduled", "deployed", "verified", "closed"]
    ):
        patch = new_patch(school, pam, vendor, items=[pilot], reference=f"KB{n}")
        patch = take(patch, min(state, "scheduled", key=_order), pam, change=rfc)
        if _order(state) >= _order("deployed"):
            patch = workflow.perform(patch.pk, "deploy", None, by_change=True)
        if _order(state) >= _order("verified"):
            rows = {"results": [{"item": pilot.pk, "result": "passed"}]}
            patch = workflow.perform(patch.pk, "verify", pam, rows)
        if state == "closed":
            patch = workflow.perform(patch.pk, "close", pam)
        made[state] = patch
    future = today_in(school) + timedelta(days=9)
    made["deferred"] = workflow.perform(
        new_patch(school, pam, vendor, items=[pilot], reference="KBd").pk,
        "defer",
        pam,
        {"reason": "Waiting", "defer_until": future},
    )
    made["not_applicable"] = workflow.perform(
        new_patch(school, pam, vendor, items=[pilot], reference="KBn").pk,
        "not_applicable",
        pam,
        {"reason": "No such product"},
    )
    released = made["available"].release_date
    assert {p.due_on for p in made.values()} == {released + timedelta(days=14)}
    events = PatchEvent.objects.count()

    policy = services.save_policy(school, team["sam"], {"critical_days": 7})

    assert policy.pk is not None and PatchPolicy.of(school).critical_days == 7
    due = {state: Patch.objects.get(pk=p.pk).due_on for state, p in made.items()}
    moved = released + timedelta(days=7)
    kept = released + timedelta(days=14)
    assert due == {
        "available": moved,
        "assessed": moved,
        "tested": moved,
        "scheduled": moved,
        "deferred": moved,
        "deployed": kept,
        "verified": kept,
        "closed": kept,
        "not_applicable": kept,
    }
    # A deployed patch keeps its verdict: deployed today, due (now) a week ago, still on time.
    assert Patch.objects.get(pk=made["deployed"].pk).on_time() is True
    # Each due date moved is in its patch's history.
    assert PatchEvent.objects.count() == events + 5
    moved_events = PatchEvent.objects.filter(kind="edit", actor=team["sam"])
    assert {e.data["changed"]["due_on"] for e in moved_events} == {moved.isoformat()}


def test_a_new_policy_does_not_excuse_an_overdue_patch(school, pam, vendor, team):
    late = new_patch(school, pam, vendor, release_date=today_in(school) - timedelta(days=20))
    assert late.is_overdue(today_in(school))
    services.save_policy(school, team["sam"], {"critical_days": 60})
    late.refresh_from_db()
    assert late.is_overdue(today_in(school))
    assert late.due_on == late.release_date + timedelta(days=14)


def _order(state: str) -> int:
    return ["available", "assessed", "tested", "scheduled", "deployed", "verified",
            "closed"].index(state)  # fmt: skip


@pytest.mark.parametrize("value", [0, 366, -1, "x", "14", 14.0, 7.5, True, False, None, [14]])
def test_policy_days_are_whole_days_from_1_to_365(value, school, pam, vendor, pilot):
    patch = new_patch(school, pam, vendor, items=[pilot])
    with pytest.raises(InvalidAction) as refused:
        services.save_policy(school, pam, {"high_days": 20, "critical_days": value})
    assert refused.value.fields == {"critical_days": "A whole number of days from 1 to 365."}
    assert not PatchPolicy.objects.filter(school=school).exists()
    assert Patch.objects.get(pk=patch.pk).due_on == patch.due_on


@pytest.mark.parametrize("value", [1, 365])
def test_policy_days_at_the_bounds(value, school, pam):
    assert services.save_policy(school, pam, {"medium_days": value}).medium_days == value
    assert PatchPolicy.of(school).medium_days == value


def test_policy_other_errors(school, pam, team):
    with pytest.raises(InvalidAction) as refused:
        services.save_policy(school, pam, {"nudge_overdue": "yes"})
    assert list(refused.value.fields) == ["nudge_overdue"]
    with pytest.raises(InvalidAction) as refused:
        services.save_policy(school, pam, {"urgent_days": 3})
    assert list(refused.value.fields) == ["urgent_days"]
    for person in (team["ivan"], team["olivia"], team["fiona"]):
        with pytest.raises(NotPermitted):
            services.save_policy(school, person, {"critical_days": 7})
    assert not PatchPolicy.objects.filter(school=school).exists()


# --- The school's day: a deployment recorded by an RFC's outcome. ---


def _scheduled_on_an_approved_rfc(school, team, pam, vendor, pilot, due: date):
    """A critical patch due on `due`, on an RFC taken to `approved` (done at the time it is
    called: travel first)."""
    patch = new_patch(school, pam, vendor, items=[pilot], release_date=due - timedelta(days=14))
    assert patch.due_on == due
    rfc = create_change(school, team["olivia"], dict(REQUEST), items=_items(school))
    take(patch, "scheduled", pam, change=rfc)
    advance(rfc, team, "approved")
    return Patch.objects.get(pk=patch.pk), rfc


@pytest.mark.parametrize(
    ("due", "outcome_at", "deployed_on", "on_time"),
    [
        # Summer time (BST, UTC+1): 22:30 UTC is 23:30 that day, 23:30 UTC is the next day.
        (date(2026, 7, 15), utc(2026, 7, 15, 22, 30), date(2026, 7, 15), True),
        (date(2026, 7, 15), utc(2026, 7, 15, 23, 30), date(2026, 7, 16), False),
        # Winter (GMT): 23:30 UTC is 23:30 the same day.
        (date(2026, 1, 15), utc(2026, 1, 15, 23, 30), date(2026, 1, 15), True),
        # The clocks go forward at 01:00 UTC on Sunday 28 March 2027.
        (date(2027, 3, 28), utc(2027, 3, 27, 23, 30), date(2027, 3, 27), True),
        (date(2027, 3, 28), utc(2027, 3, 28, 0, 30), date(2027, 3, 28), True),
        (date(2027, 3, 28), utc(2027, 3, 28, 22, 30), date(2027, 3, 28), True),
        (date(2027, 3, 28), utc(2027, 3, 28, 23, 30), date(2027, 3, 29), False),
        (date(2027, 3, 27), utc(2027, 3, 27, 23, 30), date(2027, 3, 27), True),
    ],
)
def test_a_deployment_is_dated_the_schools_day_of_the_outcome(
    due, outcome_at, deployed_on, on_time, school, team, pam, vendor, pilot
):
    with time_machine.travel(outcome_at - timedelta(days=8), tick=False):
        patch, rfc = _scheduled_on_an_approved_rfc(school, team, pam, vendor, pilot, due)
    with time_machine.travel(outcome_at, tick=False):
        act(rfc.pk, "record_outcome", team["olivia"], data={"outcome": "succeeded"})
    outcome = ChangeEvent.objects.get(change=rfc, kind="record_outcome")
    assert outcome.created_at == outcome_at
    patch.refresh_from_db()
    assert patch.state == "deployed"
    assert patch.deployed_on == deployed_on
    assert patch.on_time() is on_time
    event = patch.events.order_by("id").last()
    assert event.kind == "deploy" and event.actor == team["olivia"] and event.change_id == rfc.pk
    assert event.data == {"deployed_on": deployed_on.isoformat(), "on_time": on_time}
    assert compliance.verdict(patch, deployed_on) == ("on_time" if on_time else "late")


def test_today_in_the_school(school):
    assert today_in(school, utc(2026, 7, 15, 22, 59)) == date(2026, 7, 15)
    assert today_in(school, utc(2026, 7, 15, 23, 0)) == date(2026, 7, 16)
    assert today_in(school, utc(2026, 1, 15, 23, 59)) == date(2026, 1, 15)
    assert today_in(school, utc(2026, 10, 25, 0, 30)) == date(2026, 10, 25)  # 01:30 BST
    school.timezone = "Pacific/Auckland"
    school.save()
    assert today_in(school, utc(2026, 7, 15, 12, 0)) == date(2026, 7, 16)
    with time_machine.travel(utc(2026, 7, 15, 12, 30), tick=False):
        assert today_in(school) == date(2026, 7, 16)


# --- Overdue. ---


@pytest.mark.parametrize(
    ("now", "overdue"),
    [
        (utc(2026, 7, 15, 22, 30), False),  # 23:30 on the 15th in London: due today
        (utc(2026, 7, 15, 23, 30), True),  # 00:30 on the 16th in London: a day late
    ],
)
def test_overdue_is_by_the_schools_day(now, overdue, school, pam, vendor, pilot):
    with time_machine.travel(utc(2026, 7, 10, 12), tick=False):
        patch = new_patch(school, pam, vendor, items=[pilot], release_date=date(2026, 7, 1))
    assert patch.due_on == date(2026, 7, 15)
    with time_machine.travel(now, tick=False):
        today = today_in(school)
        assert patch.is_overdue(today) is overdue
        assert list(Patch.objects.overdue(today)) == ([patch] if overdue else [])
        assert services.deadline_text(patch, today) == ("1 day overdue" if overdue else "due today")
        report = compliance.report(school)
        assert report.total.overdue == int(overdue)
        assert report.total.in_time == int(not overdue)


def test_a_deployed_or_deferred_patch_is_not_overdue(school, pam, vendor, pilot, team):
    rfc = create_change(school, team["olivia"], dict(REQUEST), items=_items(school))
    long_ago = today_in(school) - timedelta(days=40)
    deployed = take(
        new_patch(school, pam, vendor, items=[pilot], release_date=long_ago), "scheduled", pam,
        change=rfc,
    )  # fmt: skip
    deployed = workflow.perform(deployed.pk, "deploy", None, by_change=True)
    deferred = workflow.perform(
        new_patch(school, pam, vendor, items=[pilot], release_date=long_ago, reference="K").pk,
        "defer",
        pam,
        {"reason": "Wait", "defer_until": today_in(school) + timedelta(days=3)},
    )
    today = today_in(school)
    assert not deployed.is_overdue(today) and not deferred.is_overdue(today)
    assert list(Patch.objects.overdue(today)) == []
    assert jobs.nudge_overdue(datetime.now(UTC)) == 0


# --- Compliance. ---


def test_compliance_counts_by_severity_and_item(
    school, other_school, pam, vendor, pilot, laptops, team
):
    today = today_in(school)
    rfc = create_change(school, team["olivia"], dict(REQUEST), items=_items(school))

    def made(ref, severity, released_days_ago, items):
        return new_patch(
            school, pam, vendor, items=items, reference=ref, severity=severity,
            release_date=today - timedelta(days=released_days_ago),
        )  # fmt: skip

    def deploy(patch, days_ago):
        patch = take(patch, "scheduled", pam, change=rfc)
        on = today - timedelta(days=days_ago)
        return workflow.perform(patch.pk, "deploy", None, {"deployed_on": on}, by_change=True)

    on_time = deploy(made("ON", "critical", 5, [pilot]), 1)  # due in 9 days
    late = deploy(made("LATE", "critical", 30, [pilot, laptops]), 2)  # due 16 days ago
    closed = deploy(made("CLOSED", "medium", 40, [laptops]), 35)  # due 10 days ago
    rows = {"results": [{"item": laptops.pk, "result": "passed"}]}
    workflow.perform(closed.pk, "verify", pam, rows)
    workflow.perform(closed.pk, "close", pam)
    overdue = workflow.perform(made("OVER", "high", 20, [laptops]).pk, "assess", pam)
    in_time = made("IN", "medium", 3, [pilot])
    deferred = workflow.perform(
        made("DEF", "high", 10, [laptops]).pk,
        "defer",
        pam,
        {"reason": "Breaks the MIS", "defer_until": today + timedelta(days=20)},
    )
    workflow.perform(made("NA", "low", 10, [pilot]).pk, "not_applicable", pam, {"reason": "No"})
    made("OLD", "critical", 200, [pilot])  # released before the period

    report = compliance.report(school)

    assert (report.start, report.end, report.today) == (today - timedelta(days=90), today, today)
    assert report.total.as_dict() == {
        "applicable": 6, "on_time": 2, "late": 1, "overdue": 1, "in_time": 1, "deferred": 1,
        "not_applicable": 1, "deployed": 3, "percent_on_time": 50,
    }  # fmt: skip
    figures = {s: (t.on_time, t.late, t.overdue, t.in_time, t.deferred, t.not_applicable)
               for s, t in report.by_severity.items()}  # fmt: skip
    assert figures == {
        "critical": (1, 1, 0, 0, 0, 0),
        "high": (0, 0, 1, 0, 1, 0),
        "medium": (1, 0, 0, 1, 0, 0),
        "low": (0, 0, 0, 0, 0, 1),
    }
    percents = {s: t.percent_on_time for s, t in report.by_severity.items()}
    assert percents == {"critical": 50, "high": 0, "medium": 100, "low": None}
    assert report.by_severity["low"].applicable == 0
    by_item = [(item.name, t.on_time, t.late, t.overdue, t.in_time, t.deferred,
                t.not_applicable) for item, t in report.by_item]  # fmt: skip
    assert by_item == [
        ("Staff laptops", 1, 1, 1, 0, 1, 0),
        ("Pilot laptop ICT-01", 1, 1, 0, 1, 0, 1),
    ]
    verdicts = {p.reference: v for p, v in report.patches}
    assert verdicts == {
        "ON": "on_time", "LATE": "late", "CLOSED": "on_time", "OVER": "overdue",
        "IN": "in_time", "DEF": "deferred", "NA": "not_applicable",
    }  # fmt: skip
    assert [p.reference for p in report.deferred] == ["DEF"]
    assert {p.reference for p, _ in report.urgent} == {"ON", "LATE", "OVER", "DEF"}
    data = report.as_dict()
    assert data["deferred"] == [
        {
            "patch": deferred.pk,
            "title": deferred.title,
            "reason": "Breaks the MIS",
            "defer_until": (today + timedelta(days=20)).isoformat(),
        }
    ]
    assert data["deadlines"] == {"critical": 14, "high": 14, "medium": 30, "low": 30}
    assert data["by_severity"]["critical"]["percent_on_time"] == 50
    assert {row["name"]: row["overdue"] for row in data["by_item"]} == {
        "Staff laptops": 1,
        "Pilot laptop ICT-01": 0,
    }
    assert on_time.on_time() and not late.on_time() and in_time.on_time() is None
    assert overdue.is_overdue(today)

    # A longer period takes in the old patch: still to be deployed, long overdue.
    wider = compliance.report(school, today - timedelta(days=365), today)
    assert wider.total.overdue == 2 and wider.by_severity["critical"].overdue == 1
    assert wider.total.percent_on_time == 40
    # Another school's patches are not counted, nor counted there.
    otto = member("otto", other_school, [Role.PATCH_ADMINISTRATOR])
    theirs = services.save_vendor(other_school, otto, {"name": "Microsoft"})
    new_patch(other_school, otto, theirs, release_date=today - timedelta(days=20))
    assert compliance.report(school).total.as_dict() == report.total.as_dict()
    assert compliance.report(other_school).total.overdue == 1


def test_compliance_with_nothing_due(school):
    report = compliance.report(school)
    assert report.total.percent_on_time is None
    assert report.total.applicable == 0 and report.by_item == []


# --- The worker's daily pass. ---


def test_a_deferral_whose_day_has_come_is_reopened(school, pam, vendor, pilot):
    with time_machine.travel(utc(2026, 7, 1, 12), tick=False):
        patch = new_patch(school, pam, vendor, items=[pilot], release_date=date(2026, 6, 30))
        later = new_patch(
            school, pam, vendor, items=[pilot], release_date=date(2026, 6, 30), reference="K2"
        )
        workflow.perform(
            patch.pk, "defer", pam, {"reason": "Vendor fix due", "defer_until": "2026-07-10"}
        )
        workflow.perform(later.pk, "defer", pam, {"reason": "Later", "defer_until": "2026-07-11"})
    # 23:30 on the 9th in London: not yet.
    assert jobs.deadlines(utc(2026, 7, 9, 22, 30), force=True) == (0, 0)
    assert Patch.objects.get(pk=patch.pk).state == "deferred"
    # 00:30 on the 10th in London (23:30 UTC on the 9th): its day has come.
    with time_machine.travel(utc(2026, 7, 9, 23, 30), tick=False):
        assert jobs.deadlines(utc(2026, 7, 9, 23, 30), force=True) == (1, 0)
    fresh = Patch.objects.get(pk=patch.pk)
    assert fresh.state == "available" and fresh.defer_until is None
    assert Patch.objects.get(pk=later.pk).state == "deferred"
    event = fresh.events.order_by("id").last()
    assert (event.kind, event.from_state, event.to_state) == ("reassess", "deferred", "available")
    assert event.actor is None and event.change is None
    assert event.comment == "Deferred until 10 July 2026: assess it again."
    assert event.data == {"was": "deferred"}
    # Once only.
    assert jobs.deadlines(utc(2026, 7, 10, 9), force=True) == (0, 0)
    assert fresh.events.filter(kind="reassess").count() == 1


@pytest.mark.usefixtures("midday")
def test_overdue_patches_are_told_once_a_day_to_each_patch_administrator(
    school, pam, vendor, pilot, team
):
    paul = member("paul", school, [Role.PATCH_ADMINISTRATOR])
    today = today_in(school)
    first = new_patch(school, pam, vendor, items=[pilot], release_date=today - timedelta(days=20))
    second = new_patch(
        school, pam, vendor, items=[pilot], release_date=today - timedelta(days=16),
        severity="high", reference="KB2",
    )  # fmt: skip
    new_patch(school, pam, vendor, items=[pilot], reference="KB3")  # not yet due
    now = datetime.now(UTC)

    assert jobs.deadlines(now, force=True) == (0, 2)
    mail = overdue_mail()
    assert sorted(m.recipient.username for m in mail) == ["pam", "paul"]
    assert {m.school_id for m in mail} == {school.pk}
    context = mail[0].context
    assert context["count"] == 2 and context["day"] == today.isoformat()
    assert [p["path"] for p in context["patches"]] == [
        first.get_absolute_url(),
        second.get_absolute_url(),
    ]
    assert paul.pk in {m.recipient_id for m in mail}
    # The same day again: nothing more.
    assert jobs.deadlines(now + timedelta(minutes=30), force=True) == (0, 0)
    assert len(overdue_mail()) == 2
    # The next day: told again.
    assert jobs.deadlines(now + timedelta(days=1), force=True) == (0, 2)
    assert len(overdue_mail()) == 4
    assert overdue_mail()[-1].context["day"] == (today + timedelta(days=1)).isoformat()


def test_no_reminder_when_the_school_turned_them_off(school, pam, vendor, pilot, team):
    new_patch(
        school, pam, vendor, items=[pilot], release_date=today_in(school) - timedelta(days=20)
    )
    services.save_policy(school, team["sam"], {"nudge_overdue": False})
    assert jobs.deadlines(datetime.now(UTC), force=True) == (0, 0)
    assert overdue_mail() == []
    services.save_policy(school, team["sam"], {"nudge_overdue": True})
    assert jobs.deadlines(datetime.now(UTC), force=True) == (0, 1)


@pytest.mark.usefixtures("midday")
def test_the_worker_skips_a_pass_within_ten_minutes_unless_forced(school, pam, vendor, pilot):
    new_patch(
        school, pam, vendor, items=[pilot], release_date=today_in(school) - timedelta(days=20)
    )
    now = datetime.now(UTC)
    assert jobs.deadlines(now - timedelta(minutes=3), force=True) == (0, 1)  # a pass just made
    OutboxMessage.objects.all().delete()  # (so that a pass now would queue the mail again)
    assert jobs.deadlines(now) == (0, 0)
    assert overdue_mail() == []
    assert jobs.deadlines(now + timedelta(minutes=8)) == (0, 1)


@pytest.mark.parametrize(
    ("zone", "quiet_at", "told_at"),
    [
        # Due 15 July: overdue from local midnight of the 16th.
        ("Europe/London", utc(2026, 7, 15, 22, 30), utc(2026, 7, 15, 23, 30)),
        ("Pacific/Auckland", utc(2026, 7, 15, 11, 30), utc(2026, 7, 15, 12, 30)),
        ("America/New_York", utc(2026, 7, 16, 3, 30), utc(2026, 7, 16, 4, 30)),
    ],
)
def test_the_reminder_uses_the_schools_day(zone, quiet_at, told_at, school, pam, vendor, pilot):
    school.timezone = zone
    school.save()
    with time_machine.travel(utc(2026, 7, 10, 12), tick=False):
        patch = new_patch(school, pam, vendor, items=[pilot], release_date=date(2026, 7, 1))
    assert patch.due_on == date(2026, 7, 15)
    assert jobs.deadlines(quiet_at, force=True) == (0, 0)
    assert jobs.deadlines(told_at, force=True) == (0, 1)
    (mail,) = overdue_mail()
    assert mail.context["day"] == "2026-07-16"
    assert mail.key == f"patches-overdue:{school.pk}:2026-07-16:{pam.pk}"
