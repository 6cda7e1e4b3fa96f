"""The site on a small phone (360 px wide), in a real browser (Chromium), checked by axe.

Every page of the main menu, and the pages under them, fits the screen: nothing makes the
page scroll sideways (a table that must stay a table scrolls in its own wrapper, which the
keyboard can reach). The main menu folds into one "Menu" button on a phone and is inline
on a desktop.

The pages show the demo school (`changedesk demo`), with a committee meeting and its
minutes, a published notice, a calendar feed and a delegation added, seen by Dana, who
runs the school's ICT paperwork (school administrator, originator, final approver and
communicator), and a few by Tom, a teacher who only reads.

Needs Debian's Chromium at /usr/bin/chromium; skipped without it unless CI requires it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from changedesk.site.demo import PASSWORD
from changedesk.tests.browser import (
    DESKTOP,
    NARROW_PHONE,
    check_accessibility,
    overflow,
    preload_axe,
    require_chromium,
    sign_in,
)
from changedesk.tests.pages import PAGES, READER_PAGES, build_place

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

require_chromium()


CSV = (
    "name,kind,identifier,location,owner,users_affected,notes\n"
    "ICT suite 2 switch,network_device,NET-014,ICT suite 2,olivia,30,Replaced in 2024\n"
    "Hall projector,other,AV-HALL-01,Main hall and stage,sam,250,Ceiling mounted\n"
)
ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//County Council//Term dates//EN\r\n"
    "BEGIN:VEVENT\r\nUID:spring-half@county\r\nDTSTAMP:20260101T000000Z\r\n"
    "SUMMARY:February half term\r\nDTSTART;VALUE=DATE:20270215\r\n"
    "DTEND;VALUE=DATE:20270220\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:inset-3@county\r\nDTSTAMP:20260101T000000Z\r\n"
    "SUMMARY:INSET day (safeguarding training for all staff)\r\n"
    "DTSTART;VALUE=DATE:20270222\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)

# Pages reached by sending a form: (name, path, file field, file name, contents).
UPLOADS: list[tuple[str, str, str, str, str]] = [
    ("items import, preview", "/items/import/{school}/", "#id_file", "items.csv", CSV),
    ("calendar import, preview", "/schedule/calendar/{school}/import/", "#id_file", "t.ics", ICS),
]


@pytest.fixture
def place(db) -> dict[str, Any]:
    return build_place()


def _problems(page: Any, name: str, status: int = 200) -> list[str]:
    """What is wrong with the page shown: not shown at all (an error's status, or the
    sign-in page), too wide, or axe's findings."""
    title = page.title()
    if status >= 400 or "/accounts/login/" in page.url:
        return [f"{name}: not shown ({status}, {page.url}, {title!r})"]
    problems = []
    wide = overflow(page)
    if wide:
        problems.append(f"{name}: {wide}")
    try:
        check_accessibility(page)
    except AssertionError as error:
        problems.append(f"{name}: {error}")
    return problems


def _visit(page: Any, base: str, pages: list[tuple[str, str]], place: dict) -> list[str]:
    problems = []
    for name, path in pages:
        response = page.goto(base + path.format(**place))
        if path.startswith("/api/"):
            page.locator(".swagger-ui .info").wait_for()  # drawn by Swagger UI's script
        problems += _problems(page, name, response.status if response else 200)
    return problems


def _upload(page: Any, base: str, place: dict, tmp: Path) -> list[str]:
    problems = []
    for name, path, field, filename, contents in UPLOADS:
        page.goto(base + path.format(**place))
        upload = tmp / filename
        upload.write_text(contents, encoding="utf-8")
        page.locator(field).set_input_files(str(upload))
        page.get_by_role("button", name="Preview").click()
        page.locator("table.import-preview").wait_for()
        problems += _problems(page, name)
    return problems


def test_every_page_fits_a_small_phone(browser, live_server, place, tmp_path):
    base = live_server.url
    page = sign_in(browser, base, "dana", viewport=NARROW_PHONE, password=PASSWORD)
    preload_axe(page.context)
    try:
        problems = _visit(page, base, PAGES, place)
        problems += _upload(page, base, place, tmp_path)
        # The same context, signed in again as a teacher who only reads.
        page.context.clear_cookies()
        sign_in(browser, base, "tom", password=PASSWORD, page=page)
        problems += _visit(page, base, READER_PAGES, place)
    finally:
        page.context.close()
    assert not problems, "\n".join(problems)


def test_the_menu_folds_into_a_button_on_a_phone(browser, live_server, olivia):
    base = live_server.url
    page = sign_in(browser, base, "olivia", viewport=NARROW_PHONE)
    try:
        button = page.get_by_role("button", name="Menu")
        menu = page.get_by_role("navigation", name="Main")
        schedule = menu.get_by_role("link", name="Schedule", exact=True)
        assert button.is_visible()
        assert button.get_attribute("aria-expanded") == "false"
        assert not schedule.is_visible()

        button.click()
        assert button.get_attribute("aria-expanded") == "true"
        assert schedule.is_visible()
        assert overflow(page) == ""
        check_accessibility(page)
        schedule.click()
        page.wait_for_url(f"{base}/schedule/")
        assert not schedule.is_visible()

        # From the keyboard, and closed again with Escape, back on the button.
        button = page.get_by_role("button", name="Menu")
        button.focus()
        page.keyboard.press("Enter")
        assert button.get_attribute("aria-expanded") == "true"
        current = menu.locator("[aria-current=page]")
        assert current.inner_text() == "Schedule"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "My work"
        page.keyboard.press("Escape")
        assert button.get_attribute("aria-expanded") == "false"
        assert not menu.get_by_role("link", name="My work").is_visible()
        assert page.evaluate("document.activeElement.getAttribute('aria-controls')")
        assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"

        button.click()
        button.click()
        assert button.get_attribute("aria-expanded") == "false"
        assert not schedule.is_visible()

        # On a desktop the menu is inline and there is no button.
        page.set_viewport_size(DESKTOP)
        assert not button.is_visible()
        links = menu.get_by_role("link")
        # Twelve: this olivia raises RFCs but reads no reports (no "Reports").
        assert links.count() == 12
        tops = {round(box["y"]) for box in (links.nth(i).bounding_box() for i in range(8))}
        assert len(tops) == 1, tops
        assert links.first.is_visible() and links.last.is_visible()
    finally:
        page.context.close()

    # Without JavaScript the button would do nothing: there is none, and the menu is open.
    context = browser.new_context(viewport=NARROW_PHONE, java_script_enabled=False)
    try:
        page = sign_in(browser, base, "olivia", page=context.new_page())
        assert not page.get_by_role("button", name="Menu").is_visible()
        assert page.get_by_role("navigation", name="Main").get_by_role("link").count() == 12
        assert page.get_by_role("link", name="Schools").is_visible()
        assert overflow(page) == ""
    finally:
        context.close()
