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
        gc.unfreeze()
        request_started.disconnect(dispatch_uid="changedesk.lib.heap")


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
        gc.unfreeze()
        request_started.disconnect(dispatch_uid="changedesk.lib.heap")
