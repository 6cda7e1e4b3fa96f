"""Passwords: the reset link is queued (the answer is the same for a known and an unknown
address), and a new password revokes the API token."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from changedesk.conftest import PASSWORD
from changedesk.notifications.models import OutboxMessage
from changedesk.notifications.worker import send_due

pytestmark = pytest.mark.django_db

NEW = "a much longer new passphrase 42"


def reset_link(body: str) -> str:
    found = re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/)", body)
    assert found, body
    return found.group(1)


def test_the_reset_answer_is_the_same_for_a_known_and_an_unknown_address(client, olivia):
    url = reverse("accounts:password_reset")
    known = client.post(url, {"email": olivia.email})
    assert mail.outbox == []  # nothing is sent during the request
    assert OutboxMessage.objects.filter(recipient=olivia, template="password_reset").count() == 1
    unknown = client.post(url, {"email": "nobody@greenfield.example"})
    assert mail.outbox == []
    assert OutboxMessage.objects.count() == 1
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert client.get(known["Location"]).content == client.get(unknown["Location"]).content


def test_the_queued_reset_mail_carries_a_working_link(client, olivia):
    client.post(reverse("accounts:password_reset"), {"email": olivia.email.upper()})
    assert send_due() == (1, 0)
    (message,) = mail.outbox
    assert message.to == [olivia.email]
    assert message.subject == "Choose a new changedesk password"
    assert "olivia" in message.body
    html = message.alternatives[0][0]
    path = reset_link(message.body)
    assert path in html
    response = client.get(path, follow=True)
    assert "revokes your API token" in response.content.decode()
    response = client.post(
        response.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW}
    )
    assert response.status_code == 302
    olivia.refresh_from_db()
    assert olivia.check_password(NEW)


def test_a_deactivated_person_gets_no_reset_link(client, olivia):
    olivia.is_active = False
    olivia.save()
    client.post(reverse("accounts:password_reset"), {"email": olivia.email})
    assert not OutboxMessage.objects.exists()


def api_works(token: Token) -> bool:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api.get("/api/v1/me/").status_code == 200


def test_changing_the_password_revokes_the_api_token_and_says_so(client, olivia):
    token = Token.objects.create(user=olivia)
    assert api_works(token)
    client.force_login(olivia)
    page = client.get(reverse("accounts:password_change")).content.decode()
    assert "also revokes your API token" in page
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
        follow=True,
    )
    assert "your API token is revoked" in response.content.decode()
    assert not Token.objects.filter(user=olivia).exists()
    assert not api_works(token)


def test_resetting_the_password_revokes_the_api_token(client, olivia):
    token = Token.objects.create(user=olivia)
    client.post(reverse("accounts:password_reset"), {"email": olivia.email})
    send_due()
    response = client.get(reset_link(mail.outbox[0].body), follow=True)
    response = client.post(
        response.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW}, follow=True
    )
    assert "Any API token you had is revoked" in response.content.decode()
    assert not api_works(token)


def test_a_password_set_by_an_administrator_revokes_the_token_but_other_edits_do_not(olivia):
    Token.objects.create(user=olivia)
    olivia.job_title = "Senior technician"
    olivia.save()
    assert Token.objects.filter(user=olivia).exists()
    olivia.set_password(NEW)
    olivia.save()
    assert not Token.objects.filter(user=olivia).exists()


def test_changing_the_password_without_a_token_says_nothing_of_one(client, olivia):
    client.force_login(olivia)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
        follow=True,
    )
    text = response.content.decode()
    assert "Your password is changed." in text
    assert "your API token is revoked" not in text
