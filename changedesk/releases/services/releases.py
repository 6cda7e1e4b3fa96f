"""Writing releases: defining one, editing what it says, and the builds and RFCs it holds.
Each write is one transaction, asks the rulebook (`permissions.may_manage`: the release
manager or the school administrator) and writes its `ReleaseEvent`. The release's state is
the workflow's (`releases.workflow.perform`).

- Builds are added and removed while the release is defined or being built (once released,
  what it installs is fixed: cancel it, or reopen and start again).
- RFCs are added and removed while the release is open. An RFC is of the release's school,
  still open (not closed, rejected or withdrawn) and in no other release (the
  `ReleaseChange` one-to-one is the backstop of that check).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from changedesk.accounts import permissions as accounts_permissions
from changedesk.accounts.choices import Role
from changedesk.accounts.models import School, User
from changedesk.changes.choices import TERMINAL_STATES
from changedesk.changes.models import Change
from changedesk.lib.errors import InvalidAction, NotPermitted, refuse_unknown
from changedesk.releases import permissions, workflow
from changedesk.releases.choices import ReleaseAction, ReleaseState
from changedesk.releases.models import Build, Release, ReleaseChange

A = ReleaseAction
EDITABLE = ("title", "description", "manager", "planned_start", "planned_end")
BUILD_STATES = (ReleaseState.DEFINE, ReleaseState.BUILD)
MOST_TITLE = 200
MOST_TEXT = 10000
# The longest planned window: a release planned longer would never show on the forward
# schedule (`on_schedule` searches back this far for what overlaps a range).
LONGEST = timedelta(days=366)
# How far from now a planned window may start or end (ten years either way).
FARTHEST = timedelta(days=3653)


def _refuse(user: Any, school: School) -> None:
    if not permissions.may_manage(user, school):
        raise NotPermitted(
            gettext("Only a release manager or school administrator of %(school)s may do that.")
            % {"school": school.name}
        )


def _values(school: School, data: dict[str, Any], current: Release | None) -> dict[str, Any]:
    """`data` checked: the fields it gives, as the release will hold them."""
    refuse_unknown(data, EDITABLE)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if "title" in data or current is None:
        title = data.get("title")
        if not isinstance(title, str) or not title.strip():
            errors["title"] = gettext("Give the release a title.")
        elif len(title.strip()) > MOST_TITLE:
            errors["title"] = gettext("At most %(most)s characters.") % {"most": MOST_TITLE}
        else:
            values["title"] = title.strip()
    if "description" in data:
        text = data["description"] or ""
        if not isinstance(text, str) or len(text) > MOST_TEXT:
            errors["description"] = gettext("Text of at most %(most)s characters.") % {
                "most": MOST_TEXT
            }
        else:
            values["description"] = text.strip()
    if "manager" in data:
        manager = data["manager"]
        if manager is not None and (
            not isinstance(manager, User)
            or not accounts_permissions.holds(manager, Role.RELEASE_MANAGER, school)
        ):
            errors["manager"] = gettext("Choose a release manager of %(school)s.") % {
                "school": school.name
            }
        else:
            values["manager"] = manager
    now = timezone.now()
    for name in ("planned_start", "planned_end"):
        if name in data:
            value = data[name]
            if value is not None and (not isinstance(value, datetime) or timezone.is_naive(value)):
                errors[name] = gettext("Give a date and time.")
            elif (
                value is not None
                and value != getattr(current, name, None)
                and not _near(value, now)
            ):
                errors[name] = gettext("Give a date within ten years of today.")
            else:
                values[name] = value
    start = values.get("planned_start", current.planned_start if current else None)
    end = values.get("planned_end", current.planned_end if current else None)
    touched = "planned_start" in data or "planned_end" in data
    installing = current is not None and current.state == ReleaseState.INSTALL
    if "planned_start" not in errors and "planned_end" not in errors and touched:
        if installing and (start is None or end is None):
            errors["planned_end" if start is not None else "planned_start"] = gettext(
                "The release is being installed: its window stays planned (start and end)."
            )
        elif (start is None) != (end is None):
            errors["planned_end" if end is None else "planned_start"] = gettext(
                "Give both the start and the end of the window, or neither."
            )
        elif start is not None and end is not None and end <= start:
            errors["planned_end"] = gettext("The end must be after the start.")
        elif start is not None and end is not None and end - start > LONGEST:
            errors["planned_end"] = gettext(
                "A release is planned over at most %(days)s days: split a longer one."
            ) % {"days": LONGEST.days}
    if errors:
        raise InvalidAction(gettext("Some fields need correcting."), errors)
    return values


def _near(value: datetime, now: datetime) -> bool:
    """Whether `value` is within `FARTHEST` of `now` (and so can be stored and shown)."""
    try:
        return abs(value - now) <= FARTHEST
    except OverflowError:
        return False


def _shown(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, User):
        return value.username
    return value


def create_release(school: School, user: User, data: dict[str, Any]) -> Release:
    """Define a release in `school` (its first step)."""
    _refuse(user, school)
    values = _values(school, data, None)
    # The release manager who defines it manages it, unless another is named.
    if values.get("manager") is None and accounts_permissions.holds(
        user, Role.RELEASE_MANAGER, school
    ):
        values["manager"] = user
    with transaction.atomic():
        release = Release.objects.create(school=school, created_by=user, **values)
        workflow.record(
            release, user, A.CREATE, before="", data={k: _shown(v) for k, v in values.items()}
        )
    return release


def _locked(release_pk: int) -> Release:
    return (
        Release.objects.select_for_update(of=("self",)).select_related("school").get(pk=release_pk)
    )


def update_release(release_pk: int, user: User, data: dict[str, Any]) -> Release:
    """Edit what the release says: title, description, manager, planned window."""
    with transaction.atomic():
        release = _locked(release_pk)
        _refuse(user, release.school)
        if not release.is_open:
            raise InvalidAction(
                gettext("A %(state)s release is not edited: reopen it first.")
                % {"state": release.get_state_display().lower()},
                {"state": gettext("Reopen it first.")},
            )
        values = _values(release.school, data, release)
        changed = {
            name: _shown(value) for name, value in values.items() if getattr(release, name) != value
        }
        if not changed:
            return release
        for name, value in values.items():
            setattr(release, name, value)
        release.save()
        workflow.record(release, user, A.EDIT, data={"changed": changed})
    return release


def _while(release: Release, states: tuple[str, ...], what: str) -> None:
    if release.state not in states:
        raise InvalidAction(
            gettext("%(what)s while the release is %(state)s.")
            % {"what": what, "state": release.get_state_display().lower()},
            {
                "state": gettext("Not while it is %(state)s.")
                % {"state": release.get_state_display().lower()}
            },
        )


def _build_of(release: Release, build: Build | int) -> Build:
    pk = build.pk if isinstance(build, Build) else build
    found = Build.objects.filter(pk=pk, school_id=release.school_id).first()
    if found is None:
        raise InvalidAction(
            gettext("Choose a build of the school."),
            {"build": gettext("No build of %(school)s.") % {"school": release.school.name}},
        )
    return found


def add_build(release_pk: int, user: User, build: Build | int, comment: str = "") -> Release:
    with transaction.atomic():
        release = _locked(release_pk)
        _refuse(user, release.school)
        _while(release, BUILD_STATES, gettext("No build is added"))
        found = _build_of(release, build)
        if not found.is_active:
            raise InvalidAction(
                gettext("That build is retired."), {"build": gettext("Choose a build in use.")}
            )
        if release.builds.filter(pk=found.pk).exists():
            raise InvalidAction(
                gettext("%(name)s is in the release already.") % {"name": found.name},
                {"build": gettext("In the release already.")},
            )
        release.builds.add(found)
        Release.objects.filter(pk=release.pk).update(updated_at=timezone.now())
        workflow.record(
            release,
            user,
            A.ADD_BUILD,
            comment=comment,
            data={"build": found.pk, "name": found.name},
        )
    return release


def remove_build(release_pk: int, user: User, build: Build | int, comment: str = "") -> Release:
    with transaction.atomic():
        release = _locked(release_pk)
        _refuse(user, release.school)
        _while(release, BUILD_STATES, gettext("No build is taken out"))
        found = _build_of(release, build)
        if not release.builds.filter(pk=found.pk).exists():
            raise InvalidAction(
                gettext("%(name)s is not in the release.") % {"name": found.name},
                {"build": gettext("Not in the release.")},
            )
        release.builds.remove(found)
        Release.objects.filter(pk=release.pk).update(updated_at=timezone.now())
        workflow.record(
            release,
            user,
            A.REMOVE_BUILD,
            comment=comment,
            data={"build": found.pk, "name": found.name},
        )
    return release


def _change_of(release: Release, change: Change | int) -> Change:
    pk = change.pk if isinstance(change, Change) else change
    found = Change.objects.filter(pk=pk, school_id=release.school_id).first()
    if found is None:
        raise InvalidAction(
            gettext("Choose an RFC of the school."),
            {"change": gettext("No RFC of %(school)s.") % {"school": release.school.name}},
        )
    return found


def add_change(release_pk: int, user: User, change: Change | int, comment: str = "") -> Release:
    with transaction.atomic():
        release = _locked(release_pk)
        _refuse(user, release.school)
        _while(release, workflow.OPEN, gettext("No RFC is added"))
        found = _change_of(release, change)
        if found.state in TERMINAL_STATES:
            raise InvalidAction(
                gettext("RFC %(reference)s is %(state)s.")
                % {"reference": found.reference, "state": found.get_state_display().lower()},
                {"change": gettext("Choose an RFC still open.")},
            )
        other = ReleaseChange.objects.filter(change=found).select_related("release").first()
        if other is not None:
            where = (
                gettext("this release") if other.release_id == release.pk else f"“{other.release}”"
            )
            raise InvalidAction(
                gettext("RFC %(reference)s is in %(where)s already.")
                % {"reference": found.reference, "where": where},
                {
                    "change": gettext("In %(where)s already: an RFC carries one release.")
                    % {"where": where}
                },
            )
        try:
            with transaction.atomic():
                ReleaseChange.objects.create(
                    school_id=release.school_id, release=release, change=found
                )
        except IntegrityError:
            raise InvalidAction(
                gettext("RFC %(reference)s was just added to another release.")
                % {"reference": found.reference},
                {"change": gettext("In another release already.")},
            ) from None
        Release.objects.filter(pk=release.pk).update(updated_at=timezone.now())
        workflow.record(
            release,
            user,
            A.ADD_CHANGE,
            comment=comment,
            data={"change": found.pk, "reference": found.reference},
        )
    return release


def remove_change(release_pk: int, user: User, change: Change | int, comment: str = "") -> Release:
    with transaction.atomic():
        release = _locked(release_pk)
        _refuse(user, release.school)
        _while(release, workflow.OPEN, gettext("No RFC is taken out"))
        found = _change_of(release, change)
        deleted, _ = ReleaseChange.objects.filter(release=release, change=found).delete()
        if not deleted:
            raise InvalidAction(
                gettext("RFC %(reference)s is not in the release.")
                % {"reference": found.reference},
                {"change": gettext("Not in the release.")},
            )
        Release.objects.filter(pk=release.pk).update(updated_at=timezone.now())
        workflow.record(
            release,
            user,
            A.REMOVE_CHANGE,
            comment=comment,
            data={"change": found.pk, "reference": found.reference},
        )
    return release
