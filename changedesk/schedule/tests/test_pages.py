"""The schedule pages: month, week, agenda and print; the school calendar pages; the .ics
import; the slot finder. Who may see and do what, and the query counts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from changedesk.changes.models import Change
from changedesk.changes.services import create_change
from changedesk.conftest import REQUEST, advance
from changedesk.schedule.models import CalendarPeriod, MaintenanceWindow, SchoolCalendar
from changedesk.schedule.tests.factories import LONDON, at, item, planned, school_year
from changedesk.schedule.tests.test_ics_import import TERM_DATES

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(at(2025, 3, 18, 12), tick=False):
        yield


@pytest.fixture
def year(school):
    return school_year(school)


def signed_in(client, user):
    client.force_login(user)
    return client


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


FORWARD = reverse("schedule:forward")


# --- Who may see what. ---


def test_anonymous_is_sent_to_sign_in(client, school):
    for url in (
        FORWARD,
        reverse("schedule:print"),
        reverse("schedule:slots"),
        reverse("schedule:calendars"),
        reverse("schedule:calendar", args=[school.slug]),
        reverse("schedule:period_create", args=[school.slug]),
        reverse("schedule:import", args=[school.slug]),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:login")), url


def test_the_schedule_shows_only_my_schools(client, school, team, oscar, other_school):
    mine = planned(school, team["olivia"], at(2025, 3, 20, 18), at(2025, 3, 20, 19), title="Mine")
    theirs = planned(
        other_school, oscar, at(2025, 3, 20, 18), at(2025, 3, 20, 19), title="Hillside secret"
    )
    page = text(signed_in(client, team["ian"]).get(FORWARD))
    assert mine.reference in page and "Mine" in page
    assert "Hillside secret" not in page
    assert theirs.title in text(signed_in(client, oscar).get(FORWARD))
    assert signed_in(client, oscar).get(FORWARD, {"school": school.slug}).status_code == 404
    unknown_item = item(school, "the MIS server")
    assert signed_in(client, oscar).get(FORWARD, {"item": unknown_item.pk}).status_code == 404


# --- The month, week and agenda views. ---


def test_month_view_shows_approved_and_not_yet_approved_distinctly(client, school, team, year):
    approved = advance(create_change(school, team["olivia"], dict(REQUEST)), team, "approved")
    pending = planned(school, team["olivia"], at(2025, 3, 20, 18), at(2025, 3, 20, 19))
    emergency = planned(
        school, team["olivia"], at(2025, 3, 21, 18), at(2025, 3, 21, 19), is_emergency=True,
        emergency_justification="Server room flooding.", title="Pump out the server room",
    )  # fmt: skip
    response = signed_in(client, team["ian"]).get(FORWARD)
    assert response.status_code == 200
    page = text(response)
    assert "<caption>March 2025</caption>" in page
    assert re.search(rf'class="entry is-approved">.*?{approved.reference}', page)
    assert re.search(rf'class="entry is-pending">.*?{pending.reference}', page)
    assert re.search(rf"is-emergency\">.*?{emergency.reference}.*?Emergency", page)
    assert "Not yet approved" in page and "Approved" in page
    assert "Exam period: GCSE mocks" in page
    assert 'aria-current="date"' in page
    assert "Holiday: Easter holiday" in page  # the grid runs on to Sun 6 Apr
    assert "February half term" not in page  # it starts on Mon 24 Feb


def test_month_view_shows_a_change_on_every_day_it_runs(client, school, team, year):
    planned(school, team["olivia"], at(2025, 3, 21, 18), at(2025, 3, 23, 20), title="Long job")
    page = text(signed_in(client, team["ian"]).get(FORWARD))
    assert page.count("Long job") == 3
    assert page.count("continues") == 2


def test_a_busy_day_shows_the_first_few_and_how_many_more(client, school, team):
    for minute in range(10):
        start = at(2025, 3, 20, 18, minute)
        planned(school, team["olivia"], start, start + timedelta(hours=1), title=f"Job {minute}")
    page = text(signed_in(client, team["ian"]).get(FORWARD))
    assert "Job 0" in page and "Job 3" in page
    assert "Job 4" not in page
    assert "6 more" in page
    week = text(signed_in(client, team["ian"]).get(FORWARD, {"view": "week"}))
    assert all(f"Job {n}" in week for n in range(10))


def test_navigation_moves_by_month_week_and_agenda(client, school, team):
    client = signed_in(client, team["ian"])
    page = text(client.get(FORWARD))
    assert "date=2025-02-01" in page and "date=2025-04-01" in page
    april = text(client.get(FORWARD, {"date": "2025-04-10"}))
    assert "<caption>April 2025</caption>" in april
    week = text(client.get(FORWARD, {"view": "week", "date": "2025-03-19"}))
    assert "Week of 17 March 2025" in week
    assert "date=2025-03-10" in week and "date=2025-03-24" in week
    agenda = text(client.get(FORWARD, {"view": "agenda", "date": "2025-03-18"}))
    assert "18 March \u2013 17 April 2025" in agenda
    # Across a new year: each date with its year, and the year not said again after them.
    winter = text(client.get(FORWARD, {"view": "agenda", "date": "2025-12-20"}))
    assert "20 December 2025 \u2013 19 January 2026</h2>" in winter.replace("\n", "")
    nonsense = client.get(FORWARD, {"view": "year", "date": "not-a-date"})
    assert nonsense.status_code == 200
    assert "<caption>March 2025</caption>" in text(nonsense)


def test_agenda_lists_changes_by_day_with_their_conflicts(client, school, team, year):
    mis = item(school, "the MIS server")
    first = planned(school, team["olivia"], at(2025, 3, 20, 18), at(2025, 3, 20, 19), [mis])
    second = planned(school, team["olivia"], at(2025, 3, 20, 18), at(2025, 3, 20, 19), [mis])
    lessons = planned(school, team["olivia"], at(2025, 3, 25, 10), at(2025, 3, 25, 11))
    page = text(signed_in(client, team["ian"]).get(FORWARD, {"view": "agenda"}))
    assert "Thursday 20 March 2025" in page and "Tuesday 25 March 2025" in page
    assert f"Overlaps {second.reference}" in page and f"Overlaps {first.reference}" in page
    assert "Takes a system down during the teaching day" in page
    assert lessons.reference in page
    assert "3 changes planned" in page


def test_filters_by_item_state_and_approval(client, school, team):
    mis = item(school, "the MIS server")
    with_item = planned(school, team["olivia"], at(2025, 3, 20, 18), at(2025, 3, 20, 19), [mis],
                        title="Touches the MIS")  # fmt: skip
    planned(school, team["olivia"], at(2025, 3, 20, 18), at(2025, 3, 20, 19), title="Other job")
    withdrawn = planned(
        school, team["olivia"], at(2025, 3, 21, 18), at(2025, 3, 21, 19), title="Given up"
    )
    from changedesk.changes.workflow import perform

    perform(withdrawn.pk, "withdraw", team["olivia"], comment="No longer needed.")
    client = signed_in(client, team["ian"])
    page = text(client.get(FORWARD, {"item": mis.pk}))
    assert with_item.title in page and "Other job" not in page
    assert "Given up" not in text(client.get(FORWARD))
    assert "Given up" in text(client.get(FORWARD, {"state": "withdrawn"}))
    assert "Touches the MIS" not in text(client.get(FORWARD, {"approval": "approved"}))
    assert "Touches the MIS" in text(client.get(FORWARD, {"approval": "pending"}))


def test_printable_version(client, school, team, year):
    planned(school, team["olivia"], at(2025, 3, 20, 18), at(2025, 3, 20, 19), title="Print me")
    for view in ("month", "week", "agenda"):
        response = signed_in(client, team["ian"]).get(reverse("schedule:print"), {"view": view})
        assert response.status_code == 200
        page = text(response)
        assert 'class="print-page"' in page
        assert "Print me" in page
        assert "Greenfield Primary" in page
        assert 'class="filters' not in page


def test_the_month_view_costs_the_same_with_50_or_1000_changes(client, school, team, year):
    mis = item(school, "the MIS server")

    def make(count: int, offset: int) -> None:
        changes = Change.objects.bulk_create(
            Change(
                school=school,
                originator=team["olivia"],
                number=offset + i,
                planned_start=at(2025, 3, 1 + i % 31, 18) + timedelta(minutes=i % 60),
                planned_end=at(2025, 3, 1 + i % 31, 19) + timedelta(days=i % 3),
                state=["draft", "approved", "planning"][i % 3],
                is_emergency=i % 7 == 0,
                **REQUEST,
            )
            for i in range(count)
        )
        from changedesk.changes.models import ChangeItem

        ChangeItem.objects.bulk_create(ChangeItem(change=c, item=mis) for c in changes[::5])

    make(50, 1)
    client = signed_in(client, team["ian"])
    for params in ({}, {"view": "week"}, {"view": "agenda"}, {"item": mis.pk}):
        client.get(FORWARD, params)
        with CaptureQueriesContext(connection) as small:
            assert client.get(FORWARD, params).status_code == 200
        make(1000 if not params else 300, Change.objects.count() + 1)
        with CaptureQueriesContext(connection) as large:
            assert client.get(FORWARD, params).status_code == 200
        assert len(large) == len(small), params


# --- The school calendar pages. ---


def test_members_read_the_calendar_and_outsiders_get_404(client, school, team, year, oscar):
    page = signed_in(client, team["olivia"]).get(reverse("schedule:calendar", args=[school.slug]))
    assert page.status_code == 200
    body = text(page)
    assert "Census day" in body and "GCSE mocks" not in body and "08:40\u201315:20" in body
    assert "Weekday evenings (Mon\u2013Fri, 17:30\u201324:00)" in body
    assert "Add a period" not in body
    assert (
        signed_in(client, oscar).get(reverse("schedule:calendar", args=[school.slug])).status_code
        == 404
    )
    assert signed_in(client, team["sam"]).get(reverse("schedule:calendars")).status_code == 302
    assert "Add a period" in text(
        client.get(reverse("schedule:calendar", args=[school.slug]), follow=True)
    )


def test_only_a_school_admin_changes_the_calendar(client, school, team, year, oscar):
    period = year["mocks"]
    window = MaintenanceWindow.objects.filter(school=school).first()
    urls = [
        reverse("schedule:period_create", args=[school.slug]),
        reverse("schedule:period_edit", args=[school.slug, period.pk]),
        reverse("schedule:period_delete", args=[school.slug, period.pk]),
        reverse("schedule:window_create", args=[school.slug]),
        reverse("schedule:window_edit", args=[school.slug, window.pk]),
        reverse("schedule:window_delete", args=[school.slug, window.pk]),
        reverse("schedule:teaching_day", args=[school.slug]),
        reverse("schedule:import", args=[school.slug]),
    ]
    for url in urls:
        assert signed_in(client, team["olivia"]).get(url).status_code == 403, url
        assert signed_in(client, team["olivia"]).post(url, {}).status_code == 403, url
        assert signed_in(client, oscar).get(url).status_code == 404, url
        assert signed_in(client, team["sam"]).get(url).status_code == 200, url
    assert CalendarPeriod.objects.filter(pk=period.pk).exists()


def test_an_admin_adds_whole_days_and_timed_periods(client, school, team):
    client = signed_in(client, team["sam"])
    url = reverse("schedule:period_create", args=[school.slug])
    response = client.post(
        url,
        {"kind": "holiday", "name": "Easter", "first_day": "2025-04-07", "last_day": "2025-04-21",
         "all_day": "on", "notes": ""},
    )  # fmt: skip
    assert response.status_code == 302
    easter = CalendarPeriod.objects.get(name="Easter")
    assert (easter.starts_at, easter.ends_at) == (at(2025, 4, 7), at(2025, 4, 22))
    response = client.post(
        url,
        {"kind": "freeze", "name": "Ofsted", "first_day": "2025-03-26", "last_day": "2025-03-27",
         "start_time": "08:00", "end_time": "16:00", "is_hard": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    ofsted = CalendarPeriod.objects.get(name="Ofsted")
    assert (ofsted.starts_at, ofsted.ends_at, ofsted.is_hard) == (
        at(2025, 3, 26, 8),
        at(2025, 3, 27, 16),
        True,
    )


def test_the_period_form_explains_its_errors(client, school, team):
    client = signed_in(client, team["sam"])
    url = reverse("schedule:period_create", args=[school.slug])
    response = client.post(
        url,
        {"kind": "exam", "name": "Mocks", "first_day": "2025-03-14", "last_day": "2025-03-03",
         "all_day": "on", "is_hard": "on"},
    )  # fmt: skip
    assert response.status_code == 400
    page = text(response)
    assert "The last day cannot be before the first." in page
    assert "Only a change freeze can be hard." in page
    response = client.post(
        url, {"kind": "exam", "name": "Paper", "first_day": "2025-03-14", "last_day": "2025-03-14"}
    )
    assert response.status_code == 400
    assert "Give a start time" in text(response)
    assert not CalendarPeriod.objects.exists()


def test_an_admin_edits_and_removes_a_period(client, school, team, year):
    client = signed_in(client, team["sam"])
    mocks = year["mocks"]
    edit = client.get(reverse("schedule:period_edit", args=[school.slug, mocks.pk]))
    assert 'value="2025-03-14"' in text(edit)  # the last day, not the midnight after it
    response = client.post(
        reverse("schedule:period_edit", args=[school.slug, mocks.pk]),
        {"kind": "exam", "name": "GCSE mocks", "first_day": "2025-03-03",
         "last_day": "2025-03-07", "all_day": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    mocks.refresh_from_db()
    assert mocks.ends_at == at(2025, 3, 8)
    response = client.post(reverse("schedule:period_delete", args=[school.slug, mocks.pk]))
    assert response.status_code == 302
    assert not CalendarPeriod.objects.filter(pk=mocks.pk).exists()


def test_an_admin_sets_the_teaching_day_and_windows(client, school, team):
    client = signed_in(client, team["sam"])
    response = client.post(
        reverse("schedule:teaching_day", args=[school.slug]),
        {
            "teaching_day_start": "08:45",
            "teaching_day_end": "15:15",
            "school_days": ["0", "1", "2", "3"],
        },
    )
    assert response.status_code == 302
    calendar = SchoolCalendar.objects.get(school=school)
    assert (calendar.teaching_day_start.hour, calendar.teaching_day_start.minute) == (8, 45)
    assert calendar.school_days == [0, 1, 2, 3]
    bad = client.post(
        reverse("schedule:teaching_day", args=[school.slug]),
        {"teaching_day_start": "15:00", "teaching_day_end": "09:00", "school_days": ["0"]},
    )
    assert bad.status_code == 400
    assert "must end after it starts" in text(bad)
    response = client.post(
        reverse("schedule:window_create", args=[school.slug]),
        {"name": "Weekends", "weekdays": ["5", "6"], "start_time": "00:00", "end_time": ""},
    )
    assert response.status_code == 302
    window = MaintenanceWindow.objects.get(school=school)
    assert (window.weekdays, window.end_time) == ([5, 6], None)
    response = client.post(
        reverse("schedule:window_edit", args=[school.slug, window.pk]),
        {"name": "Weekends", "weekdays": [], "start_time": "00:00", "end_time": ""},
    )
    assert response.status_code == 400
    response = client.post(reverse("schedule:window_delete", args=[school.slug, window.pk]))
    assert response.status_code == 302
    assert not MaintenanceWindow.objects.exists()


# --- Importing an .ics file through the page. ---


def upload(data: bytes, name: str = "terms.ics") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/calendar")


def test_import_previews_then_imports(client, school, team):
    client = signed_in(client, team["sam"])
    url = reverse("schedule:import", args=[school.slug])
    preview = client.post(url, {"file": upload(TERM_DATES), "kind": "guess"})
    assert preview.status_code == 200
    page = text(preview)
    assert "5 new, 0 updated" in page and "GCSE mocks" in page and "3\u201314 March" in page
    assert not CalendarPeriod.objects.exists()
    payload = re.search(r'name="payload" value="([^"]+)"', page)[1]
    done = client.post(url, {"payload": payload})
    assert done.status_code == 302
    assert CalendarPeriod.objects.filter(school=school).count() == 5
    # The same file again: nothing new to import.
    again = text(client.post(url, {"file": upload(TERM_DATES), "kind": "guess"}))
    assert "0 new, 0 updated, 0 removed, 5 unchanged" in again
    assert "Nothing to import" in again
    client.post(url, {"payload": payload})
    assert CalendarPeriod.objects.filter(school=school).count() == 5


def test_import_refuses_a_bad_file_and_a_forged_preview(client, school, team, other_school):
    client = signed_in(client, team["sam"])
    url = reverse("schedule:import", args=[school.slug])
    response = client.post(
        url, {"file": upload(b"Name,Start\nSpring,2025-01-06\n"), "kind": "guess"}
    )
    assert response.status_code == 400
    assert "This is not an iCalendar file" in text(response)
    # A tampered preview is refused as its CSV twin is: a 400 saying so.
    forged = client.post(url, {"payload": "not-signed"})
    assert forged.status_code == 400
    assert "That preview could not be read. Nothing was imported" in text(forged)
    from django.core import signing

    from changedesk.schedule.views import ICS_SALT

    other = signing.dumps({"school": other_school.pk, "rows": []}, salt=ICS_SALT)
    assert client.post(url, {"payload": other}).status_code == 403
    assert not CalendarPeriod.objects.exists()


# --- The slot finder. ---


def test_slots_page_offers_safe_slots_with_a_link_to_plan(client, school, team, year):
    mis = item(school, "the MIS server")
    change = planned(school, team["olivia"], at(2025, 3, 20, 17), at(2025, 3, 20, 19), [mis])
    planned(school, team["olivia"], at(2025, 3, 20, 17), at(2025, 3, 20, 20), [mis])
    client = signed_in(client, team["olivia"])
    response = client.get(reverse("schedule:slots"), {"change": change.pk})
    assert response.status_code == 200
    page = text(response)
    # Its own two hours, its items (ticked), after the other change on the same item, and
    # no sooner than two working days from now (Tuesday 12:00).
    assert "Thursday 20 March 2025, 20:00\u201322:00" in page
    assert re.search(rf'<input type="checkbox" name="items" value="{mis.pk}"[^>]* checked', page)
    assert "Slots start after 2 working days, from Thu 20 Mar 12:00" in page
    assert reverse("accounts:school", args=[school.slug]) in page
    edit = reverse("changes:edit", args=[change.pk])
    assert f"{edit}?planned_start=2025-03-20T20%3A00&amp;planned_end=2025-03-20T22%3A00" in page
    # Someone who may not edit it sees the slots without the link.
    assert edit not in text(
        signed_in(client, team["ian"]).get(reverse("schedule:slots"), {"change": change.pk})
    )


def test_slots_page_picks_items_with_the_rfc_forms_checkboxes(client, school, team, year):
    mis, suite = item(school, "the MIS server", "MIS-01"), item(school, "ICT suite 2")
    page = text(signed_in(client, team["olivia"]).get(reverse("schedule:slots")))
    assert not re.search(r"<select[^>]*multiple", page)  # no ctrl-click list
    assert page.count('class="item-choices"') == 1
    for it in (mis, suite):
        assert f'<input type="checkbox" name="items" value="{it.pk}"' in page
    assert "the MIS server (MIS-01)</label>" in page
    assert '<input type="radio" name="type" value="normal"' in page


def test_slots_page_says_why_the_first_slot_is_when_it_is(client, school, team, year):
    client = signed_in(client, team["olivia"])
    url = reverse("schedule:slots")
    base = {"school": school.slug, "minutes": "60"}
    standard = text(client.get(url, {**base, "type": "standard"}))
    assert "Slots start after 4 hours, from Tue 18 Mar 16:00: time to tell its users" in standard
    assert "Tuesday 18 March 2025, 17:30\u201318:30" in standard
    emergency = text(client.get(url, {**base, "type": "emergency"}))
    assert "no lead time" in emergency and "Tuesday 18 March 2025, 17:30" in emergency
    # A date after the lead is up wins, and needs no explanation.
    later = text(client.get(url, {**base, "after": "2025-03-24"}))
    assert "Slots start after" not in later and "Monday 24 March 2025, 17:30" in later
    # An emergency RFC's slots keep no lead.
    rfc = planned(
        school, team["olivia"], at(2025, 3, 25, 17), at(2025, 3, 25, 18), is_emergency=True,
        emergency_justification="The MIS server is down.",
    )  # fmt: skip
    assert "Tuesday 18 March 2025, 17:30" in text(client.get(url, {"change": rfc.pk}))
    assert client.get(url, {**base, "type": "urgent"}).status_code == 400


def test_slots_page_form_and_htmx_partial(client, school, team, year, other_school, oscar):
    mis = item(school, "the MIS server")
    client = signed_in(client, team["olivia"])
    form = client.get(reverse("schedule:slots"))
    assert form.status_code == 200 and "Find slots" in text(form)
    params = {"school": school.slug, "minutes": "60", "items": [mis.pk]}
    page = text(client.get(reverse("schedule:slots"), params))
    assert "Thursday 20 March 2025, 17:30\u201318:30" in page
    create = reverse("changes:create")
    assert f"{create}?school=greenfield&amp;planned_start=2025-03-20T17%3A30" in page
    partial = client.get(reverse("schedule:slots"), params, HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode()
    assert "17:30\u201318:30" in text(partial)
    bad = client.get(reverse("schedule:slots"), {"school": school.slug, "minutes": "5"})
    assert bad.status_code == 400
    outsider = signed_in(client, oscar).get(
        reverse("schedule:slots"), {"school": school.slug, "minutes": "60"}
    )
    assert outsider.status_code == 400  # not one of the schools offered


def test_slots_page_queries_stay_flat(client, school, team, year):
    items = [item(school, f"Server {i}") for i in range(3)]
    client = signed_in(client, team["olivia"])
    url = reverse("schedule:slots")
    params = {"school": school.slug, "minutes": "60", "items": [items[0].pk]}
    client.get(url, params)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url, params).status_code == 200
    more = [item(school, f"Switch {i}") for i in range(30)]
    for day in range(17, 31):
        planned(school, team["olivia"], at(2025, 3, day, 17), at(2025, 3, day, 19), more[:3])
    params["items"] = [i.pk for i in more]
    with CaptureQueriesContext(connection) as many:
        assert client.get(url, params).status_code == 200
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_slots_page_from_someone_elses_school_change_is_404(client, school, team, oscar):
    change = planned(school, team["olivia"], at(2025, 3, 18, 17), at(2025, 3, 18, 19))
    assert (
        signed_in(client, oscar).get(reverse("schedule:slots"), {"change": change.pk}).status_code
        == 404
    )


def test_times_show_in_the_school_time_zone(client, school, team, year):
    planned(
        school, team["olivia"], at(2025, 4, 1, 18), at(2025, 4, 1, 19), title="After the change"
    )
    page = text(
        signed_in(client, team["ian"]).get(FORWARD, {"view": "agenda", "date": "2025-04-01"})
    )
    assert "Tue 1 Apr 18:00 \u2013 Tue 1 Apr 19:00" in page
    assert str(LONDON) in page
