"""The collector settled after start-up (lib/heap.py): what start-up loaded is frozen, so
the collections during requests walk only what the requests made."""

from __future__ import annotations

import gc
import sys

from django.core.signals import request_started

from changedesk.lib import heap


def test_settle_freezes_what_start_up_loaded():
    try:
        frozen = heap.settle()
        assert frozen > 10_000
        # Frozen objects may still die (a reference dropped since): the count only falls.
        assert frozen - 1_000 <= gc.get_freeze_count() <= frozen
        # Every view module is loaded, and so frozen with the rest.
        assert "changedesk.changes.views" in sys.modules
        assert "changedesk.schedule.views.forward" in sys.modules
    finally:
        heap.unsettle()


def test_the_wsgi_application_settles_it(monkeypatch):
    calls = []
    monkeypatch.setattr(heap, "settle", lambda: calls.append(1) or 0)
    sys.modules.pop("changedesk.wsgi", None)
    import changedesk.wsgi  # noqa: F401

    assert calls == [1]


def test_it_settles_again_once_the_first_requests_have_warmed_it(client, monkeypatch, db):
    monkeypatch.setattr(heap, "WARM_REQUESTS", 3)
    try:
        heap.settle()
        frozen = gc.get_freeze_count()
        made_since = {"a template compiled by a request, say": []}

        def tracked() -> bool:
            return any(o is made_since for o in gc.get_objects())

        client.get("/accounts/login/")
        client.get("/accounts/login/")
        assert tracked()
        client.get("/accounts/login/")  # the third starts: settled again
        assert not tracked()
        assert gc.get_freeze_count() > frozen
        # Once only.
        again = gc.get_freeze_count()
        made_later = {"after": []}
        for _ in range(4):
            client.get("/accounts/login/")
        assert any(o is made_later for o in gc.get_objects())
        assert gc.get_freeze_count() <= again  # frozen objects may still die
    finally:
        heap.unsettle()


def test_each_request_starts_by_collecting_what_the_last_left(client, monkeypatch, db):
    monkeypatch.setattr(heap, "WARM_REQUESTS", 1)
    monkeypatch.setattr(heap, "MIDDLE_EVERY", 3)
    monkeypatch.setattr(heap, "OLDEST_EVERY", 5)
    python_s = gc.get_threshold()
    collected: list[int] = []

    def seen(phase: str, info: dict) -> None:
        if phase == "start":
            collected.append(info["generation"])

    try:
        heap.settle()
        assert gc.get_threshold()[0] == heap.REQUEST_THRESHOLD
        client.get("/accounts/login/")  # the first: settled again
        gc.callbacks.append(seen)
        by_request = []
        for _ in range(5):
            del collected[:]
            client.get("/accounts/login/")
            by_request.append(list(collected))
        # Requests 2-6: the youngest generation at each start, the middle at the third and
        # the sixth, all at the fifth; and no collection inside a request.
        assert by_request == [[0], [1], [0], [2], [1]]
    finally:
        if seen in gc.callbacks:
            gc.callbacks.remove(seen)
        heap.unsettle()
    assert gc.get_threshold() == python_s
    assert gc.get_freeze_count() == 0
    # Nothing is collected as requests start any more.
    assert not request_started.disconnect(dispatch_uid="changedesk.lib.heap")
