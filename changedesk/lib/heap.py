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

What requests make is collected as each request starts, not partway through one. Left to
itself the collector runs whenever 700 more objects are alive than at its last run, so a
page that builds a few thousand runs it several times, and every tenth of those runs walks
the middle generation too, with the page's live objects and what earlier pages left: 2-3.5
ms, 6-12 ms for the oldest (measured: 300 requests, 32 middle and 3 oldest collections
inside them). After `settle()` the automatic collection waits for
`REQUEST_THRESHOLD` objects (a bound on memory, should a request make garbage in a loop),
and each request starts by collecting the youngest generation: what the request before left,
dead by then in a sync worker (one request at a time, gunicorn's default; with threads, what
other requests hold is walked too, and stays correct), which costs what freeing it costs
(0.2-0.6 ms); every `MIDDLE_EVERY`-th start collects the middle generation too, every
`OLDEST_EVERY`-th all but what is frozen (0.8-5.8 ms). Measured over 500 requests of five
pages: each ran one collection, at its start, and none partway through.

`settle()` is called by the WSGI application once Django is set up (changedesk/wsgi.py, so
in every gunicorn worker) and by `make bench` before it measures, as the server runs;
`unsettle()` gives a test process its collector back as Python started it.
"""

from __future__ import annotations

import gc
import itertools
from typing import Any

from django.core.signals import request_started

# The request at whose start the collector is settled again (see the module's docstring).
WARM_REQUESTS = 50
# Objects alive beyond the last collection before one runs by itself, once settled.
REQUEST_THRESHOLD = 100_000
# Every how many requests a request's start collects the middle, and the oldest, generation.
MIDDLE_EVERY = 10
OLDEST_EVERY = 100

_PYTHONS = gc.get_threshold()
# Requests started since `settle()`: `next()` is atomic, where threads share a worker.
_started = itertools.count(1)


def settle() -> int:
    """Load the URL patterns (and with them every view, form and serializer module), collect
    what start-up left, then freeze what remains; returns the objects frozen. From then on
    each request starts by collecting what the last one left, and the collector is settled
    once more as the `WARM_REQUESTS`-th starts."""
    from django.urls import get_resolver

    global _started
    get_resolver().url_patterns  # noqa: B018 - read for its import of every view
    gc.collect()
    gc.freeze()
    _started = itertools.count(1)
    gc.set_threshold(REQUEST_THRESHOLD, *_PYTHONS[1:])
    request_started.connect(_request_started, dispatch_uid="changedesk.lib.heap")
    return gc.get_freeze_count()


def unsettle() -> None:
    """The collector as Python starts it: nothing frozen, its own thresholds, nothing
    collected as requests start (for a test process that imported the WSGI application)."""
    request_started.disconnect(dispatch_uid="changedesk.lib.heap")
    gc.unfreeze()
    gc.set_threshold(*_PYTHONS)


def _request_started(**kwargs: Any) -> None:
    started = next(_started)
    if started == WARM_REQUESTS:
        gc.collect()
        gc.freeze()
    elif started % OLDEST_EVERY == 0:
        gc.collect(2)
    elif started % MIDDLE_EVERY == 0:
        gc.collect(1)
    else:
        gc.collect(0)
