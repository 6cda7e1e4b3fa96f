"""Writing and checking the append-only, hash-chained history of an RFC."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from changedesk.accounts.models import User
from changedesk.changes.models import Change, ChangeEvent


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


def verify_chain(change: Change, events: list[ChangeEvent]) -> BrokenLink | None:
    """The first broken link in one RFC's history, or None when the chain is whole."""
    previous = ""
    for expected, event in enumerate(events, start=1):
        if event.sequence != expected:
            return BrokenLink(change, expected, "event is missing")
        if event.previous_hash != previous:
            return BrokenLink(change, event.sequence, "does not follow the event before it")
        if event.compute_hash() != event.hash:
            return BrokenLink(change, event.sequence, "content does not match its hash")
        previous = event.hash
    return None


def verify_all(batch_size: int = 500) -> Iterator[BrokenLink]:
    """Check every RFC's chain, a batch of RFCs at a time so memory stays flat."""
    changes = Change.objects.select_related("school").order_by("pk")
    last_pk = 0
    while True:
        batch = list(changes.filter(pk__gt=last_pk)[:batch_size])
        if not batch:
            return
        by_change: dict[int, list[ChangeEvent]] = {c.pk: [] for c in batch}
        for event in ChangeEvent.objects.filter(change__in=batch).order_by("change", "sequence"):
            by_change[event.change_id].append(event)
        for change in batch:
            broken = verify_chain(change, by_change[change.pk])
            if broken:
                yield broken
        last_pk = batch[-1].pk
