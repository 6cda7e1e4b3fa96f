"""The change log import in a real browser (Chromium), with axe: upload an ugly workbook on
a phone, choose the columns, check, import; every page passes axe and none scrolls
sideways (the preview's wide table scrolls in its own region).

Needs Debian's Chromium at /usr/bin/chromium; skipped without it unless CI requires it.
"""

from __future__ import annotations

import pytest

from changedesk.changes.models import Change
from changedesk.spreadsheets.tests import files
from changedesk.tests.browser import (
    NARROW_PHONE,
    check_accessibility,
    overflow,
    require_chromium,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

require_chromium()


def test_an_import_on_a_phone_passes_axe_at_every_step(browser, live_server, team, tmp_path):
    base = live_server.url
    page = sign_in(browser, base, "sam", viewport=NARROW_PHONE)
    upload = tmp_path / "log.xlsx"
    upload.write_bytes(files.ugly_xlsx())

    page.goto(f"{base}/spreadsheets/")
    check_accessibility(page)
    assert overflow(page) == ""
    page.get_by_role("link", name="import a change log").click()
    check_accessibility(page)
    assert overflow(page) == ""
    page.locator("#id_file").set_input_files(str(upload))
    page.get_by_role("button", name="Upload").click()

    page.get_by_role("heading", name="Which field each column holds").wait_for()
    check_accessibility(page)
    assert overflow(page) == ""
    assert page.get_by_label("Start").input_value() == "planned_start"
    page.get_by_role("button", name="Check the rows").click()
    page.get_by_role("button", name="Import 3 RFCs").click()

    page.get_by_role("heading", name="Imported into Greenfield Primary").wait_for()
    check_accessibility(page)
    assert overflow(page) == ""
    assert Change.objects.count() == 3


def test_a_long_change_log_follows_the_worker_with_a_progress_bar(
    browser, live_server, team, monkeypatch, tmp_path
):
    from django.utils import timezone

    from changedesk.spreadsheets import importer, jobs
    from changedesk.spreadsheets.models import ChangeImport, ImportState

    monkeypatch.setattr(importer, "INLINE_MAX_BYTES", 0)  # as a file too big to check at once
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
    upload = tmp_path / "log.xlsx"
    upload.write_bytes(files.ugly_xlsx())
    page.goto(f"{base}/spreadsheets/import/greenfield/")
    page.locator("#id_file").set_input_files(str(upload))
    page.get_by_role("button", name="Upload").click()
    page.get_by_role("button", name="Check the rows").click()

    # Waiting for the worker: an indeterminate bar, asked again every second.
    bar = page.locator("progress#import-bar")
    bar.wait_for()
    assert page.get_by_role("heading", name="Importing into Greenfield Primary").is_visible()
    assert bar.get_attribute("value") is None
    assert overflow(page) == ""
    check_accessibility(page)

    # The worker checks it; the page notices by itself and shows the preview.
    assert jobs.run(timezone.now()) == 1
    page.get_by_role("button", name="Import 3 RFCs").click()
    page.get_by_text("Waiting for the worker to import it").wait_for()
    assert ChangeImport.objects.get().state == ImportState.APPLYING
    assert not Change.objects.exists()
    assert jobs.run(timezone.now()) == 1
    page.get_by_role("heading", name="Imported into Greenfield Primary").wait_for()
    check_accessibility(page)
    assert Change.objects.count() == 3
    assert problems == []
