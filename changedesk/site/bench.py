"""The page benchmark (`make bench`): every main page and API list against the floor, at
10 RFCs and at a large size, in one run (issue 9).

Not a test (pytest never collects it; `site/tests/test_bench_tool.py` runs its measuring at
a tiny size so that it cannot rot). For each size in `BENCH_SIZES` it makes a database of
its own -- on SQLite a file in `BENCH_DIR`, on PostgreSQL (when `DATABASE_URL` names one) a
database named after `DATABASE_URL`'s with `_<size>` added -- migrates it and fills it with
`changedesk bench-data --schools BENCH_SCHOOLS --changes <size>`, unless it already holds
that data set, which is then used as it is (500,000 RFCs take minutes to make;
`BENCH_FRESH=1` makes them again). `BENCH_DATABASE_<size>=URL` measures an existing
database for that size instead, as it is: nothing is migrated or made there.

It then measures, in a process of its own per size, in process with Django's test client,
signed in as the data set's one-school and ten-school people: the floor (a bare view
rendering a tiny template through the same middleware, `site/bench_urls.py`), My work, the
change log (by default, closed ones, a page deep in the list, each sort, a search), its CSV
export (about `BENCH_EXPORT_ROWS`, 10,000, rows: time, and peak memory by tracemalloc
against an export of a tenth of the rows), an open RFC with a planned window, the forward
schedule (month, week, agenda), the API's list and detail, the standard changes' and the
patches' pages and API lists (empty: bench-data makes no templates or patches), and the
conflict check and the next safe slots (the functions, and their API). Each of
`BENCH_ROUNDS` rounds (default 30, after `BENCH_WARMUP` rounds, default 2, not counted)
asks every endpoint once in a shuffled order, with the floor before each, and counts each
request's queries. Everything it writes (the sessions) is rolled back: the database is left
as it was found.

It prints, per size and per person, each endpoint's median and p95 (ms), their ratios to
the floor's, its queries and its bound (pages and API: p95 <= 50 ms and <= 10x the floor's;
the conflict check and slots: <= 10 ms; the export: <= 1 s and flat memory), OK or OVER, the
query counts that differ between sizes (OVER too), and the machine; it exits 1 if anything
is OVER, unless `BENCH_REPORT_ONLY=1`.

    python -m changedesk.site.bench                                  # or: make bench
    DATABASE_URL=postgres://postgres@127.0.0.1/bench make bench      # 10 and 500,000 RFCs
    BENCH_SIZES="10 2000" BENCH_ROUNDS=10 make bench
"""

from __future__ import annotations

import json
import math
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from django.test import Client

    from changedesk.accounts.models import User

PREFIX = "bench"
PAGE_MS = 50.0  # a page's or an API call's p95
FLOOR_TIMES = 10.0  # ... and at most this many times the floor's p95
CALL_MS = 10.0  # the conflict check and the next safe slots
EXPORT_MS = 1000.0  # a CSV export of 10,000 rows
SEARCH = "firmware"
DEEP_PAGE = 500
SLOT_MINUTES = 60
# Queries a page may gain between sizes before it is OVER: a query per row of a page (an
# N+1) adds at least 25; an empty list or panel at 10 RFCs skips a few loading queries.
QUERY_SLACK = 10

# What a kind of endpoint is held to.
PAGE, API, EXPORT, CALL, FLOOR = "page", "api", "export", "call", "floor"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (as `soak.py` reports it)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- What is measured. ---


@dataclass
class Endpoint:
    """One thing measured: a URL asked for with the test client, or a function called."""

    name: str
    kind: str
    url: str = ""
    call: Callable[[], object] | None = None
    rows: int | None = None  # an export's rows
    small_url: str = ""  # an export of about a tenth of the rows, for its memory
    small_rows: int | None = None


@dataclass
class Result:
    """An endpoint's figures for one person, and whether they are within its bound."""

    user: str
    name: str
    kind: str
    url: str
    median_ms: float
    p95_ms: float
    median_ratio: float
    p95_ratio: float
    queries: int
    queries_range: str
    statuses: list[int]
    samples: int
    bound: str
    over: list[str] = field(default_factory=list)
    rows: int | None = None
    peak_kb: float | None = None
    small_rows: int | None = None
    small_peak_kb: float | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.over


@dataclass
class Sample:
    seconds: float
    queries: int
    status: int
    error: str = ""


def _bound(kind: str, against_floor: bool = True) -> str:
    if kind in (PAGE, API):
        return f"<= {PAGE_MS:.0f} ms" + (f", <= {FLOOR_TIMES:.0f}x" if against_floor else "")
    if kind == CALL:
        return f"<= {CALL_MS:.0f} ms"
    if kind == EXPORT:
        return f"<= {EXPORT_MS / 1000:.0f} s, flat"
    return ""


def _judge(result: Result, against_floor: bool = True) -> list[str]:
    """What is over its bound (empty when within). Issue 9 holds pages to 10x the floor on
    PostgreSQL (`against_floor`); on SQLite, whose floor is a third lower (no round trips),
    to the 50 ms alone."""
    over: list[str] = []
    if any(s != 200 for s in result.statuses):
        over.append(f"answered {sorted(set(result.statuses))}")
    if result.kind in (PAGE, API):
        if result.p95_ms > PAGE_MS:
            over.append(f"p95 over {PAGE_MS:.0f} ms")
        if against_floor and result.p95_ratio > FLOOR_TIMES:
            over.append(f"p95 over {FLOOR_TIMES:.0f}x the floor")
    elif result.kind == CALL and result.p95_ms > CALL_MS:
        over.append(f"p95 over {CALL_MS:.0f} ms")
    elif result.kind == EXPORT:
        if result.p95_ms > EXPORT_MS:
            over.append(f"p95 over {EXPORT_MS / 1000:.0f} s")
        if (
            result.peak_kb is not None
            and result.small_peak_kb is not None
            and (result.small_rows or 0) * 5 <= (result.rows or 0)
            # Flat: a tenth of the rows (or fewer) took at least half as much at the peak.
            and result.peak_kb > 2 * result.small_peak_kb + 1024
        ):
            over.append("memory grows with the rows")
    return over


def plan(user: User, *, export_rows: int = 10_000) -> list[Endpoint]:
    """What to measure as `user`: the pages, API calls and functions, with the RFC, the
    deep page and the export's filter chosen from what `user` sees."""
    from django.utils import timezone

    from changedesk.changes.choices import OPEN_STATES
    from changedesk.changes.filters import SORTS
    from changedesk.changes.models import Change, ChangeItem
    from changedesk.changes.views import PAGE_SIZE
    from changedesk.schedule.conflicts import find_conflicts
    from changedesk.schedule.slots import find_safe_slots

    visible = Change.objects.visible_to(user)
    total = visible.count()
    deep = min(DEEP_PAGE, max(1, math.ceil(total / PAGE_SIZE)))
    endpoints = [
        Endpoint("My work", PAGE, "/"),
        Endpoint("change log", PAGE, "/changes/"),
        Endpoint("change log, state=closed", PAGE, "/changes/?state=closed"),
        Endpoint(f"change log, page {deep}", PAGE, f"/changes/?page={deep}"),
        *(
            Endpoint(f"change log, sort={sort}", PAGE, f"/changes/?sort={sort}")
            for sort in SORTS
            if sort != "-created"  # the default order
        ),
        Endpoint(f"change log, q={SEARCH}", PAGE, f"/changes/?q={SEARCH}"),
        Endpoint("schedule month", PAGE, "/schedule/?view=month"),
        Endpoint("schedule week", PAGE, "/schedule/?view=week"),
        Endpoint("schedule agenda", PAGE, "/schedule/?view=agenda"),
        Endpoint("API list", API, "/api/v1/changes/"),
        Endpoint("API list, state=closed", API, "/api/v1/changes/?state=closed"),
        # The apps' lists (bench-data makes no templates: what an empty list costs).
        Endpoint("standard changes", PAGE, "/standard-changes/"),
        Endpoint("API standard changes", API, "/api/v1/standard-changes/"),
        # Patch management (bench-data makes no patches either).
        Endpoint("patch board", PAGE, "/patches/"),
        Endpoint("patch list", PAGE, "/patches/all/"),
        Endpoint("API patches", API, "/api/v1/patches/"),
    ]

    def since(rows: int) -> tuple[str, int]:
        """The export's query for about `rows` rows (from the day the rows-th newest RFC was
        raised on: the whole list when there are fewer), and how many it gives."""
        query = ""
        if total > rows:
            newest = visible.order_by("-created_at", "-id").values_list("created_at", flat=True)
            day = timezone.localdate(newest[rows - 1])
            query = urlencode({"created_after": day.isoformat()})
        return f"/changes/export.csv?{query}", _count(user, query)

    url, rows = since(export_rows)
    small_url, small_rows = since(max(1, export_rows // 10))
    endpoints.append(
        Endpoint(f"CSV export ({rows} rows)", EXPORT, url, None, rows, small_url, small_rows)
    )

    # An open RFC with a planned window (the RFC page's costliest shape), else the nearest.
    windowed = visible.filter(planned_start__isnull=False, planned_end__isnull=False)
    latest = ("-planned_start", "-id")
    found = [
        ("open, with a window", windowed.filter(state__in=OPEN_STATES).order_by(*latest)),
        ("with a window", windowed.order_by(*latest)),
        ("without a window", visible.order_by("-id")),
    ]
    shape, change = next(((s, q[0]) for s, q in found if q.exists()), ("", None))
    if change is None:
        return endpoints
    change = Change.objects.select_related("school").get(pk=change.pk)
    school = change.school
    items = sorted(ChangeItem.objects.filter(change=change).values_list("item_id", flat=True))
    slots_query = urlencode(
        {"school": school.slug, "minutes": SLOT_MINUTES, "items": ",".join(map(str, items))}
    )
    endpoints += [
        Endpoint(f"RFC page ({shape})", PAGE, f"/changes/{change.pk}/"),
        Endpoint("API detail", API, f"/api/v1/changes/{change.pk}/"),
        Endpoint("API conflicts", API, f"/api/v1/changes/{change.pk}/conflicts/"),
        Endpoint("API next safe slots", API, f"/api/v1/schedule/slots/?{slots_query}"),
        Endpoint("conflict check", CALL, call=lambda: find_conflicts(change)),
        Endpoint(
            "next safe slots",
            CALL,
            call=lambda: find_safe_slots(school, timedelta(minutes=SLOT_MINUTES), items),
        ),
    ]
    return endpoints


def _count(user: User, query: str) -> int:
    """The rows of the change log `user` sees with `query`, filtered as the export is."""
    from django.http import QueryDict

    from changedesk.changes.filters import ChangeFilterSet
    from changedesk.changes.models import Change

    filters = ChangeFilterSet(QueryDict(query), queryset=Change.objects.visible_to(user))
    return filters.qs.count() if filters.is_valid() else 0


def _ask(client: Client, endpoint: Endpoint) -> Sample:
    """Ask for `endpoint` once (reading the whole answer), timing it and counting queries.
    Each request runs in a savepoint of its own, outside the timing, so that a failed one
    leaves the measuring's transaction usable."""
    from django.db import connection, reset_queries, transaction
    from django.test.utils import CaptureQueriesContext

    # The query log holds 9,000 at most: a full one counts none.
    reset_queries()
    try:
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            if endpoint.call is not None:
                endpoint.call()
                status = 200
            else:
                accept = "application/json" if endpoint.url.startswith("/api/") else "text/html"
                response = client.get(endpoint.url, headers={"accept": accept})
                if response.streaming:
                    # The stubs' test response has no streaming_content: a streaming one has.
                    chunks = response.streaming_content  # type: ignore[attr-defined]
                    for _chunk in cast(Iterator[bytes], chunks):
                        pass
                else:
                    response.content  # noqa: B018 - read, as a server would
                status = response.status_code
            seconds = time.perf_counter() - start
    except Exception as exc:
        return Sample(0.0, 0, 0, f"{type(exc).__name__}: {exc}"[:300])
    return Sample(seconds, len(queries), status)


def _peak_kb(client: Client, url: str) -> float:
    """The most memory (Python's, by tracemalloc) one request for `url` held at once."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        _ask(client, Endpoint("", EXPORT, url))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak - before) / 1024


def _measure_one(
    label: str,
    client: Client,
    endpoints: list[Endpoint],
    rounds: int,
    warmup: int,
    rng: random.Random,
    progress: Callable[[str], None] | None,
) -> list[Result]:
    from django.db import connection

    against_floor = connection.vendor == "postgresql"
    floor = Endpoint("floor", FLOOR, "/bench/floor/")
    samples: dict[str, list[Sample]] = {e.name: [] for e in [floor, *endpoints]}
    for n in range(warmup + rounds):
        if progress:
            what = f"warm-up {n + 1}/{warmup}" if n < warmup else f"round {n - warmup + 1}"
            progress(f"{label}: {what} of {rounds}")
        order = list(endpoints)
        rng.shuffle(order)
        # The floor before each endpoint, and after the last.
        for each in [x for endpoint in order for x in (floor, endpoint)] + [floor]:
            sample = _ask(client, each)
            if n >= warmup:
                samples[each.name].append(sample)
    floor_times = [s.seconds * 1000 for s in samples["floor"]]
    floor_median, floor_p95 = statistics.median(floor_times), _percentile(floor_times, 0.95)
    results = []
    for endpoint in [floor, *endpoints]:
        taken = samples[endpoint.name]
        times = [s.seconds * 1000 for s in taken]
        counts = Counter(s.queries for s in taken)
        median, p95 = statistics.median(times), _percentile(times, 0.95)
        low, high = min(counts), max(counts)
        result = Result(
            user=label,
            name=endpoint.name,
            kind=endpoint.kind,
            url=endpoint.url,
            median_ms=median,
            p95_ms=p95,
            median_ratio=median / floor_median if floor_median else 0.0,
            p95_ratio=p95 / floor_p95 if floor_p95 else 0.0,
            queries=counts.most_common(1)[0][0],
            queries_range=f"{low}" if low == high else f"{low}-{high}",
            statuses=sorted({s.status for s in taken}),
            samples=len(taken),
            bound=_bound(endpoint.kind, against_floor),
            rows=endpoint.rows,
            small_rows=endpoint.small_rows,
            error=next((s.error for s in taken if s.error), ""),
        )
        if endpoint.kind == EXPORT:
            result.peak_kb = _peak_kb(client, endpoint.url)
            result.small_peak_kb = _peak_kb(client, endpoint.small_url)
        result.over = _judge(result, against_floor)
        results.append(result)
    return results


def measure(
    users: Sequence[tuple[str, User]],
    *,
    rounds: int = 30,
    warmup: int = 2,
    seed: int = 9,
    export_rows: int = 10_000,
    only: str = "",
    progress: Callable[[str], None] | None = None,
) -> list[Result]:
    """Measure every endpoint of `plan` as each of `users` (a label and the person), with
    the floor between, in `rounds` shuffled rounds after `warmup`. Needs Django set up and
    a database holding the data; writes nothing that stays (all of it is rolled back)."""
    from django.db import transaction
    from django.test import Client
    from django.test.utils import override_settings

    rng = random.Random(seed)
    results: list[Result] = []
    with override_settings(ROOT_URLCONF="changedesk.site.bench_urls"), transaction.atomic():
        for label, user in users:
            client = Client()
            client.force_login(user)
            endpoints = [e for e in plan(user, export_rows=export_rows) if only in e.name]
            results += _measure_one(label, client, endpoints, rounds, warmup, rng, progress)
        transaction.set_rollback(True)
    return results


# --- The measuring process (one per size, with its DATABASE_URL). ---


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "changedesk.settings")
    import django

    django.setup()


def _database() -> dict[str, str]:
    """The database measured, and its version."""
    import sqlite3

    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = f"PostgreSQL {cursor.fetchone()[0]}"
    else:
        version = f"{connection.vendor} {sqlite3.sqlite_version}"
    return {
        "vendor": connection.vendor,
        "version": version,
        "name": str(connection.settings_dict["NAME"]),
    }


def _probe() -> dict[str, Any]:
    """What the database holds: its RFCs, the data set's schools and people, and the
    migrations it lacks."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from changedesk.accounts.models import School, User
    from changedesk.changes.models import Change

    prefix = os.environ.get("BENCH_PREFIX", PREFIX)
    executor = MigrationExecutor(connection)
    missing = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if missing:
        return {"changes": -1, "schools": -1, "people": [], "missing": [str(m) for m, _ in missing]}
    return {
        "changes": Change.objects.count(),
        "schools": School.objects.filter(slug__startswith=f"{prefix}-").count(),
        "people": sorted(
            User.objects.filter(username__in=[f"{prefix}-one", f"{prefix}-ten"]).values_list(
                "username", flat=True
            )
        ),
        "missing": [],
    }


def _child(what: str) -> int:
    """`python -m changedesk.site.bench probe|measure`: run in the size's own process, its
    answer written as JSON to `BENCH_OUTPUT`."""
    _setup_django()
    out = Path(os.environ["BENCH_OUTPUT"])
    if what == "probe":
        out.write_text(json.dumps(_probe()))
        return 0
    from django.db.models import Count

    from changedesk.accounts.models import User
    from changedesk.changes.models import Change
    from changedesk.lib import heap

    prefix = os.environ.get("BENCH_PREFIX", PREFIX)
    users = []
    for who in ("one", "ten"):
        user = User.objects.annotate(n=Count("memberships")).get(username=f"{prefix}-{who}")
        users.append((f"{user.username} ({user.n} school{'s' if user.n != 1 else ''})", user))
    visible = {label: Change.objects.visible_to(user).count() for label, user in users}
    # As the server settles its collector once started (changedesk/wsgi.py).
    heap.settle()

    def progress(message: str) -> None:
        print(f"  {message}", file=sys.stderr, flush=True)

    results = measure(
        users,
        rounds=_env_int("BENCH_ROUNDS", 30),
        warmup=_env_int("BENCH_WARMUP", 2),
        seed=_env_int("BENCH_SEED", 9),
        export_rows=_env_int("BENCH_EXPORT_ROWS", 10_000),
        only=os.environ.get("BENCH_ONLY", ""),
        progress=progress,
    )
    out.write_text(
        json.dumps(
            {
                "database": _database(),
                "changes": Change.objects.count(),
                "visible": visible,
                "results": [asdict(r) for r in results],
            }
        )
    )
    return 0


# --- The databases. ---


@dataclass
class Target:
    """One size's database: how to reach it, and whether it is the bench's own."""

    size: int
    url: str
    data_dir: Path
    own: bool  # made by the bench (False: BENCH_DATABASE_<size>, used as it is)
    postgres: bool
    name: str  # the file or the database's name


def _is_postgres(url: str) -> bool:
    return url.split(":", 1)[0] in {"postgres", "postgresql", "pgsql", "postgis"}


def _targets(sizes: Sequence[int], base_url: str, bench_dir: Path) -> list[Target]:
    targets = []
    for size in sizes:
        given = os.environ.get(f"BENCH_DATABASE_{size}", "")
        if given:
            name = urlsplit(given).path.lstrip("/") or given
            targets.append(
                Target(size, given, bench_dir / f"given-{size}", False, _is_postgres(given), name)
            )
        elif _is_postgres(base_url):
            parts = urlsplit(base_url)
            name = f"{parts.path.lstrip('/') or 'changedesk'}_{size}"
            url = urlunsplit(parts._replace(path=f"/{name}"))
            targets.append(Target(size, url, bench_dir / name, True, True, name))
        else:
            data_dir = bench_dir / f"sqlite-{size}"
            path = data_dir / "changedesk.sqlite3"
            targets.append(Target(size, f"sqlite:///{path}", data_dir, True, False, str(path)))
    return targets


@contextmanager
def _maintenance(url: str, dbname: str = "postgres") -> Iterator[Any]:
    """A connection to the PostgreSQL server's `postgres` database (or `dbname`), in
    autocommit."""
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(url)
    with psycopg.connect(
        dbname=dbname,
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        autocommit=True,
    ) as conn:
        yield conn


def _recreate(target: Target, drop: bool) -> None:
    """Make the target's database (dropping it first if `drop`): only the bench's own."""
    assert target.own
    if not target.postgres:
        if drop:
            for suffix in ("", "-wal", "-shm"):
                Path(target.name + suffix).unlink(missing_ok=True)
        target.data_dir.mkdir(parents=True, exist_ok=True)
        return
    from psycopg import sql

    # Only a name made here, `<DATABASE_URL's database>_<size>`, is ever dropped.
    assert re.fullmatch(rf"\w+_{target.size}", target.name), target.name
    with _maintenance(target.url) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [target.name]
        ).fetchone()
        if exists and drop:
            print(f"bench: dropping database {target.name}")
            conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(target.name)))
        if not exists or drop:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.name)))
    target.data_dir.mkdir(parents=True, exist_ok=True)


# The tables the pages read most, vacuumed before each measuring.
VACUUMED = ("changes_change", "changes_changeevent", "changes_tally", "configuration_changeitem",
            "configuration_configurationitem", "schedule_calendarperiod")  # fmt: skip


def _vacuum(target: Target) -> None:
    """Vacuum and analyse the bench's own PostgreSQL database, as autovacuum keeps a live
    one: where the visibility map is not set (rows written since the last vacuum, as by a
    migration's backfill or an earlier run's bench-data whose vacuum overlapped another
    transaction), every index-only scan reads the table too, and counting a ten-school
    person's RFCs took 45-77 ms rather than 11. Quick where nothing changed since."""
    if not (target.own and target.postgres):
        return
    started = time.monotonic()
    with _maintenance(target.url, target.name) as conn:
        for table in VACUUMED:
            conn.execute(f"VACUUM (ANALYZE) {table}")
    print(f"bench: vacuumed {target.name} in {time.monotonic() - started:.0f} s")


def _env(target: Target) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": target.url,
        "DATA_DIR": str(target.data_dir),
        "DEBUG": "false",
        "HTTPS": "false",
        "EMAIL_URL": "locmem://",
        "PYTHONUNBUFFERED": "1",
    }


def _run(target: Target, *args: str, quiet: bool = False) -> None:
    subprocess.run(  # noqa: S603 - this Python running changedesk's command line
        [sys.executable, "-m", "changedesk.cli", *args],
        env=_env(target),
        check=True,
        stdout=subprocess.DEVNULL if quiet else None,
    )


def _ask_child(target: Target, what: str) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(prefix="changedesk-bench-", suffix=".json") as out:
        subprocess.run(  # noqa: S603 - this Python running this module
            [sys.executable, "-m", "changedesk.site.bench", what],
            env={**_env(target), "BENCH_OUTPUT": out.name},
            check=True,
        )
        answer: dict[str, Any] = json.loads(Path(out.name).read_text() or "{}")
    return answer


def _prepare(target: Target, schools: int, fresh: bool) -> None:
    """Make sure the target holds the data set of its size (made once, then reused)."""
    if not target.own:
        found = _ask_child(target, "probe")
        if found["missing"]:
            print(f"bench: WARNING {target.name} lacks migrations: {', '.join(found['missing'])}")
        else:
            print(f"bench: {target.name} holds {found['changes']} RFCs: measuring it as it is")
        return
    target.data_dir.mkdir(parents=True, exist_ok=True)
    _recreate(target, drop=fresh)
    _run(target, "migrate", "--noinput", quiet=True)
    found = _ask_child(target, "probe")
    prefix = os.environ.get("BENCH_PREFIX", PREFIX)
    wanted = {
        "changes": target.size,
        "schools": schools,
        "people": [f"{prefix}-one", f"{prefix}-ten"],
    }
    if all(found[k] == v for k, v in wanted.items()):
        print(f"bench: {target.name} holds {target.size} RFCs in {schools} schools: reusing it")
        _vacuum(target)
        return
    if found["changes"] or found["schools"] or found["people"]:
        print(f"bench: {target.name} holds other data ({found['changes']} RFCs): making it again")
        _recreate(target, drop=True)
        _run(target, "migrate", "--noinput", quiet=True)
    print(f"bench: making {target.size} RFCs in {schools} schools in {target.name}")
    started = time.monotonic()
    _run(
        target,
        "bench-data",
        "--schools",
        str(schools),
        "--changes",
        str(target.size),
        "--seed",
        str(_env_int("BENCH_SEED", 9)),
        "--prefix",
        prefix,
        "--verbosity",
        "0",
    )
    print(f"bench: made in {time.monotonic() - started:.0f} s")
    _vacuum(target)


# --- The report. ---


def machine() -> dict[str, str]:
    """The CPU, its cores, the memory, the system and Python."""
    cpu, memory = platform.processor() or platform.machine(), ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else ""
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load": load,
    }


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def table(results: Sequence[Result]) -> list[str]:
    """One person's results as lines of a table."""
    lines = [
        f"{'endpoint':36} {'median':>7} {'p95':>7} {'x floor m/p95':>13} {'queries':>7}  "
        f"{'bound':21} result"
    ]
    for r in results:
        ratio = "" if r.kind == FLOOR else f"{r.median_ratio:.1f} / {r.p95_ratio:.1f}"
        verdict = (
            "" if r.kind == FLOOR and r.ok else ("OK" if r.ok else "OVER: " + "; ".join(r.over))
        )
        lines.append(
            f"{r.name[:36]:36} {_ms(r.median_ms):>7} {_ms(r.p95_ms):>7} {ratio:>13} "
            f"{r.queries_range:>7}  {r.bound:21} {verdict}"
        )
        if r.peak_kb is not None:
            lines.append(
                f"{'':36} peak memory {r.peak_kb / 1024:.1f} MB for {r.rows} rows, "
                f"{(r.small_peak_kb or 0) / 1024:.1f} MB for {r.small_rows}"
            )
        if r.error:
            lines.append(f"{'':36} error: {r.error}")
    return lines


def _general(name: str) -> str:
    """An endpoint's name without what was found for one person or size (the deep page's
    number, the export's rows, the RFC's shape), to compare it between them."""
    name = re.sub(r"page \d+", "deep page", name)
    name = re.sub(r" \(\d+ rows\)", "", name)
    return re.sub(r"RFC page \(.*\)", "RFC page", name)


def markdown(size: int, results: Sequence[Result]) -> list[str]:
    """One size's figures as a Markdown table (for the README): a column per person."""
    users = list(dict.fromkeys(r.user for r in results))
    names = list(dict.fromkeys(_general(r.name) for r in results))
    cells = {(_general(r.name), r.user): r for r in results}
    lines = [
        f"| {size:,} RFCs: median / p95 ms (p95 x floor), queries | " + " | ".join(users) + " |",
        "| --- |" + " --- |" * len(users),
    ]
    for name in names:
        row = []
        for user in users:
            r = cells.get((name, user))
            if r is None:
                row.append("")
                continue
            ratio = "" if r.kind in (FLOOR, CALL, EXPORT) else f" ({r.p95_ratio:.1f}x)"
            rows = f", {r.rows:,} rows" if r.rows is not None else ""
            if r.peak_kb is not None:
                rows += f", peak {r.peak_kb / 1024:.1f} MB"
            over = "" if r.ok else " **over**"
            row.append(f"{_ms(r.median_ms)} / {_ms(r.p95_ms)}{ratio}, {r.queries} q{rows}{over}")
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    return lines


def query_differences(by_size: dict[int, list[Result]]) -> list[tuple[str, bool]]:
    """The endpoints whose query count differs between the sizes measured, each with
    whether it grew by more than `QUERY_SLACK` (over its bound: a query per row, N+1)."""
    counts: dict[tuple[str, str], dict[int, int]] = {}
    for size, results in by_size.items():
        for r in results:
            counts.setdefault((r.user, _general(r.name)), {})[size] = r.queries
    return [
        (
            f"{user}: {name}: " + ", ".join(f"{n} at {size}" for size, n in sorted(found.items())),
            max(found.values()) - found[min(found)] > QUERY_SLACK,
        )
        for (user, name), found in counts.items()
        if len(set(found.values())) > 1
    ]


def main() -> int:
    base_url = os.environ.get("DATABASE_URL", "")
    postgres = _is_postgres(base_url)
    sizes = [
        int(s)
        for s in os.environ.get("BENCH_SIZES", "10 500000" if postgres else "10 20000").split()
    ]
    schools = _env_int("BENCH_SCHOOLS", 200 if postgres else 20)
    rounds = _env_int("BENCH_ROUNDS", 30)
    bench_dir = Path(
        os.environ.get("BENCH_DIR", "") or Path(tempfile.gettempdir()) / "changedesk-bench"
    )
    fresh, report_only = _env_flag("BENCH_FRESH"), _env_flag("BENCH_REPORT_ONLY")
    box = machine()
    print(
        f"bench: sizes {', '.join(map(str, sizes))} RFCs in {schools} schools, {rounds} rounds, "
        f"on {'PostgreSQL' if postgres else 'SQLite'}; data in {bench_dir}"
    )
    by_size: dict[int, list[Result]] = {}
    about: dict[int, dict[str, Any]] = {}
    for target in _targets(sizes, base_url, bench_dir):
        _prepare(target, schools, fresh)
        print(f"bench: measuring {target.size} RFCs ({target.name})", flush=True)
        started = time.monotonic()
        answer = _ask_child(target, "measure")
        answer["seconds"] = time.monotonic() - started
        about[target.size] = answer
        by_size[target.size] = [Result(**r) for r in answer["results"]]

    failed = False
    for size, results in by_size.items():
        info = about[size]
        db = info["database"]
        print(
            f"\n== {info['changes']} RFCs ({size}) on {db['version']} ({db['name']}), "
            f"measured in {info['seconds']:.0f} s; times in ms, the floor between each"
        )
        for user in dict.fromkeys(r.user for r in results):
            mine = [r for r in results if r.user == user]
            visible = info["visible"].get(user, "?")
            print(f"\n{user}, who sees {visible} RFCs:")
            print("\n".join(table(mine)))
            failed |= any(not r.ok for r in mine)
    differences = query_differences(by_size) if len(by_size) > 1 else []
    if differences:
        print(
            f"\n== Query counts that differ between sizes (OVER: more than {QUERY_SLACK} more "
            "at a larger size, a query per row; a few more is a warning: at 10 RFCs some lists "
            "and panels are empty and skip the query that loads them)"
        )
        for line, grew in differences:
            print(("OVER     " if grew else "warning  ") + line)
        failed |= any(grew for _, grew in differences)
    elif len(by_size) > 1:
        print("\n== Query counts: the same at every size")
    if _env_flag("BENCH_MARKDOWN"):
        for size, results in by_size.items():
            print("\n" + "\n".join(markdown(size, results)))
    db_versions = sorted({a["database"]["version"] for a in about.values()})
    print(
        f"\n== Machine: {box['cpu']}, {box['cores']} cores, {box['memory']}, {box['system']}, "
        f"Python {box['python']}, {', '.join(db_versions)}; load average at the start "
        f"{box['load']}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    if failed:
        print("bench: OVER" + (" (reported only: BENCH_REPORT_ONLY)" if report_only else ""))
        return 0 if report_only else 1
    print("bench: every figure within its bound")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(_child(sys.argv[1]))
    sys.exit(main())
