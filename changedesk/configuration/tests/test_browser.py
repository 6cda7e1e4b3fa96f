"""The item import in a real browser (Chromium), with axe: a large file shows a progress
bar that follows the worker (htmx polling, no inline script), then the preview; confirmed,
the bar again, then what was imported; on a phone, the progress page does not scroll
sideways.

Needs Debian's Chromium at /usr/bin/chromium; skipped without it unless CI requires it.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from changedesk.configuration import jobs, views
from changedesk.configuration.models import ConfigurationItem, ImportState, ItemImport
from changedesk.tests.browser import (
    NARROW_PHONE,
    check_accessibility,
    overflow,
    require_chromium,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

require_chromium()

CSV = (
    "name,kind,identifier,location,owner,users_affected,notes\n"
    "ICT suite 2 switch,network_device,SW-02,ICT suite 2,olivia,30,Replaced in 2024\n"
    "MIS server,server,MIS,Server room,,120,\n"
    "Wi-Fi,service,,,,400,\n"
)


def test_a_large_import_follows_the_worker_with_a_progress_bar(
    browser, live_server, team, school, monkeypatch, tmp_path
):
    monkeypatch.setattr(views, "INLINE_MAX_BYTES", 0)  # as a file too big to check at once
    base = live_server.url
    problems: list[str] = []
    page = sign_in(
        browser,
        base,
        "sam",
        viewport=NARROW_PHONE,
        on_console=lambda message: (
            problems.append(message.text) if message.type == "error" else None
        ),
    )
    upload = tmp_path / "items.csv"
    upload.write_text(CSV, encoding="utf-8")
    page.goto(f"{base}/items/import/greenfield/")
    page.locator("#id_file").set_input_files(str(upload))
    page.get_by_role("button", name="Preview").click()

    # Waiting for the worker: an indeterminate bar, asked again every second.
    bar = page.locator("progress#import-bar")
    bar.wait_for()
    assert page.get_by_role("heading", name="Importing into Greenfield Primary").is_visible()
    assert bar.get_attribute("value") is None
    assert not overflow(page)
    check_accessibility(page)

    # The worker checks it; the page notices by itself and shows the preview.
    assert jobs.run(timezone.now()) == 1
    page.get_by_text("3 to add, 0 to update, 0 unchanged").wait_for()
    check_accessibility(page)

    page.get_by_role("button", name="Import 3 rows").click()
    page.get_by_text("Waiting for the worker to import it").wait_for()
    assert ItemImport.objects.get().state == ImportState.APPLYING
    assert not ConfigurationItem.objects.exists()
    assert jobs.run(timezone.now()) == 1
    page.get_by_role("heading", name="Imported into Greenfield Primary").wait_for()
    assert page.get_by_text("3 added, 0 updated, 0 unchanged").is_visible()
    check_accessibility(page)
    assert ConfigurationItem.objects.count() == 3
    # No inline script or style was needed: nothing broke the content security policy.
    assert not [p for p in problems if "Content Security Policy" in p], problems
