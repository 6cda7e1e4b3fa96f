"""One RFC from draft to closed in a real browser (Chromium), as four people, with axe.

The originator (Olivia) raises it, the initial approver (Ian) is refused a return without
a reason and then approves, the peer reviewer (Peter) returns the plan, Olivia amends
it, Peter approves, the headteacher (Fiona) approves on a phone, and Olivia records the
outcome and closes it after the review. Each page is checked by axe for WCAG 2.2 AA.

Needs Debian's Chromium at /usr/bin/chromium; skipped without it unless CI requires it.
"""

from __future__ import annotations

from typing import Any

import pytest

from changedesk.changes.models import Change
from changedesk.notifications.models import OutboxMessage
from changedesk.tests.browser import Person, check_accessibility, require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

require_chromium()


def fill_plan(page: Any) -> None:
    page.get_by_label("Full details of the change").fill("1. Label cables.\n2. Swap the switch.")
    page.get_by_label("Impact on ICT services and users").fill("ICT suite 2 offline 18:00-19:00.")
    page.get_by_label("Risk of failure and impact of failure").fill("Low; suite offline longer.")
    page.get_by_label("Fallback plan").fill("Refit the old switch.")
    page.get_by_label("Planned start").fill("2030-03-04T18:00")
    page.get_by_label("Planned end").fill("2030-03-04T19:00")
    page.get_by_label("Peer reviewer").select_option(label="Peter Patel (Network manager)")
    page.get_by_label("Final approver").select_option(label="Fiona Fraser (Headteacher)")


def test_draft_to_closed_as_four_people(browser, live_server, team):
    base = live_server.url
    olivia = Person(browser, base, "olivia")
    page = olivia.page
    check_accessibility(page)  # My work

    # Olivia raises the RFC; the empty form is refused with errors next to the fields.
    page.get_by_role("link", name="New RFC").click()
    page.get_by_role("button", name="Save as draft").click()
    assert page.locator(".field-error").first.is_visible()
    check_accessibility(page)
    page.get_by_label("Name").fill("Replace the ICT suite 2 switch")
    page.get_by_label("Brief description").fill("Swap the failing switch for the spare.")
    page.get_by_label("Reason for the change").fill("Pupils lose their network drives.")
    page.get_by_role("button", name="Save as draft").click()
    page.get_by_text("is saved as a draft").wait_for()
    change = Change.objects.get()
    olivia.act("Submit for approval")
    page.get_by_text("Awaiting initial approval").first.wait_for()
    check_accessibility(page)

    # Ian finds it in My work; a return without a reason is refused; then he approves.
    ian = Person(browser, base, "ian")
    ian.page.get_by_role("link", name="Replace the ICT suite 2 switch").click()
    ian.act("Return for amendment")
    ian.page.get_by_text("Say why, so the originator knows what to do next.").wait_for()
    check_accessibility(ian.page)
    ian.act("Approve", comment="Yes: use the spare from the store room.")
    ian.page.get_by_text("has been asked to write the plan and submit it").wait_for()
    change.refresh_from_db()
    assert change.state == "planning"

    # Olivia writes the plan and submits it.
    olivia.open(change).get_by_role("link", name="Edit").click()
    fill_plan(page)
    check_accessibility(page)
    page.get_by_role("button", name="Save changes").click()
    page.get_by_text("is saved").first.wait_for()
    olivia.act("Submit the plan")

    # Peter returns the plan with a reason; Olivia amends it and submits again.
    peter = Person(browser, base, "peter")
    peter.open(change)
    peter.act("Return for amendment", comment="Add a step to save the running config first.")
    olivia.open(change).get_by_role("link", name="Edit").click()
    page.get_by_label("Full details of the change").fill(
        "1. Save the running config.\n2. Label cables.\n3. Swap the switch."
    )
    page.get_by_role("button", name="Save changes").click()
    page.get_by_text("is saved").first.wait_for()
    olivia.act("Submit the plan")
    peter.open(change)
    peter.act("Approve", comment="Plan is sound.")

    # Fiona, the headteacher, approves on a 360 px phone from the link in her e-mail, not
    # signed in: one tap opens it ("Decide now"), the second approves.
    mail = OutboxMessage.objects.filter(recipient__username="fiona", template="change_waiting")
    link = base + mail.latest("pk").context["decide_path"]
    phone = browser.new_context(viewport={"width": 360, "height": 740})
    fiona = phone.new_page()
    fiona.goto(link)
    approve = fiona.get_by_role("button", name="Approve")
    box = approve.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 740, "Approve is below the fold"
    assert fiona.evaluate("document.documentElement.scrollWidth") <= 360
    assert "Impact" in fiona.locator(".decision-summary").inner_text()
    check_accessibility(fiona)
    approve.click()
    fiona.get_by_text("has been asked to carry it out and record the outcome").wait_for()
    assert "through the link in your e-mail" in fiona.locator("main").inner_text()
    check_accessibility(fiona)
    phone.close()

    # Olivia, also the implementer, records the outcome, then reviews and closes it.
    olivia.open(change)
    page.get_by_label("Outcome").select_option("succeeded")
    olivia.act("Record the outcome")
    page.get_by_text("Next, you update the records and close it.").wait_for()
    page.get_by_role("group", name="Have the configuration records been updated?").get_by_label(
        "Yes"
    ).check()
    page.get_by_role("group", name="Did the change cause any incidents?").get_by_label("No").check()
    page.get_by_role("group", name="Were the users told beforehand?").get_by_label("Yes").check()
    olivia.act("Close")
    page.get_by_text(f"{change.reference} closed.").wait_for()
    check_accessibility(page)

    change.refresh_from_db()
    assert change.state == "closed"
    kinds = list(change.events.values_list("kind", flat=True))
    assert kinds.count("return") == 1
    assert kinds[-1] == "close"
    timeline = page.locator(".timeline").inner_text()
    assert "Returned for amendment by Peter Patel" in timeline

    # The printable form carries the signatures from the history.
    page.get_by_role("link", name="Print").click()
    assert "Fiona Fraser" in page.locator(".signatures").inner_text()
    check_accessibility(page)

    # The change log finds it and is accessible.
    page.goto(f"{base}/changes/?state=closed")
    assert page.get_by_role("link", name=change.reference).is_visible()
    check_accessibility(page)
    for person in (olivia, ian, peter):
        person.close()


def test_planning_into_an_exam_period_then_taking_a_safe_slot(browser, live_server, team, draft):
    """The plan hits the exam period: the conflict is shown to the planner in plain words;
    she takes the next safe slot and the conflict is gone. (The approver's side is in
    test_conflicts_integration.)"""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from changedesk.conftest import advance
    from changedesk.schedule.models import CalendarPeriod, PeriodKind

    london = ZoneInfo("Europe/London")
    change = advance(draft, team, "planning")
    CalendarPeriod.objects.create(
        school=change.school,
        kind=PeriodKind.EXAM,
        name="GCSE mocks",
        starts_at=datetime(2030, 3, 4, tzinfo=london),
        ends_at=datetime(2030, 3, 9, tzinfo=london),
    )
    base = live_server.url
    olivia = Person(browser, base, "olivia")
    page = olivia.open(change)
    page.get_by_role("link", name="Edit").click()
    fill_plan(page)
    page.get_by_role("button", name="Save changes").click()
    page.get_by_text("is saved").first.wait_for()
    conflicts = page.locator(".conflicts")
    assert "GCSE mocks" in conflicts.inner_text()
    check_accessibility(page)

    # The originator asks for the next safe slot and takes the first one.
    page.get_by_role("link", name="Find the next safe slot").click()
    page.locator(".slot").first.wait_for()
    check_accessibility(page)
    page.get_by_role("link", name="Use this slot").first.click()
    page.get_by_role("button", name="Save changes").click()
    page.get_by_text("is saved").first.wait_for()
    assert page.locator(".conflicts").count() == 0
    change.refresh_from_db()
    assert not (datetime(2030, 3, 4, tzinfo=london) <= change.planned_start)
    olivia.close()
