"""The school calendar's writes: its periods, teaching day and maintenance windows, the
.ics import, and the secret links of the calendar feeds.

Every write goes through a function here; the pages and the API call them, and the check
of who may is made here, so a page and the API cannot disagree. Who may:

- a school's administrator (a superuser counts as one) changes its calendar;
- anyone signed in makes and revokes their own feed links; a school's feed only while a
  member of the school.

Refusals are the domain errors: `InvalidAction` (400, with a message per field),
`NotPermitted` (403), `StaleChange` (409, the row went away under the caller). The rules
a value must meet (`period_errors`, `teaching_day_errors`, `window_errors`) are stated
once here; the forms and the serializer ask them too, to show every error at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext

from changedesk.accounts import permissions
from changedesk.accounts.models import School, User
from changedesk.lib.errors import InvalidAction, NotPermitted, StaleChange, refuse_unknown
from changedesk.schedule.calendar import FIRST_YEAR, LAST_YEAR, sane_year
from changedesk.schedule.ics_import import IcsError, IcsPreview, import_ics
from changedesk.schedule.models import (
    CalendarPeriod,
    FeedKind,
    FeedToken,
    MaintenanceWindow,
    PeriodKind,
    SchoolCalendar,
    TrustPeriod,
)

FIELD_ERRORS = "Some fields need correcting."
PERIOD_FIELDS = ("kind", "name", "starts_at", "ends_at", "is_hard", "notes")
TEACHING_DAY_FIELDS = ("teaching_day_start", "teaching_day_end", "school_days")
WINDOW_FIELDS = ("name", "weekdays", "start_time", "end_time")

Row = TypeVar("Row", bound=models.Model)


# --- Who may. ---


def may_change_calendar(user: Any, school: School) -> bool:
    """Periods, the teaching day, maintenance windows and imports: the school administrator."""
    return permissions.is_school_admin(user, school)


def _require_admin(actor: User, school: School) -> None:
    if not may_change_calendar(permissions.with_roles(actor), school):
        raise NotPermitted(
            gettext("Only a school administrator of %(school)s may change its calendar.")
            % {"school": school.name}
        )


def _known(values: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    refuse_unknown(values, fields)
    return dict(values)


def _locked(model: type[Row], pk: int) -> Row:
    """The row, locked until the transaction ends; gone already is a 409."""
    row = model._default_manager.select_for_update(of=("self",)).filter(pk=pk).first()
    if row is None:
        raise StaleChange(gettext("Someone else has just removed it."))
    return row


# --- The rules a value must meet. ---


def period_errors(
    kind: Any, starts_at: datetime | None, ends_at: datetime | None, is_hard: Any
) -> dict[str, str]:
    """Field errors for a period: it ends after it starts, in years a school calendar deals
    in (so that every time of it is written with a whole-minute UTC offset), and only a
    freeze is hard."""
    errors: dict[str, str] = {}
    for name, when in (("starts_at", starts_at), ("ends_at", ends_at)):
        if when is not None and not sane_year(when.year):
            errors[name] = gettext("Choose a time between %(first)s and %(last)s.") % {
                "first": FIRST_YEAR,
                "last": LAST_YEAR,
            }
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        errors["ends_at"] = gettext("It must end after it starts.")
    if is_hard and kind != PeriodKind.FREEZE:
        errors["is_hard"] = gettext("Only a change freeze can be hard.")
    return errors


def teaching_day_errors(start: time | None, end: time | None) -> dict[str, str]:
    if start is not None and end is not None and end <= start:
        return {"teaching_day_end": gettext("The teaching day must end after it starts.")}
    return {}


def window_errors(start: time | None, end: time | None) -> dict[str, str]:
    if end is not None and end == start:
        return {"end_time": gettext("A window needs some length: leave it empty for midnight.")}
    return {}


def _days_error(days: Any) -> str:
    if not isinstance(days, list) or not days:
        return gettext("Choose at least one day.")
    if any(not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6 for d in days):
        return gettext("Give the days as numbers, Monday = 0 to Sunday = 6.")
    return ""


def _refuse(errors: dict[str, str]) -> None:
    if errors:
        raise InvalidAction(FIELD_ERRORS, errors)


def _refuse_one(field: str, message: str) -> None:
    """One thing wrong: the message says it, on its own and by its field."""
    raise InvalidAction(message, {field: message})


# --- Calendar periods. ---


def check_period(period: CalendarPeriod | TrustPeriod) -> None:
    """A school's period, or a trust's, meets the rules (each field's error at once)."""
    errors = period_errors(period.kind, period.starts_at, period.ends_at, period.is_hard)
    if period.kind not in PeriodKind.values:
        errors["kind"] = gettext("Choose the kind: one of %(kinds)s.") % {
            "kinds": ", ".join(PeriodKind.values)
        }
    if not (period.name or "").strip():
        errors["name"] = gettext("Give the period a name.")
    if period.starts_at is None:
        errors["starts_at"] = gettext("Give when it starts.")
    if period.ends_at is None:
        errors["ends_at"] = gettext("Give when it ends.")
    _refuse(errors)


def create_period(school: School, actor: User, values: dict[str, Any]) -> CalendarPeriod:
    """Add a term, holiday, exam period, INSET day or freeze to `school`'s calendar."""
    defaults = {"is_hard": False, "notes": ""}
    return _create(CalendarPeriod, school, actor, values, PERIOD_FIELDS, check_period, defaults)


def update_period(period_id: int, actor: User, values: dict[str, Any]) -> CalendarPeriod:
    _refuse_trust_copy(period_id)
    return _update(CalendarPeriod, period_id, actor, values, PERIOD_FIELDS, check_period)


def delete_period(period_id: int, actor: User) -> CalendarPeriod:
    """Remove a period; returns it as it was, for saying what was removed."""
    _refuse_trust_copy(period_id)
    return _delete(CalendarPeriod, period_id, actor)


THE_TRUST_S = (
    "This period is {trust}'s: its administrator changes it on the trust's calendar. "
    "Add a period of the school's own for an exception."
)


def _refuse_trust_copy(period_id: int) -> None:
    """A school's copy of its trust's period (`schedule.trust_calendar`) is changed through
    the trust only."""
    trust = (
        CalendarPeriod.objects.filter(pk=period_id, trust_period__isnull=False)
        .values_list("trust_period__trust__name", flat=True)
        .first()
    )
    if trust is not None:
        raise InvalidAction(THE_TRUST_S.format(trust=trust))


def import_calendar(
    school: School,
    actor: User,
    data: bytes | str | list[dict[str, Any]],
    *,
    kind: str | None = None,
) -> IcsPreview:
    """Import an .ics file, or its preview's rows, into `school`'s calendar (see
    `ics_import`): all of it or none."""
    _require_admin(actor, school)
    try:
        return import_ics(data, school, kind=kind)  # one transaction
    except (IcsError, IntegrityError):
        # The file was read at the preview; only a calendar changed since gets here.
        raise StaleChange(gettext("The calendar changed while importing: try again.")) from None


# --- The teaching day and the maintenance windows. ---


def save_teaching_day(school: School, actor: User, values: dict[str, Any]) -> SchoolCalendar:
    """Set when `school` teaches: the start and end of its day, and its school days."""
    values = _known(values, TEACHING_DAY_FIELDS)
    _require_admin(actor, school)
    with transaction.atomic():
        calendar = SchoolCalendar.objects.select_for_update().filter(
            school=school
        ).first() or SchoolCalendar(school=school)
        for name, value in values.items():
            setattr(calendar, name, value)
        errors = teaching_day_errors(calendar.teaching_day_start, calendar.teaching_day_end)
        if error := _days_error(calendar.school_days):
            errors["school_days"] = error
        _refuse(errors)
        calendar.save()
    return calendar


def _check_window(window: MaintenanceWindow) -> None:
    errors = window_errors(window.start_time, window.end_time)
    if not (window.name or "").strip():
        errors["name"] = gettext("Give the window a name.")
    if error := _days_error(window.weekdays):
        errors["weekdays"] = error
    _refuse(errors)


def create_window(school: School, actor: User, values: dict[str, Any]) -> MaintenanceWindow:
    """Add a preferred time for changes, e.g. weekdays after 17:30."""
    return _create(MaintenanceWindow, school, actor, values, WINDOW_FIELDS, _check_window)


def update_window(window_id: int, actor: User, values: dict[str, Any]) -> MaintenanceWindow:
    return _update(MaintenanceWindow, window_id, actor, values, WINDOW_FIELDS, _check_window)


def delete_window(window_id: int, actor: User) -> MaintenanceWindow:
    return _delete(MaintenanceWindow, window_id, actor)


# --- Writing a row of a school's calendar: the administrator only, checked, locked. ---


def _create(
    model: type[Row],
    school: School,
    actor: User,
    values: dict[str, Any],
    fields: tuple[str, ...],
    check: Callable[[Row], None],
    defaults: dict[str, Any] | None = None,
) -> Row:
    _require_admin(actor, school)
    row = model(school=school, **{**(defaults or {}), **_known(values, fields)})
    check(row)
    row.save()
    return row


def _update(
    model: type[Row],
    pk: int,
    actor: User,
    values: dict[str, Any],
    fields: tuple[str, ...],
    check: Callable[[Row], None],
) -> Row:
    values = _known(values, fields)
    with transaction.atomic():
        row = _locked(model, pk)
        _require_admin(actor, _school_of(row))
        for name, value in values.items():
            setattr(row, name, value)
        check(row)
        row.save()
    return row


def _delete(model: type[Row], pk: int, actor: User) -> Row:
    with transaction.atomic():
        row = _locked(model, pk)
        _require_admin(actor, _school_of(row))
        row.delete()
    return row


def _school_of(row: models.Model) -> School:
    school: School = getattr(row, "school")  # noqa: B009 (every calendar row has one)
    return school


# --- The secret links of the calendar feeds. ---


def create_feed_token(user: User, kind: str, school: School | None = None) -> FeedToken:
    """A new secret link for `user`; it replaces (revokes) their previous link of the same
    kind and school, so a leaked link is dealt with by asking for a new one."""
    if kind == FeedKind.SCHOOL:
        if school is None:
            _refuse_one("school", gettext("Choose the school whose changes the feed shows."))
        elif not permissions.is_member(permissions.with_roles(user), school):
            _refuse_one(
                "school", gettext("You are not a member of %(school)s.") % {"school": school.name}
            )
    elif kind == FeedKind.PERSON:
        if school is not None:
            _refuse_one(
                "school", gettext("Your own feed covers all your schools: leave the school out.")
            )
    else:
        _refuse_one("kind", gettext("Unknown kind of feed “%(kind)s”.") % {"kind": kind})
    with transaction.atomic():
        # Two requests at once would otherwise both find no link to revoke.
        User.objects.select_for_update().filter(pk=user.pk).first()
        FeedToken.objects.filter(
            user=user, kind=kind, school=school, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        return FeedToken.objects.create(user=user, kind=kind, school=school)


def revoke_feed_token(token: FeedToken, actor: User) -> FeedToken:
    """Stop a link of `actor`'s working, at once. Revoking a revoked link changes nothing."""
    if token.user_id != actor.pk:
        raise NotPermitted(gettext("Only the person a link was made for may revoke it."))
    FeedToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db(fields=["revoked_at"])
    return token
