"""A committee meeting in a real browser (Chromium), with axe: the secretary builds the
agenda, records who is present, minutes a decision that the RFC then shows, and prints
the minutes.

Needs Debian's Chromium at /usr/bin/chromium; skipped without it unless CI requires it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from changedesk.changes.choices import State
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


def sign_in(browser: Any, base: str, username: str, errors: list[str]) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    # A page that breaks the content security policy says so on the console.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")
    return page


def test_a_meeting_from_agenda_to_printed_minutes(
    browser, live_server, meeting, waiting_initial, waiting_final
):
    base = live_server.url
    errors: list[str] = []
    page = sign_in(browser, base, "sam", errors)

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
    page.get_by_text(f"The decision on {waiting_initial.reference} is minuted").wait_for()
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
