"""A trust's sign-in rules (page and API, who may and who may not), how they combine with a
school's, the domains a rule may not allow, and the sessions and API tokens that single
sign-on ends. No provider is reached: these tests sign people in with `force_login`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from changedesk.accounts import trusts
from changedesk.accounts.choices import Role, TrustRole
from changedesk.accounts.models import Membership, MembershipRole, School, User
from changedesk.accounts.services import create_school
from changedesk.conftest import PASSWORD, member
from changedesk.signin import services
from changedesk.signin.models import SignInRecord, TrustDomain, TrustSignIn
from changedesk.signin.services import SignInRefused, update_rules, update_trust_rules
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
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, OIDC]


def page_of(trust) -> str:
    return reverse("signin:trust_rules", args=[trust.slug])


def api_of(trust) -> str:
    return f"/api/v1/signin/trusts/{trust.slug}/"


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def trina(trust) -> User:
    """A trust peer reviewer: one of the trust's people, not its administrator."""
    person = User.objects.create_user("trina", email="trina@northfield.example")
    trusts.set_trust_roles(trust, person, [TrustRole.TRUST_PEER_REVIEWER])
    return person


@pytest.fixture
def outside(db) -> School:
    """A school in no trust, with a domain of its own."""
    made = create_school("Riverside Academy", "riverside")
    admin = member("rhys", made, [Role.SCHOOL_ADMIN])
    update_rules(made, admin, domains=["riverside.example"])
    return made


# --- Who may. ---


def test_page_permissions(client, configured, trust, tara, trina, olivia, outside, root):
    assert client.get(page_of(trust)).url.startswith(LOGIN)
    rhys = User.objects.get(username="rhys")
    for person, status in ((tara, 200), (root, 200), (trina, 403), (olivia, 403), (rhys, 404)):
        client.force_login(person)
        assert client.get(page_of(trust)).status_code == status, person
        answer = client.post(page_of(trust), {"domains": "evil.example"})
        assert answer.status_code == (302 if status == 200 else status), person
        TrustDomain.objects.all().delete()
    assert client.get(reverse("signin:trust_rules", args=["nowhere"])).status_code == 404


def test_the_trust_page_links_to_it_for_its_administrator_only(client, trust, tara, trina):
    client.force_login(tara)
    assert page_of(trust) in client.get(reverse("accounts:trust", args=[trust.slug])).text
    client.force_login(trina)
    assert page_of(trust) not in client.get(reverse("accounts:trust", args=[trust.slug])).text


def test_page_saves_the_rules_and_refuses_bad_input(client, configured, trust, tara):
    client.force_login(tara)
    answer = client.post(page_of(trust), {"domains": "Northfield.example\nnot a domain"})
    assert answer.status_code == 400 and "is not a domain" in answer.text
    assert not TrustSignIn.objects.exists() and not TrustDomain.objects.exists()
    answer = client.post(
        page_of(trust), {"domains": "northfield.example, @staff.northfield.example"}
    )
    assert answer.status_code == 302
    assert services.trust_rules_of(trust)[1] == [
        "northfield.example",
        "staff.northfield.example",
    ]
    assert "northfield.example\nstaff.northfield.example" in client.get(page_of(trust)).text


def test_page_query_count(client, configured, trust, tara, olivia, django_assert_max_num_queries):
    update_trust_rules(trust, tara, domains=["greenfield.example"], require_sso=True)
    contractor = User.objects.create_user("cai", email="cai@contractor.example")
    trusts.set_trust_roles(trust, contractor, [TrustRole.TRUST_TECHNICIAN])
    client.force_login(tara, backend=OIDC)
    with django_assert_max_num_queries(12):
        page = client.get(page_of(trust)).text
    assert "cai@contractor.example" in page and "olivia@" not in page


def test_api_permissions(configured, trust, tara, trina, olivia, outside, root):
    rhys = User.objects.get(username="rhys")
    assert APIClient().get(api_of(trust)).status_code in (401, 403)
    assert api(rhys).get(api_of(trust)).status_code == 404
    assert api(rhys).patch(api_of(trust), {"require_sso": True}).status_code == 404
    for reader in (trina, olivia):
        assert api(reader).get(api_of(trust)).json() == {
            "trust": "northfield",
            "domains": [],
            "require_sso": False,
            "create_accounts": False,
        }
        assert api(reader).patch(api_of(trust), {"require_sso": True}).status_code == 403
    assert not TrustSignIn.objects.exists()
    for admin in (tara, root):
        answer = api(admin).patch(api_of(trust), {"domains": ["northfield.example"]})
        assert answer.status_code == 200, answer.json()
        assert answer.json()["domains"] == ["northfield.example"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"domains": ["not a domain"]}, "domains"),
        ({"require_sso": "yes"}, "require_sso"),
        ({"trust": "elsewhere"}, "trust"),
        ({"domains": [f"d{n}.example" for n in range(51)]}, "domains"),
        ({"create_accounts": True}, "create_accounts"),
        ({"domains": ["gmail.com"], "create_accounts": True}, "domains"),
        ({"domains": ["riverside.example"]}, "domains"),
    ],
)
def test_api_refuses_bad_input_writing_nothing(configured, trust, tara, outside, body, field):
    answer = api(tara).patch(api_of(trust), body, format="json")
    assert answer.status_code == 400
    assert field in answer.json()
    assert not TrustSignIn.objects.exists() and not TrustDomain.objects.exists()


# --- How a school's rules and its trust's combine. ---


def test_the_trust_s_domains_open_single_sign_on_in_its_schools(configured, trust, tara, olivia):
    olivia.email = "olivia@northfield.example"
    olivia.save()
    with pytest.raises(SignInRefused):
        services.account_for("olivia@northfield.example", {})
    update_trust_rules(trust, tara, domains=["northfield.example"])
    assert services.account_for("olivia@northfield.example", {}) == olivia
    assert services.organisation_allowed("northfield.example")


def test_the_trust_s_single_sign_on_holds_in_every_school_whatever_the_school_says(
    client, configured, trust, tara, school, other_school, sam, olivia, oscar
):
    update_trust_rules(trust, tara, domains=["greenfield.example"], require_sso=True)
    update_rules(school, sam, require_sso=False)
    for person in (olivia, oscar):
        page = client.post(LOGIN, {"username": person.username, "password": PASSWORD})
        assert "_auth_user_id" not in client.session, person
        assert "not with a password" in page.text
    shown = api(sam).get(f"/api/v1/signin/schools/{school.slug}/").json()
    assert shown["require_sso"] is False and shown["trust_require_sso"] is True
    assert shown["requires_sso"] is True and shown["trust"] == "northfield"
    assert shown["trust_domains"] == ["greenfield.example"]
    client.force_login(sam, backend=OIDC)
    assert "requires single sign-on" in client.get(f"/signin/schools/{school.slug}/").text


def test_the_trust_s_own_people_are_held_to_it_too(configured, trust, tara, trina, root):
    update_trust_rules(trust, root, domains=["northfield.example"], require_sso=True)
    assert services.sso_required_for(trina)
    assert not services.sso_required_for(root)


def test_a_school_may_require_single_sign_on_where_its_trust_does_not(
    configured, trust, tara, school, sam, olivia, oscar
):
    update_rules(school, sam, domains=["greenfield.example"], require_sso=True)
    assert services.sso_required_for(olivia)
    assert not services.sso_required_for(oscar)  # Hillside, in the same trust


def test_the_trust_makes_accounts_for_its_domains_in_each_of_its_schools(
    configured, trust, tara, school, other_school, sam
):
    update_rules(school, sam, domains=["greenfield.example"], create_accounts=True)
    update_trust_rules(trust, tara, domains=["northfield.example"])
    # The school makes accounts for its own domains, not for the trust's.
    with pytest.raises(SignInRefused, match="invite you"):
        services.account_for("nia@northfield.example", {})
    update_trust_rules(trust, tara, create_accounts=True)
    nia = services.account_for("nia@northfield.example", {"given_name": "Nia"})
    places = Membership.objects.filter(user=nia)
    assert {m.school_id for m in places} == {school.pk, other_school.pk}
    assert not MembershipRole.objects.filter(membership__user=nia).exists()
    # The school's own rule: its school only.
    gwen = services.account_for("gwen@greenfield.example", {})
    assert list(Membership.objects.filter(user=gwen).values_list("school", flat=True)) == [
        school.pk
    ]


# --- The domains a rule may not allow. ---


@pytest.mark.parametrize("domain", ["gmail.com", "Outlook.com", "proton.me", "yahoo.com"])
def test_no_accounts_are_made_for_a_public_mail_service(client, configured, school, sam, domain):
    client.force_login(sam)
    answer = client.post(
        f"/signin/schools/{school.slug}/", {"domains": domain, "create_accounts": "on"}
    )
    assert answer.status_code == 400
    assert "anyone can have an address there" in answer.text
    answer = api(sam).patch(
        f"/api/v1/signin/schools/{school.slug}/",
        {"domains": [domain], "create_accounts": True},
        format="json",
    )
    assert answer.status_code == 400 and "domains" in answer.json()
    # Allowed without making accounts: people with an account already may sign in.
    update_rules(school, sam, domains=[domain], create_accounts=False)


def test_an_operator_may_make_accounts_for_a_public_mail_service(configured, school, root):
    update_rules(school, root, domains=["gmail.com"], create_accounts=True)
    assert services.rules_of(school)[1] == ["gmail.com"]


def test_a_domain_another_school_outside_the_trust_allows_is_refused(
    client, configured, trust, tara, school, other_school, sam, outside, root
):
    client.force_login(sam)
    answer = client.post(f"/signin/schools/{school.slug}/", {"domains": "riverside.example"})
    assert answer.status_code == 400
    assert "already allowed by another school or trust" in answer.text
    assert "Riverside" not in answer.text  # who has it is not told
    answer = api(tara).patch(api_of(trust), {"domains": ["riverside.example"]}, format="json")
    assert answer.status_code == 400 and "domains" in answer.json()
    # An operator may; a domain the school had already stays when it saves again.
    update_rules(school, root, domains=["riverside.example"])
    update_rules(school, sam, domains=["riverside.example", "greenfield.example"])


def test_the_schools_of_one_trust_may_share_a_domain(
    configured, trust, tara, school, other_school, sam, outside
):
    hana = member("hana", other_school, [Role.SCHOOL_ADMIN])
    update_rules(school, sam, domains=["northfield.example"])
    update_rules(other_school, hana, domains=["northfield.example"])
    update_trust_rules(trust, tara, domains=["northfield.example"])
    rhys = User.objects.get(username="rhys")
    with pytest.raises(Exception, match="Another school or trust"):
        update_rules(outside, rhys, domains=["riverside.example", "northfield.example"])


# --- Sessions and API tokens where single sign-on is required. ---


def _token_made(user, *, ago: timedelta = timedelta(0)) -> Token:
    from django.utils import timezone

    token = Token.objects.create(user=user)
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - ago)
    token.refresh_from_db()
    return token


def _calls_with(token: Token) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client.get("/api/v1/me/").status_code


def test_a_password_session_ends_when_single_sign_on_is_required(
    client, configured, school, sam, olivia
):
    client.force_login(olivia)  # with her password
    assert client.get("/api/v1/me/").status_code == 200
    update_rules(school, sam, domains=["greenfield.example"], require_sso=True)
    assert client.get("/").url.startswith(LOGIN)
    assert client.get("/api/v1/me/").status_code in (401, 403)
    client.force_login(olivia, backend=OIDC)  # with single sign-on: stays
    assert client.get("/api/v1/me/").status_code == 200


def test_a_token_made_before_single_sign_on_is_refused_where_it_is_required(
    client, configured, trust, tara, school, sam, olivia
):
    client.force_login(olivia)  # a password sign-in, then a token
    old = _token_made(olivia)
    assert _calls_with(old) == 200
    update_trust_rules(trust, tara, domains=["greenfield.example"], require_sso=True)
    refused = APIClient()
    refused.credentials(HTTP_AUTHORIZATION=f"Token {old.key}")
    answer = refused.get("/api/v1/me/")
    assert answer.status_code == 401
    assert "made before you signed in with it" in answer.json()["detail"]
    # Signing in with single sign-on does not make the old token good...
    client.force_login(olivia, backend=OIDC)
    assert _calls_with(old) == 401
    # ...a token made since does.
    Token.objects.filter(user=olivia).delete()
    assert _calls_with(_token_made(olivia)) == 200


def test_a_password_sign_in_after_single_sign_on_spoils_the_tokens_made_before(
    client, configured, school, sam, olivia
):
    client.force_login(olivia, backend=OIDC)
    token = _token_made(olivia)
    client.force_login(olivia)  # a password, while one was still allowed
    update_rules(school, sam, domains=["greenfield.example"], require_sso=True)
    assert SignInRecord.objects.get(user=olivia).sso_since is None
    assert _calls_with(token) == 401


def test_tokens_are_untouched_where_single_sign_on_is_not_required(
    configured, school, other_school, sam, olivia, oscar, root
):
    update_rules(school, sam, domains=["greenfield.example"], require_sso=True)
    assert _calls_with(_token_made(oscar)) == 200  # Hillside requires nothing
    set_root = root
    from changedesk.accounts.services import set_membership

    set_membership(set_root, school, [])
    assert _calls_with(_token_made(root)) == 200  # an operator keeps their way in


def test_a_refused_token_is_not_a_failed_sign_in(configured, school, sam, olivia, settings):
    settings.LOGIN_ATTEMPTS_LIMIT = 1
    token = _token_made(olivia, ago=timedelta(days=1))
    update_rules(school, sam, domains=["greenfield.example"], require_sso=True)
    for _ in range(3):
        assert _calls_with(token) == 401  # never 429: a right token is not a guess
