"""A trust-wide change in a real browser (Chromium), checked by axe (WCAG 2.2 AA): the
trust technician raises one change for all the trust's schools, each in its own next safe
slot and submitted straight away, reads the matrix of schools, and withdraws it in one
school through "Act on many".

Needs Debian's Chromium at /usr/bin/chromium; skipped without it unless CI requires it.
"""

from __future__ import annotations

import pytest

from changedesk.accounts import trusts
from changedesk.accounts.choices import TrustRole
from changedesk.accounts.services import create_user
from changedesk.changes.choices import State
from changedesk.changes.models import Change
from changedesk.conftest import PASSWORD
from changedesk.tests.browser import check_accessibility, require_chromium, sign_in
from changedesk.trustwide.models import ParentChange
from changedesk.trustwide.tests.conftest import REQUEST

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

require_chromium()


def console_errors(errors: list[str]):
    """A page that breaks the content security policy says so on the console. (A form sent
    back with its errors is answered 400, which Chromium logs too: that one is expected.)"""

    def seen(message) -> None:
        if message.type == "error" and "status of 400" not in message.text:
            errors.append(message.text)

    return seen


@pytest.fixture
def tess(trust):
    """A trust technician who signs in with a password."""
    person = create_user(
        "tess",
        email="tess@trust.example",
        password=PASSWORD,
        first_name="Tess",
        last_name="Tudor",
        check_password=False,
    )
    trusts.set_trust_roles(trust, person, [TrustRole.TRUST_TECHNICIAN])
    return person


def test_raise_for_every_school_read_the_matrix_and_withdraw_one(
    browser, live_server, trust, heads, tess
):
    base = live_server.url
    errors: list[str] = []
    page = sign_in(browser, base, "tess", on_console=console_errors(errors))
    try:
        page.goto(f"{base}/trust-changes/")
        check_accessibility(page)
        page.get_by_role("link", name="Raise a change for many schools").click()
        page.get_by_role("heading", name="Raise a change for Northfield Learning Trust's schools")
        check_accessibility(page)

        # Sent with nothing filled in: the errors are shown, and accessible.
        page.get_by_role("button", name="Raise it").click()
        page.locator(".field-error").first.wait_for()
        check_accessibility(page)
        assert not ParentChange.objects.exists()

        page.get_by_label("All the trust's schools").check()
        page.get_by_label("Name").fill(REQUEST["title"])
        page.get_by_label("Brief description").fill(REQUEST["description"])
        page.get_by_label("Reason for the change").fill(REQUEST["reason"])
        page.get_by_label("Each school's next safe slot").check()
        page.get_by_label("How long it takes (minutes)").fill("60")
        submit_now = page.get_by_label(
            "Submit each school's RFC for initial approval straight away"
        )
        assert submit_now.is_checked()
        page.get_by_role("button", name="Raise it").click()
        page.get_by_text("TC-0001 is raised in 3 schools.").wait_for()

        parent = ParentChange.objects.get()
        assert page.url == f"{base}{parent.get_absolute_url()}"
        check_accessibility(page)
        changes = {c.school.slug: c for c in Change.objects.select_related("school")}
        assert set(changes) == {"greenfield", "hillside", "llanfair"}
        for change in changes.values():
            assert change.state == State.AWAITING_INITIAL_APPROVAL
            assert change.planned_start is not None
        # The matrix: a row per school, each waiting on its own initial approver.
        matrix = page.get_by_role("table")
        for slug, name in (
            ("greenfield", "Greenfield Primary"),
            ("hillside", "Hillside Academy"),
            ("llanfair", "Llanfair Primary"),
        ):
            row = matrix.locator(f"#school-{slug}")
            assert name in row.inner_text()
            assert f"Init_{slug}" in row.inner_text() or "to decide" in row.inner_text()

        # Act on many: withdraw it at Hillside alone.
        acting = page.get_by_role("region", name="Act on many")
        acting.get_by_label("Action").select_option(label="Withdraw")
        acting.get_by_label("Comment (optional)").fill("Hillside's firewall already blocks it.")
        acting.get_by_label("Hillside Academy — RFC-0001").check()
        acting.get_by_role("button", name="Do it").click()
        page.get_by_text("Done in 1 of 1 schools.").wait_for()
        check_accessibility(page)
        states = {c.school.slug: c.state for c in Change.objects.select_related("school")}
        assert states == {
            "greenfield": State.AWAITING_INITIAL_APPROVAL,
            "hillside": State.WITHDRAWN,
            "llanfair": State.AWAITING_INITIAL_APPROVAL,
        }
        assert "Withdrawn" in page.locator("#school-hillside").inner_text()

        # Sent with no school chosen: the form says so, and stays accessible.
        acting = page.get_by_role("region", name="Act on many")
        acting.get_by_label("Action").select_option(label="Withdraw")
        acting.get_by_role("button", name="Do it").click()
        page.get_by_text("This field is required").first.wait_for()
        check_accessibility(page)

        # A school's RFC says it is part of the trust-wide change, and links back.
        page.goto(f"{base}{changes['greenfield'].get_absolute_url()}")
        panel = page.get_by_role("region", name="Part of a trust-wide change")
        panel.get_by_role("link", name="TC-0001").click()
        page.wait_for_url(f"{base}{parent.get_absolute_url()}")
    finally:
        page.context.close()
    assert not errors, errors
