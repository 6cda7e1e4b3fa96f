"""The period report in a real browser: a final approver reads the month's report, with its
charts, at desk and phone widths, with axe, no CSP violation in the console and no sideways
scroll; follows a figure to its RFCs and opens the print."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from changedesk.changes.services import create_change
from changedesk.conftest import REQUEST
from changedesk.tests.browser import (
    NARROW_PHONE,
    check_accessibility,
    overflow,
    require_chromium,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

require_chromium()


def test_a_final_approver_reads_the_month(browser, live_server, school, team):
    with time_machine.travel(datetime(2026, 10, 5, 9, tzinfo=UTC), tick=False):
        change = create_change(school, team["olivia"], dict(REQUEST))
    base = live_server.url
    complaints: list[str] = []

    def listen(message) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            complaints.append(message.text)

    for viewport in (None, NARROW_PHONE):
        page = sign_in(browser, base, "fiona", viewport=viewport, on_console=listen)
        page.goto(f"{base}/reports/?school={school.slug}&period=month&start=2026-10-10")
        assert "October 2026" in page.inner_text("main")
        assert page.locator("main svg").count() >= 19
        check_accessibility(page)
        assert overflow(page) == "", overflow(page)
        page.context.close()
    page = sign_in(browser, base, "fiona", on_console=listen)
    page.goto(f"{base}/reports/?school={school.slug}&period=month&start=2026-10-10")
    page.get_by_role("link", name="1 RFC behind “RFCs raised”").click()
    page.wait_for_load_state()
    assert change.reference in page.inner_text("main")
    check_accessibility(page)
    page.go_back()
    page.get_by_role("link", name="Print").click()
    page.wait_for_load_state()
    assert "Change management report" in page.inner_text("main")
    check_accessibility(page)
    assert not complaints, complaints
