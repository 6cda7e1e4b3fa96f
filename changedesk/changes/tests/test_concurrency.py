"""Concurrent actions on one RFC: exactly one wins, the other is told it has changed.

These need real row locks and concurrent connections, so they run on PostgreSQL only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from changedesk.changes.models import REQUEST_FIELDS, Change
from changedesk.changes.services import create_change, update_change
from changedesk.changes.workflow import perform
from changedesk.conftest import REQUEST, advance
from changedesk.lib.errors import InvalidAction, StaleChange, WorkflowError

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises every writer, so there is no race to test",
    ),
]


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run `calls` at the same moment, each in its own thread and connection.

    Returns what each returned, or the exception it raised, in the order given.
    """
    barrier = threading.Barrier(len(calls), timeout=30)
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a racing action never finished"
    return results


def test_it_lets_exactly_one_of_two_approvals_win(draft, team):
    change = advance(draft, team, "awaiting_initial_approval")
    version = change.version
    ian = team["ian"]

    results = race(
        lambda: perform(change.pk, "approve", ian),
        lambda: perform(change.pk, "approve", ian),
    )

    won = [r for r in results if isinstance(r, Change)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1, results
    assert len(lost) == 1 and isinstance(lost[0], StaleChange), results
    assert lost[0].status == 409
    change.refresh_from_db()
    assert change.state == "planning"
    assert change.version == version + 1
    assert change.events.filter(kind="approve").count() == 1


def test_it_lets_exactly_one_of_two_different_decisions_win(draft, team):
    change = advance(draft, team, "awaiting_final_approval")
    version = change.version
    fiona = team["fiona"]

    results = race(
        lambda: perform(change.pk, "approve", fiona, expected_version=version),
        lambda: perform(change.pk, "reject", fiona, comment="No.", expected_version=version),
    )

    assert sum(isinstance(r, Change) for r in results) == 1, results
    assert sum(isinstance(r, StaleChange) for r in results) == 1, results
    change.refresh_from_db()
    assert change.state in ("approved", "rejected")
    assert change.version == version + 1
    decisions = change.events.filter(from_state="awaiting_final_approval")
    assert [e.to_state for e in decisions] == [change.state]


def test_it_approves_only_what_the_approver_read(draft, team):
    """An edit racing the approval never slips in: the approval covers the stored content."""
    change = advance(draft, team, "awaiting_initial_approval")
    version = change.version

    approved, edited = race(
        lambda: perform(change.pk, "approve", team["ian"], expected_version=version),
        lambda: update_change(change.pk, team["olivia"], {"title": "Replace both switches"}),
    )

    assert isinstance(approved, Change), (approved, edited)
    assert isinstance(edited, InvalidAction), (approved, edited)
    change.refresh_from_db()
    assert change.title == REQUEST["title"]
    assert change.version == version + 1
    event = change.events.get(kind="approve")
    assert event.digest == change.digest(REQUEST_FIELDS)


def test_it_lets_one_of_an_edit_and_an_approval_of_a_plan_win(draft, team):
    change = advance(draft, team, "planning")
    change = advance(change, team, "awaiting_peer_review")
    perform(change.pk, "return", team["peter"], comment="Add a test step.")
    change.refresh_from_db()
    version = change.version

    results = race(
        lambda: perform(change.pk, "submit_plan", team["olivia"], expected_version=version),
        lambda: update_change(
            change.pk, team["olivia"], {"details": "With a test step."}, expected_version=version
        ),
    )

    assert sum(isinstance(r, Change) for r in results) == 1, results
    assert sum(isinstance(r, WorkflowError) for r in results) == 1, results
    assert all(isinstance(r, Change | StaleChange) for r in results), results
    change.refresh_from_db()
    assert change.version == version + 1


def test_it_numbers_two_changes_raised_at_once_apart(team, school):
    olivia = team["olivia"]
    results = race(
        lambda: create_change(school, olivia, dict(REQUEST)),
        lambda: create_change(school, olivia, dict(REQUEST)),
    )
    assert all(isinstance(r, Change) for r in results), results
    assert sorted(r.reference for r in results) == ["RFC-0001", "RFC-0002"]
    assert Change.objects.filter(school=school).count() == 2


def test_it_numbers_many_changes_raised_at_once_apart(team, school):
    create_change(school, team["olivia"], dict(REQUEST))
    results = race(*[lambda: create_change(school, team["olivia"], dict(REQUEST))] * 4)
    assert all(isinstance(r, Change) for r in results), results
    numbers = sorted(Change.objects.filter(school=school).values_list("number", flat=True))
    assert numbers == [1, 2, 3, 4, 5]
