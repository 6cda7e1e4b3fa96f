"""Writing and checking the append-only, hash-chained history of an RFC.

Each event's hash is an HMAC (keyed with `models.history_key()`, which is not in the
database) of its content and the previous event's hash. `reseal` turned the plain SHA-256
chains made before into keyed ones (migration 0004); `changes.anchors` keeps the chains'
heads outside the database each day, and `verify_all` checks the chains against them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from changedesk.accounts.models import User
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
    from changedesk.changes.anchors import AnchorMismatch, Anchors


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


def verify_chain(
    change: Change, events: list[ChangeEvent], key: bytes | None = None
) -> BrokenLink | None:
    """The first broken link in one RFC's history, or None when the chain is whole.

    An event whose content does not match its keyed hash is broken where it is; so is the
    first event that was never sealed with the key (made plain, with every later hash
    recomputed, by someone without it), unless the chain breaks earlier.
    """
    key = key or history_key()
    previous = ""
    unsealed: BrokenLink | None = None
    for expected, event in enumerate(events, start=1):
        if event.sequence != expected:
            return BrokenLink(change, expected, "event is missing")
        if event.previous_hash != previous:
            return BrokenLink(change, event.sequence, "does not follow the event before it")
        if event.compute_hash(key) != event.hash:
            return BrokenLink(change, event.sequence, "content does not match its hash")
        if event.hash_kind != HASH_KEYED and unsealed is None:
            unsealed = BrokenLink(change, event.sequence, "is not sealed with the history key")
        previous = event.hash
    return unsealed


def verify_all(
    batch_size: int = 500, anchors: Anchors | None = None
) -> Iterator[BrokenLink | AnchorMismatch]:
    """Check every RFC's chain, a batch of RFCs at a time so memory stays flat; with
    `anchors` (read from the anchors file), also that every head they hold is still there."""
    key = history_key()
    changes = Change.objects.select_related("school").order_by("pk")
    last_pk = 0
    while True:
        batch = list(changes.filter(pk__gt=last_pk)[:batch_size])
        if not batch:
            break
        by_change: dict[int, list[ChangeEvent]] = {c.pk: [] for c in batch}
        for event in ChangeEvent.objects.filter(change__in=batch).order_by("change", "sequence"):
            by_change[event.change_id].append(event)
        for change in batch:
            broken = verify_chain(change, by_change[change.pk], key)
            if broken:
                yield broken
            if anchors is not None:
                mismatch = anchors.check(change, by_change[change.pk])
                if mismatch:
                    yield mismatch
        last_pk = batch[-1].pk
    if anchors is not None:
        yield from anchors.missing(Change.objects.values_list("pk", flat=True))


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
