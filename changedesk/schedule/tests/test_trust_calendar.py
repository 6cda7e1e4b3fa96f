"""A trust's calendar: set once, held by every school of the trust beside its own periods."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from changedesk.accounts import trusts
from changedesk.accounts.choices import Role, TrustRole
from changedesk.accounts.services import create_school
from changedesk.conftest import member
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.schedule import services, trust_calendar
from changedesk.schedule.models import CalendarPeriod, TrustPeriod

LONDON = ZoneInfo("Europe/London")
HALF_TERM = {
    "kind": "holiday",
    "name": "October half term",
    "starts_at": datetime(2027, 10, 25, tzinfo=LONDON),
    "ends_at": datetime(2027, 10, 30, tzinfo=LONDON),
}


def test_a_trust_period_is_in_every_school_s_calendar_and_follows_the_trust(
    trust, tara, school, other_school
):
    period = trust_calendar.create_period(trust, tara, HALF_TERM)
    copies = CalendarPeriod.objects.filter(trust_period=period)
    assert sorted(c.school_id for c in copies) == sorted([school.pk, other_school.pk])
    trust_calendar.update_period(period.pk, tara, {"name": "Autumn half term", "is_hard": False})
    assert set(copies.values_list("name", flat=True)) == {"Autumn half term"}
    # A school joining gets it; one leaving keeps none.
    third = create_school("Riverside Infants", "riverside")
    trusts.add_school(trust, third)
    assert CalendarPeriod.objects.filter(school=third, trust_period=period).exists()
    member("rhona", third, [Role.SCHOOL_ADMIN])
    trusts.remove_school(third)
    assert not CalendarPeriod.objects.filter(school=third).exists()
    trust_calendar.delete_period(period.pk, tara)
    assert not CalendarPeriod.objects.filter(trust_period__isnull=False).exists()


def test_a_school_adds_its_own_exceptions_but_changes_the_trust_s_only_through_the_trust(
    trust, tara, school, sam
):
    period = trust_calendar.create_period(trust, tara, HALF_TERM)
    copy = CalendarPeriod.objects.get(school=school, trust_period=period)
    with pytest.raises(InvalidAction, match="Northfield Learning Trust's"):
        services.update_period(copy.pk, sam, {"name": "Ours now"})
    with pytest.raises(InvalidAction, match="Northfield Learning Trust's"):
        services.delete_period(copy.pk, sam)
    own = services.create_period(
        school,
        sam,
        {
            "kind": "inset",
            "name": "INSET day",
            "starts_at": datetime(2027, 11, 1, tzinfo=LONDON),
            "ends_at": datetime(2027, 11, 2, tzinfo=LONDON),
        },
    )
    assert own.trust_period_id is None
    assert CalendarPeriod.objects.filter(school=school).count() == 2


def test_only_the_trust_s_administrator_changes_its_calendar(trust, tara, sam, oscar):
    trusts.set_trust_roles(trust, oscar, [TrustRole.TRUST_TECHNICIAN])
    for who in (sam, oscar):
        with pytest.raises(NotPermitted):
            trust_calendar.create_period(trust, who, HALF_TERM)
    with pytest.raises(InvalidAction):
        trust_calendar.create_period(trust, tara, {**HALF_TERM, "ends_at": HALF_TERM["starts_at"]})
    assert not TrustPeriod.objects.exists() and not CalendarPeriod.objects.exists()


def test_the_trust_calendar_pages(client, trust, tara, oscar, olivia, sam, school):
    page = reverse("schedule:trust_calendar", args=[trust.slug])
    add = reverse("schedule:trust_period_create", args=[trust.slug])
    client.force_login(tara)
    assert client.get(add).status_code == 200
    response = client.post(
        add,
        {
            "kind": "holiday",
            "name": "Christmas holiday",
            "first_day": "2027-12-20",
            "last_day": "2028-01-02",
            "all_day": "on",
        },
    )
    assert response.status_code == 302
    period = TrustPeriod.objects.get()
    assert period.starts_at == datetime(2027, 12, 20, tzinfo=LONDON)
    assert "Christmas holiday" in client.get(page).content.decode()
    bad = client.post(add, {"kind": "holiday", "name": "", "first_day": "2027-12-20"})
    assert bad.status_code == 400 and TrustPeriod.objects.count() == 1
    edit = reverse("schedule:trust_period_edit", args=[trust.slug, period.pk])
    assert client.get(edit).status_code == 200
    # The school's calendar shows it as the trust's, with no edit link.
    body = client.get(reverse("schedule:calendar", args=[school.slug])).content.decode()
    assert "Christmas holiday" in body and "(the trust's)" in body
    copy = CalendarPeriod.objects.get(school=school)
    assert reverse("schedule:period_edit", args=[school.slug, copy.pk]) not in body
    # A trust technician reads it; someone outside the trust does not see it.
    trusts.set_trust_roles(trust, oscar, [TrustRole.TRUST_TECHNICIAN])
    client.force_login(oscar)
    assert client.get(page).status_code == 200
    assert client.get(add).status_code == 403
    assert client.post(edit, {"name": "x"}).status_code == 403
    # A member of one of its schools reads it (her calendar holds its periods), no more.
    client.force_login(olivia)
    assert client.get(page).status_code == 200
    assert client.get(add).status_code == 403
    # Someone outside the trust's schools does not see it.
    outsider = member("xena", create_school("Far Away School", "far-away"), [Role.SCHOOL_ADMIN])
    client.force_login(outsider)
    assert client.get(page).status_code == 404
    # The school's copy has no edit page of its own, even for the school's administrator.
    client.force_login(sam)
    copy_edit = reverse("schedule:period_edit", args=[school.slug, copy.pk])
    assert client.get(copy_edit).status_code == 404
    client.force_login(tara)
    delete = reverse("schedule:trust_period_delete", args=[trust.slug, period.pk])
    assert client.get(delete).status_code == 200
    assert client.post(delete).status_code == 302
    assert not CalendarPeriod.objects.exists()
