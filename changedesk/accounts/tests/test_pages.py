"""Accounts pages: sign-in and its throttle, password reset, and running a school."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Delegation, Membership, User
from changedesk.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def test_sign_in_is_throttled_after_repeated_failures(client, olivia, settings):
    settings.LOGIN_ATTEMPTS_LIMIT = 3
    url = reverse("accounts:login")
    for _ in range(3):
        response = client.post(url, {"username": "olivia", "password": "wrong"})
        assert response.status_code == 200
        assert "correct username and password" in response.content.decode()
    response = client.post(url, {"username": "olivia", "password": PASSWORD})
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_sign_out_is_a_post(client, olivia):
    client.force_login(olivia)
    assert client.get(reverse("accounts:logout")).status_code == 405
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_password_reset_by_email(client, olivia):
    from changedesk.notifications.worker import send_due

    response = client.post(reverse("accounts:password_reset"), {"email": olivia.email})
    assert response.status_code == 302
    assert mail.outbox == []  # queued, sent by the worker
    assert send_due() == (1, 0)
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/password/reset/\S+/", mail.outbox[0].body)
    assert link
    path = link.group(0).split("://", 1)[1].split("/", 1)[1]
    response = client.get("/" + path, follow=True)
    assert response.status_code == 200
    new = "a much longer new passphrase 42"
    response = client.post(
        response.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    olivia.refresh_from_db()
    assert olivia.check_password(new)


def test_password_change(client, olivia):
    client.force_login(olivia)
    new = "another long passphrase 77"
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    olivia.refresh_from_db()
    assert olivia.check_password(new)


def test_school_pages_hidden_from_outsiders(client, school, team, oscar):
    client.force_login(oscar)
    for name in ("school", "member_add", "school_settings", "delegations"):
        assert client.get(reverse(f"accounts:{name}", args=[school.slug])).status_code == 404


@pytest.mark.parametrize("who", ["olivia", "ian", "peter", "fiona", "ivan"])
def test_only_the_school_admin_manages_members_and_settings(client, school, team, who):
    client.force_login(team[who])
    assert client.get(reverse("accounts:school", args=[school.slug])).status_code == 200
    assert client.get(reverse("accounts:member_add", args=[school.slug])).status_code == 403
    url = reverse("accounts:member_edit", args=[school.slug, team["ivan"].pk])
    assert client.post(url, {"roles": ["final_approver"]}).status_code == 403
    settings_url = reverse("accounts:school_settings", args=[school.slug])
    assert client.post(settings_url, {"name": "Hacked"}).status_code == 403
    school.refresh_from_db()
    assert school.name == "Greenfield Primary"


def test_admin_invites_rather_than_adds(client, school, team, oscar):
    """Adding someone is an invitation (see test_invitations.py): nobody joins unasked."""
    client.force_login(team["sam"])
    url = reverse("accounts:member_add", args=[school.slug])
    for email in ("nina@greenfield.example", oscar.email):
        response = client.post(url, {"email": email, "roles": ["peer_reviewer"]})
        assert response.status_code == 302
    assert not User.objects.filter(username="nina").exists()
    assert oscar.roles_in(school) == set()
    assert len(mail.outbox) == 0  # queued in the outbox, not sent from the request
    response = client.post(url, {"email": team["ivan"].email, "roles": ["peer_reviewer"]})
    assert response.status_code == 400
    assert "member already" in response.content.decode()


def test_admin_changes_roles_but_not_the_last_admin(client, school, team):
    client.force_login(team["sam"])
    url = reverse("accounts:member_edit", args=[school.slug, team["ivan"].pk])
    assert client.post(url, {"roles": ["implementer", "peer_reviewer"]}).status_code == 302
    assert team["ivan"].roles_in(school) == {"implementer", "peer_reviewer"}
    own = reverse("accounts:member_edit", args=[school.slug, team["sam"].pk])
    response = client.post(own, {"roles": ["originator"]})
    assert response.status_code == 400
    assert "at least one administrator" in response.content.decode()
    response = client.post(url, {"remove": "1"})
    assert response.status_code == 302
    assert not Membership.objects.filter(user=team["ivan"], school=school).exists()


def test_admin_changes_settings(client, school, team):
    client.force_login(team["sam"])
    url = reverse("accounts:school_settings", args=[school.slug])
    response = client.post(url, {"name": "Greenfield", "timezone": "Mars/Olympus"})
    assert response.status_code == 400
    assert "not a known time zone" in response.content.decode()
    settings = {"name": "Greenfield", "timezone": "Europe/London", "standard_lead_hours": 2}
    response = client.post(url, settings | {"normal_lead_days": 99})
    assert response.status_code == 400
    assert "less than or equal to 30" in response.content.decode()
    response = client.post(url, settings | {"normal_lead_days": 3})
    assert response.status_code == 302
    school.refresh_from_db()
    assert school.peer_review_enabled is False
    assert school.decision_links_enabled is False
    assert (school.normal_lead_days, school.standard_lead_hours) == (3, 2)


def test_approver_names_a_deputy_and_revokes(client, school, team):
    client.force_login(team["fiona"])
    url = reverse("accounts:delegations", args=[school.slug])
    now = timezone.localtime()
    fmt = "%Y-%m-%dT%H:%M"
    bad = client.post(
        url,
        {
            "approver": team["fiona"].pk,
            "deputy": team["ian"].pk,
            "role": Role.FINAL_APPROVER,
            "starts_at": now.strftime(fmt),
            "ends_at": (now - timedelta(days=1)).strftime(fmt),
        },
    )
    assert bad.status_code == 400
    response = client.post(
        url,
        {
            "approver": team["fiona"].pk,
            "deputy": team["ian"].pk,
            "role": Role.FINAL_APPROVER,
            "starts_at": (now - timedelta(minutes=5)).strftime(fmt),
            "ends_at": (now + timedelta(days=3)).strftime(fmt),
            "reason": "On a course",
        },
    )
    assert response.status_code == 302
    delegation = Delegation.objects.get()
    assert delegation.is_active
    # Someone else's approvals cannot be delegated by a non-admin.
    client.force_login(team["ian"])
    response = client.post(
        url,
        {
            "approver": team["fiona"].pk,
            "deputy": team["peter"].pk,
            "starts_at": now.strftime(fmt),
            "ends_at": (now + timedelta(days=1)).strftime(fmt),
        },
    )
    assert response.status_code == 400
    revoke = reverse("accounts:delegation_revoke", args=[school.slug, delegation.pk])
    assert client.post(revoke).status_code == 403
    client.force_login(team["olivia"])
    assert client.post(url, {}).status_code == 403
    client.force_login(team["fiona"])
    assert client.post(revoke).status_code == 302
    delegation.refresh_from_db()
    assert delegation.revoked_at is not None


def test_profile_makes_an_api_token(client, olivia):
    client.force_login(olivia)
    response = client.post(reverse("accounts:profile"), {"token": "create"}, follow=True)
    from rest_framework.authtoken.models import Token

    token = Token.objects.get(user=olivia)
    assert token.key in response.content.decode()
    client.post(reverse("accounts:profile"), {"token": "revoke"})
    assert not Token.objects.filter(user=olivia).exists()
