"""A trust's calendar: the term dates, holidays and freezes a trust sets for all its schools.

The trust's administrator keeps its periods (`TrustPeriod`); every school of the trust holds
a copy of each in its own calendar (`CalendarPeriod.trust_period`), so that conflicts, safe
slots, the forward schedule and the feeds read one calendar per school, as before, at the
same cost. A school adds its own exceptions beside them (an INSET day, its exams) as it
always has; the copies are changed only through the trust (`services.update_period` and
`services.delete_period` refuse them). A school joining the trust gets the copies, and one leaving
keeps none (`accounts.trusts` calls `school_joined` and `school_left`, registered from
`ScheduleConfig.ready`).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext

from changedesk.accounts import trusts
from changedesk.accounts.models import School, Trust, User
from changedesk.accounts.permissions import is_trust_admin, with_roles
from changedesk.lib.errors import NotPermitted, StaleChange
from changedesk.schedule.models import CalendarPeriod, TrustPeriod
from changedesk.schedule.services import PERIOD_FIELDS, check_period


def _require_admin(actor: User, trust: Trust) -> None:
    if not is_trust_admin(with_roles(actor), trust):
        raise NotPermitted(
            gettext("Only an administrator of %(trust)s may change its calendar.")
            % {"trust": trust.name}
        )


def create_period(trust: Trust, actor: User, values: dict[str, Any]) -> TrustPeriod:
    """A period for every school of `trust`."""
    _require_admin(actor, trust)
    given = {k: v for k, v in values.items() if k in PERIOD_FIELDS}
    period = TrustPeriod(trust=trust, **{"is_hard": False, "notes": "", **given})
    check_period(period)
    with transaction.atomic():
        trusts.lock(trust)  # a school joining meanwhile gets it too
        period.save()
        CalendarPeriod.objects.bulk_create(
            [_copy(period, school_id) for school_id in _schools(trust)]
        )
    return period


def update_period(period_id: int, actor: User, values: dict[str, Any]) -> TrustPeriod:
    with transaction.atomic():
        period = _locked(period_id)
        _require_admin(actor, period.trust)
        for name, value in values.items():
            if name in PERIOD_FIELDS:
                setattr(period, name, value)
        check_period(period)
        period.save()
        period.copies.update(**{name: getattr(period, name) for name in PERIOD_FIELDS})
    return period


def delete_period(period_id: int, actor: User) -> TrustPeriod:
    """Remove a period from the trust's calendar and every school's; returns it as it was."""
    with transaction.atomic():
        period = _locked(period_id)
        _require_admin(actor, period.trust)
        period.delete()  # its copies go with it
    return period


def school_joined(trust: Trust, school: School) -> None:
    CalendarPeriod.objects.bulk_create(
        [
            _copy(period, school.pk)
            for period in TrustPeriod.objects.filter(trust=trust).exclude(copies__school=school)
        ]
    )


def school_left(trust: Trust, school: School) -> None:
    CalendarPeriod.objects.filter(school=school, trust_period__trust=trust).delete()


def _copy(period: TrustPeriod, school_id: int) -> CalendarPeriod:
    return CalendarPeriod(
        school_id=school_id,
        trust_period=period,
        **{name: getattr(period, name) for name in PERIOD_FIELDS},
    )


def _schools(trust: Trust) -> list[int]:
    return list(School.objects.filter(trust=trust).values_list("pk", flat=True))


def _locked(period_id: int) -> TrustPeriod:
    found = (
        TrustPeriod.objects.select_for_update(of=("self",))
        .select_related("trust")
        .filter(pk=period_id)
        .first()
    )
    if found is None:
        raise StaleChange(gettext("That period has been removed."))
    return found


# --- Who reads a trust's calendar (the API; the pages ask `accounts.current.member_trust`). ---


def readable_trusts(user: Any) -> Any:
    """The trusts whose calendar `user` reads, as a query of ids: those they hold a trust
    role in, and those of the schools they belong to (their calendars hold its periods);
    every trust for a superuser."""
    if user.is_superuser:
        return Trust.objects.values("pk")
    return Trust.objects.filter(
        Q(memberships__user_id=user.pk)
        | Q(pk__in=School.objects.for_user(user).filter(trust__isnull=False).values("trust_id"))
    ).values("pk")
