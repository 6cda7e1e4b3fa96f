"""Signing in with OpenID Connect against a real provider (`oidc/provider.mjs`), through
the whole redirect dance: changedesk → the provider's sign-in page → back with a code →
changedesk exchanges it, checks the ID token and signs the person in, or says why not."""

from __future__ import annotations

import pytest
from django.urls import reverse

from changedesk.accounts.models import Membership, User
from changedesk.conftest import PASSWORD
from changedesk.signin import provider
from changedesk.signin.services import update_rules
from changedesk.signin.tests import oidc_provider
from changedesk.signin.tests.oidc_provider import next_token, sign_in

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


@pytest.fixture(scope="module")
def issuer():
    yield from oidc_provider.start()


@pytest.fixture
def oidc(settings, issuer):
    """OpenID Connect configured as an operator would, against the test provider."""
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


def signed_in(client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def refused(client, answer) -> str:
    """The sign-in page the person is sent back to, with the reason on it."""
    assert answer.status_code == 302
    assert answer["Location"] == LOGIN
    assert signed_in(client) is None
    return client.get(LOGIN).content.decode()


def test_the_sign_in_page_offers_the_provider(client, oidc):
    page = client.get(LOGIN).content.decode()
    assert "Sign in with Microsoft" in page
    assert reverse("signin:oidc_start") in page


def test_signs_in_the_account_with_the_verified_address(client, oidc, school, olivia, root):
    update_rules(school, root, domains=["greenfield.example"])
    answer = sign_in(client, oidc, "Olivia@Greenfield.example")
    assert answer.status_code == 302
    assert answer["Location"] == reverse("adoption:welcome")
    assert signed_in(client) == olivia
    assert client.get("/api/v1/me/").json()["username"] == "olivia"


def test_a_switched_off_account_is_signed_out(client, oidc, school, olivia, root):
    update_rules(school, root, domains=["greenfield.example"])
    sign_in(client, oidc, "olivia@greenfield.example")
    assert client.get("/api/v1/me/").status_code == 200
    User.objects.filter(pk=olivia.pk).update(is_active=False)
    assert client.get("/api/v1/me/").status_code in (401, 403)


def test_goes_on_to_the_page_asked_for(client, oidc, school, olivia, root):
    update_rules(school, root, domains=["greenfield.example"])
    answer = sign_in(
        client, oidc, "olivia@greenfield.example", start="/signin/oidc/start/?next=/schedule/"
    )
    assert answer["Location"] == "/schedule/"
    assert signed_in(client) == olivia


def test_a_token_for_another_client_is_refused(client, oidc, school, olivia, root):
    update_rules(school, root, domains=["greenfield.example"])
    next_token(oidc, "wrong-audience")
    page = refused(client, sign_in(client, oidc, "olivia@greenfield.example"))
    assert "meant for another application" in page


def test_an_expired_token_is_refused(client, oidc, school, olivia, root):
    update_rules(school, root, domains=["greenfield.example"])
    next_token(oidc, "expired")
    page = refused(client, sign_in(client, oidc, "olivia@greenfield.example"))
    assert "out of date" in page


@pytest.mark.parametrize("mode", ["no-id-token", "not-a-jwt"])
def test_a_token_answer_without_a_usable_id_token_is_refused_not_a_500(
    client, oidc, school, olivia, root, mode
):
    update_rules(school, root, domains=["greenfield.example"])
    next_token(oidc, mode)
    page = refused(client, sign_in(client, oidc, "olivia@greenfield.example"))
    assert "could not be trusted" in page


def test_an_unverified_address_is_refused(client, oidc, school, root):
    update_rules(school, root, domains=["greenfield.example"], create_accounts=True)
    User.objects.create_user("unverified", email="unverified.una@greenfield.example")
    page = refused(client, sign_in(client, oidc, "unverified.una@greenfield.example"))
    assert "has not verified your e-mail address (unverified.una@greenfield.example)" in page
    assert User.objects.filter(email__iexact="unverified.una@greenfield.example").count() == 1


def test_a_domain_no_school_allows_is_refused(client, oidc, school, other_school, olivia, root):
    update_rules(other_school, root, domains=["hillside.example"], create_accounts=True)
    page = refused(client, sign_in(client, oidc, "olivia@greenfield.example"))
    assert "not open to addresses at greenfield.example" in page


def test_a_newcomer_gets_an_account_with_no_roles(client, oidc, school, other_school, root):
    update_rules(school, root, domains=["greenfield.example"], create_accounts=True)
    # Hillside knows the domain too, but makes no accounts: the newcomer is not its member.
    update_rules(other_school, root, domains=["greenfield.example"])
    answer = sign_in(client, oidc, "newton@greenfield.example")
    assert answer.status_code == 302 and answer["Location"] == reverse("adoption:welcome")
    newcomer = signed_in(client)
    assert newcomer is not None
    assert (newcomer.username, newcomer.email) == (
        "newton@greenfield.example",
        "newton@greenfield.example",
    )
    assert (newcomer.first_name, newcomer.last_name) == ("Test", "newton")
    assert not newcomer.has_usable_password()
    memberships = list(Membership.objects.filter(user=newcomer))
    assert [m.school for m in memberships] == [school]
    assert memberships[0].role_list == []
    # The next time, the same account.
    client.logout()
    sign_in(client, oidc, "newton@greenfield.example")
    assert signed_in(client) == newcomer
    assert User.objects.filter(email="newton@greenfield.example").count() == 1


def test_no_account_is_made_unless_a_school_asks(client, oidc, school, root):
    update_rules(school, root, domains=["greenfield.example"])
    page = refused(client, sign_in(client, oidc, "newton@greenfield.example"))
    assert "No changedesk account has the address newton@greenfield.example" in page
    assert not User.objects.filter(email="newton@greenfield.example").exists()


def test_a_switched_off_account_is_refused(client, oidc, school, olivia, root):
    update_rules(school, root, domains=["greenfield.example"])
    olivia.is_active = False
    olivia.save()
    page = refused(client, sign_in(client, oidc, "olivia@greenfield.example"))
    assert "switched off" in page


def test_password_refused_where_the_school_requires_sso(client, oidc, school, olivia, root):
    update_rules(school, root, domains=["greenfield.example"], require_sso=True)
    page = client.post(LOGIN, {"username": "olivia", "password": PASSWORD})
    assert page.status_code == 200
    assert "Your school asks its members to sign in with Microsoft" in page.content.decode()
    assert signed_in(client) is None
    # Single sign-on still lets her in.
    sign_in(client, oidc, "olivia@greenfield.example")
    assert signed_in(client) == olivia


def test_an_api_token_from_before_works_again_only_once_made_after_single_sign_on(
    client, oidc, school, olivia, root
):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    def me(key: str) -> int:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return api.get("/api/v1/me/").status_code

    assert client.post(LOGIN, {"username": "olivia", "password": PASSWORD}).status_code == 302
    client.post("/accounts/me/", {"token": "create"})
    old = Token.objects.get(user=olivia).key
    assert me(old) == 200
    update_rules(school, root, domains=["greenfield.example"], require_sso=True)
    assert me(old) == 401
    assert client.get("/accounts/me/").status_code == 302  # her password session is over
    sign_in(client, oidc, "olivia@greenfield.example")
    assert signed_in(client) == olivia
    assert me(old) == 401
    client.post("/accounts/me/", {"token": "create"})
    assert me(Token.objects.get(user=olivia).key) == 200


def test_a_callback_used_twice_signs_no_one_in(client, oidc, school, olivia, root):
    update_rules(school, root, domains=["greenfield.example"])
    answer = client.get(reverse("signin:oidc_start"))
    # Back at changedesk with a code for a sign-in another browser started.
    other = client.__class__()
    state = answer["Location"].split("state=")[1].split("&")[0]
    back = other.get(reverse("signin:oidc_callback"), {"code": "made-up", "state": state})
    assert back.status_code == 302 and back["Location"] == LOGIN
    assert signed_in(other) is None


def test_a_refusal_at_the_provider_is_told(client, oidc):
    started = client.get(reverse("signin:oidc_start"))
    state = started["Location"].split("state=")[1].split("&")[0]
    answer = client.get(
        reverse("signin:oidc_callback"),
        {
            "error": "access_denied",
            "error_description": "End-User aborted interaction",
            "state": state,
        },
    )
    page = refused(client, answer)
    assert "cancelled or refused there: End-User aborted interaction" in page
    # The state is used up: the same answer again is not told.
    again = client.get(
        reverse("signin:oidc_callback"),
        {"error": "access_denied", "error_description": "Said again", "state": state},
    )
    assert "Said again" not in refused(client, again)
