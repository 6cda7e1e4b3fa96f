"""Benchmarks (`make bench`): the forward schedule of a school with 5,000 RFCs.

Cost must stay flat as data grows: compare these numbers between a small and a large
school (`BENCH_CHANGES=50` against the default 5,000) rather than against a fixed time.
Two shapes: "spread", the RFCs planned over two years around today (a busy school), and
"crowded", every one of them in the month shown (the worst case: each day then shows
its first few and counts the rest).
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from changedesk.changes.models import Change, ChangeItem
from changedesk.conftest import REQUEST
from changedesk.schedule.slots import next_safe_slots
from changedesk.schedule.tests.factories import LONDON, item, school_year

pytestmark = [pytest.mark.bench, pytest.mark.django_db]

SIZE = int(os.environ.get("BENCH_CHANGES", "5000"))
STATES = ["draft", "awaiting_initial_approval", "planning", "awaiting_peer_review",
          "awaiting_final_approval", "approved", "implemented", "closed"]  # fmt: skip


@pytest.fixture(params=["spread", "crowded"])
def busy_month(request, school, team):
    school_year(school)
    mis = item(school, "the MIS server")
    now = timezone.now().astimezone(LONDON)
    first = now.replace(day=1, hour=18, minute=0, second=0, microsecond=0)

    def start(i: int):
        if request.param == "crowded":
            return first + timedelta(days=i % 28, minutes=i % 120)
        return now - timedelta(days=365) + timedelta(days=730) * i / SIZE

    changes = Change.objects.bulk_create(
        Change(
            school=school,
            originator=team["olivia"],
            initial_approver=team["ian"],
            implementer=team["olivia"],
            number=i + 1,
            state=STATES[i % len(STATES)],
            is_emergency=i % 50 == 0,
            planned_start=start(i),
            planned_end=start(i) + timedelta(hours=1, days=i % 5 == 0),
            **{**REQUEST, "title": f"Change {i}"},
        )
        for i in range(SIZE)
    )
    ChangeItem.objects.bulk_create(ChangeItem(change=c, item=mis) for c in changes[::4])
    return mis


@pytest.mark.parametrize("view", ["month", "week", "agenda"])
def test_schedule_view(benchmark, client, busy_month, team, view):
    client.force_login(team["ian"])
    url = reverse("schedule:forward")
    response = benchmark(client.get, url, {"view": view})
    assert response.status_code == 200


def test_month_view_filtered_by_item(benchmark, client, busy_month, team):
    client.force_login(team["ian"])
    url = reverse("schedule:forward")
    response = benchmark(client.get, url, {"item": busy_month.pk})
    assert response.status_code == 200


def test_next_safe_slots(benchmark, school, busy_month):
    slots = benchmark(next_safe_slots, school, timedelta(hours=1), [busy_month.pk])
    assert len(slots) <= 5
