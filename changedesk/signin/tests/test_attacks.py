"""Sign-in as an attacker would try it: addresses spelt to be matched to someone else's
account, links that sign people out or put words on the sign-in page, `next` pointing
away, and the rules page and API fed what no form would send. No provider is needed."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from changedesk.accounts.models import User
from changedesk.conftest import PASSWORD
from changedesk.signin import services
from changedesk.signin.models import AllowedDomain, SchoolSignIn
from changedesk.signin.oidc import OIDCBackend
from changedesk.signin.services import SignInRefused, account_for, update_rules
from changedesk.signin.tests.test_oidc_rules import api, api_of, configured, page_of

__all__ = ["configured"]  # the fixture, used by name

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
KELVIN = "\u212a"  # KELVIN SIGN: Unicode lower-cases it to "k"
LONG_S = "\u017f"  # LATIN SMALL LETTER LONG S: IDNA maps it to "s", Unicode upper-cases it to "S"
DOTLESS_I = "\u0131"  # upper-cases to "I"


# --- Matching an address to an account. ---


@pytest.mark.parametrize(
    "address",
    [
        f"{KELVIN}ate@greenfield.example",  # a Kelvin sign for the k
        f"ol{DOTLESS_I}via@greenfield.example",  # a dotless i
        "olivia@greenfield.example".replace("i", DOTLESS_I),
        f"{LONG_S}am@greenfield.example",  # a long s
    ],
)
def test_look_alike_letters_match_no_one_else(school, olivia, sam, root, address):
    User.objects.create_user("kate", email="kate@greenfield.example")
    update_rules(school, root, domains=["greenfield.example"], create_accounts=True)
    try:
        user = account_for(address, {})
    except SignInRefused:
        return
    # Made an account of its own, or refused: never Olivia's nor Kate's.
    assert user.username not in ("olivia", "kate", "sam")
    assert user.email == address


@pytest.mark.parametrize(
    "address",
    [
        f"olivia@{LONG_S}chool.example",  # a long s
        "olivia@\uff53chool.example",  # a full-width s
        "olivia@SCHOOL\u3002example",  # an ideographic full stop
    ],
)
def test_a_domain_idna_would_map_is_not_the_allowed_one(school, root, address):
    User.objects.create_user("o2", email="olivia@school.example")
    update_rules(school, root, domains=["school.example"], create_accounts=True)
    assert services.domain_of(address) == ""
    with pytest.raises(SignInRefused):
        account_for(address, {})
    assert User.objects.filter(email=address).count() == 0


@pytest.mark.parametrize(
    "address, domain",
    [
        ("olivia@greenfield.example.evil.example", "greenfield.example.evil.example"),
        ("olivia@staff.greenfield.example", "staff.greenfield.example"),
        ("olivia@evil.example@greenfield.example", "greenfield.example"),
    ],
)
def test_only_the_exact_domain_is_allowed(school, olivia, root, address, domain):
    update_rules(school, root, domains=["greenfield.example"], create_accounts=True)
    with pytest.raises(SignInRefused):
        account_for(address, {})
    assert User.objects.count() == 2  # Olivia and the operator: nothing was made


@pytest.mark.parametrize(
    "one, other, same",
    [
        ("Kate@Greenfield.Example", "kate@greenfield.example", True),
        ("bea@BÜCHER.example", "bea@xn--bcher-kva.example", True),
        (f"{KELVIN}ate@greenfield.example", "kate@greenfield.example", False),
        (f"ol{DOTLESS_I}via@greenfield.example", "olivia@greenfield.example", False),
        (f"{LONG_S}am@greenfield.example", "sam@greenfield.example", False),
        (f"sam@green{LONG_S}ield.example".replace(LONG_S, "f"), "sam@greenfield.example", True),
        (f"sam@{LONG_S}chool.example", "sam@school.example", False),
        ("sam@school.example", "sam@school.example.evil.example", False),
        ("@school.example", "@school.example", False),
    ],
)
def test_same_address(one, other, same):
    assert services.same_address(one, other) is same
    assert services.same_address(other, one) is same


def test_case_is_no_matter_in_ascii(school, olivia, root):
    update_rules(school, root, domains=["greenfield.example"])
    assert account_for("OLIVIA@GreenField.EXAMPLE", {}) == olivia


def test_an_international_domain_matches_in_either_form(school, root):
    person = User.objects.create_user("bea", email="Bea@bücher.example")
    update_rules(school, root, domains=["BÜCHER.example"])
    assert account_for("bea@bücher.example", {}) == person


@pytest.mark.parametrize(
    "claimed",
    [
        "someone@evil.example,olivia@greenfield.example",
        "someone@evil.example olivia@greenfield.example",
        "olivia\x00@greenfield.example",
        "olivia@green field.example",
        "<olivia@greenfield.example>",
        "@greenfield.example",
        "x" * 300 + "@greenfield.example",
    ],
)
def test_a_claimed_address_that_is_not_one_address_is_refused(school, olivia, root, claimed):
    update_rules(school, root, domains=["greenfield.example"], create_accounts=True)
    with pytest.raises(SignInRefused):
        OIDCBackend().get_or_create_user(None, None, {"email": claimed, "email_verified": True})
    assert User.objects.count() == 2


def test_the_verified_claim_must_be_true_not_truthy(school, olivia, root):
    update_rules(school, root, domains=["greenfield.example"])
    for said in ("yes", 1, "1", "false", None, False):
        with pytest.raises(SignInRefused, match="has not verified"):
            OIDCBackend().get_or_create_user(
                None, None, {"email": "olivia@greenfield.example", "email_verified": said}
            )


@pytest.mark.parametrize(
    "hd, signs_in",
    [
        ("greenfield.example", True),
        ("GREENFIELD.example", True),
        (None, False),  # a personal Google account made with a school address
        ("", False),
        ("gmail.com", False),
        (["greenfield.example"], False),
    ],
)
def test_google_s_hosted_domain_is_checked_when_asked(settings, school, olivia, root, hd, signs_in):
    settings.OIDC_HOSTED_DOMAIN_CLAIM = "hd"
    update_rules(school, root, domains=["greenfield.example"])
    claims = {"email": "olivia@greenfield.example", "email_verified": True}
    if hd is not None:
        claims["hd"] = hd
    if signs_in:
        assert OIDCBackend().get_or_create_user(None, None, claims) == olivia
    else:
        with pytest.raises(SignInRefused, match="not your school's own"):
            OIDCBackend().get_or_create_user(None, None, claims)


def test_the_hosted_domain_is_not_asked_for_by_default(school, olivia, root):
    update_rules(school, root, domains=["greenfield.example"])
    claims = {"email": "olivia@greenfield.example", "email_verified": True}
    assert OIDCBackend().get_or_create_user(None, None, claims) == olivia


# --- The callback and the start. ---


def test_a_made_up_error_link_signs_no_one_out_and_says_nothing_of_its_own(
    client, configured, olivia
):
    client.force_login(olivia)
    answer = client.get(
        reverse("signin:oidc_callback"),
        {"error": "access_denied", "error_description": "Call 0800 000 000 to unlock"},
    )
    assert answer.status_code == 302 and answer["Location"] == LOGIN
    assert client.session.get("_auth_user_id") == str(olivia.pk)
    page = client.get(LOGIN, follow=True).content.decode()
    assert "0800" not in page


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "http://testserver@evil.example/",
        "javascript:alert(1)",
    ],
)
def test_next_cannot_send_the_person_away(client, configured, settings, next_url):
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "https://idp.example/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = "https://idp.example/token"
    settings.OIDC_OP_JWKS_ENDPOINT = "https://idp.example/keys"
    answer = client.get(reverse("signin:oidc_start"), {"next": next_url})
    assert answer.status_code == 302
    assert answer["Location"].startswith("https://idp.example/authorize?")
    assert not client.session.get("oidc_login_next")


def test_next_within_changedesk_is_kept(client, configured, settings):
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "https://idp.example/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = "https://idp.example/token"
    settings.OIDC_OP_JWKS_ENDPOINT = "https://idp.example/keys"
    client.get(reverse("signin:oidc_start"), {"next": "/schedule/?week=2"})
    assert client.session["oidc_login_next"] == "/schedule/?week=2"


# --- Passwords where single sign-on is required. ---


def test_a_staff_member_is_refused_at_the_admin_s_sign_in_too(
    client, configured, school, olivia, root
):
    update_rules(school, root, domains=["greenfield.example"], require_sso=True)
    olivia.is_staff = True
    olivia.save()
    page = client.post("/admin/login/", {"username": "olivia", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert "Your school asks its members to sign in with Google" in page.content.decode()


def test_a_superuser_member_of_every_sso_school_keeps_their_password(
    client, configured, school, other_school, root
):
    from changedesk.accounts.services import set_membership

    set_membership(root, school, [])
    set_membership(root, other_school, [])
    root.set_password(PASSWORD)
    root.save()
    update_rules(school, root, domains=["greenfield.example"], require_sso=True)
    update_rules(other_school, root, domains=["hillside.example"], require_sso=True)
    assert client.post(LOGIN, {"username": "root", "password": PASSWORD}).status_code == 302


# --- The rules page and API fed what no form sends. ---


@pytest.mark.parametrize(
    "body",
    [
        {"domains": None},
        {"domains": [None]},
        {"domains": [["greenfield.example"]]},
        {"domains": [{"a": 1}]},
        {"domains": [""]},
        {"domains": ["   "]},
        {"domains": ["a" * 254]},
        {"domains": ["greenfield.example\x00"]},
        {"domains": ["x" * 64 + ".example"]},
        {"domains": ["xn--.example"]},
        {"domains": ["xn--zz-.example"]},
        {"domains": ["..."]},
        {"domains": ["\u200b.example"]},
        {"domains": {"greenfield.example": True}},
        {"domains": [f"d{n}.example" for n in range(10_000)]},
        {"require_sso": None},
        {"require_sso": []},
        {"create_accounts": {"x": 1}},
    ],
)
def test_api_bad_input_is_a_400_writing_nothing(configured, school, sam, body):
    answer = api(sam).patch(api_of(school), body, format="json")
    assert answer.status_code == 400, answer.content
    assert not SchoolSignIn.objects.exists() and not AllowedDomain.objects.exists()


@pytest.mark.parametrize("body", ["[]", '"text"', "null", "1", "{", '{"domains": '])
def test_api_a_body_that_is_not_an_object_is_a_400(configured, school, sam, body):
    answer = api(sam).patch(api_of(school), body, content_type="application/json")
    assert answer.status_code == 400, answer.content
    assert not SchoolSignIn.objects.exists()


def test_api_duplicate_domains_are_kept_once(configured, school, sam):
    answer = api(sam).patch(
        api_of(school),
        {"domains": ["greenfield.example", "GREENFIELD.example.", "@greenfield.example"]},
        format="json",
    )
    assert answer.status_code == 200
    assert answer.json()["domains"] == ["greenfield.example"]
    assert AllowedDomain.objects.count() == 1


def test_api_the_same_domain_at_two_schools_is_allowed(configured, school, other_school, root):
    update_rules(school, root, domains=["trust.example"])
    answer = api(root).patch(api_of(other_school), {"domains": ["trust.example"]}, format="json")
    assert answer.status_code == 200
    assert AllowedDomain.objects.filter(domain="trust.example").count() == 2


@pytest.mark.parametrize(
    "domains",
    [
        "\n".join(f"d{n}.example" for n in range(51)),
        "x" * 5001,
        "greenfield.example\x00",
        "\u200b",
        ",,,;;;",
        "a" * 64 + ".example",
    ],
)
def test_page_bad_input_is_a_form_error_writing_nothing(client, configured, school, sam, domains):
    client.force_login(sam)
    answer = client.post(page_of(school), {"domains": domains, "create_accounts": "on"})
    assert answer.status_code == 400
    assert not SchoolSignIn.objects.exists() and not AllowedDomain.objects.exists()


def test_page_blank_saves_no_domains(client, configured, school, sam):
    client.force_login(sam)
    answer = client.post(page_of(school), {"domains": " \n , "})
    assert answer.status_code == 302
    assert not AllowedDomain.objects.exists()


def test_api_anonymous_and_token_users(configured, school, sam):
    assert APIClient().patch(api_of(school), {"require_sso": True}).status_code in (401, 403)
    assert not SchoolSignIn.objects.exists()


def test_another_school_s_administrator_sees_neither_page_nor_api(
    client, configured, school, other_school, sam
):
    from changedesk.accounts.choices import Role
    from changedesk.conftest import member

    hana = member("hana", other_school, [Role.SCHOOL_ADMIN])
    client.force_login(hana)
    assert client.get(page_of(school)).status_code == 404
    assert client.post(page_of(school), {"domains": "evil.example"}).status_code == 404
    assert api(hana).get(api_of(school)).status_code == 404
    assert api(hana).patch(api_of(school), {"domains": ["evil.example"]}).status_code == 404
    assert not AllowedDomain.objects.exists()


def test_api_query_counts(configured, school, sam, django_assert_max_num_queries):
    update_rules(school, sam, domains=["greenfield.example", "staff.greenfield.example"])
    with django_assert_max_num_queries(6):
        assert api(sam).get(api_of(school)).status_code == 200
    domains = [f"d{n}.example" for n in range(50)]
    with django_assert_max_num_queries(14):  # as many domains as it likes: bulk writes
        answer = api(sam).patch(api_of(school), {"domains": domains}, format="json")
    assert answer.status_code == 200 and len(answer.json()["domains"]) == 50


def test_a_password_sign_in_costs_one_query_for_the_rule(
    client, configured, school, olivia, django_assert_max_num_queries
):
    from django.contrib.auth import authenticate

    with django_assert_max_num_queries(3):  # the account, the rule; nothing per school
        assert authenticate(None, username="olivia", password=PASSWORD) == olivia


def test_the_page_names_members_who_could_not_sign_in(
    client, configured, school, sam, olivia, root, django_assert_max_num_queries
):
    from changedesk.accounts.services import set_membership

    update_rules(school, sam, domains=["greenfield.example"], require_sso=True)
    contractor = User.objects.create_user("cai", email="cai@contractor.example")
    set_membership(contractor, school, [])
    set_membership(root, school, [])  # an operator keeps their password: not named
    client.force_login(sam, backend="changedesk.signin.oidc.OIDCBackend")
    # 9, with the trusts' domains and her language.
    with django_assert_max_num_queries(11):
        page = client.get(page_of(school)).content.decode()
    assert "cannot sign in with Google" in page
    assert "cai@contractor.example" in page
    assert "olivia@greenfield.example" not in page and "root@example.org" not in page
    # Allowed at another school's domain: then they can.
    update_rules(school, sam, domains=["greenfield.example", "contractor.example"])
    assert "cannot sign in" not in client.get(page_of(school)).content.decode()
