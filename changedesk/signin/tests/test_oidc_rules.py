"""A school's sign-in rules (page and API, who may and who may not), the password sign-in
they refuse, and OpenID Connect switched off. No provider is needed here."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from changedesk.accounts.choices import Role
from changedesk.accounts.models import User
from changedesk.conftest import PASSWORD, member
from changedesk.signin import provider, services
from changedesk.signin.models import AllowedDomain, SchoolSignIn
from changedesk.signin.services import update_rules
from changedesk.signin.tests import oidc_provider

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
OIDC = "changedesk.signin.oidc.OIDCBackend"


@pytest.fixture
def configured(settings):
    """OpenID Connect configured (no provider is reached by these tests)."""
    settings.OIDC_ENABLED = True
    settings.OIDC_ISSUER = "https://login.microsoftonline.com/tenant/v2.0"
    settings.OIDC_RP_CLIENT_ID = oidc_provider.CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = oidc_provider.CLIENT_SECRET
    settings.OIDC_PROVIDER_NAME = "Google"
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "changedesk.signin.oidc.OIDCBackend",
    ]


def page_of(school) -> str:
    return reverse("signin:school_rules", args=[school.slug])


def api_of(school) -> str:
    return f"/api/v1/signin/schools/{school.slug}/"


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- Switched off. ---


def test_off_when_not_configured(client):
    page = client.get(LOGIN).content.decode()
    assert "Sign in with" not in page
    assert client.get(reverse("signin:oidc_start")).status_code == 404
    callback = client.get(reverse("signin:oidc_callback"), {"code": "x", "state": "y"})
    assert callback.status_code == 404


def test_settings_refuse_half_a_configuration(monkeypatch):
    import importlib

    from django.core.exceptions import ImproperlyConfigured

    import changedesk.settings as project_settings

    monkeypatch.setenv("OIDC_ISSUER", "https://accounts.google.com")
    monkeypatch.setenv("OIDC_CLIENT_ID", "abc")
    try:
        with pytest.raises(ImproperlyConfigured, match="OIDC_CLIENT_SECRET"):
            importlib.reload(project_settings)
        monkeypatch.setenv("OIDC_CLIENT_SECRET", "s3cret")
        importlib.reload(project_settings)
        assert project_settings.OIDC_ENABLED
        assert project_settings.AUTHENTICATION_BACKENDS[-1] == "changedesk.signin.oidc.OIDCBackend"
    finally:
        monkeypatch.delenv("OIDC_ISSUER")
        monkeypatch.delenv("OIDC_CLIENT_ID")
        monkeypatch.delenv("OIDC_CLIENT_SECRET", raising=False)
        importlib.reload(project_settings)
    assert not project_settings.OIDC_ENABLED
    assert project_settings.AUTHENTICATION_BACKENDS == [
        "changedesk.signin.backends.PasswordBackend"
    ]


def test_a_provider_that_cannot_be_reached_is_told(client, configured, settings):
    settings.OIDC_ISSUER = "http://127.0.0.1:1"
    provider.forget()
    answer = client.get(reverse("signin:oidc_start"))
    assert answer.status_code == 302 and answer["Location"] == LOGIN
    assert "Google could not be reached" in client.get(LOGIN).content.decode()


def test_endpoints_given_need_no_discovery(client, configured, settings):
    settings.OIDC_ISSUER = "http://127.0.0.1:1"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "https://idp.example/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = "https://idp.example/token"
    settings.OIDC_OP_JWKS_ENDPOINT = "https://idp.example/keys"
    provider.forget()
    answer = client.get(reverse("signin:oidc_start"), {"next": "/schedule/"})
    assert answer.status_code == 302
    location = answer["Location"]
    assert location.startswith("https://idp.example/authorize?")
    for part in (
        "client_id=changedesk",
        "code_challenge_method=S256",
        "nonce=",
        "state=",
        "redirect_uri=http%3A%2F%2Ftestserver%2Fsignin%2Foidc%2Fcallback%2F",
    ):
        assert part in location


# --- Passwords where single sign-on is required. ---


def test_password_refused_to_a_member_of_a_school_requiring_sso(
    client, configured, school, olivia, root
):
    update_rules(school, root, domains=["greenfield.example"], require_sso=True)
    page = client.post(LOGIN, {"username": "olivia", "password": PASSWORD})
    assert page.status_code == 200
    assert "Your school asks its members to sign in with Google" in page.content.decode()
    assert "_auth_user_id" not in client.session
    # The admin's sign-in refuses her too.
    admin = client.post("/admin/login/", {"username": "olivia", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert admin.status_code == 200


def test_a_wrong_password_says_only_that(client, configured, school, olivia, root):
    update_rules(school, root, domains=["greenfield.example"], require_sso=True)
    page = client.post(LOGIN, {"username": "olivia", "password": "wrong"}).content.decode()
    assert "Your school asks" not in page
    assert "correct username and password" in page


def test_password_allowed_elsewhere_and_to_superusers(
    client, configured, school, other_school, oscar, root
):
    update_rules(school, root, domains=["greenfield.example"], require_sso=True)
    assert client.post(LOGIN, {"username": "oscar", "password": PASSWORD}).status_code == 302
    client.logout()
    operator = member("opal", school, [Role.SCHOOL_ADMIN])
    operator.is_superuser = True
    operator.save()
    assert client.post(LOGIN, {"username": "opal", "password": PASSWORD}).status_code == 302


def test_not_enforced_while_no_sso_is_configured(client, settings, school, olivia, root):
    # Required while it was configured, then the operator switched it off: no lock-out.
    SchoolSignIn.objects.create(school=school, require_sso=True)
    assert not services.sso_available()
    assert client.post(LOGIN, {"username": "olivia", "password": PASSWORD}).status_code == 302


def test_a_password_reset_signs_no_one_in(client, configured, school, olivia, root):
    update_rules(school, root, domains=["greenfield.example"], require_sso=True)
    olivia.set_password("a brand new password 42")
    olivia.save()
    page = client.post(LOGIN, {"username": "olivia", "password": "a brand new password 42"})
    assert "Your school asks its members" in page.content.decode()


# --- The page. ---


def test_page_permissions(client, configured, school, other_school, sam, olivia, oscar, root):
    url = page_of(school)
    assert client.get(url).status_code == 302  # signed out: to the sign-in page
    client.force_login(oscar)
    assert client.get(url).status_code == 404
    client.force_login(olivia)
    assert client.get(url).status_code == 403
    assert client.post(url, {"domains": "greenfield.example"}).status_code == 403
    assert not AllowedDomain.objects.exists()
    for admin in (sam, root):
        client.force_login(admin)
        page = client.get(url)
        assert page.status_code == 200
        assert "Allowed e-mail domains" in page.content.decode()


def test_page_query_count(client, configured, school, sam, django_assert_max_num_queries):
    update_rules(school, sam, domains=["greenfield.example", "staff.greenfield.example"])
    client.force_login(sam)
    # 7, with whether a password session is still enough for her (`PasswordBackend.get_user`)
    # and her language.
    with django_assert_max_num_queries(9):
        assert client.get(page_of(school)).status_code == 200


def test_page_saves_the_rules(client, configured, school, sam):
    client.force_login(sam)
    answer = client.post(
        page_of(school),
        {
            "domains": "Greenfield.example, @staff.greenfield.example\n",
            "create_accounts": "on",
            "require_sso": "on",
        },
    )
    assert answer.status_code == 302
    rules = SchoolSignIn.objects.get(school=school)
    assert (rules.require_sso, rules.create_accounts, rules.updated_by) == (True, True, sam)
    assert services.rules_of(school)[1] == ["greenfield.example", "staff.greenfield.example"]
    # Her own session was a password's: it ends now that single sign-on is required of her.
    assert client.get(page_of(school)).url.startswith(LOGIN)
    client.force_login(sam, backend=OIDC)
    page = client.get(page_of(school)).content.decode()
    assert "greenfield.example\nstaff.greenfield.example" in page


def test_page_refuses_bad_input_writing_nothing(client, configured, school, sam):
    client.force_login(sam)
    answer = client.post(
        page_of(school), {"domains": "greenfield.example\nnot a domain", "require_sso": "on"}
    )
    assert answer.status_code == 400
    assert "is not a domain" in answer.content.decode()
    assert not SchoolSignIn.objects.exists() and not AllowedDomain.objects.exists()


def test_an_administrator_cannot_lock_themself_out(client, configured, school, sam):
    client.force_login(sam)
    answer = client.post(page_of(school), {"domains": "elsewhere.example", "require_sso": "on"})
    assert answer.status_code == 400
    assert (
        "Your own address (sam@greenfield.example) is not at an allowed domain"
        in answer.content.decode()
    )


def test_sso_cannot_be_required_where_there_is_none(client, school, sam):
    client.force_login(sam)
    answer = client.post(page_of(school), {"domains": "greenfield.example", "require_sso": "on"})
    assert answer.status_code == 400
    assert "No single sign-on is configured here" in answer.content.decode()
    assert not SchoolSignIn.objects.exists()


def test_accounts_are_made_only_for_allowed_domains(client, configured, school, sam):
    client.force_login(sam)
    answer = client.post(page_of(school), {"domains": "", "create_accounts": "on"})
    assert answer.status_code == 400
    assert "Allow at least one domain first" in answer.content.decode()


# --- The API. ---


def test_api_permissions(configured, school, sam, olivia, oscar, root):
    assert APIClient().get(api_of(school)).status_code in (401, 403)
    assert api(oscar).get(api_of(school)).status_code == 404
    assert api(oscar).patch(api_of(school), {"require_sso": True}).status_code == 404
    assert api(olivia).get(api_of(school)).json() == {
        "school": "greenfield",
        "domains": [],
        "require_sso": False,
        "create_accounts": False,
        "trust": None,
        "trust_domains": [],
        "trust_require_sso": False,
        "requires_sso": False,
    }
    assert api(olivia).patch(api_of(school), {"require_sso": True}).status_code == 403
    assert not SchoolSignIn.objects.exists()
    for admin in (sam, root):
        answer = api(admin).patch(api_of(school), {"domains": ["greenfield.example"]})
        assert answer.status_code == 200, answer.json()


def test_api_changes_what_is_given(configured, school, sam):
    answer = api(sam).patch(
        api_of(school), {"domains": ["greenfield.example"], "create_accounts": True}
    )
    assert answer.json() == {
        "school": "greenfield",
        "domains": ["greenfield.example"],
        "require_sso": False,
        "create_accounts": True,
        "trust": None,
        "trust_domains": [],
        "trust_require_sso": False,
        "requires_sso": False,
    }
    answer = api(sam).patch(api_of(school), {"require_sso": True})
    assert answer.json()["domains"] == ["greenfield.example"]
    assert answer.json()["create_accounts"] is True and answer.json()["require_sso"] is True


@pytest.mark.parametrize(
    "body, field",
    [
        ({"domains": ["not a domain"]}, "domains"),
        ({"domains": "greenfield.example"}, "domains"),
        ({"require_sso": "yes"}, "require_sso"),
        ({"school": "hillside"}, "school"),
        ({"colour": "red"}, "colour"),
        ({"domains": [f"d{n}.example" for n in range(51)]}, "domains"),
        ({"create_accounts": True}, "create_accounts"),
    ],
)
def test_api_refuses_bad_input_writing_nothing(configured, school, sam, body, field):
    answer = api(sam).patch(api_of(school), body, format="json")
    assert answer.status_code == 400
    assert field in answer.json()
    assert not SchoolSignIn.objects.exists() and not AllowedDomain.objects.exists()


# --- Services. ---


@pytest.mark.parametrize(
    "raw, kept",
    [
        ("School.Org.UK", "school.org.uk"),
        ("@school.org.uk.", "school.org.uk"),
        ("ysgol-gymraeg.cymru", "ysgol-gymraeg.cymru"),
        ("bücher.example", "xn--bcher-kva.example"),
    ],
)
def test_domains_are_kept_in_one_form(raw, kept):
    assert services.normal_domain(raw) == kept


@pytest.mark.parametrize(
    "raw", ["localhost", "a..b", "-a.example", "a b.example", "x@y.example", ""]
)
def test_not_domains(raw):
    with pytest.raises(ValueError):
        services.normal_domain(raw)


def test_new_usernames_do_not_collide(school, root):
    User.objects.create_user("newton@greenfield.example")
    update_rules(school, root, domains=["greenfield.example"], create_accounts=True)
    user = services.account_for("Newton@greenfield.example", {})
    assert user.username == "newton@greenfield.example-2"
    assert user.email == "Newton@greenfield.example"
