"""The notice board in a real browser (Chromium), with axe: a communicator drafts a notice
from an approved RFC and publishes it; a member of staff without an account reads it by
the secret link, on a phone, and prints it on A4; a viewer reads it signed in.

Needs Debian's Chromium at /usr/bin/chromium; skipped without it unless CI requires it.
"""

from __future__ import annotations

import pytest

from changedesk.communication.models import Notice
from changedesk.communication.services import settings_for
from changedesk.tests.browser import PHONE, check_accessibility, require_chromium, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

require_chromium()


def test_a_notice_from_draft_to_the_printed_board(browser, live_server, approved, carol, vera):
    base = live_server.url
    page = sign_in(browser, base, "carol")

    # Carol finds the approved RFC on her overview, flagged or waiting, and drafts its notice.
    page.goto(f"{base}/notices/greenfield/manage/")
    check_accessibility(page)
    page.get_by_role("button", name=f"Draft a notice for {approved.reference}").first.click()
    page.get_by_text("A notice is drafted from").wait_for()
    check_accessibility(page)
    assert page.get_by_label("What people will notice").input_value() == (
        "ICT suite 2 offline for an hour after school."
    )
    page.get_by_label("What to do").fill("Book ICT suite 1 instead.")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("The notice is saved.").wait_for()
    check_accessibility(page)
    page.get_by_role("button", name="Publish").click()
    page.get_by_text("The notice is on the board").wait_for()
    assert Notice.objects.get().status == "published"

    # A teaching assistant with no account opens the secret link on a phone.
    key = settings_for(approved.school).board_key
    phone = browser.new_context(viewport=PHONE).new_page()
    phone.goto(f"{base}/notices/board/{key}/")
    assert phone.get_by_role("heading", name="Coming up").is_visible()
    assert phone.get_by_text("Book ICT suite 1 instead.").is_visible()
    check_accessibility(phone)
    phone.get_by_role("link", name="Printable A4 version").click()
    phone.get_by_role("heading", name="ICT notices for staff").wait_for()
    check_accessibility(phone)
    phone.emulate_media(media="print")
    assert not phone.get_by_role("button", name="Print").is_visible()
    assert phone.get_by_text("Book ICT suite 1 instead.").is_visible()

    # Vera, a viewer, reads the board signed in, and is not offered the overview.
    viewer = sign_in(browser, base, "vera")
    viewer.goto(f"{base}/notices/")
    viewer.get_by_role("heading", name="Notices for staff at Greenfield Primary").wait_for()
    assert viewer.get_by_text("Book ICT suite 1 instead.").is_visible()
    assert viewer.get_by_role("link", name="Manage notices").count() == 0
    check_accessibility(viewer)
