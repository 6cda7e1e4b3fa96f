"""The demo's year of history, Greenfield's completed adoption, and Meadowbank just starting.

The demo is built as if it were 4 December 2026 at noon, so the months are known.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Membership, School, User
from changedesk.adoption.models import Adoption, PilotAnswer, TrainingConfirmation
from changedesk.changes.history import verify_all
from changedesk.changes.models import Change, ChangeEvent
from changedesk.communication.choices import NoticeKind, NoticeStatus
from changedesk.communication.models import Notice
from changedesk.notifications.models import OutboxMessage
from changedesk.reports import archive
from changedesk.reports.models import Decision, Snapshot
from changedesk.site import demo_history
from changedesk.site.demo import PASSWORD, SCHOOL_SLUG, build_demo
from changedesk.site.demo_history import PILOT_TITLE, build_history
from changedesk.site.demo_starting import SLUG as STARTING

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
# The demo's RFCs of now are made within the build; the history's are all a week old or more.
HISTORY_BEFORE = NOW - timedelta(days=7)


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    """The demo, built once for the module and rolled back after it (each test runs in a
    savepoint inside)."""
    fast = override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    with django_db_blocker.unblock(), fast, transaction.atomic():
        with time_machine.travel(NOW, tick=True):
            sign_ins = build_demo()
        yield sign_ins
        transaction.set_rollback(True)


@pytest.fixture
def demo(built, db) -> list[tuple[str, str, str]]:
    return list(built)


def history() -> list[Change]:
    return list(
        Change.objects.filter(school__slug=SCHOOL_SLUG, created_at__lt=HISTORY_BEFORE).order_by(
            "created_at"
        )
    )


def counts() -> dict[str, int]:
    models = (School, User, Membership, Change, ChangeEvent, Notice, OutboxMessage, Adoption,
              TrainingConfirmation, PilotAnswer)  # fmt: skip
    return {m.__name__: m.objects.count() for m in models}


def test_a_year_of_history_with_a_shape(demo):
    changes = history()
    zone = School.objects.get(slug=SCHOOL_SLUG).zone
    months = Counter(f"{c.created_at.astimezone(zone):%Y-%m}" for c in changes)

    assert 90 <= len(changes) <= 150
    assert changes[0].title == PILOT_TITLE
    assert changes[0].created_at < NOW - timedelta(days=360)
    # Busier in September and January, quiet in August and over Christmas.
    assert months["2026-09"] > 3 * months["2026-08"] > 0
    assert months["2026-01"] > 3 * months["2026-08"]
    assert all(months[f"2026-{m:02}"] for m in range(1, 12))
    assert months["2026-11"] >= 8  # the last month ends no lower for being recent
    assert not [
        c
        for c in changes
        if ((d := c.created_at.astimezone(zone)).month == 12 and d.day >= 20)
        or (d.month == 1 and d.day <= 4)
    ]


def test_the_history_has_a_realistic_mix(demo):
    changes = history()
    states = Counter(c.state for c in changes)
    outcomes = Counter(c.outcome for c in changes if c.outcome)
    emergencies = [c for c in changes if c.is_emergency]
    kinds = Counter(ChangeEvent.objects.filter(change__in=changes).values_list("kind", flat=True))

    assert states["closed"] > 0.8 * len(changes)
    assert states["rejected"] and states["withdrawn"]
    assert outcomes["succeeded"] > 0.7 * len(changes)
    assert outcomes["failed_backed_out"] and outcomes["partially_succeeded"]
    assert emergencies and all(c.ratified and c.state == "closed" for c in emergencies)
    assert kinds["return"] >= 5
    assert any(c.caused_incidents for c in changes)
    # Most approved changes were told to the users before they started; some were not.
    approved = [c for c in changes if c.planned_start and not c.is_emergency]
    told = {
        n.change_id
        for n in Notice.objects.filter(change__in=approved, status=NoticeStatus.PUBLISHED)
        if n.first_published_at and n.change and n.first_published_at < n.change.planned_start
    }
    assert 0.6 * len(approved) < len(told) < len(approved)


def test_each_step_happened_at_its_own_past_moment_in_a_safe_slot(demo):
    changes = history()
    zone = School.objects.get(slug=SCHOOL_SLUG).zone
    events = ChangeEvent.objects.filter(change__in=changes).order_by("change_id", "sequence")
    by_change: dict[int, list[datetime]] = {}
    for event in events:
        by_change.setdefault(event.change_id, []).append(event.created_at)

    for times in by_change.values():
        assert times == sorted(times)
        assert times[-1] < NOW
    for change in changes:
        assert change.created_at == by_change[change.pk][0]
        if change.planned_start and not change.is_emergency:
            start = change.planned_start.astimezone(zone)
            assert start.weekday() >= 5 or start.hour >= 18, change.title


def test_the_history_verifies(demo):
    out = StringIO()

    assert list(verify_all()) == []
    call_command("verify-history", stdout=out, stderr=StringIO())
    assert "RFC" in out.getvalue() or out.getvalue()


def test_running_it_again_changes_nothing(demo):
    before = counts()

    with time_machine.travel(NOW + timedelta(hours=2), tick=True):
        again = build_demo()

    assert counts() == before
    assert again == demo
    assert before["School"] == 4  # Greenfield, Meadowbank and Oakfield Trust's other two
    assert before["OutboxMessage"] == 0


def test_a_step_a_guard_refuses_is_reported_not_a_crash(demo, monkeypatch):
    with time_machine.travel(NOW, tick=True):
        school = School.objects.get(slug=SCHOOL_SLUG)
        people = {u.username: u for u in User.objects.filter(memberships__school=school)}
        Change.objects.filter(title=PILOT_TITLE).update(title="Renamed")
        # The initial approver no longer holds the role: every approval is refused.
        membership = Membership.objects.get(user=people["ian"], school=school)
        membership.set_roles([Role.VIEWER])
        monkeypatch.setattr(demo_history, "MONTHLY", dict.fromkeys(range(1, 13), 1))
        before = Change.objects.count()

        made = build_history(school, people)

    assert made.changes == []
    assert made.refused == [
        (
            PILOT_TITLE,
            "Some sections need filling in first. initial_approver: Fill in the "
            "initial approver before you submit for approval.",
        )
    ]
    assert Change.objects.count() == before  # each refused RFC is rolled back whole


def test_greenfield_went_live_after_a_closed_pilot(demo):
    school = School.objects.get(slug=SCHOOL_SLUG)
    adoption = Adoption.objects.get(school=school)
    pilot = adoption.pilot
    members = Membership.objects.filter(school=school).select_related("user")

    assert adoption.is_live
    assert pilot is not None and pilot.title == PILOT_TITLE
    assert pilot.state == "closed" and pilot.outcome == "succeeded"
    assert pilot == history()[0]
    assert adoption.go_live_on is not None
    assert timedelta(days=320) < NOW.date() - adoption.go_live_on < timedelta(days=366)
    assert adoption.live_at is not None and adoption.live_at > pilot.updated_at
    assert adoption.plan_agreed_at and adoption.materials_ready_at and adoption.pilot_discussion
    notice = adoption.introduction_notice
    assert notice is not None and notice.kind == NoticeKind.GENERAL
    assert notice.status == NoticeStatus.PUBLISHED
    assert notice.first_published_at and notice.first_published_at < pilot.created_at
    confirmed = set(
        TrainingConfirmation.objects.filter(school=school).values_list("user_id", "role")
    )
    # Every role the school gave was trained for (the trust's, given a year on, are not its).
    for membership in members:
        for role in membership.own_roles:
            assert (membership.user_id, role) in confirmed
    answers = PilotAnswer.objects.filter(change=pilot)
    assert answers.count() == 5
    assert all(a.answered_at > pilot.updated_at for a in answers)
    ict = {m.user.username for m in members if m.is_ict_staff}
    assert ict == {"olivia", "peter", "ivan"}


def test_meadowbank_is_just_starting(demo):
    school = School.objects.get(slug=STARTING)
    members = {m.user.username: m for m in Membership.objects.filter(school=school)}
    held = {role for m in members.values() for role in m.role_list}
    adoption = Adoption.objects.filter(school=school).first()

    assert not school.peer_review_enabled
    assert adoption is None or (not adoption.is_live and adoption.go_live_on is None)
    assert set(members) == {"helen", "matt", "dan"}
    assert {Role.SCHOOL_ADMIN, Role.FINAL_APPROVER} <= set(members["helen"].role_list)
    assert members["matt"].role_list == [Role.INITIAL_APPROVER]
    assert members["dan"].is_ict_staff and not members["helen"].is_ict_staff
    assert Role.PEER_REVIEWER not in held and Role.COMMUNICATOR not in held
    # No RFC yet: its administrator and approvers land on getting started.
    assert not Change.objects.filter(school=school).exists()
    sign_ins = {username: who for username, password, who in demo if password == PASSWORD}
    assert "Meadowbank Primary School" in sign_ins["helen"]
    assert "Meadowbank" not in sign_ins["fiona"]


def test_the_last_twelve_months_reports_are_frozen_with_a_decision_on_the_latest(demo):
    school = School.objects.get(slug=SCHOOL_SLUG)
    snapshots = list(Snapshot.objects.filter(school=school).order_by("start"))

    assert [s.start for s in snapshots] == [date(2025, 12, 1)] + [
        date(2026, m, 1) for m in range(1, 12)
    ]
    assert all(archive.verify(s) for s in snapshots)
    assert all(s.frozen_at.date() == s.end for s in snapshots)
    assert Decision.objects.filter(snapshot=snapshots[-1]).count() == 1
    assert not Decision.objects.filter(snapshot__in=snapshots[:-1]).exists()
