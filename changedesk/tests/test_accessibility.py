"""The configuration and accounts pages in a real browser (Chromium), checked by axe for
WCAG 2.2 AA: as they first show, and the forms again with their errors.

Configuration: the items list, an item's page, the item form (new and edit), the CSV
import (the upload, its errors and the preview). Accounts: sign-in (and a failed sign-in),
the profile (with an invitation), the schools, a school's page with its members and
invitations, the member forms, the invitation's link (signed out, with errors, and signed
in), the school's settings, the delegations, and the password change and reset.

Needs Debian's Chromium at /usr/bin/chromium; skipped without it unless CI requires it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Delegation
from changedesk.accounts.services import create_school, invitation_token, invite
from changedesk.changes.services import create_change
from changedesk.configuration.services import create_item
from changedesk.conftest import REQUEST
from changedesk.tests.browser import DESKTOP, check_accessibility, require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

require_chromium()

CSV = (
    "name,kind,identifier,location,owner,users_affected,notes\n"
    "ICT suite 2 switch,network_device,SW-02,ICT suite 2,olivia,30,Replaced in 2024\n"
    "MIS server,server,MIS,Server room,,120,\n"
    "Broken row,spaceship,XX-1,,nobody,lots,\n"
)


@pytest.fixture
def place(team, school):
    """An item named on an RFC, and a delegation, so the pages have something to show."""
    switch = create_item(
        school,
        team["sam"],
        {
            "name": "ICT suite 2 switch",
            "kind": "network_device",
            "identifier": "SW-02",
            "location": "ICT suite 2",
            "owner": team["olivia"],
            "users_affected": 30,
        },
    )
    change = create_change(school, team["olivia"], dict(REQUEST))
    try:
        from changedesk.changes.services import set_change_items
    except ImportError:
        try:
            from changedesk.changes.items import set_change_items
        except ImportError:
            from changedesk.configuration.services import set_change_items
    set_change_items(change, [switch], team["olivia"])
    now = timezone.now()
    Delegation.objects.create(
        school=school,
        approver=team["fiona"],
        deputy=team["ian"],
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=6),
        reason="On a course",
    )
    # Invitations: one to a new address (its link, signed out), one to Olivia from another
    # school (her profile lists it; its link signed in), one Greenfield's page lists.
    hillside = create_school("Hillside Academy", "hillside")
    invite(school, "nina@example.org", [Role.VIEWER], team["sam"])
    newcomer = invite(school, "newcomer@example.org", [Role.ORIGINATOR], team["sam"])
    to_olivia = invite(hillside, team["olivia"].email, [Role.IMPLEMENTER], team["sam"])
    return {
        "item": switch,
        "school": school,
        "team": team,
        "invitation": invitation_token(newcomer),
        "olivia_invitation": invitation_token(to_olivia),
    }


# --- Each case: who signs in (None: nobody), and what to do on the page before the check.


def visit(path: str) -> Callable[[Any, str, dict], None]:
    def go(page: Any, base: str, place: dict) -> None:
        page.goto(base + path.format(**_names(place)))
        page.wait_for_load_state()

    return go


def without_browser_checks(page: Any) -> None:
    """Let a form go to the server as it is, so the page shows the server's errors (some
    forms let the browser check required fields first)."""
    page.evaluate("document.querySelectorAll('form').forEach(f => { f.noValidate = true; })")


def submit_empty(path: str, button: str) -> Callable[[Any, str, dict], None]:
    """Open the form, send it as it is, and wait for the errors shown beside the fields."""

    def go(page: Any, base: str, place: dict) -> None:
        page.goto(base + path.format(**_names(place)))
        without_browser_checks(page)
        page.get_by_role("button", name=button, exact=True).click()
        page.wait_for_load_state()
        page.locator(".field-error, .errorlist, [role=alert]").first.wait_for()

    return go


def _names(place: dict) -> dict[str, Any]:
    team = place["team"]
    return {
        "item": place["item"].pk,
        "school": place["school"].slug,
        "olivia": team["olivia"].pk,
        "invitation": place["invitation"],
        "olivia_invitation": place["olivia_invitation"],
    }


def failed_sign_in(page: Any, base: str, place: dict) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill("not her password")
    page.get_by_role("button", name="Sign in").click()
    page.locator(".errorlist, [role=alert], .field-error").first.wait_for()


def import_preview(page: Any, base: str, place: dict, tmp: Path) -> None:
    page.goto(f"{base}/items/import/{place['school'].slug}/")
    upload = tmp / "items.csv"
    upload.write_text(CSV, encoding="utf-8")
    page.locator("#id_file").set_input_files(str(upload))
    page.get_by_role("button", name="Preview").click()
    page.wait_for_load_state()
    page.get_by_role("heading", level=1).wait_for()


def edit_item_with_errors(page: Any, base: str, place: dict) -> None:
    page.goto(f"{base}/items/{place['item'].pk}/edit/")
    page.locator("#id_name").fill("")
    page.locator("#id_users_affected").fill("-3")
    page.get_by_role("button", name="Save changes").click()
    page.locator(".field-error").first.wait_for()


def password_change_with_errors(page: Any, base: str, place: dict) -> None:
    page.goto(f"{base}/accounts/password/")
    page.locator("#id_old_password").fill("wrong")
    without_browser_checks(page)
    page.get_by_role("button", name="Change password").click()
    page.locator(".field-error, .errorlist").first.wait_for()


CASES: list[tuple[str, str | None, Callable]] = [
    # Configuration.
    ("items list", "olivia", visit("/items/")),
    ("items list, filtered", "olivia", visit("/items/?q=switch&kind=network_device")),
    ("item page", "olivia", visit("/items/{item}/")),
    ("item page, administrator", "sam", visit("/items/{item}/")),
    ("new item form", "olivia", visit("/items/new/")),
    ("new item form, errors", "olivia", submit_empty("/items/new/", "Add the item")),
    ("edit item form", "olivia", visit("/items/{item}/edit/")),
    ("edit item form, errors", "olivia", edit_item_with_errors),
    ("CSV import", "sam", visit("/items/import/{school}/")),
    ("CSV import, errors", "sam", submit_empty("/items/import/{school}/", "Preview")),
    ("CSV import, preview", "sam", import_preview),
    # Accounts.
    ("sign in", None, visit("/accounts/login/")),
    ("sign in, failed", None, failed_sign_in),
    ("password reset", None, visit("/accounts/password/reset/")),
    ("profile", "olivia", visit("/accounts/me/")),
    ("schools", "sam", visit("/accounts/schools/")),
    ("school page, members", "sam", visit("/accounts/schools/{school}/")),
    ("school page, as a member", "olivia", visit("/accounts/schools/{school}/")),
    ("add a member", "sam", visit("/accounts/schools/{school}/members/add/")),
    (
        "add a member, errors",
        "sam",
        submit_empty("/accounts/schools/{school}/members/add/", "Send the invitation"),
    ),
    ("invitation link, signed out", None, visit("/accounts/invitations/{invitation}/")),
    (
        "invitation link, errors",
        None,
        submit_empty("/accounts/invitations/{invitation}/", "Make the account and join"),
    ),
    ("invitation link, signed in", "olivia", visit("/accounts/invitations/{olivia_invitation}/")),
    ("invitation link, someone else", "ian", visit("/accounts/invitations/{olivia_invitation}/")),
    ("member form", "sam", visit("/accounts/schools/{school}/members/{olivia}/")),
    ("school settings", "sam", visit("/accounts/schools/{school}/settings/")),
    ("delegations", "sam", visit("/accounts/schools/{school}/delegations/")),
    (
        "delegations, errors",
        "sam",
        submit_empty("/accounts/schools/{school}/delegations/", "Save the delegation"),
    ),
    ("password change", "olivia", visit("/accounts/password/")),
    ("password change, errors", "olivia", password_change_with_errors),
]

# Cases where axe finds a real violation today: (reason). Each is xfail(strict=True), so
# the mark must go when the page is fixed.
KNOWN: dict[str, str] = {}


def _params() -> list[Any]:
    params = []
    for name, who, action in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN[name])] if name in KNOWN else []
        params.append(pytest.param(who, action, id=name, marks=marks))
    return params


@pytest.mark.parametrize(("who", "action"), _params())
def test_page_passes_axe(browser, live_server, place, tmp_path, who, action):
    base = live_server.url
    context = browser.new_context(viewport=DESKTOP)
    if who is not None:
        # Signed in as by the sign-in page (which has its own cases), without its round trip.
        client = Client()
        client.force_login(place["team"][who])
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        if action is import_preview:
            action(page, base, place, tmp_path)
        else:
            action(page, base, place)
        assert page.url.startswith(base), page.url
        if who is not None:
            assert "/accounts/login/" not in page.url, "not signed in"
        page.get_by_role("heading", level=1).first.wait_for()
        assert "Page not found" not in page.title() and "Forbidden" not in page.title()
        check_accessibility(page)
    finally:
        context.close()


def test_the_check_finds_a_violation(browser, live_server, db):
    """The check is live: a page with an unlabelled field and an image without text fails."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.evaluate(
            "document.querySelector('main, body').insertAdjacentHTML('beforeend',"
            ' \'<img src="/favicon.ico"><input type="text" name="x">\')'
        )
        with pytest.raises(AssertionError, match=r"image-alt|label"):
            check_accessibility(page)
    finally:
        context.close()
