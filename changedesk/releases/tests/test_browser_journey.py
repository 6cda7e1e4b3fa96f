"""Release management end to end in a real browser, as a new school would first try it.

rachel, the network manager (release manager), publishes a release policy with a summer
window; bella, the technician (build developer), adds two pieces to the definitive software
library and takes one out, then writes a build procedure for a service and sends it; rachel
approves it, defines a summer release, adds the build and olivia's RFC, plans it inside
the window and moves it through build and release; the forward schedule shows it; isaac
(installer) ticks the checklist on a 360 px phone; rachel finds a licence short and reads
the five FITS figures for the month. Only the scene (the school, its people, a service, a
laptop, the RFC) is made through services; everything checked is done on the pages, and
each main page is checked once with axe.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from changedesk.changes.services import update_change
from changedesk.conftest import plan_data
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

SUMMER_YEAR = timezone.now().year + 1
SUMMER = (f"{SUMMER_YEAR}-07-22", f"{SUMMER_YEAR}-08-31")


def text(page) -> str:
    return page.locator("main").inner_text()


def click(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()
    page.wait_for_load_state()


def accessible(page, seen: set[str], key: str) -> None:
    """axe on each kind of page once."""
    if key not in seen:
        seen.add(key)
        check_accessibility(page)


def test_a_network_manager_sets_up_release_management(
    browser, live_server, school, team, draft, rachel, bella, isaac, service, laptop
):
    base = live_server.url
    seen: set[str] = set()

    # --- rachel publishes a release policy with a summer window.
    page = sign_in(browser, base, "rachel")
    preload_axe(page.context)
    page.goto(f"{base}/releases/policy/")
    accessible(page, seen, "policy")
    page.get_by_role("link", name="Write a new version").first.click()
    page.wait_for_load_state()
    accessible(page, seen, "policy-edit")
    page.get_by_label("Title", exact=True).fill("Greenfield release policy")
    page.get_by_label("Rules").fill(
        "New computers are installed only in the release windows.\n"
        "Every build has an approved procedure."
    )
    page.get_by_label("Window 1: name").fill("Summer holidays")
    page.get_by_label("Window 1: first day").fill(SUMMER[0])
    page.get_by_label("Window 1: last day").fill(SUMMER[1])
    click(page, "Save the draft")
    assert "Summer holidays" in text(page), text(page)
    page.get_by_label("What changed").fill("First version")
    click(page, "Publish the draft")
    body = text(page)
    assert "Version 1" in body, body
    assert "Published" in body
    assert f"22 July to 31 August {SUMMER_YEAR}" in body or "Summer holidays" in body

    # --- bella adds two pieces to the library and takes one out.
    writer = sign_in(browser, base, "bella")
    writer.goto(f"{base}/releases/library/")
    accessible(writer, seen, "library")
    for title, version in (("Windows 11 Education", "24H2"), ("Microsoft Office", "2024")):
        writer.get_by_role("link", name="Add to the library").click()
        writer.wait_for_load_state()
        accessible(writer, seen, "software-form")
        writer.get_by_label("Title", exact=True).fill(title)
        writer.get_by_label("Version", exact=True).fill(version)
        writer.get_by_label("Location").fill(f"\\\\server\\library\\{title}")
        click(writer, "Save")
        assert title in text(writer), text(writer)
    writer.goto(f"{base}/releases/library/")
    body = text(writer)
    assert "Windows 11 Education" in body and "Microsoft Office" in body, body
    writer.get_by_role("link", name="Windows 11 Education").first.click()
    writer.wait_for_load_state()
    accessible(writer, seen, "software")
    due = (timezone.localdate() + timedelta(days=7)).isoformat()
    writer.get_by_label("Due back").fill(due)
    writer.get_by_label("What for").fill("Reimage ICT suite")
    click(writer, "Take it out")
    assert "Bring it back" in text(writer), text(writer)
    writer.goto(f"{base}/releases/library/out/")
    accessible(writer, seen, "checkouts")
    assert "Windows 11 Education" in text(writer), text(writer)

    # --- bella writes a build procedure for the service and sends it.
    writer.goto(f"{base}/releases/builds/")
    accessible(writer, seen, "builds")
    writer.get_by_role("link", name="Add a build").click()
    writer.wait_for_load_state()
    accessible(writer, seen, "build-form")
    writer.get_by_label("Name").fill("Curriculum laptop image 2027")
    writer.get_by_label("Service").select_option(label="Curriculum laptops")
    click(writer, "Save")
    assert "Curriculum laptop image 2027 is added" in text(writer), text(writer)
    raise AssertionError(text(writer))
