"""Writing and checking the append-only, hash-chained history of an RFC.

Each event's hash is an HMAC (keyed with `models.history_key()`, which is not in the
database) of its content and the previous event's hash. `reseal` turned the plain SHA-256
chains made before into keyed ones (migration 0004); `changes.anchors` keeps the chains'
heads outside the database each day, and `verify_all` checks the chains against them.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from django.db import connection, connections
from django.db.models import Q, QuerySet
from django.utils import timezone

from changedesk.accounts.models import User
from changedesk.changes.anchors import AnchorMismatch, first_mismatch
from changedesk.changes.models import (
    HASH_KEYED,
    HASH_PLAIN,
    Change,
    ChangeEvent,
    event_payload,
    history_key,
    history_key_id,
    plain_seal,
    seal,
)

if TYPE_CHECKING:
    from changedesk.changes.anchors import Anchors, Point


def record_event(
    change: Change,
    kind: str,
    actor: User,
    *,
    on_behalf_of: User | None = None,
    from_state: str = "",
    to_state: str = "",
    comment: str = "",
    diffs: list[dict[str, Any]] | None = None,
    data: dict[str, Any] | None = None,
    digest: str = "",
) -> ChangeEvent:
    """Append one event to `change`'s chain. The caller holds the change's row lock."""
    last = change.events.order_by("-sequence").only("sequence", "hash").first()
    event = ChangeEvent(
        change=change,
        sequence=(last.sequence + 1) if last else 1,
        kind=kind,
        actor=actor,
        on_behalf_of=on_behalf_of,
        from_state=from_state,
        to_state=to_state,
        comment=comment,
        diffs=diffs or [],
        data=data or {},
        digest=digest,
        previous_hash=last.hash if last else "",
        hash_kind=HASH_KEYED,
        created_at=timezone.now(),
    )
    event.hash = event.compute_hash()
    event.save()
    return event


@dataclass(frozen=True)
class BrokenLink:
    change: Change
    sequence: int
    problem: str

    def __str__(self) -> str:
        return f"{self.change.qualified_reference} event {self.sequence}: {self.problem}"


MISSING = "event is missing"
NOT_FOLLOWING = "does not follow the event before it"
NOT_MATCHING = "content does not match its hash"
UNSEALED = "is not sealed with the history key"


class _ChainCheck:
    """One RFC's chain, checked an event at a time in sequence order: the rule of
    `verify_chain`, shared by the check of every chain (which streams the events)."""

    __slots__ = ("expected", "found", "previous", "unsealed")

    def __init__(self) -> None:
        self.expected = 1
        self.previous = ""
        self.found: tuple[int, str] | None = None
        self.unsealed: tuple[int, str] | None = None

    def add(self, event: Any, key: bytes) -> bool:
        """Check the next event (a model instance or a row with its fields); False once
        the chain is broken, after which the rest of it needs no checking."""
        sequence = event.sequence
        if sequence != self.expected:
            self.found = (self.expected, MISSING)
            return False
        if event.previous_hash != self.previous:
            self.found = (sequence, NOT_FOLLOWING)
            return False
        # What `ChangeEvent.compute_hash` does, on a row as well as an event.
        if event.hash_kind == HASH_PLAIN:
            expected_hash = plain_seal(event.previous_hash, event_payload(event))
        else:
            expected_hash = seal(key, event.previous_hash, event_payload(event))
        if expected_hash != event.hash:
            self.found = (sequence, NOT_MATCHING)
            return False
        if event.hash_kind != HASH_KEYED and self.unsealed is None:
            self.unsealed = (sequence, UNSEALED)
        self.previous = event.hash
        self.expected += 1
        return True

    def result(self) -> tuple[int, str] | None:
        """The first broken link's (sequence, problem), or None when the chain is whole."""
        return self.found or self.unsealed


def verify_chain(
    change: Change, events: list[ChangeEvent], key: bytes | None = None
) -> BrokenLink | None:
    """The first broken link in one RFC's history, or None when the chain is whole.

    An event whose content does not match its keyed hash is broken where it is; so is the
    first event that was never sealed with the key (made plain, with every later hash
    recomputed, by someone without it), unless the chain breaks earlier.
    """
    key = key or history_key()
    check = _ChainCheck()
    for event in events:
        if not check.add(event, key):
            break
    found = check.result()
    return BrokenLink(change, *found) if found else None


# --- Checking every chain: streamed in batches, in parallel on PostgreSQL. ---

# Events a batch reads (a query each); also how often the progress is told.
BATCH_SIZE = 5000


class EventRow(NamedTuple):
    """What a batch reads of an event: only what its hash covers and the chain's links
    (`event_payload` and `_ChainCheck.add` take it as they take a `ChangeEvent`)."""

    change_id: int
    sequence: int
    kind: str
    actor_id: int
    on_behalf_of_id: int | None
    from_state: str
    to_state: str
    comment: str
    diffs: Any
    data: Any
    digest: str
    created_at: datetime
    previous_hash: str
    hash: str
    hash_kind: str


def _json(value: Any) -> Any:
    """A JSON column's value as `JSONField.from_db_value` gives it (most are empty)."""
    if value == "[]":
        return []
    if value == "{}":
        return {}
    return json.loads(value) if isinstance(value, str) else value


def _read(batch: QuerySet[ChangeEvent, tuple[Any, ...]]) -> list[EventRow]:
    """The rows of a batch (a `values_list` of `EventRow`'s fields). On PostgreSQL they are
    read from the cursor, the times by psycopg's C loader (`lib/pgtimes.py`: Django's, in
    Python, took a fifth of the time of the whole check), the JSON decoded as `JSONField`
    does."""
    if connection.vendor != "postgresql":
        return [EventRow._make(row) for row in batch]
    sql, params = batch.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        EventRow(c, s, k, a, o, f, t, m, _json(diffs), _json(data), d, at, p, h, hk)
        for c, s, k, a, o, f, t, m, diffs, data, d, at, p, h, hk in rows
    ]


# Parts of the RFCs per worker process, so that a slow part does not keep the others idle.
PARTS_PER_JOB = 4

Progress = Callable[[int, int], None]


@dataclass
class Verified:
    """What `verify_history` found: the problems (in RFC order, then the RFCs deleted since
    an anchor), and how many events of how many RFCs it checked."""

    problems: list[BrokenLink | AnchorMismatch]
    events: int
    changes: int


@dataclass
class _Part:
    """What one part of the RFCs (ids `lo` to `hi`) holds: the events checked, each broken
    chain's first broken link, each anchor no longer matched, the anchored RFCs seen."""

    events: int = 0
    broken: list[tuple[int, int, str]] = field(default_factory=list)
    changed: list[tuple[int, str, str]] = field(default_factory=list)
    anchored: list[int] = field(default_factory=list)


def _check_part(
    lo: int,
    hi: int,
    batch_size: int,
    key: bytes,
    points: dict[int, list[Point]],
    on_batch: Callable[[int], None],
) -> _Part:
    """Check the chains of the RFCs with ids `lo` to `hi`, reading their events a batch at a
    time in (change, sequence) order (only the columns needed, as tuples), a chain's state
    carried from one batch to the next."""
    part = _Part()
    events = ChangeEvent.objects.order_by("change_id", "sequence").values_list(*EventRow._fields)
    current = 0
    check = _ChainCheck()
    live = False
    hashes: list[str] | None = None

    def finish() -> None:
        found = check.result()
        if found:
            part.broken.append((current, *found))
        if hashes is not None:
            mismatch = first_mismatch(points[current], hashes)
            if mismatch:
                part.changed.append((current, *mismatch))
            part.anchored.append(current)

    after: tuple[int, int] | None = None
    while True:
        if after is None:
            query = events.filter(change_id__gte=lo, change_id__lte=hi)
        else:
            # Keyset paging on the unique (change, sequence) index.
            query = events.filter(change_id__gte=after[0], change_id__lte=hi).filter(
                Q(change_id__gt=after[0]) | Q(sequence__gt=after[1])
            )
        batch = _read(query[:batch_size])
        for event in batch:
            if event.change_id != current:
                if current:
                    finish()
                current = event.change_id
                check = _ChainCheck()
                live = True
                hashes = [] if current in points else None
            if live:
                live = check.add(event, key)
            if hashes is not None:
                hashes.append(event.hash)
        part.events += len(batch)
        on_batch(len(batch))
        if len(batch) < batch_size:
            break
        after = (batch[-1].change_id, batch[-1].sequence)
    if current:
        finish()
    return part


# A worker process's state, set when it starts (inherited, not pickled: it forks).
_worker: tuple[bytes, dict[int, list[Point]], Any] | None = None


def _start_worker(key: bytes, points: dict[int, list[Point]], counter: Any) -> None:
    global _worker
    _worker = (key, points, counter)


def _check_part_in_worker(lo: int, hi: int, batch_size: int) -> _Part:
    assert _worker is not None
    key, points, counter = _worker

    def counted(events: int) -> None:
        with counter.get_lock():
            counter.value += events

    try:
        return _check_part(lo, hi, batch_size, key, points, counted)
    finally:
        connections.close_all()


def _split(pks: list[int], parts: int) -> list[tuple[int, int]]:
    """`parts` ranges of ids holding about as many RFCs each."""
    size = -(-len(pks) // max(1, parts))
    return [(pks[i], pks[min(i + size, len(pks)) - 1]) for i in range(0, len(pks), size)]


def _in_parallel(
    ranges: list[tuple[int, int]],
    jobs: int,
    batch_size: int,
    key: bytes,
    points: dict[int, list[Point]],
    told: Callable[[int], None],
) -> list[_Part]:
    """The parts checked in `jobs` worker processes, each with its own connection."""
    context = multiprocessing.get_context("fork")
    counter = context.Value("q", 0)
    # The children must not share the parent's connection: each opens its own.
    connections.close_all()
    with ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=context,
        initializer=_start_worker,
        initargs=(key, points, counter),
    ) as pool:
        futures = [pool.submit(_check_part_in_worker, lo, hi, batch_size) for lo, hi in ranges]
        pending = set(futures)
        while pending:
            _done, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
            told(counter.value)
            for future in _done:
                future.result()  # a worker's error, raised at once
        return [future.result() for future in futures]


def verify_history(
    batch_size: int = BATCH_SIZE,
    anchors: Anchors | None = None,
    jobs: int = 1,
    progress: Progress | None = None,
) -> Verified:
    """Check every RFC's chain, streaming the events `batch_size` at a time so memory stays
    flat; with `anchors` (read from the anchors file), also that every head they hold is
    still there. With `jobs` > 1 on PostgreSQL the RFCs are split into ranges of ids checked
    in that many worker processes (elsewhere, or inside a transaction, whose rows other
    connections cannot see, in this one). `progress(checked, total)` is told the events
    checked as it goes."""
    key = history_key()
    points = anchors.points if anchors is not None else {}
    pks = list(Change.objects.order_by("pk").values_list("pk", flat=True))
    total = ChangeEvent.objects.count() if progress is not None else 0
    checked = 0

    def told(events: int) -> None:
        if progress is not None:
            progress(events, total)

    def counted(events: int) -> None:
        nonlocal checked
        checked += events
        told(checked)

    parallel = jobs > 1 and connection.vendor == "postgresql" and not connection.in_atomic_block
    ranges = _split(pks, jobs * PARTS_PER_JOB if parallel else 1) if pks else []
    if parallel and len(ranges) > 1:
        parts = _in_parallel(ranges, jobs, batch_size, key, points, told)
    else:
        parts = [_check_part(lo, hi, batch_size, key, points, counted) for lo, hi in ranges]
    events = sum(part.events for part in parts)
    told(events)

    # (RFC, 0 for its chain or 1 for its anchors, sequence, anchor's day, problem)
    found: list[tuple[int, int, int, str, str]] = []
    seen: set[int] = set()
    for part in parts:
        found.extend((pk, 0, sequence, "", problem) for pk, sequence, problem in part.broken)
        found.extend((pk, 1, 0, day, problem) for pk, day, problem in part.changed)
        seen.update(part.anchored)
    # Anchored RFCs that now have no events at all.
    existing = set(pks)
    for pk in (set(points) & existing) - seen:
        mismatch = first_mismatch(points[pk], [])
        if mismatch:
            found.append((pk, 1, 0, *mismatch))
    found.sort(key=lambda problem: problem[:2])
    changes = Change.objects.select_related("school").in_bulk({problem[0] for problem in found})
    problems: list[BrokenLink | AnchorMismatch] = []
    for pk, order, sequence, day, problem in found:
        change = changes[pk]
        if order == 0:
            problems.append(BrokenLink(change, sequence, problem))
        else:
            problems.append(
                AnchorMismatch(change.school.name, change.reference, day, problem, change)
            )
    if anchors is not None:
        problems.extend(anchors.missing(existing))
    return Verified(problems, events, len(pks))


def verify_all(
    batch_size: int = BATCH_SIZE, anchors: Anchors | None = None, jobs: int = 1
) -> Iterator[BrokenLink | AnchorMismatch]:
    """The problems `verify_history` finds."""
    yield from verify_history(batch_size, anchors, jobs).problems


# --- Re-sealing the chains made before the key (migration 0004). ---


@dataclass
class Resealed:
    changes: int = 0
    events: int = 0
    left_unsealed: list[str] | None = None


def _plain_break(events: list[Any]) -> str:
    """Where a chain made with plain hashes does not verify under them ("" if whole)."""
    previous = ""
    for expected, event in enumerate(events, start=1):
        if event.sequence != expected:
            return f"event {expected}: event is missing"
        if event.previous_hash != previous:
            return f"event {event.sequence}: does not follow the event before it"
        if event.hash_kind != HASH_PLAIN:
            return f"event {event.sequence}: is neither plain nor keyed"
        if plain_seal(event.previous_hash, event_payload(event)) != event.hash:
            return f"event {event.sequence}: content does not match its hash"
        previous = event.hash
    return ""


def reseal(
    change_model: type[Any], event_model: type[Any], key: bytes, batch_size: int = 500
) -> Resealed:
    """Re-compute every plain chain's hashes with `key`, a batch of RFCs at a time.

    Takes the models (the migration's historical ones) and writes through their base
    manager, as `ChangeEvent.objects` refuses updates. A chain that does not verify under
    its plain hashes is left as it is and named, so that re-sealing hides no edit made
    before it; `verify-history` reports it as before. Chains already keyed are skipped.
    """
    done = Resealed(left_unsealed=[])
    assert done.left_unsealed is not None
    events = event_model._base_manager
    changes = change_model._base_manager.select_related("school").order_by("pk")
    last_pk = 0
    while True:
        batch = list(changes.filter(pk__gt=last_pk)[:batch_size])
        if not batch:
            return done
        last_pk = batch[-1].pk
        by_change: dict[int, list[Any]] = {c.pk: [] for c in batch}
        for event in events.filter(change__in=batch, hash_kind=HASH_PLAIN).order_by(
            "change", "sequence"
        ):
            by_change[event.change_id].append(event)
        updated: list[Any] = []
        for change in batch:
            chain = by_change[change.pk]
            if not chain:
                continue
            problem = _plain_break(chain)
            if problem:
                name = f"{change.school.slug}:RFC-{change.number:04d}"
                done.left_unsealed.append(f"{name} {problem}")
                continue
            previous = ""
            for event in chain:
                event.previous_hash = previous
                event.hash = seal(key, previous, event_payload(event))
                event.hash_kind = HASH_KEYED
                previous = event.hash
            updated.extend(chain)
            done.changes += 1
            done.events += len(chain)
        events.bulk_update(updated, ["previous_hash", "hash", "hash_kind"], batch_size=500)


def reseal_and_record(
    change_model: type[Any], event_model: type[Any], reseal_model: type[Any]
) -> Resealed:
    """`reseal` with the history key, recorded in a `HistoryReseal` row and a line of the
    anchors file (when it re-sealed anything: a new database has nothing to record)."""
    from changedesk.changes import anchors

    key = history_key()
    done = reseal(change_model, event_model, key)
    if done.events or done.left_unsealed:
        now = timezone.now()
        reseal_model._base_manager.create(
            at=now,
            key_id=history_key_id(key),
            changes=done.changes,
            events=done.events,
            left_unsealed=done.left_unsealed,
        )
        anchors.append_line(
            {
                "type": "reseal",
                "at": now.isoformat(),
                "key": history_key_id(key),
                "changes": done.changes,
                "events": done.events,
                "left_unsealed": done.left_unsealed,
            }
        )
    return done
