"""The Welsh pages in a real browser (Chromium), checked by axe (WCAG 2.2 AA, the lang
attributes among it): My work and the RFC page with its decision form for a Welsh speaker,
and a bilingual notice board.

Needs Debian's Chromium at /usr/bin/chromium; skipped without it unless CI requires it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from changedesk.accounts.choices import Language, Role
from changedesk.communication.services import create_notice, publish_notice, settings_for
from changedesk.conftest import advance, member
from changedesk.tests.browser import DESKTOP, check_accessibility, require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

require_chromium()


def signed_in(browser, base, person):
    context = browser.new_context(viewport=DESKTOP)
    client = Client()
    client.force_login(person)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base}])
    return context


def test_welsh_pages_pass_axe(browser, live_server, draft, team):
    fiona = team["fiona"]
    fiona.language = Language.CY
    fiona.save(update_fields=["language"])
    change = advance(draft, team, "awaiting_final_approval")
    context = signed_in(browser, live_server.url, fiona)
    page = context.new_page()
    try:
        page.goto(live_server.url + reverse("changes:my_work"))
        page.get_by_role("heading", level=1, name="Fy ngwaith").wait_for()
        assert page.get_attribute("html", "lang") == "cy"
        check_accessibility(page)
        page.goto(live_server.url + reverse("changes:detail", args=[change.pk]))
        page.get_by_role("button", name="Cymeradwyo").wait_for()
        check_accessibility(page)
    finally:
        context.close()


def test_a_bilingual_notice_board_passes_axe(browser, live_server, school, team):
    carol = member("carol", school, [Role.COMMUNICATOR])
    school.bilingual_notices = True
    school.save(update_fields=["bilingual_notices"])
    start = timezone.now() + timedelta(days=2)
    notice = create_notice(
        school,
        carol,
        {"title": "Ystafell TGCh 2 ar gau / ICT suite 2 closed", "what": "Ceblau / Cabling",
         "when_text": "Dydd Llun / Monday", "starts_at": start,
         "ends_at": start + timedelta(hours=1)},
    )  # fmt: skip
    publish_notice(notice.pk, carol)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        page.goto(
            live_server.url + reverse("communication:board", args=[settings_for(school).board_key])
        )
        page.locator('span[lang="cy"]', has_text="Pryd").first.wait_for()
        check_accessibility(page)
    finally:
        context.close()
