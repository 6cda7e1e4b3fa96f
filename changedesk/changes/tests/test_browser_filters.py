"""The change log in a browser: a search typed in place is what the export exports, and
the address bar agrees (issue 7, point 2)."""

from __future__ import annotations

import csv
import io

import pytest

from changedesk.changes.services import create_change
from changedesk.conftest import REQUEST
from changedesk.tests.browser import require_chromium, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

require_chromium()


def test_a_search_typed_in_place_is_what_the_export_exports(browser, live_server, school, team):
    for title in ("Replace the Wi-Fi access points", "Upgrade the MIS", "Wi-Fi guest network"):
        create_change(school, team["olivia"], {**REQUEST, "title": title})
    page = sign_in(browser, live_server.url, "olivia")
    page.goto(f"{live_server.url}/changes/")
    page.get_by_text("3 requests for change.").wait_for()
    page.get_by_label("Search").press_sequentially("Wi-Fi")  # as a person types
    page.get_by_text("2 requests for change.").wait_for()
    href = page.locator("#export-link").get_attribute("href")
    assert "q=Wi-Fi" in href
    assert "q=Wi-Fi" in page.url  # the address bar, the export and the back button agree
    exported = page.request.get(f"{live_server.url}{href}").text()
    rows = list(csv.reader(io.StringIO(exported)))
    assert sorted(row[2] for row in rows[1:]) == [
        "Replace the Wi-Fi access points",
        "Wi-Fi guest network",
    ]
    page.context.close()
