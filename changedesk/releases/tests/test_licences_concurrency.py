"""Giving out the last seats at once: the licence's row is locked while its holders are
counted, so exactly as many succeed as there are seats.

These need real row locks and concurrent connections, so they run on PostgreSQL only.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest
from django.db import connection, connections

from changedesk.lib.errors import InvalidAction
from changedesk.releases.models import Licence, LicenceAssignment
from changedesk.releases.services import licences as services

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises every writer, so there is no race to test",
    ),
]

RACERS = 12


def test_exactly_as_many_holders_as_seats_win(school, rachel):
    licence = services.save_licence(
        school, rachel, {"product": "Minecraft Education", "kind": "per_user", "seats": 5}
    )
    barrier = threading.Barrier(RACERS, timeout=30)
    results: list[Any] = [None] * RACERS

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = services.assign(licence, rachel, {"person": f"Pupil {index:02d}"})
        except Exception as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "an assignment never finished"

    won = [r for r in results if isinstance(r, LicenceAssignment)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 5, results
    assert len(lost) == RACERS - 5
    assert all(isinstance(r, InvalidAction) for r in lost), lost
    assert {str(r) for r in lost} == {"All 5 seats are taken: free one or add seats."}
    assert LicenceAssignment.objects.filter(licence=licence).count() == 5


def test_two_saves_of_one_order_and_product_at_once(school, rachel, monkeypatch):
    """Both pass the check that the order is not in the log yet, then both save: the one
    that loses hears so about its order reference (no 500), and the log has one row."""
    barrier = threading.Barrier(2, timeout=10)
    real = services._check_holders_fit

    def both_checked(row: Any) -> None:
        real(row)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()

    monkeypatch.setattr(services, "_check_holders_fit", both_checked)
    results: list[Any] = [None, None]

    def run(index: int) -> None:
        try:
            results[index] = services.save_licence(
                school, rachel, {"product": "Office", "kind": "site", "order_reference": "PO-1"}
            )
        except Exception as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a save never finished"

    lost = [r for r in results if isinstance(r, Exception)]
    assert len(lost) == 1, results
    assert isinstance(lost[0], InvalidAction), lost
    assert set(lost[0].fields) == {"order_reference"}
    assert Licence.objects.filter(order_reference="PO-1").count() == 1
