"""Benchmarks (`make bench`): the pages and the workflow on a school with 5,000 RFCs.

Cost must stay flat as data grows: compare these numbers between a small and a large
school (`BENCH_CHANGES`) rather than against a fixed time.
"""

from __future__ import annotations

import os

import pytest
from django.urls import reverse

from changedesk.changes.models import Change
from changedesk.changes.services import create_change
from changedesk.changes.workflow import perform
from changedesk.conftest import REQUEST

pytestmark = [pytest.mark.bench, pytest.mark.django_db]

SIZE = int(os.environ.get("BENCH_CHANGES", "5000"))
STATES = ["draft", "awaiting_initial_approval", "planning", "awaiting_peer_review",
          "awaiting_final_approval", "approved", "implemented", "closed"]  # fmt: skip


@pytest.fixture
def busy_school(school, team):
    olivia, ian = team["olivia"], team["ian"]
    Change.objects.bulk_create(
        Change(
            school=school,
            originator=olivia,
            initial_approver=ian,
            implementer=olivia,
            number=i + 1,
            state=STATES[i % len(STATES)],
            **{**REQUEST, "title": f"Change {i}"},
        )
        for i in range(SIZE)
    )
    return school


@pytest.mark.parametrize(
    ("who", "page"),
    [("olivia", "changes:list"), ("olivia", "changes:my_work"), ("ian", "changes:my_work")],
)
def test_page(benchmark, client, busy_school, team, who, page):
    client.force_login(team[who])
    url = reverse(page)
    response = benchmark(client.get, url)
    assert response.status_code == 200


def test_change_log_search(benchmark, client, busy_school, team):
    client.force_login(team["ian"])
    url = reverse("changes:list")
    response = benchmark(client.get, url, {"q": "Change 4999", "state": "draft"})
    assert response.status_code == 200


def test_rfc_page(benchmark, client, busy_school, team, draft):
    client.force_login(team["ian"])
    response = benchmark(client.get, reverse("changes:detail", args=[draft.pk]))
    assert response.status_code == 200


def test_submit_and_approve(benchmark, busy_school, team):
    def cycle():
        change = create_change(busy_school, team["olivia"], dict(REQUEST))
        perform(change.pk, "submit", team["olivia"])
        return perform(change.pk, "approve", team["ian"])

    change = benchmark(cycle)
    assert change.state == "planning"
