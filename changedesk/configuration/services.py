"""Configuration items: who may see and manage them, writing them, and the RFCs that touch them.

Every write goes through a function here; the pages, the API and the import call them. The
errors are the workflow's (`InvalidAction` 400, `NotPermitted` 403, `StaleChange` 409), so a
refusal reads the same wherever it is met.

Who may do what (checked here, on the server):
- any member of a school reads its items;
- a school administrator or an originator creates, edits, retires and deletes them
  (originators raise the RFCs that name items, so they keep the list up to date);
- only a school administrator imports them from a CSV file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from changedesk.accounts.choices import Role
from changedesk.accounts.models import School, User
from changedesk.changes.choices import Action, EventKind, State
from changedesk.changes.history import record_event
from changedesk.changes.models import Change
from changedesk.changes.services import editable_fields
from changedesk.changes.workflow import perform
from changedesk.configuration.models import ChangeItem, ConfigurationItem, ItemKind
from changedesk.lib.errors import InvalidAction, NotPermitted, StaleChange

MANAGER_ROLES = frozenset({Role.SCHOOL_ADMIN, Role.ORIGINATOR})
ITEM_FIELDS = (
    "name",
    "kind",
    "identifier",
    "location",
    "owner",
    "users_affected",
    "notes",
    "is_active",
)
TEXT_LIMITS = {"name": 200, "identifier": 100, "location": 200, "notes": 10_000}
MAX_USERS = 2**31 - 1
MAX_NOTE = 10_000


# --- Who may do what. ---


def may_manage(user: User, school: School) -> bool:
    """Create, edit, retire and delete the school's items. Uses prefetched roles if present."""
    return user.is_active and (user.is_superuser or bool(user.roles_in(school) & MANAGER_ROLES))


def may_import(user: User, school: School) -> bool:
    return user.is_active and (user.is_superuser or Role.SCHOOL_ADMIN in user.roles_in(school))


def with_roles(user: User) -> User:
    """The user with their memberships and roles loaded, so role checks cost no query."""
    return User.objects.prefetch_related("memberships__roles", "memberships__school").get(
        pk=user.pk
    )


def school_members(school: School) -> QuerySet[User]:
    """Who may own an item: the school's active members."""
    return (
        User.objects.filter(is_active=True, memberships__school=school)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


# --- Writing items. ---


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    unknown = set(data) - set(ITEM_FIELDS)
    if unknown:
        raise InvalidAction("Unknown fields.", {n: "This field cannot be set." for n in unknown})
    values = dict(data)
    for name in ("name", "identifier", "location", "notes"):
        if name in values:
            values[name] = (values[name] or "").strip()
    return values


def validate_item(
    school: School, values: dict[str, Any], instance: ConfigurationItem | None = None
) -> dict[str, str]:
    """Field errors for an item's values, as they would be saved in `school`."""
    errors: dict[str, str] = {}
    if not values.get("name"):
        errors["name"] = "Give the item a name."
    for name, limit in TEXT_LIMITS.items():
        value = values.get(name) or ""
        if len(value) > limit:
            errors[name] = f"At most {limit} characters (this has {len(value)})."
        elif "\x00" in value:
            errors[name] = "This contains a character that cannot be stored."
    if values.get("kind") not in ItemKind.values:
        errors["kind"] = f"Choose the kind: one of {', '.join(ItemKind.values)}."
    users = values.get("users_affected")
    if not isinstance(users, int) or isinstance(users, bool) or not 0 <= users <= MAX_USERS:
        errors["users_affected"] = "Give a whole number, 0 or more."
    identifier = values.get("identifier") or ""
    if identifier and "identifier" not in errors:
        clash = ConfigurationItem.objects.filter(school=school, identifier__iexact=identifier)
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        other = clash.first()
        if other is not None:
            errors["identifier"] = f"{other.name} already has the identifier {other.identifier}."
    owner: User | None = values.get("owner")
    if owner is not None and not school_members(school).filter(pk=owner.pk).exists():
        errors["owner"] = f"{owner.display_name} is not an active member of {school.name}."
    return errors


def create_item(school: School, actor: User, data: dict[str, Any]) -> ConfigurationItem:
    """Add an item to `school` as `actor`; `data` holds model field values."""
    actor = with_roles(actor)
    if not may_manage(actor, school):
        raise NotPermitted(
            f"Only a school administrator or an originator of {school.name} may add items."
        )
    values: dict[str, Any] = {
        "kind": ItemKind.OTHER,
        "users_affected": 0,
        "is_active": True,
        **_clean(data),
    }
    errors = validate_item(school, values)
    if errors:
        raise InvalidAction("Some fields need correcting.", errors)
    item = ConfigurationItem(school=school, **values)
    _save(item)
    return item


def update_item(item_id: int, actor: User, data: dict[str, Any]) -> ConfigurationItem:
    """Edit an item as `actor`; retiring is `{"is_active": False}`."""
    actor = with_roles(actor)
    with transaction.atomic():
        item = (
            ConfigurationItem.objects.select_for_update(of=("self",))
            .select_related("school")
            .get(pk=item_id)
        )
        if not may_manage(actor, item.school):
            raise NotPermitted(
                f"Only a school administrator or an originator of {item.school.name} "
                "may change its items."
            )
        values = _clean(data)
        for name, value in values.items():
            setattr(item, name, value)
        errors = validate_item(item.school, {n: getattr(item, n) for n in ITEM_FIELDS}, item)
        if errors:
            raise InvalidAction("Some fields need correcting.", errors)
        _save(item)
    return item


def _save(item: ConfigurationItem) -> None:
    try:
        with transaction.atomic():
            item.save()
    except IntegrityError:
        # The identifier check ran before the write; only a concurrent writer gets here.
        raise InvalidAction(
            "Some fields need correcting.",
            {"identifier": f"Another item at {item.school.name} has just taken this identifier."},
        ) from None


def delete_item(item_id: int, actor: User) -> None:
    """Delete an item no RFC has named; one that has been named is retired instead."""
    actor = with_roles(actor)
    with transaction.atomic():
        item = (
            ConfigurationItem.objects.select_for_update(of=("self",))
            .select_related("school")
            .get(pk=item_id)
        )
        if not may_manage(actor, item.school):
            raise NotPermitted(
                f"Only a school administrator or an originator of {item.school.name} "
                "may delete its items."
            )
        touched = item.change_links.count()
        if touched:
            raise InvalidAction(
                f"{item.name} is named on {touched} request{'s' if touched != 1 else ''} for "
                "change, so it stays in their history: retire it instead."
            )
        item.delete()


# --- The items an RFC touches. ---


def item_links(change: Change) -> list[ChangeItem]:
    """The items `change` names, with what changed on each, in name order."""
    return list(
        ChangeItem.objects.filter(change=change)
        .select_related("item", "recorded_by")
        .order_by("item__name", "item_id")
    )


def items_editable(change: Change) -> bool:
    """Items go with the plan: they may change wherever its details may."""
    return "details" in editable_fields(change)


def _labels(items: Iterable[ConfigurationItem]) -> list[str]:
    return sorted(item.key for item in items)


def set_change_items(
    change: Change,
    items: Iterable[ConfigurationItem],
    actor: User,
    *,
    comment: str = "",
    expected_version: int | None = None,
) -> Change:
    """Name the items `change` touches, as its originator; records one `edit` event.

    Only the originator may do it, and only while the plan may be edited. Items must belong
    to the RFC's school; a retired item may stay on an RFC that named it but not be added.
    """
    wanted_ids = {item.pk for item in items}
    with transaction.atomic():
        change = (
            Change.objects.select_for_update(of=("self",))
            .select_related("school")
            .get(pk=change.pk)
        )
        actor = with_roles(actor)
        if expected_version is not None and change.version != expected_version:
            raise StaleChange(
                f"{change.reference} has changed since you loaded it. Reload it and try again."
            )
        if actor.pk != change.originator_id or Role.ORIGINATOR not in actor.roles_in(change.school):
            raise NotPermitted(
                f"Only the originator of {change.reference} may name the items it touches."
            )
        current = {link.item_id: link.item for link in item_links(change)}
        if set(current) == wanted_ids:
            return change
        if not items_editable(change):
            reason = _locked_reason(change)
            raise InvalidAction(reason, {"items": reason})
        added_ids = wanted_ids - set(current)
        # Locked, so an item cannot be deleted between this check and the link to it.
        added = {
            item.pk: item
            for item in ConfigurationItem.objects.select_for_update(of=("self",)).filter(
                pk__in=added_ids
            )
        }
        errors = _item_errors(change, added_ids, added)
        if errors:
            raise InvalidAction("Some items cannot be named on this change.", {"items": errors})
        removed_ids = set(current) - wanted_ids
        ChangeItem.objects.filter(change=change, item_id__in=removed_ids).delete()
        ChangeItem.objects.bulk_create(
            [ChangeItem(change=change, item=added[pk]) for pk in sorted(added_ids)]
        )
        after = [item for pk, item in current.items() if pk not in removed_ids]
        after += list(added.values())
        updated = Change.objects.filter(pk=change.pk, version=change.version).update(
            version=change.version + 1, updated_at=timezone.now()
        )
        if updated != 1:
            raise StaleChange(f"{change.reference} has changed since you loaded it.")
        change.version += 1
        record_event(
            change,
            EventKind.EDIT,
            actor,
            from_state=change.state,
            to_state=change.state,
            comment=comment.strip(),
            diffs=[
                {
                    "field": "items",
                    "before": _labels(current.values()),
                    "after": _labels(after),
                }
            ],
        )
    return change


def _item_errors(change: Change, added_ids: set[int], added: dict[int, ConfigurationItem]) -> str:
    problems = []
    missing = sorted(added_ids - set(added))
    if missing:
        problems.append(f"No item {', '.join(map(str, missing))} at {change.school.name}.")
    for item in added.values():
        if item.school_id != change.school_id:
            problems.append(f"No item {item.pk} at {change.school.name}.")
        elif not item.is_active:
            problems.append(f"{item.name} is retired and cannot be named on a change.")
    return " ".join(problems)


def _locked_reason(change: Change) -> str:
    if change.state in (State.CLOSED, State.REJECTED, State.WITHDRAWN):
        return f"{change.reference} is {change.get_state_display().lower()} and cannot be changed."
    return (
        "The items a change touches go with its plan, which cannot be changed now: "
        f"{change.reference} is {change.get_state_display().lower()}."
    )


def clean_item_changes(raw: dict[Any, Any] | None) -> dict[int, str]:
    """`{"<item id>": "what changed"}` as {id: text}, blank notes left out."""
    notes: dict[int, str] = {}
    for key, text in (raw or {}).items():
        key_text = str(key).strip()
        if not (key_text.isascii() and key_text.isdecimal()) or len(key_text) > 18:
            raise InvalidAction(
                "What changed on each item is keyed by the item's id.",
                {"item_changes": f"“{key_text[:40]}” is not an item id."},
            )
        if not isinstance(text, str):
            raise InvalidAction(
                "Describe what changed in words.",
                {"item_changes": f"Give the note for item {key_text} as text."},
            )
        if len(text) > MAX_NOTE:
            raise InvalidAction(
                "A note is too long.",
                {"item_changes": f"At most {MAX_NOTE} characters for item {key_text}."},
            )
        if text.strip():
            notes[int(key_text)] = text.strip()
    return notes


def perform_recording_items(
    change_id: int,
    action: str,
    actor: User,
    *,
    item_changes: dict[Any, Any] | None = None,
    comment: str = "",
    data: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> Change:
    """`workflow.perform`, and on closing (FITS step 9) what changed on each item, at once.

    The notes are written in the same transaction as the close: a close that fails records
    no notes, and a note for an item the RFC does not name undoes the close.
    """
    notes = clean_item_changes(item_changes)
    if notes and action != Action.CLOSE:
        raise InvalidAction(
            "What changed on each item is recorded when the change is closed.",
            {"item_changes": "Send this with the close action only."},
        )
    with transaction.atomic():
        change = perform(
            change_id,
            action,
            actor,
            comment=comment,
            data=data,
            expected_version=expected_version,
        )
        if notes:
            record_item_changes(change, notes, actor)
    return change


def record_item_changes(change: Change, notes: dict[int, str], actor: User) -> None:
    links = {
        link.item_id: link
        for link in ChangeItem.objects.filter(change=change, item_id__in=list(notes))
    }
    unknown = sorted(set(notes) - set(links))
    if unknown:
        ids = ", ".join(str(pk) for pk in unknown)
        raise InvalidAction(
            "Some notes are for items this change does not name.",
            {"item_changes": f"{change.reference} does not name item {ids}."},
        )
    now = timezone.now()
    for item_id, text in notes.items():
        link = links[item_id]
        link.what_changed = text
        link.recorded_at = now
        link.recorded_by = actor
        link.save(update_fields=["what_changed", "recorded_at", "recorded_by"])
