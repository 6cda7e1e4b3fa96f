"""Signing in with OpenID Connect in a real browser, against the real provider: the
"Sign in with Microsoft" button, the provider's page, and back signed in; and the school
administrator's sign-in rules page, checked with axe and at phone width."""

from __future__ import annotations

import pytest

from changedesk.signin import provider
from changedesk.signin.services import update_rules
from changedesk.signin.tests import oidc_provider
from changedesk.tests.browser import (
    NARROW_PHONE,
    check_accessibility,
    overflow,
    require_chromium,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

require_chromium()


@pytest.fixture(scope="module")
def issuer(live_server):
    yield from oidc_provider.start(f"{live_server.url}/signin/oidc/callback/")


@pytest.fixture
def oidc(settings, issuer):
    settings.OIDC_ENABLED = True
    settings.OIDC_ISSUER = issuer
    settings.OIDC_RP_CLIENT_ID = oidc_provider.CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = oidc_provider.CLIENT_SECRET
    settings.OIDC_PROVIDER_NAME = "Microsoft"
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "changedesk.signin.oidc.OIDCBackend",
    ]
    provider.forget()
    yield issuer
    provider.forget()


def test_sign_in_with_microsoft(browser, live_server, oidc, school, olivia, root):
    update_rules(school, root, domains=["greenfield.example"])
    base = live_server.url
    page = browser.new_context().new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{base}/accounts/login/")
    check_accessibility(page)
    page.get_by_role("link", name="Sign in with Microsoft").click()
    page.wait_for_url(f"{oidc}/**")
    page.locator("input[name=login]").fill("olivia@greenfield.example")
    page.locator("input[name=password]").fill("anything")
    page.locator("button[type=submit]").click()
    page.wait_for_url(lambda url: url.startswith(base) and "/accounts/login/" not in url)
    page.goto(f"{base}/accounts/me/")
    assert "olivia" in page.content()
    page.context.close()


def test_the_rules_page(browser, live_server, oidc, school, sam):
    page = sign_in(browser, live_server.url, "sam")
    page.goto(f"{live_server.url}/signin/schools/{school.slug}/")
    page.get_by_label("Allowed e-mail domains").fill("greenfield.example\nnot a domain")
    page.get_by_role("button", name="Save").click()
    assert "is not a domain" in page.content()
    check_accessibility(page)
    page.get_by_label("Allowed e-mail domains").fill("greenfield.example")
    page.get_by_label("Require single sign-on for members").check()
    page.get_by_role("button", name="Save").click()
    assert "The school's sign-in rules are saved." in page.content()
    check_accessibility(page)
    page.set_viewport_size(NARROW_PHONE)
    assert overflow(page) == ""
    page.context.close()
