"""Two people take the same piece of the library at the same moment: exactly one wins, the
other is refused. It needs real row locks and concurrent connections: PostgreSQL only."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections

from changedesk.lib.errors import InvalidAction
from changedesk.releases.models import Checkout
from changedesk.releases.services import library as services

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises every writer, so there is no race to test",
    ),
]


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run `calls` at the same moment, each in its own thread and connection."""
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
        assert not thread.is_alive(), "a racing take-out never finished"
    return results


@pytest.mark.parametrize("attempt", range(3))
def test_two_take_the_same_piece_at_once_and_one_wins(attempt, school, rachel, isaac, bella):
    piece = services.save_software(school, rachel, {"title": "SIMS", "location": "share"})
    due = services.today_in(school) + timedelta(days=3)

    results = race(
        lambda: services.take_out(piece, isaac, {"due_back": due}),
        lambda: services.take_out(piece, bella, {"due_back": due}),
    )

    won = [r for r in results if isinstance(r, Checkout)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1, results
    assert len(lost) == 1 and isinstance(lost[0], InvalidAction), results
    assert lost[0].status == 400 and "software" in lost[0].fields
    assert Checkout.objects.filter(software=piece).count() == 1
    assert Checkout.objects.get(software=piece).taken_by == won[0].taken_by


def test_two_bring_back_the_same_piece_at_once_and_one_wins(school, rachel, isaac, bella):
    piece = services.save_software(school, rachel, {"title": "SIMS", "location": "share"})
    checkout = services.take_out(
        piece, isaac, {"due_back": services.today_in(school) + timedelta(days=3)}
    )

    results = race(
        lambda: services.bring_back(checkout, isaac, "first"),
        lambda: services.bring_back(checkout, bella, "second"),
    )

    assert sum(isinstance(r, Checkout) for r in results) == 1, results
    assert sum(isinstance(r, InvalidAction) for r in results) == 1, results
    checkout.refresh_from_db()
    assert checkout.returned_at is not None
