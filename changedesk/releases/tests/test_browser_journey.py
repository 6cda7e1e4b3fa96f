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

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

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


def day(n: int) -> str:
    """“Mon 26 Jul 2027”: day `n` of July of the summer, as the forward schedule says it."""
    return f"{date(SUMMER_YEAR, 7, n):%a} {n} Jul {SUMMER_YEAR}"


def text(page) -> str:
    return page.locator("main").inner_text()


def field(page, label: str):
    """The field labelled exactly `label` (a required field's label ends in " *")."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}( \*)?$"))


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
    page.get_by_role("link", name="Write the policy").first.click()
    page.wait_for_load_state()
    accessible(page, seen, "policy-edit")
    field(page, "Title").fill("Greenfield release policy")
    field(page, "Rules").fill(
        "New computers are installed only in the release windows.\n"
        "Every build has an approved procedure."
    )
    field(page, "Window 1: name").fill("Summer holidays")
    field(page, "Window 1: first day").fill(SUMMER[0])
    field(page, "Window 1: last day").fill(SUMMER[1])
    click(page, "Save the draft")
    assert "Summer holidays" in text(page), text(page)
    field(page, "What changed").fill("First version")
    click(page, "Publish the draft")
    body = text(page)
    assert "Version 1 of the release policy is published." in body, body
    assert "Greenfield release policy (version 1, in force)" in body, body
    window = page.get_by_role("row", name=re.compile("Summer holidays")).inner_text()
    assert f"22 July {SUMMER_YEAR}" in window and f"31 August {SUMMER_YEAR}" in window, window

    # --- bella adds two pieces to the library and takes one out.
    writer = sign_in(browser, base, "bella")
    for title, version in (("Windows 11 Education", "24H2"), ("Microsoft Office", "2024")):
        writer.goto(f"{base}/releases/library/")
        accessible(writer, seen, "library")
        writer.get_by_role("link", name="Add to the library").click()
        writer.wait_for_load_state()
        accessible(writer, seen, "software-form")
        field(writer, "Title").fill(title)
        field(writer, "Version").fill(version)
        field(writer, "Location").fill(f"\\\\server\\library\\{title}")
        click(writer, "Add it")
        assert title in text(writer), text(writer)
    writer.goto(f"{base}/releases/library/")
    body = text(writer)
    assert "Windows 11 Education" in body and "Microsoft Office" in body, body
    writer.get_by_role("link", name="Windows 11 Education").first.click()
    writer.wait_for_load_state()
    accessible(writer, seen, "software")
    due = (timezone.localdate() + timedelta(days=7)).isoformat()
    field(writer, "Due back").fill(due)
    field(writer, "What for").fill("Reimage ICT suite")
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
    field(writer, "Name").fill("Curriculum laptop image 2027")
    field(writer, "Service").select_option(label="Curriculum laptops")
    click(writer, "Add the build")
    assert "Curriculum laptop image 2027 is added" in text(writer), text(writer)
    accessible(writer, seen, "build")
    click(writer, "Write a new version")
    assert "Version 1 is started as a draft." in text(writer), text(writer)
    accessible(writer, seen, "version-form")
    field(writer, "Label").fill("2027.1")
    field(writer, "Component 1: from the library").select_option(label="Windows 11 Education 24H2")
    field(writer, "Component 2: or its title").fill("Smart Notebook")
    field(writer, "Component 2: version").fill("24")
    field(writer, "Installation steps").fill(
        "Boot from the network\nChoose the curriculum image\nJoin the domain"
    )
    field(writer, "Stability tests").fill("Tested against the ICT suite 2 network and printers.")
    field(writer, "Acceptance criteria").fill("Pupils can sign in\nPrinting works")
    click(writer, "Save")
    body = text(writer)
    assert "The version is saved." in body, body
    assert "Windows 11 Education" in body and "Join the domain" in body, body
    click(writer, "Send for approval")
    assert "It is sent for approval" in text(writer), text(writer)
    build_url = writer.url.split("versions/")[0]
    writer.context.close()

    # --- rachel approves it (she did not write it).
    page.goto(build_url + "versions/1/")
    accessible(page, seen, "version")
    assert "Your decision" in text(page), text(page)
    click(page, "Approve")
    assert "Approved: it is the build's procedure in force." in text(page), text(page)

    # --- rachel defines a summer release, adds the build and the RFC, plans it in the window.
    page.goto(f"{base}/releases/")
    accessible(page, seen, "home")
    page.get_by_role("link", name="Define a release").first.click()
    page.wait_for_load_state()
    accessible(page, seen, "release-form")
    field(page, "Title").fill(f"Summer {SUMMER_YEAR} refresh")
    field(page, "Description").fill("The new curriculum image on every laptop.")
    field(page, "Installed from").fill(f"{SUMMER_YEAR}-07-26T09:00")
    field(page, "Installed until").fill(f"{SUMMER_YEAR}-07-30T17:00")
    click(page, "Define it")
    body = text(page)
    assert f"Summer {SUMMER_YEAR} refresh" in body, body
    assert "Outside the release policy" not in body, body  # planned inside the window
    release_url = page.url
    field(page, "Build to add").select_option(label="Curriculum laptop image 2027")
    click(page, "Add the build")
    field(page, "RFC to add").select_option(label=f"{draft.reference}: {draft.title}")
    click(page, "Add the RFC")
    body = text(page)
    assert "Curriculum laptop image 2027" in body and draft.title in body, body
    accessible(page, seen, "release")
    click(page, "Start building")
    click(page, "Release the builds")
    body = text(page)
    assert "The release is now in its release step." in body, body
    assert "Released (build → release)" in body, body

    # --- the forward schedule shows the release in the summer.
    page.goto(f"{base}/schedule/?date={SUMMER_YEAR}-07-26")
    accessible(page, seen, "schedule")
    assert page.get_by_role("link", name=f"Summer {SUMMER_YEAR} refresh").count(), text(page)
    assert (
        f"Release Summer {SUMMER_YEAR} refresh · Release step · "
        f"{day(26)} 09:00 to {day(30)} 17:00" in text(page)
    ), text(page)

    # --- isaac, on a 360 px phone, installs the build on a laptop through the checklist.
    phone = sign_in(browser, base, "isaac", viewport=NARROW_PHONE)
    preload_axe(phone.context)
    phone.goto(f"{base}/releases/builds/")
    assert not overflow(phone), overflow(phone)
    phone.get_by_role("link", name="Curriculum laptop image 2027").first.click()
    phone.wait_for_load_state()
    assert not overflow(phone), overflow(phone)
    phone.get_by_role("link", name="Install this build").click()
    phone.wait_for_load_state()
    assert not overflow(phone), overflow(phone)
    accessible(phone, seen, "install")
    field(phone, "Item").select_option(label="Laptop ICT-07 (ICT-07)")
    field(phone, "Release").select_option(label=f"Summer {SUMMER_YEAR} refresh")
    click(phone, "Start the checklist")
    assert not overflow(phone), overflow(phone)
    accessible(phone, seen, "installation")
    for step in (
        "1. Boot from the network",
        "2. Choose the curriculum image",
        "3. Join the domain",
    ):
        phone.get_by_label(step).check()
    for criterion in ("1. Pupils can sign in", "2. Printing works"):
        phone.get_by_role("group", name=criterion).get_by_label("Passed").check()
    field(phone, "Note on criterion 2").fill("Printed a test page in ICT suite 2")
    assert not overflow(phone), overflow(phone)
    click(phone, "Finish")
    body = text(phone)
    assert "Finished: installed." in body, body
    assert not overflow(phone), overflow(phone)
    phone.goto(f"{base}/releases/installations/")
    assert not overflow(phone), overflow(phone)
    accessible(phone, seen, "installations")
    assert "Laptop ICT-07" in text(phone), text(phone)
    phone.context.close()

    # The release lists the installation.
    page.goto(release_url)
    installs = page.locator("section", has=page.locator("#installs-head")).inner_text()
    assert "Laptop ICT-07" in installs, installs

    # --- rachel adds a licence with one seat; a second holder is refused; it is then flagged.
    page.goto(f"{base}/releases/licences/")
    accessible(page, seen, "licences")
    page.get_by_role("link", name="Add a licence").click()
    page.wait_for_load_state()
    accessible(page, seen, "licence-form")
    field(page, "Product").fill("Smart Notebook")
    field(page, "Kind").select_option(label="Per user")
    field(page, "Seats").fill("1")
    click(page, "Add the licence")
    assert "Smart Notebook is in the log." in text(page), text(page)
    accessible(page, seen, "licence")
    field(page, "A member").select_option(label="Bella Example (bella)")
    click(page, "Give it out")
    assert "0 free" in text(page) or "1 used of 1" in text(page), text(page)
    field(page, "A member").select_option(label="Isaac Example (isaac)")
    click(page, "Give it out")
    body = text(page)
    assert "Its one seat is taken" in body, body
    assert "Isaac Example" not in page.locator("table").inner_text()
    # Two seats, both given out; then one seat: more holders than seats.
    page.get_by_role("link", name="Edit", exact=True).click()
    page.wait_for_load_state()
    field(page, "Seats").fill("2")
    click(page, "Save changes")
    field(page, "A member").select_option(label="Isaac Example (isaac)")
    click(page, "Give it out")
    assert "2 used of 2" in text(page), text(page)
    page.get_by_role("link", name="Edit", exact=True).click()
    page.wait_for_load_state()
    field(page, "Seats").fill("1")
    click(page, "Save changes")
    assert "Over-allocated: 2 holders for 1 seat." in text(page), text(page)
    page.goto(f"{base}/releases/licences/")
    field(page, "Status").select_option(label="Over-allocated")
    click(page, "Filter")
    body = text(page)
    assert "1 licence." in body and "Smart Notebook" in body, body
    assert "over-allocated" in page.locator("table").inner_text(), body

    # --- the five FITS release figures for the month.
    page.goto(f"{base}/releases/figures/")
    accessible(page, seen, "figures")
    month = timezone.localtime(timezone=school.zone).strftime("%B %Y")
    row = page.locator("tbody tr", has=page.locator("th", has_text=month))
    cells = [
        row.locator(f'td[data-label="{name}"]').inner_text()
        for name in (
            "Builds installed",
            "Builds created",
            "Builds documented",
            "Services",
            "Services still to document",
        )
    ]
    assert cells == ["1", "1", "1", "1", "0"], (cells, text(page))
    page.context.close()

    # --- olivia plans her RFC (carried by the release) after the summer, outside the
    # window: the RFC page shows the conflict.
    author = sign_in(browser, base, "olivia")
    author.goto(f"{base}/changes/{draft.pk}/")
    assert "Outside the release windows" not in text(author)
    author.get_by_role("link", name="Edit", exact=True).first.click()
    author.wait_for_load_state()
    author.get_by_text("Add the plan now").click()
    field(author, "Planned start").fill(f"{SUMMER_YEAR}-09-07T18:00")
    field(author, "Planned end").fill(f"{SUMMER_YEAR}-09-07T19:00")
    click(author, "Save changes")
    conflict = author.locator(".conflict-outside_release_window")
    assert conflict.count() == 1, text(author)
    assert (
        "Runs outside the release windows of the release policy "
        f"(Summer holidays: 22 July to 31 August {SUMMER_YEAR})." in conflict.inner_text()
    ), conflict.inner_text()
    assert f"Part of release Summer {SUMMER_YEAR} refresh" in text(author), text(author)
    accessible(author, seen, "rfc")
    author.context.close()
