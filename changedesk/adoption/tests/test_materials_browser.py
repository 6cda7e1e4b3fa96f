"""The materials and the review checklist in a real browser on a 360 px phone: no sideways
scrolling and nothing axe can find, on the materials page, the blank RFC, the role cards,
an example (copied into a new RFC) and the checklist (a review recorded from it)."""

from __future__ import annotations

import pytest

from changedesk.adoption.models import ChecklistReview
from changedesk.tests.browser import (
    NARROW_PHONE,
    check_accessibility,
    overflow,
    require_chromium,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

require_chromium()


def test_the_materials_on_a_phone(browser, live_server, team, school):
    base = live_server.url
    page = sign_in(browser, base, "olivia", viewport=NARROW_PHONE)
    for path in (
        "/getting-started/materials/",
        "/getting-started/materials/blank-rfc/",
        "/getting-started/materials/role-cards/",
        "/getting-started/materials/examples/library-printer/",
    ):
        page.goto(f"{base}{path}")
        assert not overflow(page), (path, overflow(page))
        check_accessibility(page)
    page.get_by_role("link", name="Copy into a new RFC").click()
    page.wait_for_load_state()
    assert page.get_by_label("Name").input_value() == "Install a new printer in the library"
    assert not overflow(page), overflow(page)


def test_the_checklist_on_a_phone(browser, live_server, team, school):
    from django.utils import timezone

    from changedesk.adoption.models import Adoption

    # A live school: its administrator is not sent to the getting-started page on signing in.
    Adoption.objects.create(school=school, live_at=timezone.now())
    base = live_server.url
    page = sign_in(browser, base, "sam", viewport=NARROW_PHONE)
    page.goto(f"{base}/getting-started/review/")
    assert not overflow(page), overflow(page)
    check_accessibility(page)
    page.get_by_role("button", name="Record the review").click()
    page.wait_for_load_state()
    assert "Answer yes, no or partly." in page.content()
    check_accessibility(page)
    for legend in ("The people taking part understand the process",
                   "RFCs let the approvers understand and authorise them",
                   "Release participants understand the process",
                   "New build procedures are identified when needed"):  # fmt: skip
        page.get_by_role("group", name=legend).get_by_label("Yes").check()
    page.get_by_label("Note on the review").fill("Tell users a week ahead from now on.")
    page.get_by_role("button", name="Record the review").click()
    page.wait_for_load_state()
    assert "The review is recorded." in page.content()
    assert not overflow(page), overflow(page)
    check_accessibility(page)
    assert ChecklistReview.objects.get().note == "Tell users a week ahead from now on."
