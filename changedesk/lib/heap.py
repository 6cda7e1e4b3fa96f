"""The garbage collector, settled once the application has started (issue 9).

Python's cyclic collector now and then walks every object the process holds (its oldest
generation), during whatever request happens to be running: with Django, the project and
their libraries loaded, some 125,000 objects, a pause of 40-90 ms on this project's
machine, which was the lone 100-200 ms p95 of `make bench` that fell on a different page in
each run. Nearly all of those objects live as long as the process (modules, classes, URL
patterns, templates), so after start-up they are moved out of the collector's sight
(`gc.freeze()`, as gunicorn's and Instagram's advice has it) and the collections that remain
walk only what requests made.

The first requests load more that lives as long (each template compiled, the translation
catalogues, the compiled queries of `lib/compiled.py`): some 19,000 objects more, which
kept each full collection at 14-20 ms rather than 7. So the collector is settled once more
as the `WARM_REQUESTS`-th request starts, when, in a worker that serves one request at a
time (gunicorn's default), the requests before have ended and the one starting has made
next to nothing (with threads, what other requests hold then stays too: once, and small).

`settle()` is called by the WSGI application once Django is set up (changedesk/wsgi.py, so
in every gunicorn worker) and by `make bench` before it measures, as the server runs.
"""

from __future__ import annotations

import gc
from typing import Any

from django.core.signals import request_started

# The request at whose start the collector is settled again (see the module's docstring).
WARM_REQUESTS = 50

_started = 0


def settle() -> int:
    """Load the URL patterns (and with them every view, form and serializer module), collect
    what start-up left, then freeze what remains; returns the objects frozen. Settles again
    as the `WARM_REQUESTS`-th request starts."""
    from django.urls import get_resolver

    global _started
    get_resolver().url_patterns  # noqa: B018 - read for its import of every view
    gc.collect()
    gc.freeze()
    _started = 0
    request_started.connect(_count_request, dispatch_uid="changedesk.lib.heap")
    return gc.get_freeze_count()


def _count_request(**kwargs: Any) -> None:
    global _started
    _started += 1
    if _started >= WARM_REQUESTS:
        request_started.disconnect(dispatch_uid="changedesk.lib.heap")
        gc.collect()
        gc.freeze()
