"""A committee meeting in a real browser (Chromium), with axe: the secretary builds the
agenda, records who is present, minutes a decision that the RFC then shows, and prints
the minutes.

Needs Debian's Chromium at /usr/bin/chromium; skipped without it unless CI requires it.
"""

from __future__ import annotations

import pytest

from changedesk.changes.choices import State
from changedesk.tests.browser import check_accessibility, require_chromium, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

require_chromium()


def console_errors(errors: list[str]):
    """A page that breaks the content security policy says so on the console."""
    return lambda message: errors.append(message.text) if message.type == "error" else None


def test_a_meeting_from_agenda_to_printed_minutes(
    browser, live_server, meeting, waiting_initial, waiting_final
):
    base = live_server.url
    errors: list[str] = []
    page = sign_in(browser, base, "sam", on_console=console_errors(errors))

    page.goto(f"{base}/committee/greenfield/")
    check_accessibility(page)
    page.get_by_role("link", name="CAC, spring term 2").click()
    page.get_by_role("button", name="Build the agenda").click()
    page.get_by_text("2 RFCs added to the agenda.").wait_for()

    page.get_by_role("link", name="Record who is present").click()
    check_accessibility(page)
    page.get_by_label("Ian Ingram, ICT co-ordinator").check()
    page.get_by_label("Fiona Fraser, Headteacher").check()
    page.get_by_role("button", name="Record attendance").click()
    page.get_by_text("The attendance is recorded.").wait_for()
    check_accessibility(page)

    item = page.locator("li.agenda-item", has_text=waiting_initial.reference)
    item.get_by_label("Approve").check()
    item.get_by_label("Minute").fill("Agreed: plan it for half term.")
    item.get_by_role("button", name=f"Record the decision on {waiting_initial.reference}").click()
    page.get_by_text(
        f"{waiting_initial.reference} approved at the meeting. "
        "Olivia Okafor has been asked to write the plan and submit it."
    ).wait_for()
    check_accessibility(page)
    waiting_initial.refresh_from_db()
    assert waiting_initial.state == State.PLANNING

    page.get_by_role("link", name="Printable minutes").click()
    page.get_by_role("heading", name="Minutes: CAC, spring term 2").wait_for()
    check_accessibility(page)
    page.emulate_media(media="print")
    assert not page.get_by_role("button", name="Print").is_visible()
    assert page.get_by_text("Agreed: plan it for half term.").is_visible()

    assert not errors, errors
