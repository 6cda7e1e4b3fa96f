"""The notice board in a real browser (Chromium), with axe: a communicator drafts a notice
from an approved RFC and publishes it; a member of staff without an account reads it by
the secret link, on a phone, and prints it on A4; a viewer reads it signed in.

Needs Debian's Chromium at /usr/bin/chromium; skipped without it unless CI requires it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from changedesk.communication.models import Notice
from changedesk.communication.services import settings_for
from changedesk.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
REQUIRED = os.environ.get("CHANGEDESK_REQUIRE_BROWSER") == "1"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

if not CHROMIUM.exists():
    if REQUIRED:
        raise RuntimeError("CHANGEDESK_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing")
    pytest.skip("Chromium is not installed at /usr/bin/chromium", allow_module_level=True)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


def check_accessibility(page: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    violations = results.response["violations"]
    assert not violations, f"{page.url}: " + results.generate_report()


def sign_in(browser: Any, base: str, username: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")
    return page


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
