"""The demo school's patch management: Olivia the patch administrator, the vendors it watches
(none of their feeds fetched), and a month of patches in every state, each taken there through
the patches' door, with last month's run deployed on time and a critical patch overdue."""

from __future__ import annotations

from itertools import pairwise

import pytest
from django.urls import reverse
from django.utils import timezone

from changedesk.accounts.choices import Role
from changedesk.accounts.models import MembershipRole, School, User
from changedesk.changes.choices import TERMINAL_STATES, State
from changedesk.changes.history import verify_all
from changedesk.changes.models import Change
from changedesk.notifications.models import OutboxMessage
from changedesk.patches import jobs
from changedesk.patches.choices import DEPLOYED_STATES, PatchState, Severity, SourceKind
from changedesk.patches.compliance import report
from changedesk.patches.models import (
    Installation,
    Patch,
    PatchCheck,
    PatchEvent,
    Source,
    Vendor,
    today_in,
)
from changedesk.site import demo
from changedesk.site.demo import LAST_RUN, PATCH_RUN, SCHOOL_SLUG, build_demo
from changedesk.standard.models import Template

pytestmark = pytest.mark.django_db


@pytest.fixture
def school() -> School:
    build_demo()
    return School.objects.get(slug=SCHOOL_SLUG)


def counts() -> dict[str, int]:
    return {
        "vendors": Vendor.objects.count(),
        "sources": Source.objects.count(),
        "patches": Patch.objects.count(),
        "events": PatchEvent.objects.count(),
        "checks": PatchCheck.objects.count(),
        "installations": Installation.objects.count(),
        "changes": Change.objects.count(),
        "roles": MembershipRole.objects.count(),
        "outbox": OutboxMessage.objects.count(),
    }


def test_it_watches_the_vendors_and_fetches_no_feed(school):
    vendors = {v.name: v for v in Vendor.objects.filter(school=school)}

    assert {"Microsoft", "Google", "Apple", "SchoolBase MIS"} <= set(vendors)
    assert vendors["Microsoft"].products == ["Windows 11", "Microsoft 365 Apps"]
    kinds = {s.vendor.name: s.kind for s in Source.objects.filter(school=school)}
    assert kinds == {
        "Microsoft": SourceKind.FEED,
        "Google": SourceKind.WEB,
        "Apple": SourceKind.MAILING_LIST,
        "SchoolBase MIS": SourceKind.WEB,
    }
    assert Source.objects.filter(school=school, kind=SourceKind.FEED).exists()
    assert not Source.objects.filter(kind=SourceKind.FEED, is_active=True).exists()
    assert not Source.objects.due(timezone.now()).exists()


def test_olivia_is_the_patch_administrator_who_may_raise_the_run(school):
    olivia = User.objects.get(username="olivia")

    assert {Role.PATCH_ADMINISTRATOR, Role.ORIGINATOR} <= olivia.roles_in(school)
    assert list(school.holders_of(Role.PATCH_ADMINISTRATOR)) == [olivia]


def test_a_patch_in_every_state_each_with_a_true_history(school):
    patches = list(Patch.objects.filter(school=school).prefetch_related("events"))

    assert {p.state for p in patches} == set(PatchState.values)
    for patch in patches:
        events = list(patch.events.all())
        assert events[0].kind == "create" and events[0].to_state == PatchState.AVAILABLE
        for before, after in pairwise(events):
            assert after.from_state == before.to_state
        assert events[-1].to_state == patch.state
        assert patch.due_on >= patch.release_date
    assert {p.severity for p in patches} == set(Severity.values)
    # The release dates span the last five weeks or so (so a month's end, mostly).
    today = today_in(school)
    assert all(0 < (today - p.release_date).days <= 35 for p in patches)
    released = [p.release_date for p in patches]
    assert (max(released) - min(released)).days >= 28
    assert list(verify_all()) == []


def test_the_reasons_and_the_results_are_recorded(school):
    deferred = Patch.objects.get(school=school, state=PatchState.DEFERRED)
    not_applicable = Patch.objects.get(school=school, state=PatchState.NOT_APPLICABLE)
    tested = Patch.objects.get(school=school, state=PatchState.TESTED)

    assert deferred.reason and deferred.defer_until > today_in(school)
    assert not_applicable.reason
    assert [c.item.identifier for c in tested.checks.all()] == ["SUITE-2"]
    assert tested.checks.get().result == "passed"
    closed = Patch.objects.get(school=school, state=PatchState.CLOSED)
    assert [i.item.identifier for i in Installation.objects.filter(patch=closed)] == ["SUITE-2"]
    assert closed.checks.filter(kind="verify").exists()


def test_scheduled_patches_ride_an_open_run_of_the_patch_run_template(school):
    template = Template.objects.get(school=school, title=PATCH_RUN["title"])
    scheduled = Patch.objects.filter(school=school, state=PatchState.SCHEDULED)

    assert scheduled.exists()
    for patch in scheduled:
        run = patch.change
        assert run is not None and run.state not in TERMINAL_STATES and not run.outcome
        assert run == template.proposal or run.is_standard
        # The soonest run: it deploys them by their deadline.
        assert run.planned_start.astimezone(school.zone).date() <= patch.due_on


def test_last_months_run_deployed_its_patches_on_its_day(school):
    last_run = Change.objects.get(school=school, title=LAST_RUN["title"])
    deployed = Patch.objects.filter(school=school, state__in=DEPLOYED_STATES)
    day = last_run.planned_start.astimezone(school.zone).date()

    assert last_run.state == State.CLOSED and last_run.outcome == "succeeded"
    assert {p.state for p in deployed} == set(DEPLOYED_STATES)
    for patch in deployed:
        assert patch.change == last_run
        assert patch.deployed_on == day < today_in(school)
        assert patch.on_time()
        deploy = patch.events.get(kind="deploy")
        assert deploy.change == last_run and deploy.data["deployed_on"] == day.isoformat()


def test_a_critical_patch_is_overdue_and_one_was_deployed_on_time(school):
    today = today_in(school)
    overdue = Patch.objects.filter(school=school).overdue(today)
    figures = report(school)

    assert overdue.filter(severity=Severity.CRITICAL, state=PatchState.ASSESSED).exists()
    assert figures.total.on_time >= 1 and figures.total.overdue >= 1
    assert figures.by_severity[Severity.CRITICAL].on_time >= 1
    assert all(
        (today - p.release_date).days > 14
        for p in overdue.filter(severity=Severity.CRITICAL, state=PatchState.ASSESSED)
    )
    # The worker's reminder has something to say (to Olivia).
    assert jobs.nudge_overdue(timezone.now()) == 1


def test_running_it_again_adds_nothing(school):
    before = counts()

    build_demo()

    assert counts() == before
    assert before["outbox"] == 0


def test_a_demo_built_before_gets_patch_management(db, monkeypatch):
    """A database built by the demo before it had patches: the next run adds Olivia's role,
    the vendors and the patches, and nothing else."""
    without = tuple(
        demo.Person(p.username, p.first_name, p.last_name, p.job_title,
                    tuple(r for r in p.roles if r != Role.PATCH_ADMINISTRATOR))
        for p in demo.PEOPLE
    )  # fmt: skip
    with monkeypatch.context() as patched:
        patched.setattr(demo, "PEOPLE", without)
        patched.setattr(demo, "_patches", lambda school, people: None)
        build_demo()
    school = School.objects.get(slug=SCHOOL_SLUG)
    olivia = User.objects.get(username="olivia")
    assert Role.PATCH_ADMINISTRATOR not in olivia.roles_in(school)
    changes = Change.objects.count()

    build_demo()

    olivia = User.objects.get(username="olivia")
    assert Role.PATCH_ADMINISTRATOR in olivia.roles_in(school)
    assert {Role.ORIGINATOR, Role.IMPLEMENTER} <= olivia.roles_in(school)
    assert {p.state for p in Patch.objects.filter(school=school)} == set(PatchState.values)
    assert Change.objects.count() == changes + 1  # last month's run
    assert OutboxMessage.objects.count() == 0


def test_the_pages_show_the_demo(client, school):
    olivia = User.objects.get(username="olivia")
    client.force_login(olivia)
    urls = [
        reverse("patches:board"),
        reverse("patches:list"),
        reverse("patches:vendors"),
        reverse("patches:compliance"),
        reverse("patches:statement", args=[school.slug]),
        reverse("patches:run"),
        *(p.get_absolute_url() for p in Patch.objects.filter(school=school)),
        *(v.get_absolute_url() for v in Vendor.objects.filter(school=school)),
        Change.objects.get(school=school, title=LAST_RUN["title"]).get_absolute_url(),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
    overdue = Patch.objects.get(
        school=school, state=PatchState.ASSESSED, severity=Severity.CRITICAL
    )
    compliance = client.get(reverse("patches:compliance"))
    assert compliance.context["report"].total.overdue >= 1
    statement = client.get(reverse("patches:statement", args=[school.slug])).content.decode()
    assert overdue.title in statement and "Overdue" in statement
