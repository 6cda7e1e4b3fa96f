"""The trust-wide pages and API cost a number of queries that does not grow with the number
of schools: measured for a change raised in 2 schools and in 6, the counts are equal. The
RFC API list costs the same with trust-wide children on its page as without."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from changedesk.accounts import trusts
from changedesk.accounts.choices import Role, TrustRole
from changedesk.accounts.models import School, User
from changedesk.accounts.services import create_school, create_user
from changedesk.changes.services import create_change
from changedesk.changes.workflow import perform
from changedesk.conftest import member
from changedesk.trustwide import services
from changedesk.trustwide.models import ParentChange
from changedesk.trustwide.services import Placement
from changedesk.trustwide.tests.conftest import PLAN, REQUEST

pytestmark = pytest.mark.django_db


def _schools(trust, count: int) -> list[School]:
    """`count` schools in the trust (the fixture's two, and more), each with its own
    initial approver and head."""
    made = list(School.objects.filter(trust=trust).order_by("pk"))
    for n in range(len(made), count):
        school = create_school(f"School {n:02d}", f"school-{n:02d}")
        trusts.add_school(trust, school)
        made.append(school)
    for school in made:
        member(f"init-{school.slug}", school, [Role.INITIAL_APPROVER])
        member(f"head-{school.slug}", school, [Role.FINAL_APPROVER])
    return made


def _person(username: str, trust, roles: list[str]) -> User:
    person = create_user(username, email=f"{username}@example.org", password=None)
    trusts.set_trust_roles(trust, person, roles)
    return person


def _scene(trust, count: int) -> dict[str, Any]:
    """A change raised in `count` schools and moved on in a few different ways, so the
    matrix shows different states, people waited on and actions."""
    schools = _schools(trust, count)
    tom = _person("tom", trust, [TrustRole.TRUST_TECHNICIAN])
    ada = _person("ada", trust, [TrustRole.TRUST_ADMIN])
    _person("rhys", trust, [TrustRole.TRUST_PEER_REVIEWER])
    start = timezone.now() + timedelta(days=12)
    parent, _ = services.raise_for_schools(
        trust,
        tom,
        {**REQUEST, **PLAN},
        schools,
        Placement(start=start, end=start + timedelta(hours=1)),
    )
    rows = services.children(parent)
    # The first school's RFC approved to planning, the second's waiting for its initial
    # approver, the others drafts: the same states whatever the count (what a state needs
    # loaded, e.g. the delegations of an approver waited on, is loaded once).
    services.act_on_many(parent, tom, "submit", rows[:2])
    first = rows[0]
    perform(first.change_id, "approve", User.objects.get(username=f"init-{first.school.slug}"))
    # A second trust-wide change, for the list.
    services.raise_for_schools(trust, tom, dict(REQUEST), schools)
    return {"parent": parent, "tom": tom, "ada": ada}


def _count(run) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = run()
    assert response.status_code == 200, response
    return len(queries)


def _costs(client, scene: dict[str, Any]) -> dict[str, int]:
    parent = scene["parent"]
    costs = {}
    for who in ("tom", "ada"):
        client.force_login(scene[who])
        client.get(parent.get_absolute_url())  # the session, the first time
        costs[f"matrix page, {who}"] = _count(lambda: client.get(parent.get_absolute_url()))
        costs[f"list page, {who}"] = _count(lambda: client.get(reverse("trustwide:list")))
        # Its RFCs on the schedule's agenda and in the change log, each marked.
        day = services.children(parent)[0].change.planned_start.date().isoformat()
        agenda = {"view": "agenda", "parent": parent.pk, "date": day}
        costs[f"agenda, {who}"] = _count(
            lambda agenda=agenda: client.get(reverse("schedule:forward"), agenda)
        )
        costs[f"change log, {who}"] = _count(
            lambda: client.get(reverse("changes:list"), {"parent": parent.pk})
        )
        api = APIClient()
        api.force_authenticate(scene[who])
        costs[f"GET children, {who}"] = _count(
            lambda api=api: api.get(f"/api/v1/changes/{parent.pk}/children/")
        )
        costs[f"GET trust-changes, {who}"] = _count(
            lambda api=api: api.get("/api/v1/trust-changes/")
        )
        costs[f"GET trust-changes/id, {who}"] = _count(
            lambda api=api: api.get(f"/api/v1/trust-changes/{parent.pk}/")
        )
    return costs


def test_the_pages_and_api_cost_the_same_for_2_schools_as_for_6(trust, client):
    scene = _scene(trust, 6)
    six = _costs(client, scene)
    # Start again with 2 schools, in the same test's database: a new trust.
    other = trusts.create_trust("Southway Schools Trust", "southway")
    for n in range(2):
        school = create_school(f"Seaview {n}", f"seaview-{n}")
        trusts.add_school(other, school)
    for user in User.objects.filter(username__in=["tom", "ada", "rhys"]):
        user.username = f"{user.username}-north"
        user.save()
    small = _scene(other, 2)
    two = _costs(client, small)
    grows = {name: (two[name], six[name]) for name in six if six[name] != two[name]}
    assert not grows, f"(2 schools, 6 schools): {grows}"


def test_the_rfc_api_list_costs_the_same_with_trust_wide_children(trust, client):
    """Three RFCs on the page either way: three raised in the schools one by one, or three
    raised as one trust-wide change."""
    schools = _schools(trust, 3)
    tom = _person("tom", trust, [TrustRole.TRUST_TECHNICIAN])
    api = APIClient()
    api.force_authenticate(tom)
    for school in schools:
        create_change(school, tom, dict(REQUEST))
    api.get("/api/v1/changes/")
    without = _count(lambda: api.get("/api/v1/changes/?page_size=3"))
    listed = api.get("/api/v1/changes/?page_size=3").json()["results"]
    assert [c["parent"] for c in listed] == [None, None, None]

    services.raise_for_schools(trust, tom, dict(REQUEST), schools)
    with_children = _count(lambda: api.get("/api/v1/changes/?page_size=3"))
    listed = api.get("/api/v1/changes/?page_size=3").json()["results"]
    assert all(c["parent"] and c["parent"]["reference"] == "TC-0001" for c in listed)
    assert with_children == without
    # Filtered to the trust-wide change's RFCs, no dearer.
    parent = ParentChange.objects.get()
    filtered = _count(lambda: api.get(f"/api/v1/changes/?parent={parent.pk}"))
    assert filtered == without


def test_the_rfc_page_panel_costs_the_same_for_2_schools_as_for_6(trust, client):
    schools = _schools(trust, 6)
    tom = _person("tom", trust, [TrustRole.TRUST_TECHNICIAN])
    small, _ = services.raise_for_schools(trust, tom, dict(REQUEST), schools[:2])
    large, _ = services.raise_for_schools(trust, tom, dict(REQUEST), schools[2:])
    client.force_login(tom)
    costs = []
    for parent in (small, large):
        change = parent.children.order_by("school__name").first().change
        url = reverse("changes:detail", args=[change.pk])
        client.get(url)
        costs.append(_count(lambda url=url: client.get(url)))
    assert costs[0] == costs[1]
