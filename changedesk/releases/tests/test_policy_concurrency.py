"""Two people publish the same draft at the same moment: one wins, the other is told there
is no draft; two write the first draft at once: one draft, no error. It needs real row
locks and concurrent connections: PostgreSQL only."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from changedesk.lib.errors import InvalidAction
from changedesk.releases.models import ReleasePolicy
from changedesk.releases.services import policy as services

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises every writer, so there is no race to test",
    ),
]

RULES = "Only in the windows."


def race(*calls: Callable[[], Any]) -> list[Any]:
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
        assert not thread.is_alive(), "a racing write never finished"
    return results


@pytest.mark.parametrize("attempt", range(3))
def test_two_publish_at_once_and_one_wins(attempt, school, rachel, sam):
    services.save_draft(school, rachel, {"rules": RULES}, [])
    services.publish(school, rachel)
    services.save_draft(school, rachel, {"rules": RULES + "\nMore."}, [])

    results = race(lambda: services.publish(school, rachel), lambda: services.publish(school, sam))

    won = [r for r in results if isinstance(r, ReleasePolicy)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1 and won[0].version == 2, results
    assert len(lost) == 1 and isinstance(lost[0], InvalidAction), results
    assert "no draft" in lost[0].message
    states = list(ReleasePolicy.objects.filter(school=school).order_by("version").values_list(
        "version", "state"))  # fmt: skip
    assert states == [(1, "superseded"), (2, "published")]


@pytest.mark.parametrize("attempt", range(3))
def test_two_write_the_first_draft_at_once(attempt, school, rachel, sam):
    results = race(
        lambda: services.save_draft(school, rachel, {"rules": "Rachel's"}, []),
        lambda: services.save_draft(school, sam, {"rules": "Sam's"}, []),
    )
    assert all(isinstance(r, ReleasePolicy) for r in results), results
    assert results[0].pk == results[1].pk
    assert ReleasePolicy.objects.filter(school=school).count() == 1
