"""Configuration items: who may see and manage them, and writing them.

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

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext, ngettext

from changedesk.accounts import permissions
from changedesk.accounts.choices import Role
from changedesk.accounts.models import School, User
from changedesk.configuration.models import ConfigurationItem, ItemKind
from changedesk.lib.errors import InvalidAction, NotPermitted, refuse_unknown

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


# --- Who may do what (asked of the rulebook, `accounts.permissions`). ---


def may_manage(user: Any, school: School) -> bool:
    """Create, edit, retire and delete the school's items: its administrator (a superuser
    counts as one) or an originator there. Uses prefetched roles if present."""
    return permissions.is_school_admin_or(user, Role.ORIGINATOR, school)


def may_import(user: Any, school: School) -> bool:
    """Import the school's items from a CSV file: its administrator."""
    return permissions.is_school_admin(user, school)


def school_members(school: School) -> QuerySet[User]:
    """Who may own an item: the school's active members."""
    return (
        User.objects.filter(is_active=True, memberships__school=school)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


# --- Writing items. ---


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    refuse_unknown(data, ITEM_FIELDS)
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
        errors["name"] = gettext("Give the item a name.")
    for name, limit in TEXT_LIMITS.items():
        value = values.get(name) or ""
        if len(value) > limit:
            errors[name] = gettext("At most %(limit)s characters (this has %(length)s).") % {
                "limit": limit,
                "length": len(value),
            }
        elif "\x00" in value:
            errors[name] = gettext("This contains a character that cannot be stored.")
    if values.get("kind") not in ItemKind.values:
        errors["kind"] = gettext("Choose the kind: one of %(kinds)s.") % {
            "kinds": ", ".join(ItemKind.values)
        }
    users = values.get("users_affected")
    if not isinstance(users, int) or isinstance(users, bool) or users < 0:
        errors["users_affected"] = gettext("Give a whole number, 0 or more.")
    elif users > MAX_USERS:
        errors["users_affected"] = gettext("It must be at most %(most)s.") % {
            "most": f"{MAX_USERS:,}"
        }
    identifier = values.get("identifier") or ""
    if identifier and "identifier" not in errors:
        clash = ConfigurationItem.objects.filter(school=school, identifier__iexact=identifier)
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        other = clash.first()
        if other is not None:
            errors["identifier"] = gettext(
                "%(item)s already has the identifier %(identifier)s."
            ) % {"item": other.name, "identifier": other.identifier}
    owner: User | None = values.get("owner")
    if owner is not None and not school_members(school).filter(pk=owner.pk).exists():
        errors["owner"] = gettext("%(person)s is not an active member of %(school)s.") % {
            "person": owner.display_name,
            "school": school.name,
        }
    return errors


def create_item(school: School, actor: User, data: dict[str, Any]) -> ConfigurationItem:
    """Add an item to `school` as `actor`; `data` holds model field values."""
    actor = permissions.with_roles(actor)
    if not may_manage(actor, school):
        raise NotPermitted(
            gettext("Only a school administrator or an originator of %(school)s may add items.")
            % {"school": school.name}
        )
    values: dict[str, Any] = {
        "kind": ItemKind.OTHER,
        "users_affected": 0,
        "is_active": True,
        **_clean(data),
    }
    errors = validate_item(school, values)
    if errors:
        raise InvalidAction(gettext("Some fields need correcting."), errors)
    item = ConfigurationItem(school=school, **values)
    _save(item)
    return item


def update_item(item_id: int, actor: User, data: dict[str, Any]) -> ConfigurationItem:
    """Edit an item as `actor`; retiring is `{"is_active": False}`."""
    actor = permissions.with_roles(actor)
    with transaction.atomic():
        item = (
            ConfigurationItem.objects.select_for_update(of=("self",))
            .select_related("school")
            .get(pk=item_id)
        )
        if not may_manage(actor, item.school):
            raise NotPermitted(
                gettext(
                    "Only a school administrator or an originator of %(school)s "
                    "may change its items."
                )
                % {"school": item.school.name}
            )
        values = _clean(data)
        for name, value in values.items():
            setattr(item, name, value)
        errors = validate_item(item.school, {n: getattr(item, n) for n in ITEM_FIELDS}, item)
        if errors:
            raise InvalidAction(gettext("Some fields need correcting."), errors)
        _save(item)
    return item


def _save(item: ConfigurationItem) -> None:
    try:
        with transaction.atomic():
            item.save()
    except IntegrityError:
        # The identifier check ran before the write; only a concurrent writer gets here.
        raise InvalidAction(
            gettext("Some fields need correcting."),
            {
                "identifier": gettext("Another item at %(school)s has just taken this identifier.")
                % {"school": item.school.name}
            },
        ) from None


def delete_item(item_id: int, actor: User) -> None:
    """Delete an item no RFC has named; one that has been named is retired instead."""
    actor = permissions.with_roles(actor)
    with transaction.atomic():
        item = (
            ConfigurationItem.objects.select_for_update(of=("self",))
            .select_related("school")
            .get(pk=item_id)
        )
        if not may_manage(actor, item.school):
            raise NotPermitted(
                gettext(
                    "Only a school administrator or an originator of %(school)s "
                    "may delete its items."
                )
                % {"school": item.school.name}
            )
        touched = item.change_links.count()
        if touched:
            raise InvalidAction(
                ngettext(
                    "%(item)s is named on %(count)s request for change, so it stays in its "
                    "history: retire it instead.",
                    "%(item)s is named on %(count)s requests for change, so it stays in their "
                    "history: retire it instead.",
                    touched,
                )
                % {"item": item.name, "count": touched}
            )
        item.delete()
