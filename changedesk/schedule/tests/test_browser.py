"""The schedule and calendar pages in a real browser (Chromium), checked by axe (WCAG 2.2 AA)
and driven from the keyboard: the school administrator adds an exam period and imports
term dates, then a technician reads the schedule and finds a safe slot.

Needs Debian's Chromium at /usr/bin/chromium; skipped without it (see changes' browser test).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from changedesk.schedule.models import CalendarPeriod
from changedesk.schedule.tests.factories import LONDON, item, planned, school_year
from changedesk.schedule.tests.test_ics_import import TERM_DATES
from changedesk.tests.browser import Person, check_accessibility, require_chromium

# Set to a directory to keep screenshots of the pages, to look at them.
SCREENSHOTS = os.environ.get("CHANGEDESK_SCREENSHOTS", "")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

require_chromium()


def test_calendar_and_schedule_pages(browser, live_server, team, school, tmp_path: Path):
    base = live_server.url
    school_year(school)
    mis = item(school, "the MIS server")
    now = timezone.now().astimezone(LONDON)
    evening = now.replace(hour=18, minute=0, second=0, microsecond=0) + timedelta(days=1)
    planned(school, team["olivia"], evening, evening + timedelta(hours=1), [mis], title="Patch MIS")
    planned(
        school, team["olivia"], evening, evening + timedelta(hours=2), [mis], title="Move MIS",
        is_emergency=True, emergency_justification="Disk failing.",
    )  # fmt: skip

    # Sam, the school administrator, adds an exam period and imports the term dates.
    sam = Person(browser, base, "sam")
    page = sam.page
    page.goto(f"{base}/schedule/calendar/{school.slug}/")
    check_accessibility(page)
    page.get_by_role("link", name="Add a period").click()
    page.get_by_role("button", name="Save").click()
    assert page.locator(".field-error").first.is_visible()
    check_accessibility(page)
    page.get_by_label("Kind").select_option("exam")
    page.get_by_label("Name").fill("Year 11 mocks")
    first = (now + timedelta(days=2)).date()
    page.get_by_label("First day").fill(first.isoformat())
    page.get_by_label("Last day").fill((first + timedelta(days=4)).isoformat())
    page.get_by_role("button", name="Save").click()
    page.get_by_text("is added to the calendar").wait_for()
    assert CalendarPeriod.objects.filter(name="Year 11 mocks").exists()

    ics = tmp_path / "terms.ics"
    ics.write_bytes(TERM_DATES)
    page.get_by_role("link", name="Import an .ics file").click()
    page.get_by_label("iCalendar file (.ics)").set_input_files(str(ics))
    page.get_by_role("button", name="Preview").click()
    page.get_by_text("What importing it will do").wait_for()
    check_accessibility(page)
    page.get_by_role("button", name="Import these").click()
    page.get_by_text("Imported: 5 new").wait_for()
    sam.close()

    # Olivia reads the schedule in each view, by keyboard, then finds a safe slot.
    olivia = Person(browser, base, "olivia")
    page = olivia.page
    page.goto(f"{base}/schedule/?date={evening.date().isoformat()}")
    assert page.get_by_text("Patch MIS").first.is_visible()
    check_accessibility(page)
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/month.png", full_page=True)
    page.get_by_role("link", name="Week", exact=True).focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**view=week**")
    check_accessibility(page)
    page.get_by_role("link", name="Agenda", exact=True).click()
    page.get_by_text("Overlaps").first.wait_for()
    check_accessibility(page)
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/agenda.png", full_page=True)
    page.goto(f"{base}/schedule/print/?view=month&date={evening.date().isoformat()}")
    check_accessibility(page)
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/print.png", full_page=True)
    page.goto(f"{base}/schedule/slots/")
    page.get_by_label("How long (minutes)").fill("60")
    page.get_by_role("checkbox", name="the MIS server").check()
    page.get_by_role("button", name="Find slots").click()
    page.get_by_role("heading", name="Next safe slots").wait_for()
    assert page.get_by_text("Slots start after 2 working days").is_visible()
    assert page.get_by_role("link", name="Use this slot").first.is_visible()
    check_accessibility(page)
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/slots.png", full_page=True)
    olivia.close()
