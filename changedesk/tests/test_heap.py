"""The collector settled after start-up (lib/heap.py): what start-up loaded is frozen, so
the collections during requests walk only what the requests made."""

from __future__ import annotations

import gc
import sys

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


def test_the_wsgi_application_settles_it(monkeypatch):
    calls = []
    monkeypatch.setattr(heap, "settle", lambda: calls.append(1) or 0)
    sys.modules.pop("changedesk.wsgi", None)
    import changedesk.wsgi  # noqa: F401

    assert calls == [1]
