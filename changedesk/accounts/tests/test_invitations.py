"""Joining a school is consented to: an administrator invites an e-mail address, and only
whoever answers for that address makes the person a member.

The add form answers the same whether or not an account has the address; until the person
accepts, the school sees only the address it typed, cannot name them on an RFC, and the
API does not show them the school.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Invitation, Membership, User
from changedesk.accounts.services import (
    accept_invitation,
    decline_invitation,
    invitation_path,
    invite,
    join_with_new_account,
    set_membership,
)
from changedesk.changes.services import validate_people
from changedesk.conftest import PASSWORD
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.notifications.email import build_message
from changedesk.notifications.models import OutboxMessage

pytestmark = pytest.mark.django_db

UNKNOWN = "nobody.yet@example.org"


def _add(client, school, email, roles=("final_approver",), **kw):
    return client.post(
        reverse("accounts:member_add", args=[school.slug]),
        {"email": email, "roles": list(roles)},
        **kw,
    )


def _invitation(email: str) -> Invitation:
    return Invitation.objects.get(email=email, withdrawn_at__isnull=True)


def _link(invitation: Invitation) -> str:
    return invitation_path(invitation)


def _normal(body: str, email: str) -> str:
    """A page with the address typed, ids, tokens and times taken out."""
    body = body.replace(email, "ADDRESS")
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", body)
    body = re.sub(r"/invitations/\d+/", "/invitations/N/", body)
    return body


# --- The add form tells nothing about who has an account. ---


def test_the_add_form_answers_the_same_whether_or_not_an_account_exists(
    client, school, team, oscar
):
    client.force_login(team["sam"])
    pages, counts = {}, {}
    for email in (oscar.email, UNKNOWN):
        with CaptureQueriesContext(connection) as queries:
            response = _add(client, school, email)
        counts[email] = len(queries)
        assert response.status_code == 302
        assert response["Location"] == reverse("accounts:school", args=[school.slug])
        page = client.get(response["Location"])
        assert f"Invitation sent to {email}." in page.content.decode()
        pages[email] = _normal(page.content.decode(), email)
        # Start the next one from the same scene.
        Invitation.objects.all().delete()
        OutboxMessage.objects.all().delete()
    assert pages[oscar.email] == pages[UNKNOWN]
    assert counts[oscar.email] == counts[UNKNOWN]  # the same work, so the same time


def test_the_school_sees_only_the_address_until_they_accept(client, school, team, oscar):
    client.force_login(team["sam"])
    _add(client, school, oscar.email)
    page = client.get(reverse("accounts:school", args=[school.slug])).content.decode()
    assert oscar.email in page
    assert "Pending" in page
    for detail in ("Oscar", "Owen", "Technician at Hillside", ">oscar<", "(oscar)"):
        assert detail not in page
    assert not Membership.objects.filter(user=oscar, school=school).exists()


def test_someone_invited_cannot_be_named_on_an_rfc(client, school, team, oscar, draft):
    invite(school, oscar.email, [Role.FINAL_APPROVER, Role.PEER_REVIEWER], team["sam"])
    errors = validate_people(school, team["olivia"], {"final_approver": oscar})
    assert "final_approver" in errors
    assert oscar not in school.holders_of(Role.FINAL_APPROVER)
    # The RFC's form offers only the school's members who hold the role.
    client.force_login(team["olivia"])
    page = client.get(reverse("changes:edit", args=[draft.pk])).content.decode()
    assert "Fiona Fraser" in page
    assert "Oscar Owen" not in page
    response = client.post(
        reverse("changes:edit", args=[draft.pk]),
        {"title": draft.title, "final_approver": oscar.pk, "expected_version": draft.version},
    )
    assert response.status_code == 400
    assert not draft.__class__.objects.filter(pk=draft.pk, final_approver=oscar).exists()


def test_the_api_shows_the_school_only_once_they_accept(client, school, team, oscar):
    invitation = invite(school, oscar.email, [Role.VIEWER], team["sam"])
    client.force_login(oscar)
    slugs = [s["slug"] for s in client.get("/api/v1/schools/").json()["results"]]
    assert school.slug not in slugs
    assert client.get(f"/api/v1/schools/{school.slug}/").status_code == 404
    accept_invitation(invitation, oscar)
    slugs = [s["slug"] for s in client.get("/api/v1/schools/").json()["results"]]
    assert school.slug in slugs


# --- The mail. ---


def test_the_invitation_is_queued_with_a_link_to_the_site(client, school, team, settings):
    settings.SITE_URL = "https://changes.trust.example"
    client.force_login(team["sam"])
    _add(client, school, UNKNOWN, roles=["originator", "implementer"])
    assert mail.outbox == []  # nothing is sent during the request
    message = OutboxMessage.objects.get()
    assert message.to_address == UNKNOWN
    assert message.recipient is None
    assert message.school == school
    assert message.template == "invitation"
    email = build_message(message)
    link = "https://changes.trust.example" + _link(_invitation(UNKNOWN))
    assert link in email.body
    assert link in email.alternatives[0][0]
    assert "Greenfield Primary" in email.subject
    assert "Sam Singh" in email.body
    assert "originator, implementer" in email.body


def test_inviting_needs_no_mail_server(client, school, team, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    client.force_login(team["sam"])
    response = _add(client, school, UNKNOWN, follow=True)
    assert response.status_code == 200
    assert f"Invitation sent to {UNKNOWN}." in response.content.decode()
    assert OutboxMessage.objects.filter(to_address=UNKNOWN).exists()


# --- Answering: from the profile, or from the link. ---


def test_accepting_from_the_profile_makes_the_membership(client, school, team, oscar):
    invitation = invite(school, oscar.email, [Role.FINAL_APPROVER], team["sam"])
    client.force_login(oscar)
    profile = client.get(reverse("accounts:profile")).content.decode()
    assert "Greenfield Primary invites you" in profile
    response = client.post(
        reverse("accounts:my_invitation", args=[invitation.pk]), {"answer": "accept"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:school", args=[school.slug])
    assert oscar.roles_in(school) == {Role.FINAL_APPROVER}
    assert validate_people(school, team["olivia"], {"final_approver": oscar}) == {}
    invitation.refresh_from_db()
    assert invitation.status == "accepted"
    assert invitation.answered_by == oscar
    # Now the school sees them by name, and the invitation is gone from the list.
    client.force_login(team["sam"])
    page = client.get(reverse("accounts:school", args=[school.slug])).content.decode()
    assert "Oscar Owen" in page
    assert "Pending" not in page


def test_an_existing_member_is_not_invited_and_accepting_keeps_roles_held(
    school, team, other_school, oscar
):
    with pytest.raises(InvalidAction, match="member already"):
        invite(other_school, oscar.email.upper(), [Role.VIEWER], team["sam"])
    # Made a member another way (an operator's `changedesk user add`) while invited.
    invitation = invite(school, oscar.email, [Role.FINAL_APPROVER], team["sam"])
    set_membership(oscar, school, [Role.VIEWER])
    accept_invitation(invitation, oscar)
    assert oscar.roles_in(school) == {Role.VIEWER, Role.FINAL_APPROVER}


def test_declining_from_the_profile_is_recorded(client, school, team, oscar):
    invitation = invite(school, oscar.email, [Role.VIEWER], team["sam"])
    client.force_login(oscar)
    response = client.post(
        reverse("accounts:my_invitation", args=[invitation.pk]), {"answer": "decline"}
    )
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == "declined"
    assert not Membership.objects.filter(user=oscar, school=school).exists()
    assert "invites you" not in client.get(reverse("accounts:profile")).content.decode()
    client.force_login(team["sam"])
    page = client.get(reverse("accounts:school", args=[school.slug])).content.decode()
    assert "Declined" in page


def test_a_new_person_makes_their_account_from_the_link(client, school, team):
    invitation = invite(school, UNKNOWN, [Role.ORIGINATOR], team["sam"])
    url = _link(invitation)
    page = client.get(url)
    assert page.status_code == 200
    assert UNKNOWN in page.content.decode()
    bad = client.post(
        url,
        {"username": "olivia", "first_name": "N", "last_name": "N", "password1": "x",
         "password2": "y"},
    )  # fmt: skip
    assert bad.status_code == 400
    body = bad.content.decode()
    assert "That sign-in name is taken" in body
    assert "The two passwords differ" in body
    weak = client.post(
        url,
        {"username": "nina", "first_name": "Nina", "last_name": "Novak", "password1": "abc",
         "password2": "abc"},
    )  # fmt: skip
    assert weak.status_code == 400
    assert "too short" in weak.content.decode()
    response = client.post(
        url,
        {"username": "nina", "first_name": "Nina", "last_name": "Novak",
         "job_title": "Teacher", "password1": PASSWORD, "password2": PASSWORD},
    )  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:school", args=[school.slug])
    nina = User.objects.get(username="nina")
    assert nina.email == UNKNOWN
    assert nina.check_password(PASSWORD)
    assert nina.roles_in(school) == {Role.ORIGINATOR}
    assert client.session["_auth_user_id"] == str(nina.pk)
    # The link is spent.
    client.logout()
    assert client.get(url).status_code == 200
    assert "has been accepted" in client.get(url).content.decode()
    assert client.post(url, {"answer": "decline"}).status_code == 200
    invitation.refresh_from_db()
    assert invitation.status == "accepted"


def test_someone_with_an_account_signs_in_from_the_link_and_accepts(client, school, team, oscar):
    invitation = invite(school, oscar.email, [Role.PEER_REVIEWER], team["sam"])
    url = _link(invitation)
    page = client.get(url).content.decode()
    assert "Sign in to accept" in page
    response = client.post(
        reverse("accounts:login") + f"?next={url}",
        {"username": "oscar", "password": PASSWORD, "next": url},
    )
    assert response.status_code == 302
    assert response["Location"] == url
    page = client.get(url).content.decode()
    assert "Join as Oscar Owen" in page
    response = client.post(url, {"answer": "accept"})
    assert response.status_code == 302
    assert oscar.roles_in(school) == {Role.PEER_REVIEWER}


def test_the_link_declines_without_signing_in(client, school, team):
    invitation = invite(school, UNKNOWN, [Role.VIEWER], team["sam"])
    url = _link(invitation)
    response = client.post(url, {"answer": "decline"})
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == "declined"
    assert invitation.answered_by is None
    page = client.get(url)
    assert page.status_code == 200
    assert "has been declined" in page.content.decode()
    assert not User.objects.filter(email=UNKNOWN).exists()


# --- Who may answer. ---


def test_someone_else_cannot_accept_anothers_invitation(client, school, team, oscar):
    invitation = invite(school, oscar.email, [Role.FINAL_APPROVER], team["sam"])
    for who in (team["olivia"], team["sam"]):
        client.force_login(who)
        assert "invites you" not in client.get(reverse("accounts:profile")).content.decode()
        for answer in ("accept", "decline"):
            response = client.post(
                reverse("accounts:my_invitation", args=[invitation.pk]), {"answer": answer}
            )
            assert response.status_code == 404
        # Holding the link does not make another account the one invited.
        page = client.get(_link(invitation)).content.decode()
        assert "Join as" not in page
        assert "not the one invited" in page
        assert client.post(_link(invitation), {"answer": "accept"}).status_code == 403
    with pytest.raises(NotPermitted):
        accept_invitation(invitation, team["olivia"])
    with pytest.raises(NotPermitted):
        decline_invitation(invitation, team["olivia"], by_link=False)
    invitation.refresh_from_db()
    assert invitation.status == "pending"
    assert team["olivia"].roles_in(school) == {Role.ORIGINATOR, Role.IMPLEMENTER}


def test_a_link_not_ours_is_not_found(client, school, team):
    invitation = invite(school, UNKNOWN, [Role.VIEWER], team["sam"])
    for token in ("nonsense", _link(invitation).split("/")[-2] + "x", "eyJpIjoxfQ:1:2"):
        assert client.get(reverse("accounts:invitation", args=[token])).status_code == 404
    assert client.post(_link(invitation), {"answer": "maybe"}).status_code == 400


# --- Expiry, withdrawal and inviting again. ---


def test_an_invitation_expires(client, school, team, oscar):
    invitation = invite(school, oscar.email, [Role.VIEWER], team["sam"])
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    client.force_login(oscar)
    assert "invites you" not in client.get(reverse("accounts:profile")).content.decode()
    response = client.post(
        reverse("accounts:my_invitation", args=[invitation.pk]), {"answer": "accept"}, follow=True
    )
    assert "is expired" in response.content.decode()
    assert not Membership.objects.filter(user=oscar, school=school).exists()
    client.logout()
    page = client.get(_link(invitation))
    assert page.status_code == 410
    assert "has expired" in page.content.decode()
    with pytest.raises(InvalidAction):
        join_with_new_account(
            invitation, {"username": "nina", "password": PASSWORD, "first_name": "N"}
        )
    client.force_login(team["sam"])
    page = client.get(reverse("accounts:school", args=[school.slug])).content.decode()
    assert "Expired" in page
    assert "Invite again" in page


def test_the_admin_withdraws_an_invitation(client, school, team, oscar):
    invitation = invite(school, oscar.email, [Role.VIEWER], team["sam"])
    url = reverse("accounts:invitation_withdraw", args=[school.slug, invitation.pk])
    client.force_login(team["olivia"])
    assert client.post(url).status_code == 403
    client.force_login(oscar)  # not a member of the school
    assert client.post(url).status_code == 404
    client.force_login(team["sam"])
    response = client.post(url, follow=True)
    assert f"The invitation to {oscar.email} is withdrawn." in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.status == "withdrawn"
    assert client.get(_link(invitation)).status_code == 410
    client.force_login(oscar)
    client.post(reverse("accounts:my_invitation", args=[invitation.pk]), {"answer": "accept"})
    assert not Membership.objects.filter(user=oscar, school=school).exists()


def test_inviting_again_replaces_the_open_invitation(client, school, team, oscar):
    first = invite(school, oscar.email, [Role.VIEWER], team["sam"])
    second = invite(school, oscar.email.upper(), [Role.IMPLEMENTER], team["sam"])
    first.refresh_from_db()
    assert first.status == "withdrawn"
    assert second.status == "pending"
    assert OutboxMessage.objects.filter(template="invitation").count() == 2
    decline_invitation(second, oscar, by_link=False)
    third = invite(school, oscar.email, [Role.IMPLEMENTER], team["sam"])  # after a no
    accept_invitation(third, oscar)
    assert oscar.roles_in(school) == {Role.IMPLEMENTER}


# --- Who may invite, and bad input. ---


@pytest.mark.parametrize("who", ["olivia", "ian", "fiona"])
def test_only_the_school_admin_invites(client, school, team, who):
    client.force_login(team[who])
    assert _add(client, school, UNKNOWN).status_code == 403
    assert not Invitation.objects.exists()


def test_an_outsider_cannot_invite(client, school, oscar):
    client.force_login(oscar)
    assert _add(client, school, UNKNOWN).status_code == 404
    assert not Invitation.objects.exists()


def test_a_superuser_invites(client, school, root):
    client.force_login(root)
    assert _add(client, school, UNKNOWN).status_code == 302
    assert _invitation(UNKNOWN).invited_by == root


def test_bad_input_is_a_form_error(client, school, team):
    client.force_login(team["sam"])
    for data, text in (
        ({"email": "not an address", "roles": ["viewer"]}, "valid email address"),
        ({"email": UNKNOWN}, "Choose at least one role"),
        ({"email": UNKNOWN, "roles": ["emperor"]}, "not one of the available choices"),
        # A NUL: refused before the form (by the middleware) or by it; never a 500.
        ({"email": "x\x00@example.org", "roles": ["viewer"]}, None),
        ({"email": team["olivia"].email.upper(), "roles": ["viewer"]}, "member already"),
    ):
        response = client.post(reverse("accounts:member_add", args=[school.slug]), data)
        assert response.status_code == 400, data
        assert text is None or text in response.content.decode(), data
    assert not Invitation.objects.exists()
