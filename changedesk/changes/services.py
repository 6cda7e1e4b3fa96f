"""Creating and editing an RFC. Every edit is recorded field by field in its history.

What may be edited depends on where the RFC stands: what an approver has read and
approved is read-only from then on (FITS: the approval is of that content).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import get_language, gettext

from changedesk.accounts import permissions
from changedesk.accounts.choices import Role
from changedesk.accounts.models import School, User
from changedesk.changes import writer
from changedesk.changes.choices import EventKind, State
from changedesk.changes.history import record_event
from changedesk.changes.items import name_items_on_new
from changedesk.changes.models import PLAN_FIELDS, REQUEST_FIELDS, Change, field_value
from changedesk.changes.workflow import editable_fields, lower_label
from changedesk.configuration.models import ConfigurationItem
from changedesk.lib.errors import InvalidAction, NotPermitted, refuse_unknown

EDITABLE_FIELDS = (
    *REQUEST_FIELDS,
    *PLAN_FIELDS,
    "initial_approver",
    "peer_reviewer",
    "final_approver",
    "implementer",
)
# Which person field must hold which role.
PERSON_ROLES = {
    "initial_approver": Role.INITIAL_APPROVER,
    "peer_reviewer": Role.PEER_REVIEWER,
    "final_approver": Role.FINAL_APPROVER,
    "implementer": Role.IMPLEMENTER,
}
# How far from today a window may be planned (or recorded, for past changes).
PLANNING_HORIZON = timedelta(days=20 * 366)


def can_edit(change: Change, user: User) -> bool:
    return (
        user.is_authenticated
        and user.pk == change.originator_id
        and bool(editable_fields(change))
        and permissions.holds(user, Role.ORIGINATOR, change.school)
    )


def default_people(school: School, originator: User) -> dict[str, User | None]:
    """Sensible defaults: the sole holder of each role, never breaking separation of duties."""
    holders: dict[str, list[User]] = {}
    for field_name, role in PERSON_ROLES.items():
        holders[field_name] = list(school.holders_of(role)[:3])
    people: dict[str, User | None] = {}
    for field_name, candidates in holders.items():
        if field_name == "implementer" and any(u.pk == originator.pk for u in candidates):
            people[field_name] = originator
            continue
        if not permissions.originator_may_be(PERSON_ROLES[field_name], school):
            candidates = [u for u in candidates if u.pk != originator.pk]
        people[field_name] = candidates[0] if len(candidates) == 1 else None
    return people


def validate_people(school: School, originator: User, values: dict[str, Any]) -> dict[str, str]:
    """Field errors for people who do not hold the role, or who would break separation."""
    errors: dict[str, str] = {}
    for field_name, role in PERSON_ROLES.items():
        person = values.get(field_name)
        if person is None:
            continue
        if role not in person.roles_in(school):
            errors[field_name] = gettext("%(name)s is not %(role)s at %(school)s.") % {
                "name": person.display_name,
                "role": _article(role.label.lower())
                if translation_is_english()
                else lower_label(role.label),
                "school": school.name,
            }
        elif not permissions.separation_allows(person.pk, originator.pk, role, school):
            errors[field_name] = permissions.separation_error(role)
    start, end = values.get("planned_start"), values.get("planned_end")
    now = timezone.now()
    for name, when in (("planned_start", start), ("planned_end", end)):
        if when and abs(when - now) > PLANNING_HORIZON:
            errors[name] = gettext("Choose a time within 20 years of today.")
    if start and end and end <= start:
        errors["planned_end"] = gettext("The planned end must be after the planned start.")
    return errors


def _article(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"


def translation_is_english() -> bool:
    """Whether messages are said in English now (an English noun takes "a" or "an")."""
    return (get_language() or "en").startswith("en")


def create_change(
    school: School,
    originator: User,
    data: dict[str, Any],
    *,
    items: Iterable[ConfigurationItem] = (),
    standard: bool = False,
) -> Change:
    """Raise a new RFC in `school` as `originator`; `data` holds model field values, and
    `items` the configuration items it touches. One `create` event records it all.

    `standard`: a standard change, raised from a template approved once. It is created in
    `draft` for the app that keeps the templates to take it straight on (`raise_standard`,
    in the same transaction): on its own, a standard RFC goes nowhere."""
    originator = permissions.with_roles(originator)
    if not permissions.holds(originator, Role.ORIGINATOR, school):
        raise NotPermitted(
            gettext("Only an originator at %(school)s may raise a request for change.")
            % {"school": school.name}
        )
    refuse_unknown(data, EDITABLE_FIELDS)
    values: dict[str, Any] = {**default_people(school, originator), **data}
    errors = validate_people(school, originator, values)
    if standard and values.get("is_emergency"):
        errors["is_emergency"] = gettext(
            "A standard change is not an emergency: raise it as one or the other."
        )
    if errors:
        raise InvalidAction(gettext("Some fields need correcting."), errors)
    with transaction.atomic():
        # Locking the school serialises numbering, so references never collide.
        School.objects.select_for_update().filter(pk=school.pk).first()
        last = Change.objects.filter(school=school).aggregate(n=Max("number"))["n"] or 0
        change = Change(
            school=school, originator=originator, number=last + 1, is_standard=standard, **values
        )
        change.save()
        diffs = [
            {"field": n, "before": None, "after": field_value(change, n)}
            for n in (*EDITABLE_FIELDS, "is_standard")
            if field_value(change, n) not in (None, "", False)
        ]
        named = name_items_on_new(change, items)
        if named:
            diffs.append({"field": "items", "before": [], "after": named})
        record_event(change, EventKind.CREATE, originator, to_state=change.state, diffs=diffs)
    return change


def update_change(
    change_id: int,
    actor: User,
    data: dict[str, Any],
    *,
    comment: str = "",
    expected_version: int | None = None,
) -> Change:
    """Edit an RFC as `actor`; records one `edit` event listing each changed field."""
    with writer.locked(change_id, expected_version) as change:
        actor = permissions.with_roles(actor)
        if actor.pk != change.originator_id or not permissions.holds(
            actor, Role.ORIGINATOR, change.school
        ):
            raise NotPermitted(
                gettext("Only the originator of %(reference)s may edit it.")
                % {"reference": change.reference}
            )
        allowed = editable_fields(change)
        refuse_unknown(data, EDITABLE_FIELDS)
        before = {n: field_value(change, n) for n in data}
        for name, value in data.items():
            if isinstance(value, datetime) and timezone.is_aware(value):
                # The database gives times back in UTC: the same instant is not an edit.
                value = value.astimezone(UTC)
            setattr(change, name, value)
        changed = [n for n in data if field_value(change, n) != before[n]]
        locked = [n for n in changed if n not in allowed]
        if locked:
            reason = _locked_reason(change)
            raise InvalidAction(reason, {n: reason for n in locked})
        values = {n: getattr(change, n) for n in (*EDITABLE_FIELDS,)}
        errors = validate_people(change.school, change.originator, values)
        if errors:
            raise InvalidAction(gettext("Some fields need correcting."), errors)
        if not changed:
            return change
        writer.save(
            change,
            EventKind.EDIT,
            actor,
            fields=changed,
            comment=comment.strip(),
            diffs=[
                {"field": n, "before": before[n], "after": field_value(change, n)} for n in changed
            ],
        )
    return change


def _locked_reason(change: Change) -> str:
    if change.state in (
        State.AWAITING_INITIAL_APPROVAL,
        State.AWAITING_PEER_REVIEW,
        State.AWAITING_FINAL_APPROVAL,
    ):
        return gettext("This is waiting for a decision; it can be changed if it is returned.")
    if change.state in (State.CLOSED, State.REJECTED, State.WITHDRAWN):
        return gettext("%(reference)s is %(state)s and cannot be changed.") % {
            "reference": change.reference,
            "state": lower_label(change.get_state_display()),
        }
    return gettext("This section was approved and is now read-only.")  # fmt: skip
