"""The schedule's services: who may change a school's calendar (its administrator, and a
superuser as one; no other member, no outsider, no one deactivated), and the rules every
period, teaching day and window meets whichever page or API view asked."""

from __future__ import annotations

from datetime import time

import pytest
import time_machine

from changedesk.accounts.services import create_user
from changedesk.lib.errors import InvalidAction, NotPermitted, StaleChange
from changedesk.schedule import services
from changedesk.schedule.models import CalendarPeriod, MaintenanceWindow, SchoolCalendar
from changedesk.schedule.tests.factories import at, school_year
from changedesk.schedule.tests.test_ics_import import TERM_DATES

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(at(2025, 3, 18, 12), tick=False):
        yield


@pytest.fixture
def year(school):
    return school_year(school)


OFSTED = {
    "kind": "freeze",
    "name": "Ofsted",
    "starts_at": at(2025, 3, 26),
    "ends_at": at(2025, 3, 28),
    "is_hard": True,
}
WEEKENDS = {"name": "Weekends", "weekdays": [5, 6], "start_time": time(0), "end_time": None}
TEACHING_DAY = {
    "teaching_day_start": time(8, 45),
    "teaching_day_end": time(15, 15),
    "school_days": [0, 1, 2, 3],
}


def writes(school, period, window):
    """Every calendar write, as (name, call taking the actor)."""
    return [
        ("create_period", lambda who: services.create_period(school, who, dict(OFSTED))),
        ("update_period", lambda who: services.update_period(period.pk, who, {"name": "New"})),
        ("delete_period", lambda who: services.delete_period(period.pk, who)),
        ("save_teaching_day", lambda who: services.save_teaching_day(school, who, TEACHING_DAY)),
        ("create_window", lambda who: services.create_window(school, who, dict(WEEKENDS))),
        ("update_window", lambda who: services.update_window(window.pk, who, {"name": "Late"})),
        ("delete_window", lambda who: services.delete_window(window.pk, who)),
        ("import_calendar", lambda who: services.import_calendar(school, who, TERM_DATES)),
    ]


def test_no_one_but_the_school_administrator_changes_the_calendar(team, school, year, oscar):
    gone = create_user("gone", email="gone@example.org", password=None, first_name="Gone")
    sam = team["sam"]
    sam.is_active = False
    sam.save()
    period, window = year["mocks"], MaintenanceWindow.objects.filter(school=school).first()
    before = (CalendarPeriod.objects.count(), MaintenanceWindow.objects.count())
    for who in (team["olivia"], team["fiona"], oscar, gone, sam):
        for name, write in writes(school, period, window):
            with pytest.raises(NotPermitted, match="Only a school administrator"):
                write(who)
                pytest.fail(f"{who} may {name}")
            assert (CalendarPeriod.objects.count(), MaintenanceWindow.objects.count()) == before
    period.refresh_from_db()
    assert period.name == "GCSE mocks"
    assert not CalendarPeriod.objects.filter(name="Ofsted").exists()


@pytest.mark.parametrize("who", ["sam", "root"])
def test_the_school_administrator_and_a_superuser_change_it(team, school, year, root, who):
    actor = root if who == "root" else team["sam"]
    period, window = year["mocks"], MaintenanceWindow.objects.filter(school=school).first()
    for _, write in writes(school, period, window):
        write(actor)
    assert CalendarPeriod.objects.filter(school=school, name="Ofsted", is_hard=True).exists()
    assert not CalendarPeriod.objects.filter(pk=period.pk).exists()
    assert not MaintenanceWindow.objects.filter(pk=window.pk).exists()
    assert MaintenanceWindow.objects.filter(school=school, name="Weekends").exists()
    assert SchoolCalendar.objects.get(school=school).school_days == [0, 1, 2, 3]
    assert CalendarPeriod.objects.filter(school=school).exclude(source_uid="").count() == 5


def test_may_change_calendar_is_the_rulebooks_answer(team, school, oscar, root):
    assert services.may_change_calendar(team["sam"], school)
    assert services.may_change_calendar(root, school)
    assert not services.may_change_calendar(team["olivia"], school)
    assert not services.may_change_calendar(oscar, school)


def test_a_period_is_refused_field_by_field(team, school, year):
    sam = team["sam"]
    cases = [
        ({**OFSTED, "ends_at": at(2025, 3, 25)}, "ends_at"),
        ({**OFSTED, "kind": "exam"}, "is_hard"),
        ({**OFSTED, "kind": "party", "is_hard": False}, "kind"),
        ({**OFSTED, "name": "  "}, "name"),
        ({**OFSTED, "colour": "red"}, "colour"),
    ]
    for values, field in cases:
        with pytest.raises(InvalidAction) as refused:
            services.create_period(school, sam, values)
        assert field in refused.value.fields, values
    with pytest.raises(InvalidAction) as refused:
        services.update_period(year["census"].pk, sam, {"kind": "exam"})  # a hard freeze
    assert "is_hard" in refused.value.fields
    year["census"].refresh_from_db()
    assert year["census"].kind == "freeze"


def test_a_window_and_the_teaching_day_are_refused_field_by_field(team, school, year):
    sam = team["sam"]
    window = MaintenanceWindow.objects.filter(school=school).first()
    for values, field in [
        ({**WEEKENDS, "end_time": time(0)}, "end_time"),
        ({**WEEKENDS, "weekdays": []}, "weekdays"),
        ({**WEEKENDS, "weekdays": [7]}, "weekdays"),
        ({**WEEKENDS, "name": ""}, "name"),
    ]:
        with pytest.raises(InvalidAction) as refused:
            services.create_window(school, sam, values)
        assert field in refused.value.fields, values
    with pytest.raises(InvalidAction):
        services.update_window(window.pk, sam, {"start_time": time(9), "end_time": time(9)})
    with pytest.raises(InvalidAction) as refused:
        services.save_teaching_day(school, sam, {**TEACHING_DAY, "teaching_day_end": time(8)})
    assert "teaching_day_end" in refused.value.fields
    assert SchoolCalendar.objects.get(school=school).teaching_day_start == time(8, 40)


def test_a_row_removed_meanwhile_is_a_conflict(team, school, year):
    period = year["mocks"]
    services.delete_period(period.pk, team["sam"])
    with pytest.raises(StaleChange):
        services.update_period(period.pk, team["sam"], {"name": "Again"})
    with pytest.raises(StaleChange):
        services.delete_period(period.pk, team["sam"])


def test_an_import_that_meets_a_changed_calendar_says_so_and_keeps_nothing(
    client, team, school, monkeypatch
):
    import re

    from django.db import IntegrityError
    from django.urls import reverse

    from changedesk.schedule.tests.test_pages import upload

    client.force_login(team["sam"])
    url = reverse("schedule:import", args=[school.slug])
    preview = client.post(url, {"file": upload(TERM_DATES), "kind": "guess"}).content.decode()
    payload = re.search(r'name="payload" value="([^"]+)"', preview)[1]

    def clash(*args, **kwargs):
        CalendarPeriod.objects.create(
            school=school, kind="term", name="Half done", starts_at=at(2025, 1, 6),
            ends_at=at(2025, 1, 7),
        )  # fmt: skip
        raise IntegrityError("period_unique_source_uid")

    monkeypatch.setattr(services, "import_ics", clash)
    response = client.post(url, {"payload": payload}, follow=True)
    assert response.redirect_chain[-1][0] == url
    assert "The calendar changed while importing: try again." in response.content.decode()
    assert not CalendarPeriod.objects.exists()
