"""Patch Tuesday in a real browser, as a technician new to changedesk would do it: add a
vendor and its feed (served from a local HTTP server), see the month's patches arrive after
the worker's pass, assess and test the critical one, raise the patch run from the standard
change in the first safe slot the board offers (outside lessons and exams, approved at
once), tell the staff, record the outcome, verify and close the patch, and print the
compliance statement showing it deployed within 14 days. axe checks every page, and the
board fits a small phone."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from changedesk.accounts.choices import Role
from changedesk.configuration.models import ConfigurationItem
from changedesk.conftest import PASSWORD, member
from changedesk.patches import feeds
from changedesk.patches.models import Patch
from changedesk.standard import services as standard
from changedesk.standard.tests.conftest import CONTENT, approve
from changedesk.tests.browser import (
    DESKTOP,
    NARROW_PHONE,
    check_accessibility,
    overflow,
    require_chromium,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

require_chromium()


def _rss() -> bytes:
    now = format_datetime(datetime.now(UTC) - timedelta(hours=3))
    items = [
        ("2026-12 Cumulative Update for Windows 11 (KB5071234)", "Critical",
         "CVE-2026-21001 CVE-2026-21002"),
        ("2026-12 Security Update for Microsoft 365 Apps (KB5071299)", "Important",
         "CVE-2026-21010"),
    ]  # fmt: skip
    body = "".join(
        f"<item><title>{title}</title><link>https://msrc.example/{n}</link>"
        f"<guid>msrc-{n}</guid><pubDate>{now}</pubDate>"
        f"<description>Severity: {severity}. Fixes {cves}.</description></item>"
        for n, (title, severity, cves) in enumerate(items)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Security updates</title>'
        f"<link>https://msrc.example/</link><description>x</description>{body}</channel></rss>"
    ).encode()


@pytest.fixture
def feed_url():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = _rss()
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/security.rss"
    server.shutdown()
    server.server_close()


def test_patch_tuesday(browser, live_server, settings, feed_url, school, team):
    settings.PATCH_FEEDS_ALLOW_PRIVATE = True
    pam = member(
        "pam",
        school,
        [Role.PATCH_ADMINISTRATOR, Role.ORIGINATOR, Role.IMPLEMENTER, Role.COMMUNICATOR],
    )
    pilot = ConfigurationItem.objects.create(school=school, name="Pilot laptop ICT-01")
    laptops = ConfigurationItem.objects.create(school=school, name="Staff laptops")
    approve(standard.create_template(school, pam, dict(CONTENT), items=[pilot, laptops]), team)
    base = live_server.url
    page = sign_in(browser, base, "pam", password=PASSWORD)
    try:
        # A vendor, and its feed.
        nav = page.get_by_role("navigation", name="Main")
        nav.get_by_role("link", name="Patches").click()
        page.get_by_role("link", name="Vendors and feeds").click()
        check_accessibility(page)
        page.get_by_role("link", name="Add a vendor").click()
        page.get_by_label("Name").fill("Microsoft")
        page.get_by_label("Products").fill("Windows 11\nMicrosoft 365 Apps")
        check_accessibility(page)
        page.get_by_role("button", name="Add the vendor").click()
        page.get_by_role("link", name="Add a feed or source").click()
        page.get_by_label("Address").fill(feed_url)
        check_accessibility(page)
        page.get_by_role("button", name="Add it").click()
        page.get_by_text("The feed is added").wait_for()
        vendor_url = page.url

        # The worker's pass brings the month's patches.
        assert feeds.poll_due(timezone.now()) == 1
        page.goto(vendor_url)
        page.get_by_text("2 patches brought so far").wait_for()
        assert page.locator(".feed-ok").count() == 1
        check_accessibility(page)

        nav.get_by_role("link", name="Patches").click()
        board = page.locator(".column-available")
        board.get_by_role("link", name="2026-12 Cumulative Update for Windows 11").wait_for()
        check_accessibility(page)

        # Assess and test the critical one.
        board.get_by_role("link", name="2026-12 Cumulative Update for Windows 11").click()
        page.get_by_label("Severity for the school").select_option("critical")
        page.get_by_label("Pilot laptop ICT-01").first.check()
        page.get_by_label("Staff laptops").first.check()
        check_accessibility(page)
        page.get_by_role("button", name="Record the assessment").click()
        page.get_by_role("heading", name="Test it on the pilot ring").wait_for()
        page.get_by_role("group", name="Passed on").get_by_label("Pilot laptop ICT-01").check()
        page.get_by_role("button", name="Record the tests").click()
        page.get_by_role("heading", name="Put it on an RFC").wait_for()
        check_accessibility(page)
        patch = Patch.objects.get(reference="KB5071234")
        assert (patch.state, patch.severity) == ("tested", "critical")

        # Raise the run in the first safe slot the board offers: approved at once.
        nav.get_by_role("link", name="Patches").click()
        page.get_by_role("link", name="Raise the run:").first.click()
        check_accessibility(page)
        assert page.get_by_label("Planned start").input_value()
        page.get_by_role("button", name="Raise the patch run").click()
        page.get_by_role("heading", name="Patches it deploys").wait_for()
        assert "approved" in page.locator(".status-line").inner_text().lower()
        check_accessibility(page)
        patch.refresh_from_db()
        assert patch.state == "scheduled" and patch.change is not None
        change = patch.change
        assert change.is_standard and change.state == "approved"
        local = change.planned_start.astimezone(school.zone)
        assert local.hour >= 15 or local.weekday() >= 5 or local.hour < 8

        # Tell the staff.
        page.get_by_role("button", name="Draft a notice for staff").click()
        page.get_by_role("button", name="Save").click()
        page.get_by_role("button", name="Publish").click()
        page.goto(f"{base}{change.get_absolute_url()}")
        page.get_by_text("Users told").wait_for()

        # Record the outcome: the patch is deployed, within its deadline.
        page.get_by_label("Outcome").select_option("succeeded")
        page.get_by_role("button", name="Record the outcome").click()
        page.get_by_text("Outcome: succeeded", exact=True).wait_for()
        patch.refresh_from_db()
        assert patch.state == "deployed" and patch.on_time()

        # Verify and close it.
        page.goto(f"{base}{patch.get_absolute_url()}")
        page.get_by_role("group", name="Passed on").get_by_label("Staff laptops").check()
        page.get_by_role("button", name="Record the verification").click()
        page.get_by_label("What the items now run").fill("Windows 11 24H2, December 2026")
        page.get_by_role("button", name="Close it").click()
        page.get_by_role("heading", name="Configuration records").wait_for()
        check_accessibility(page)

        # The statement an auditor is handed.
        nav.get_by_role("link", name="Patches").click()
        page.get_by_role("link", name="Compliance").click()
        check_accessibility(page)
        page.get_by_role("link", name="Print the statement").click()
        row = page.locator(".statement-list tr", has_text="KB5071234")
        assert "On time" in row.inner_text()
        check_accessibility(page)

        # The board on a small phone.
        page.set_viewport_size(NARROW_PHONE)
        page.get_by_role("link", name="Back to compliance").click()
        page.goto(f"{base}/patches/")
        assert overflow(page) == ""
        check_accessibility(page)
        page.set_viewport_size(DESKTOP)
    finally:
        page.context.close()
