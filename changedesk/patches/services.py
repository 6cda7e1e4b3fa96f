"""Writes of patch management, each asking who may (the patch cycle's own steps go through
`workflow.perform`).

Who may:
- see vendors, patches and compliance: any member of the school;
- add and edit vendors, sources, patches and the deadline policy: a patch administrator
  or a school administrator;
- take a patch through its cycle: as `workflow.TRANSITIONS` says (patch administrators;
  implementers record tests and verifications);
- raise the patch run: a patch administrator who may raise the chosen standard change
  template (an originator it allows).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from changedesk.accounts import permissions
from changedesk.accounts.choices import Role
from changedesk.accounts.models import School, User
from changedesk.changes.models import Change
from changedesk.configuration.models import ConfigurationItem
from changedesk.lib.errors import InvalidAction, NotPermitted, of_school
from changedesk.patches import workflow
from changedesk.patches.choices import OPEN_STATES, PatchAction, PatchState, Severity, SourceKind
from changedesk.patches.models import Patch, PatchEvent, PatchPolicy, Source, Vendor, today_in
from changedesk.standard import services as standard

# What a person may give of a patch (the rest is its cycle's).
PATCH_FIELDS = ("vendor", "product", "title", "reference", "cves", "release_date", "severity",
                "link", "description")  # fmt: skip
VENDOR_FIELDS = ("name", "products", "website", "notes")
SOURCE_FIELDS = ("vendor", "kind", "location", "product", "is_active")
# How far back a release date may be, and how far ahead.
OLDEST_RELEASE = timedelta(days=366 * 5)
NEWEST_RELEASE = timedelta(days=7)


def may_manage(user: Any, school: School) -> bool:
    return permissions.is_school_admin_or(user, Role.PATCH_ADMINISTRATOR, school)


def _require_manager(user: User, school: School, what: str) -> None:
    if not may_manage(user, school):
        raise NotPermitted(
            gettext(
                "Only a patch administrator or a school administrator of %(school)s may %(what)s."
            )
            % {"school": school.name, "what": what}
        )


def _clean(instance: Model, exclude: Iterable[str] = ()) -> None:
    """The model's own checks, as field errors."""
    try:
        instance.full_clean(exclude=list(exclude), validate_unique=False)
    except ValidationError as error:
        fields = {
            name: " ".join(str(m) for m in messages)
            for name, messages in error.message_dict.items()
        }
        raise InvalidAction(gettext("Some fields need correcting."), fields) from error


def _unknown(data: dict[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise InvalidAction(
            gettext("Some fields need correcting."),
            {n: gettext("Not a field you may set.") for n in unknown},
        )


# --- Vendors and their sources. ---


def _clean_products(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list | tuple) or not all(isinstance(p, str) for p in value):
        raise InvalidAction(
            gettext("Some fields need correcting."), {"products": gettext("A list of names.")}
        )
    products = list(dict.fromkeys(p.strip() for p in value if p.strip()))
    if len(products) > 200 or any(len(p) > 200 for p in products):
        raise InvalidAction(
            gettext("Some fields need correcting."),
            {"products": gettext("At most 200 products of at most 200 characters.")},
        )
    return products


def save_vendor(
    school: School, actor: User, data: dict[str, Any], *, vendor_id: int | None = None
) -> Vendor:
    """Add a vendor (`vendor_id` None) or change one."""
    _unknown(data, VENDOR_FIELDS)
    actor = permissions.with_roles(actor)
    with transaction.atomic():
        if vendor_id is None:
            vendor = Vendor(school=school)
        else:
            vendor = Vendor.objects.select_for_update().get(pk=vendor_id)
            school = vendor.school
        _require_manager(actor, school, gettext("change the vendors"))
        for name, value in data.items():
            setattr(vendor, name, _clean_products(value) if name == "products" else value)
        _clean(vendor, exclude=["school"])
        taken = Vendor.objects.filter(school=school, name__iexact=vendor.name)
        if taken.exclude(pk=vendor.pk).exists():
            raise InvalidAction(
                gettext("Some fields need correcting."),
                {
                    "name": gettext("%(school)s has a vendor of that name already.")
                    % {"school": school.name}
                },
            )
        vendor.save()
    return vendor


def _check_location(kind: str, location: str) -> str:
    location = (location or "").strip()
    if kind == SourceKind.MAILING_LIST:
        from django.core.validators import validate_email

        try:
            validate_email(location.removeprefix("mailto:"))
        except ValidationError:
            raise InvalidAction(
                gettext("Some fields need correcting."),
                {"location": gettext("Give the list's e-mail address.")},
            ) from None
        return location.removeprefix("mailto:")
    from changedesk.patches.feeds import check_url

    problem = check_url(location, resolve=False)
    if problem:
        raise InvalidAction(gettext("Some fields need correcting."), {"location": problem})
    return location


def save_source(
    school: School, actor: User, data: dict[str, Any], *, source_id: int | None = None
) -> Source:
    """Add where a vendor publishes (`source_id` None) or change it. A feed added or whose
    address changed is fetched on the worker's next pass."""
    _unknown(data, SOURCE_FIELDS)
    actor = permissions.with_roles(actor)
    with transaction.atomic():
        if source_id is None:
            source = Source(school=school)
        else:
            source = Source.objects.select_for_update().get(pk=source_id)
            school = source.school
        _require_manager(actor, school, gettext("change the vendors"))
        before = (source.kind, source.location)
        for name, value in data.items():
            setattr(source, name, value)
        if "vendor" not in data and source_id is None:
            raise InvalidAction(
                gettext("Some fields need correcting."), {"vendor": gettext("Choose the vendor.")}
            )
        if source.vendor.school_id != school.pk:
            raise InvalidAction(
                gettext("Some fields need correcting."), {"vendor": gettext("Not a vendor here.")}
            )
        source.location = _check_location(source.kind, source.location)
        _clean(source, exclude=["school", "vendor"])
        if (source.kind, source.location) != before:
            source.state, source.error, source.failures = "new", "", 0
            source.etag = source.last_modified = ""
            source.failing_since = None
            source.next_check_at = timezone.now()
        source.save()
    return source


def delete_source(source_id: int, actor: User) -> None:
    """Stop watching a source (the patches it brought stay)."""
    actor = permissions.with_roles(actor)
    source = Source.objects.select_related("school").get(pk=source_id)
    _require_manager(actor, source.school, gettext("change the vendors"))
    source.delete()


def check_now(source_id: int, actor: User) -> Source:
    """Fetch a feed on the worker's next pass."""
    actor = permissions.with_roles(actor)
    source = Source.objects.select_related("school").get(pk=source_id)
    _require_manager(actor, source.school, gettext("check a feed"))
    if source.kind != SourceKind.FEED:
        raise InvalidAction(
            gettext("Only a feed is fetched."), {"kind": gettext("It is not a feed.")}
        )
    Source.objects.filter(pk=source.pk).update(next_check_at=timezone.now(), is_active=True)
    source.refresh_from_db()
    return source


# --- Patches. ---


def _check_patch(patch: Patch, today: date) -> None:
    _clean(patch, exclude=["school", "vendor", "due_on", "state", "created_by", "source"])
    errors = {}
    if patch.vendor.school_id != patch.school_id:
        errors["vendor"] = "Not a vendor of the patch's school."
    if patch.release_date < today - OLDEST_RELEASE:
        errors["release_date"] = gettext("Within the last five years.")
    elif patch.release_date > today + NEWEST_RELEASE:
        errors["release_date"] = gettext("Not more than a week ahead.")
    if errors:
        raise InvalidAction(gettext("Some fields need correcting."), errors)
    patch.cves = ", ".join(patch.cve_list)


def _check_items(school: School, items: Iterable[ConfigurationItem]) -> list[ConfigurationItem]:
    return of_school(school, items, "items", gettext("Some items are not the school's."))


def create_patch(
    school: School,
    actor: User | None,
    data: dict[str, Any],
    *,
    items: Iterable[ConfigurationItem] = (),
    source: Source | None = None,
    entry_id: str = "",
    policy: PatchPolicy | None = None,
) -> Patch:
    """A patch, `available` to be assessed; its deadline from the school's policy (`policy`,
    when the caller has it loaded). `actor` None: from a feed, by the worker."""
    _unknown(data, PATCH_FIELDS)
    if actor is not None:
        actor = permissions.with_roles(actor)
        _require_manager(actor, school, gettext("add patches"))
    missing = {
        n: gettext("This field is required.")
        for n in ("vendor", "title", "release_date")
        if not data.get(n)
    }
    if missing:
        raise InvalidAction(gettext("Some fields need correcting."), missing)
    patch = Patch(school=school, created_by=actor, source=source, entry_id=entry_id, **data)
    _check_patch(patch, today_in(school))
    policy = policy or PatchPolicy.of(school)
    patch.due_on = policy.due_on(patch.release_date, patch.severity)
    patch.vendor_severity = patch.severity
    chosen = _check_items(school, items)
    try:
        with transaction.atomic():
            patch.save()
            patch.items.set(chosen)
            workflow.record_created(patch, actor, data={"source": source.pk} if source else None)
    except IntegrityError:
        raise InvalidAction(
            gettext("That feed entry is a patch already."), {"entry_id": gettext("Seen already.")}
        ) from None
    return patch


def update_patch(
    patch_id: int,
    actor: User,
    data: dict[str, Any],
    *,
    items: Iterable[ConfigurationItem] | None = None,
) -> Patch:
    """Correct what a patch says, while it is still to be deployed. A new release date or
    severity moves its deadline."""
    _unknown(data, PATCH_FIELDS)
    actor = permissions.with_roles(actor)
    with transaction.atomic():
        patch = (
            Patch.objects.select_for_update(of=("self",)).select_related("school").get(pk=patch_id)
        )
        _require_manager(actor, patch.school, gettext("edit patches"))
        if patch.state not in (*OPEN_STATES, PatchState.DEFERRED):
            raise InvalidAction(
                gettext("It is %(state)s: its record stays as it was.")
                % {"state": patch.get_state_display().lower()},
                {"state": patch.state},
            )
        before = {n: _plain(getattr(patch, n)) for n in data}
        for name, value in data.items():
            setattr(patch, name, value)
        _check_patch(patch, today_in(patch.school))
        changed = {
            n: _plain(getattr(patch, n)) for n in data if _plain(getattr(patch, n)) != before[n]
        }
        if "severity" in changed:
            # A correction of what was entered: the vendor's rating, to be assessed again.
            patch.severity_confirmed = False
            patch.vendor_severity = patch.severity
        patch.due_on = PatchPolicy.of(patch.school).due_on(patch.release_date, patch.severity)
        if items is not None:
            chosen = _check_items(patch.school, items)
            was = sorted(patch.items.values_list("pk", flat=True))
            if sorted(i.pk for i in chosen) != was:
                patch.items.set(chosen)
                changed["items"] = sorted(i.pk for i in chosen)
        if not changed:
            return patch
        patch.save()
        workflow.record_edit(patch, actor, changed)
    return patch


def _plain(value: Any) -> Any:
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, date):
        return value.isoformat()
    return value


def save_policy(school: School, actor: User, data: dict[str, Any]) -> PatchPolicy:
    """Set the school's deadlines; the patches still to be deployed get their new due dates."""
    allowed = [f"{s}_days" for s in Severity.values] + ["nudge_overdue"]
    _unknown(data, allowed)
    actor = permissions.with_roles(actor)
    _require_manager(actor, school, gettext("set the patch deadlines"))
    errors = {
        n: gettext("A whole number of days from 1 to 365.")
        for n, v in data.items()
        if n.endswith("_days")
        and (not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 365)
    }
    if "nudge_overdue" in data and not isinstance(data["nudge_overdue"], bool):
        errors["nudge_overdue"] = "True or false."
    if errors:
        raise InvalidAction(gettext("Some fields need correcting."), errors)
    with transaction.atomic():
        # One row per school, made once and locked: two first saves at once do not collide.
        PatchPolicy.objects.get_or_create(school=school)
        policy = PatchPolicy.objects.select_for_update().get(school=school)
        for name, value in data.items():
            setattr(policy, name, value)
        policy.save()
        # Patches not yet due move to the new deadline; one already overdue stays overdue
        # (a policy cannot excuse it), and each move is in the patch's history.
        today = today_in(school)
        still_due = Patch.objects.filter(
            school=school, state__in=(*OPEN_STATES, PatchState.DEFERRED), due_on__gte=today
        )
        moved = []
        events = []
        for patch in still_due.only(
            "pk", "school_id", "state", "release_date", "severity", "due_on"
        ):
            due = policy.due_on(patch.release_date, patch.severity)
            if due != patch.due_on:
                events.append(
                    workflow.edit_event(
                        patch, actor, {"due_on": due.isoformat(), "was": patch.due_on.isoformat(),
                                       "why": "the school's patch deadlines changed"}
                    )
                )  # fmt: skip
                patch.due_on = due
                moved.append(patch)
        Patch.objects.bulk_update(moved, ["due_on"], batch_size=500)
        PatchEvent.objects.bulk_create(events, batch_size=500)
    return policy


# --- The patch run: one standard change deploying several patches. ---


def runnable(school: School) -> list[Patch]:
    """The school's tested patches, waiting for an RFC."""
    return list(
        Patch.objects.filter(school=school, state=PatchState.TESTED)
        .select_related("vendor")
        .prefetch_related("items")
        .order_by("due_on", "id")
    )


def raise_run(
    template_id: int,
    actor: User,
    patch_ids: Iterable[int],
    *,
    planned_start: datetime,
    planned_end: datetime | None = None,
) -> Change:
    """Raise a standard change from the template for the chosen tested patches and put them
    on it: all or nothing. It goes ahead at once (the template's approval), its window still
    weighed against the school calendar (a soft conflict is refused with the next safe slot)."""
    actor = permissions.with_roles(actor)
    ids = list(dict.fromkeys(patch_ids))
    if not ids:
        raise InvalidAction(
            gettext("Choose the patches it deploys."), {"patches": gettext("Choose at least one.")}
        )
    from changedesk.standard.models import Template

    template = Template.objects.select_related("school").filter(pk=template_id).first()
    if template is None or not permissions.is_member(actor, template.school):
        raise InvalidAction(
            gettext("Choose a standard change."), {"template": gettext("No such template.")}
        )
    school = template.school
    _require_manager(actor, school, gettext("raise the patch run"))
    patches = list(Patch.objects.filter(pk__in=ids, school=school).prefetch_related("items"))
    found = {p.pk for p in patches}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise InvalidAction(
            gettext("Some fields need correcting."),
            {
                "patches": gettext("Not patches of %(school)s: %(ids)s.")
                % {"school": school.name, "ids": ", ".join(missing)}
            },
        )
    untested = [str(p) for p in patches if p.state != PatchState.TESTED]
    if untested:
        raise InvalidAction(
            gettext("Only tested patches ride a patch run."),
            {"patches": gettext("Not tested: %(names)s.") % {"names": "; ".join(untested)}},
        )
    allowed = {i.pk for i in template.items.all()}
    if allowed:
        # Approved once for its items: a patch for others is not this standard change's.
        outside = [str(p) for p in patches if any(i.pk not in allowed for i in p.items.all())]
        if outside:
            raise InvalidAction(
                gettext("“%(title)s” does not cover every item these patches apply to.")
                % {"title": template.title},
                {"patches": gettext("Applies beyond the standard change's items: %(names)s. "
                                    "Put it on a normal RFC from its page.")
                 % {"names": "; ".join(outside)}},
            )  # fmt: skip
    touched = {i.pk: i for p in patches for i in p.items.all()}
    with transaction.atomic():
        change = standard.raise_change(
            template.pk,
            actor,
            planned_start=planned_start,
            planned_end=planned_end,
            # The items the patches apply to; none named: the template's own.
            items=list(touched.values()) or None,
        )
        for patch in patches:
            workflow.perform(patch.pk, PatchAction.SCHEDULE, actor, {"change": change})
    return change


def deadline_text(patch: Patch, today: date) -> str:
    """The deadline in words, for a patch still to be deployed."""
    days = patch.days_left(today)
    if days < 0:
        return ngettext("%(days)s day overdue", "%(days)s days overdue", -days) % {"days": -days}
    if days == 0:
        return gettext("due today")
    return ngettext("due in %(days)s day", "due in %(days)s days", days) % {"days": days}
