"""The report archive in a real browser: the headteacher opens the archive, reads last
month's frozen report, records the decision taken from it, and opens its A4 print; each
page passes axe, and the report and its print fit a 360 px phone."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from changedesk.changes.models import Change
from changedesk.changes.services import create_change
from changedesk.conftest import REQUEST
from changedesk.reports import archive
from changedesk.tests.browser import (
    NARROW_PHONE,
    check_accessibility,
    overflow,
    preload_axe,
    require_chromium,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

require_chromium()


def test_a_headteacher_records_a_decision_from_the_frozen_report(
    browser, live_server, school, team
):
    change = create_change(school, team["olivia"], dict(REQUEST))
    Change.objects.filter(pk=change.pk).update(created_at=datetime(2026, 10, 10, 9, tzinfo=UTC))
    snapshot = archive.freeze(
        school, "month", date(2026, 10, 1), now=datetime(2026, 11, 1, 1, tzinfo=UTC)
    )
    base = live_server.url

    page = sign_in(browser, base, "fiona")
    preload_axe(page.context)
    page.goto(f"{base}/reports/archive/")
    check_accessibility(page)
    page.get_by_role("link", name="October 2026").click()
    page.wait_for_load_state()
    assert snapshot.digest in page.locator("main").inner_text()
    check_accessibility(page)

    page.get_by_label(re.compile(r"^What was decided")).fill("Tell users two working days ahead.")
    page.get_by_label(re.compile(r"^Decided by")).fill("The change advisory committee")
    page.get_by_label(re.compile(r"^Decided on")).fill("2026-11-05")
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_load_state()
    main = page.locator("main").inner_text()
    assert "The decision is recorded." in main
    assert "Tell users two working days ahead." in main
    check_accessibility(page)

    page.get_by_role("link", name="Print on A4").click()
    page.wait_for_load_state()
    assert page.locator("svg").count() > 0
    check_accessibility(page)

    phone = sign_in(browser, base, "fiona", viewport=NARROW_PHONE)
    for path in (f"/reports/archive/{snapshot.pk}/", f"/reports/archive/{snapshot.pk}/print/"):
        phone.goto(f"{base}{path}")
        assert overflow(phone) == "", path
