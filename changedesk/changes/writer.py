"""The one writer of an RFC: lock it, check the version the caller loaded, save, and record.

`perform` (actions), `services.update_change` (edits) and `items.set_change_items` (the
items it touches) all write through here, so every write of an RFC takes the same lock,
makes the same version check, bumps the version once and appends exactly one event to the
hash-chained history, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.utils import timezone

from changedesk.accounts.models import User
from changedesk.changes.history import record_event
from changedesk.changes.models import PEOPLE_FIELDS, Change, ChangeEvent
from changedesk.lib.errors import StaleChange


@contextmanager
def locked(
    change_id: int, expected_version: int | None = None, *, say_state: bool = False
) -> Iterator[Change]:
    """Inside one transaction: the RFC, locked for writing, with its school and people.

    Refuses (409) when the caller loaded another version than the one there now (saying
    the state it is in now, with `say_state`, for an action).
    """
    with transaction.atomic():
        change = (
            Change.objects.select_for_update(of=("self",))
            .select_related("school", "originator", *PEOPLE_FIELDS)
            .get(pk=change_id)
        )
        if expected_version is not None and change.version != expected_version:
            raise StaleChange(stale_message(change, say_state))
        yield change


def save(
    change: Change,
    kind: str,
    actor: User,
    *,
    fields: Iterable[str] = (),
    from_state: str | None = None,
    **event: Any,
) -> ChangeEvent:
    """Save `fields` of the locked `change`, bump its version and append one event.

    `event` holds the event's other facts (on_behalf_of, comment, diffs, data, digest).
    """
    values = {name: getattr(change, name) for name in fields}
    updated = Change.objects.filter(pk=change.pk, version=change.version).update(
        **values, version=change.version + 1, updated_at=timezone.now()
    )
    if updated != 1:
        raise StaleChange(stale_message(change))
    change.version += 1
    return record_event(
        change,
        kind,
        actor,
        from_state=change.state if from_state is None else from_state,
        to_state=change.state,
        **event,
    )


def stale_message(change: Change, say_state: bool = True) -> str:
    if not say_state:
        return f"{change.reference} has changed since you loaded it. Reload it and try again."
    return (
        f"{change.reference} has changed since you loaded it (it is now "
        f"{change.get_state_display().lower()}). Reload it and try again."
    )
