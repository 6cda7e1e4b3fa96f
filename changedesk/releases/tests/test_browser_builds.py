"""The install build checklist in a real browser, on a 360 px phone, as an installer does it
at a laptop trolley: sign in, open the installation, tick every step, pass every criterion,
finish, and see it installed; the page never scrolls sideways and axe finds nothing. The
build pages are checked with axe too."""

from __future__ import annotations

import pytest
from django.urls import reverse

from changedesk.releases.models import Installation, RunningBuild
from changedesk.releases.services import builds as services
from changedesk.releases.tests.test_builds import approved
from changedesk.tests.browser import (
    NARROW_PHONE,
    check_accessibility,
    overflow,
    require_chromium,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

require_chromium()


def test_an_installer_works_through_the_checklist_on_a_phone(
    browser, live_server, school, bella, rachel, isaac, service, laptop
):
    build = services.save_build(
        school, bella, {"name": "Curriculum laptop image 2027", "service": service}
    )
    version = approved(build, bella, rachel)
    installation = services.start_installation(version, isaac, {"item": laptop})
    base = live_server.url

    page = sign_in(browser, base, "isaac", viewport=NARROW_PHONE)
    page.goto(f"{base}{installation.get_absolute_url()}")
    assert not overflow(page), overflow(page)
    check_accessibility(page)
    # Finishing too early is refused, with the reason.
    page.get_by_role("button", name="Finish").click()
    page.wait_for_load_state()
    assert "Tick every step" in page.content()
    for step in version.steps:
        page.get_by_label(step, exact=False).check()
    for n in range(len(version.criteria)):
        page.locator(f"#id_result-{n}_0").check()  # passed
    page.get_by_label("Note on criterion 2").fill("Printed a test page in ICT suite 2")
    page.get_by_label("Notes").fill("Done at the trolley.")
    assert not overflow(page), overflow(page)
    page.get_by_role("button", name="Finish").click()
    page.wait_for_load_state()
    assert "Finished: installed." in page.content()
    assert page.locator(".state.installation-installed").is_visible()
    assert not overflow(page), overflow(page)
    check_accessibility(page)

    installation.refresh_from_db()
    assert installation.state == "installed"
    assert installation.results[1]["note"] == "Printed a test page in ICT suite 2"
    assert RunningBuild.objects.get(item=laptop).installation_id == installation.pk

    for path in (
        "/releases/builds/",
        f"/releases/builds/{build.pk}/",
        f"/releases/builds/{build.pk}/versions/1/",
        "/releases/builds/undocumented/",
        "/releases/installations/",
        f"/releases/builds/{build.pk}/install/",
        reverse("configuration:detail", args=[laptop.pk]),
    ):
        page.goto(f"{base}{path}")
        assert not overflow(page), (path, overflow(page))
        check_accessibility(page)
    assert "Build it runs" in page.content()
    assert Installation.objects.count() == 1
    page.context.close()

    # The build developer's form for a new version, on the same phone.
    writer = sign_in(browser, base, "bella", viewport=NARROW_PHONE)
    services.new_version(build, bella)
    writer.goto(f"{base}/releases/builds/{build.pk}/versions/2/edit/")
    assert not overflow(writer), overflow(writer)
    check_accessibility(writer)
    writer.get_by_label("Installation steps").fill("One\nTwo")
    writer.get_by_role("button", name="Save").click()
    writer.wait_for_load_state()
    assert "The version is saved." in writer.content()
    writer.context.close()
