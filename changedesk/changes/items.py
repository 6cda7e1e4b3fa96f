"""The configuration items an RFC touches: naming them while the plan is open, and on
closing (FITS step 9) what changed on each, kept in the close event's data.

Items are a catalogue below the RFC (`configuration`); an RFC's links to them live here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn

from django.utils import timezone
from django.utils.translation import gettext

from changedesk.accounts import permissions
from changedesk.accounts.choices import Role
from changedesk.accounts.models import User
from changedesk.changes import writer
from changedesk.changes.choices import EventKind, State
from changedesk.changes.models import Change, ChangeEvent, ChangeItem
from changedesk.configuration.models import ConfigurationItem
from changedesk.lib.errors import InvalidAction, NotPermitted

MAX_NOTE = 10_000
MAX_ITEMS = 500


def item_links(change: Change) -> list[ChangeItem]:
    """The items `change` names, with what changed on each, in name order."""
    return list(
        ChangeItem.objects.filter(change=change)
        .select_related("item", "recorded_by")
        .order_by("item__name", "item_id")
    )


def items_editable(change: Change) -> bool:
    """Items go with the plan: they may change wherever its details may."""
    from changedesk.changes.workflow import editable_fields

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
    with writer.locked(change.pk, expected_version) as change:
        actor = permissions.with_roles(actor)
        if actor.pk != change.originator_id or not permissions.holds(
            actor, Role.ORIGINATOR, change.school
        ):
            raise NotPermitted(
                gettext("Only the originator of %(reference)s may name the items it touches.")
                % {"reference": change.reference}
            )
        current = {link.item_id: link.item for link in item_links(change)}
        if set(current) == wanted_ids:
            return change
        if not items_editable(change):
            reason = _locked_reason(change)
            raise InvalidAction(reason, {"items": reason})
        removed_ids = set(current) - wanted_ids
        ChangeItem.objects.filter(change=change, item_id__in=removed_ids).delete()
        added = _link(change, wanted_ids - set(current))
        after = [item for pk, item in current.items() if pk not in removed_ids]
        after += list(added.values())
        writer.save(
            change,
            EventKind.EDIT,
            actor,
            comment=comment.strip(),
            diffs=[
                {"field": "items", "before": _labels(current.values()), "after": _labels(after)}
            ],
        )
    return change


def name_items_on_new(change: Change, items: Iterable[ConfigurationItem]) -> list[str]:
    """Name `items` on an RFC being raised (inside its transaction); returns their labels
    for its `create` event. The same rules as `set_change_items`: the RFC's school, in use."""
    wanted_ids = {item.pk for item in items}
    return _labels(_link(change, wanted_ids).values()) if wanted_ids else []


def _link(change: Change, item_ids: set[int]) -> dict[int, ConfigurationItem]:
    """Link the locked `change` to the items `item_ids`, which must be of its school and in
    use; returns them by id. Locked, so an item cannot be deleted between this check and
    the link to it."""
    found = {
        item.pk: item
        for item in ConfigurationItem.objects.select_for_update(of=("self",)).filter(
            pk__in=item_ids
        )
    }
    errors = _item_errors(change, item_ids, found)
    if errors:
        raise InvalidAction(
            gettext("Some items cannot be named on this change."), {"items": errors}
        )
    ChangeItem.objects.bulk_create(
        [ChangeItem(change=change, item=found[pk]) for pk in sorted(item_ids)]
    )
    return found


def no_item(ids: Iterable[int], school: Any) -> str:
    """ "No item 4, 7 at <school>.": the refusal of items that are not the school's."""
    return gettext("No item %(ids)s at %(school)s.") % {
        "ids": ", ".join(map(str, ids)),
        "school": school.name,
    }


def _item_errors(change: Change, added_ids: set[int], added: dict[int, ConfigurationItem]) -> str:
    problems = []
    missing = sorted(added_ids - set(added))
    if missing:
        problems.append(no_item(missing, change.school))
    for item in added.values():
        if item.school_id != change.school_id:
            problems.append(no_item([item.pk], change.school))
        elif not item.is_active:
            problems.append(
                gettext("%(item)s is retired and cannot be named on a change.")
                % {"item": item.name}
            )
    return " ".join(problems)


def _locked_reason(change: Change) -> str:
    said = {"reference": change.reference, "state": change.get_state_display().lower()}
    if change.state in (State.CLOSED, State.REJECTED, State.WITHDRAWN):
        return gettext("%(reference)s is %(state)s and cannot be changed.") % said
    return (
        gettext(
            "The items a change touches go with its plan, which cannot be changed now: "
            "%(reference)s is %(state)s."
        )
        % said
    )


# --- On closing: what changed on each item, in the close event's data. ---


def read_item_notes(raw: Any) -> tuple[dict[str, str] | None, str]:
    """The close action's `item_changes`, `{"<item id>": "what changed"}`, as a payload reader:
    the notes by item id, blank ones left out. Refuses what it cannot read, saying why."""
    if raw is None:
        return {}, ""
    if not isinstance(raw, dict):
        return None, gettext('Give what changed on each item as {"<item id>": "what changed"}.')
    notes: dict[str, str] = {}
    for key, text in raw.items():
        key_text = str(key).strip()
        if not (key_text.isascii() and key_text.isdecimal()) or len(key_text) > 18:
            _refuse(
                gettext("What changed on each item is keyed by the item's id."),
                gettext("“%(key)s” is not an item id.") % {"key": key_text[:40]},
            )
        if not isinstance(text, str):
            _refuse(
                gettext("Describe what changed in words."),
                gettext("Give the note for item %(item)s as text.") % {"item": key_text},
            )
        if len(text) > MAX_NOTE:
            _refuse(
                gettext("A note is too long."),
                gettext("At most %(most)s characters for item %(item)s.")
                % {"most": MAX_NOTE, "item": key_text},
            )
        if text.strip():
            notes[str(int(key_text))] = text.strip()
    return notes, ""


def _refuse(detail: str, message: str) -> NoReturn:
    raise InvalidAction(detail, {"item_changes": message})


def record_item_notes(change: Change, event: ChangeEvent) -> None:
    """An effect of closing: copy the notes of the close event onto the items' links (for
    the item pages), refusing notes for items the RFC does not name (which undoes the close)."""
    notes: dict[str, str] = event.data.get("item_changes") or {}
    if not notes:
        return
    links = {
        link.item_id: link
        for link in ChangeItem.objects.filter(change=change, item_id__in=[int(k) for k in notes])
    }
    unknown = sorted(int(key) for key in notes if int(key) not in links)
    if unknown:
        ids = ", ".join(str(pk) for pk in unknown)
        raise InvalidAction(
            gettext("Some notes are for items this change does not name."),
            {
                "item_changes": gettext("%(reference)s does not name item %(ids)s.")
                % {"reference": change.reference, "ids": ids}
            },
        )
    now = timezone.now()
    for key, text in notes.items():
        link = links[int(key)]
        link.what_changed = text
        link.recorded_at = now
        link.recorded_by = event.actor
    ChangeItem.objects.bulk_update(
        list(links.values()), ["what_changed", "recorded_at", "recorded_by"]
    )
