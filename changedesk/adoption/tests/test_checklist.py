"""The review checklist judged from the data: each item failing and passing from hand-built
fixtures, with what fails it; the school's own items left to the school."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from changedesk.accounts.choices import Role
from changedesk.accounts.models import School
from changedesk.adoption import checklist
from changedesk.adoption.models import TrainingConfirmation
from changedesk.changes.models import Change
from changedesk.changes.services import create_change, update_change
from changedesk.changes.workflow import perform
from changedesk.communication.models import Notice
from changedesk.configuration.models import ConfigurationItem, ItemKind
from changedesk.conftest import REQUEST, advance, member, plan_data
from changedesk.releases.models import Installation, Software
from changedesk.releases.tests.releases_factories import make_build
from changedesk.reports.models import Decision, ReportSettings, Snapshot

pytestmark = pytest.mark.django_db


def judged(school: School, now: datetime | None = None) -> dict[str, checklist.Item]:
    return {item.key: item for item in checklist.evaluate(school, now)}


def test_every_fits_item_is_there_in_order(school, team):
    items = checklist.evaluate(school)
    assert [i.key for i in items] == list(checklist.KEYS)
    assert {i.area for i in items} == {"change", "release"}
    for item in items:
        if item.key in checklist.SCHOOL_KEYS:
            assert item.by == "school" and item.passed is None
        else:
            assert item.by == "data"


def test_roles_fail_until_each_change_role_is_held(school, team):
    item = judged(school)["roles"]
    assert item.passed is False
    assert "communicator" in item.detail
    assert item.link.startswith("/getting-started/roles/") or "/schools/" in item.link
    member("cora", school, [Role.COMMUNICATOR])
    assert judged(school)["roles"].passed is True


def test_trained_lists_who_has_not_confirmed(school, team):
    item = judged(school)["trained"]
    assert item.passed is False
    assert {f.label for f in item.failing} == {
        "Olivia Okafor", "Ian Ingram", "Peter Patel", "Fiona Fraser", "Ivan Ivanov"
    }  # fmt: skip
    now = timezone.now()
    for person in team.values():
        for role in person.memberships.get().role_list:
            TrainingConfirmation.objects.create(
                school=school, user=person, role=role, confirmed_at=now
            )
    item = judged(school)["trained"]
    assert item.passed is True and not item.failing


def test_the_forms_are_always_available(school, team):
    item = judged(school)["forms"]
    assert item.passed is True
    assert item.link.startswith("/getting-started/materials/")


# --- RFCs completed in full. ---


def _returned_twice(school, team) -> Change:
    change = create_change(school, team["olivia"], {**REQUEST, "title": "Upgrade the MIS"})
    perform(change.pk, "submit", team["olivia"])
    perform(change.pk, "return", team["ian"], comment="Say why.")
    perform(change.pk, "submit", team["olivia"])
    perform(change.pk, "return", team["ian"], comment="Say why, again.")
    perform(change.pk, "submit", team["olivia"])
    return advance(change, team, "approved")


def test_complete_passes_for_full_rfcs_approved_first_time(school, team, draft):
    assert judged(school)["complete"].passed is None  # nothing approved yet
    advance(draft, team, "approved")
    item = judged(school)["complete"]
    assert item.passed is True and "1 of 1" in item.detail


def test_complete_lists_rfcs_sent_back_more_than_once(school, team, draft):
    advance(draft, team, "approved")
    bad = _returned_twice(school, team)
    item = judged(school)["complete"]
    assert item.passed is False
    assert [f.label for f in item.failing] == [f"{bad.reference} Upgrade the MIS"]
    assert item.failing[0].why == "returned for amendment 2 times"
    assert item.failing[0].url == bad.get_absolute_url()


def test_complete_lists_an_emergency_approved_with_no_plan(school, team):
    change = create_change(
        school,
        team["olivia"],
        {**REQUEST, "is_emergency": True, "emergency_justification": "Registers are down."},
    )
    perform(change.pk, "submit", team["olivia"])
    perform(change.pk, "approve", team["ian"])
    item = judged(school)["complete"]
    assert item.passed is False
    assert "no full details, impact, risk, fallback plan" in item.failing[0].why


def test_complete_looks_at_the_last_three_months_only(school, team, draft):
    _returned_twice(school, team)
    later = timezone.now() + timedelta(days=100)
    assert judged(school, later)["complete"].passed is None


# --- Changes communicated before they start. ---


def _started(change: Change) -> datetime:
    change.refresh_from_db()
    assert change.planned_start is not None
    return change.planned_start


def _notice(change: Change, first: datetime, status: str = "published") -> Notice:
    return Notice.objects.create(
        school=change.school,
        change=change,
        title=change.title,
        status=status,
        published_at=first,
        first_published_at=first,
    )


def test_communicated_lists_approved_changes_with_no_notice(school, team, draft):
    change = advance(draft, team, "approved")
    start = _started(change)
    after = start + timedelta(days=1)
    assert judged(school, start - timedelta(days=1))["communicated"].passed is None
    item = judged(school, after)["communicated"]
    assert item.passed is False
    assert item.failing[0].label.startswith(change.reference)
    assert item.failing[0].why == "no notice published"
    _notice(change, start + timedelta(minutes=5))
    item = judged(school, after)["communicated"]
    assert item.failing[0].why == "the notice came after the start"


def test_communicated_passes_with_a_notice_before_the_start(school, team, draft):
    change = advance(draft, team, "approved")
    start = _started(change)
    notice = _notice(change, start - timedelta(days=2), status="withdrawn")
    assert judged(school, start + timedelta(days=1))["communicated"].passed is False
    Notice.objects.filter(pk=notice.pk).update(status="published")
    item = judged(school, start + timedelta(days=1))["communicated"]
    assert item.passed is True and not item.failing


def test_communicated_leaves_out_rfcs_never_approved(school, team, draft):
    advance(draft, team, "planning")
    update_change(draft.pk, team["olivia"], plan_data())
    start = _started(draft)
    assert judged(school, start + timedelta(days=1))["communicated"].passed is None


# --- Reports produced and used. ---

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def _began(school: School, day: datetime) -> None:
    School.objects.filter(pk=school.pk).update(created_at=day)
    school.refresh_from_db()


def _snapshot(school: School, start: date, period: str = "month") -> Snapshot:
    from changedesk.releases.measurements import period_bounds

    return Snapshot.objects.create(
        school=school,
        period=period,
        start=start,
        end=period_bounds(period, start)[1],
        figures={},
        digest="0" * 64,
        frozen_at=NOW,
    )


def test_reports_made_lists_each_missing_month_since_the_school_began(school, team):
    _began(school, datetime(2026, 1, 10, tzinfo=UTC))
    for month in (2, 3, 5):
        _snapshot(school, date(2026, month, 1))
    item = judged(school, NOW)["reports_made"]
    assert item.passed is False
    assert [f.label for f in item.failing] == ["The month 1 Apr 2026 to 30 Apr 2026"]
    assert "3 of the last 4 months" in item.detail
    _snapshot(school, date(2026, 4, 1))
    item = judged(school, NOW)["reports_made"]
    assert item.passed is True and not item.failing


def test_reports_made_follows_a_weekly_school(school, team):
    ReportSettings.objects.create(school=school, frequency="week")
    _began(school, datetime(2026, 5, 25, tzinfo=UTC))  # a Monday; NOW is Monday 15 June
    for day in (date(2026, 5, 25), date(2026, 6, 1)):
        _snapshot(school, day, "week")
    _snapshot(school, date(2026, 6, 1))  # a month's snapshot is no week's
    item = judged(school, NOW)["reports_made"]
    assert [f.label for f in item.failing] == ["The week 8 Jun 2026 to 14 Jun 2026"]


def test_a_new_school_has_no_report_to_miss_yet(school, team):
    _began(school, datetime(2026, 6, 2, tzinfo=UTC))
    item = judged(school, NOW)["reports_made"]
    assert item.passed is None and not item.failing


def test_reports_used_needs_a_decision_on_a_recent_report(school, team):
    _began(school, datetime(2026, 1, 10, tzinfo=UTC))
    old = _snapshot(school, date(2026, 2, 1))
    Decision.objects.create(
        snapshot=old, text="Old", decided_by="Fiona", decided_on=date(2026, 3, 2),
        recorded_by=team["sam"], recorded_at=NOW,
    )  # fmt: skip
    for month in (4, 5):
        _snapshot(school, date(2026, month, 1))
    item = judged(school, NOW)["reports_used"]
    assert item.passed is False
    assert [f.label for f in item.failing] == [
        "The report from 1 Apr 2026",
        "The report from 1 May 2026",
    ]
    may = Snapshot.objects.get(school=school, start=date(2026, 5, 1))
    Decision.objects.create(
        snapshot=may, text="Move the patch run to Thursdays", decided_by="Fiona Fraser",
        decided_on=date(2026, 6, 3), recorded_by=team["sam"], recorded_at=NOW,
    )  # fmt: skip
    item = judged(school, NOW)["reports_used"]
    assert item.passed is True
    assert "1 of the 2 reports" in item.detail
    release = judged(school, NOW)["release_reports"]
    assert release.passed is False  # March's report is missing
    _snapshot(school, date(2026, 3, 1))
    assert judged(school, NOW)["release_reports"].passed is True


# --- Release management. ---


def test_release_roles_and_their_training(school, team):
    item = judged(school)
    assert item["release_roles"].passed is False
    assert item["release_trained"].passed is False and not item["release_trained"].failing
    rachel = member("rachel", school, [Role.RELEASE_MANAGER])
    member("bella", school, [Role.BUILD_DEVELOPER])
    isaac = member("isaac", school, [Role.INSTALLER])
    item = judged(school)
    assert item["release_roles"].passed is True
    assert {f.label for f in item["release_trained"].failing} == {
        "Rachel Example", "Bella Example", "Isaac Example"
    }  # fmt: skip
    now = timezone.now()
    TrainingConfirmation.objects.create(
        school=school, user=rachel, role=Role.RELEASE_MANAGER, confirmed_at=now
    )
    # The installer's role has no guide of its own: the overview counts.
    TrainingConfirmation.objects.create(
        school=school, user=isaac, role="overview", confirmed_at=now
    )
    failing = judged(school)["release_trained"].failing
    assert [f.label for f in failing] == ["Bella Example"]


def test_the_software_library_exists_once_it_holds_something(school, team, other_school):
    assert judged(school)["library"].passed is False
    Software.objects.create(school=other_school, title="Office", location="Shelf 1")
    assert judged(school)["library"].passed is False
    Software.objects.create(school=school, title="Office", location="Shelf 1")
    assert judged(school)["library"].passed is True


def test_every_service_needs_a_build_procedure(school, team):
    service = ConfigurationItem.objects.create(
        school=school, name="Curriculum laptops", kind=ItemKind.SERVICE
    )
    item = judged(school)["builds_documented"]
    assert item.passed is False
    assert [f.label for f in item.failing] == ["Curriculum laptops"]
    make_build(school, "Laptop build", service=service)
    assert judged(school)["builds_documented"].passed is True


def _installation(school, installer, *, steps, change=None, days_ago=5) -> Installation:
    build = make_build(school, f"Build {Installation.objects.count()}")
    assert build.approved_version is not None
    return Installation.objects.create(
        school=school,
        build=build,
        version=build.approved_version,
        target="ICT suite 1",
        installer=installer,
        state="installed",
        checklist=[{"step": f"Step {n}", "done": done} for n, done in enumerate(steps)],
        change=change,
        finished_at=timezone.now() - timedelta(days=days_ago),
    )


def test_installations_follow_the_checklist_and_the_proper_routes(school, team, draft):
    assert judged(school)["install_checklist"].passed is None
    good = _installation(school, team["olivia"], steps=[True, True], change=draft)
    item = judged(school)
    assert item["install_checklist"].passed is True
    assert item["install_routes"].passed is True
    bad = _installation(school, team["olivia"], steps=[True, False])
    empty = _installation(school, team["olivia"], steps=[])
    _installation(school, team["olivia"], steps=[False], days_ago=200)  # too old to count
    item = judged(school)
    assert item["install_checklist"].passed is False
    assert [(f.url, f.why) for f in item["install_checklist"].failing] == [
        (f"/releases/installations/{empty.pk}/", "no checklist"),
        (f"/releases/installations/{bad.pk}/", "1 step(s) not ticked"),
    ] or [(f.url, f.why) for f in item["install_checklist"].failing] == [
        (f"/releases/installations/{bad.pk}/", "1 step(s) not ticked"),
        (f"/releases/installations/{empty.pk}/", "no checklist"),
    ]
    routes = item["install_routes"]
    assert routes.passed is False
    assert {f.url for f in routes.failing} == {
        f"/releases/installations/{bad.pk}/",
        f"/releases/installations/{empty.pk}/",
    }
    assert f"/releases/installations/{good.pk}/" not in {f.url for f in routes.failing}


def test_the_checklist_costs_the_same_queries_however_many_rfcs(school, team, draft):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    advance(draft, team, "approved")
    now = _started(draft) + timedelta(days=1)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            checklist.evaluate(school, now)
        return len(captured)

    count()  # the school's adoption row is made when first asked for
    few = count()
    for n in range(5):
        extra = create_change(school, team["olivia"], {**REQUEST, "title": f"Change {n}"})
        advance(extra, team, "approved")
        _returned_twice(school, team)
    _installation(school, team["olivia"], steps=[True])
    _installation(school, team["olivia"], steps=[False])
    assert count() == few
    assert few <= 20
