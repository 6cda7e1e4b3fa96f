"""Sign-in throttling: per username, a far higher ceiling per address, the client's address
behind the proxy, the admin's sign-in, the API's tokens, and lifting a pause."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from changedesk import cli
from changedesk.accounts import throttle
from changedesk.accounts.choices import ThrottleKind
from changedesk.accounts.models import SignInCounter
from changedesk.accounts.services import create_user
from changedesk.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
SCHOOL_NAT = "203.0.113.7"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.LOGIN_ATTEMPTS_LIMIT = 5
    settings.LOGIN_ATTEMPTS_WINDOW = 15 * 60
    settings.LOGIN_ATTEMPTS_PER_ADDRESS = 100
    settings.BEHIND_PROXY = False
    settings.PROXY_HOPS = 1


def sign_in(client, username, password, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- Per username. ---


def test_it_pauses_a_username_after_the_limit_and_says_until_when(client, olivia):
    for _ in range(5):
        response = sign_in(client, "olivia", "wrong")
        assert response.status_code == 200
        assert "correct username and password" in response.content.decode()
    response = sign_in(client, "olivia", PASSWORD)
    assert response.status_code == 429
    assert not signed_in(client)
    until = SignInCounter.objects.get(kind=ThrottleKind.USERNAME, value="olivia").locked_until
    text = response.content.decode()
    assert "Too many failed sign-ins for this username" in text
    assert f"Try again after {timezone.localtime(until):%H:%M}" in text
    assert "(in 15 minutes)" in text
    assert 14 * 60 < int(response["Retry-After"]) <= 15 * 60


def test_the_pause_follows_the_username_from_any_address(client, olivia):
    for _ in range(5):
        sign_in(client, "Olivia", "wrong", REMOTE_ADDR="198.51.100.1")
    response = sign_in(client, "olivia", PASSWORD, REMOTE_ADDR="198.51.100.2")
    assert response.status_code == 429
    assert not signed_in(client)


def test_a_flood_of_made_up_usernames_from_one_address_does_not_lock_out_the_school(client, olivia):
    for n in range(60):
        sign_in(client, f"nobody{n}", "guess", REMOTE_ADDR=SCHOOL_NAT)
    response = sign_in(client, "olivia", PASSWORD, REMOTE_ADDR=SCHOOL_NAT)
    assert response.status_code == 302
    assert signed_in(client)


def test_past_the_address_ceiling_the_address_is_paused(client, olivia, settings):
    settings.LOGIN_ATTEMPTS_PER_ADDRESS = 20
    for n in range(20):
        sign_in(client, f"nobody{n}", "guess", REMOTE_ADDR=SCHOOL_NAT)
    response = sign_in(client, "olivia", PASSWORD, REMOTE_ADDR=SCHOOL_NAT)
    assert response.status_code == 429
    assert "Too many failed sign-ins from your network" in response.content.decode()
    # Elsewhere, Olivia signs in.
    assert sign_in(client, "olivia", PASSWORD, REMOTE_ADDR="198.51.100.9").status_code == 302


def test_a_right_password_forgets_the_username_failures_and_costs_the_address_nothing(
    client, olivia, settings
):
    settings.LOGIN_ATTEMPTS_PER_ADDRESS = 10
    for _ in range(4):
        sign_in(client, "olivia", "wrong")
    assert sign_in(client, "olivia", PASSWORD).status_code == 302
    client.logout()
    assert not SignInCounter.objects.filter(kind=ThrottleKind.USERNAME).exists()
    assert SignInCounter.objects.get(kind=ThrottleKind.ADDRESS).failures == 4
    for _ in range(4):
        assert sign_in(client, "olivia", "wrong").status_code == 200
    assert sign_in(client, "olivia", PASSWORD).status_code == 302


def test_the_pause_ends_after_the_window(client, olivia, monkeypatch):
    for _ in range(5):
        sign_in(client, "olivia", "wrong")
    assert sign_in(client, "olivia", PASSWORD).status_code == 429
    later = timezone.now() + timedelta(minutes=16)
    monkeypatch.setattr(throttle.timezone, "now", lambda: later)
    assert sign_in(client, "olivia", PASSWORD).status_code == 302


def test_a_form_without_a_password_is_not_counted(client, olivia):
    for _ in range(10):
        client.post(LOGIN, {"username": "olivia", "password": ""})
    assert not SignInCounter.objects.exists()
    assert sign_in(client, "olivia", PASSWORD).status_code == 302


def test_attempts_past_the_limit_are_refused_before_the_password_is_checked(olivia, monkeypatch):
    """A burst of parallel guesses gets no more tries than a patient guesser: each attempt
    is counted before its password is checked."""
    for _ in range(5):
        throttle.begin("olivia", SCHOOL_NAT)  # five attempts in flight, none answered yet
    with pytest.raises(throttle.SignInPaused):
        throttle.begin("olivia", SCHOOL_NAT)


# --- The client's address behind the proxy. ---


def request_from(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_the_proxy_setting_x_forwarded_for_is_ignored():
    assert throttle.client_address(request_from("192.0.2.1", "198.51.100.1")) == "192.0.2.1"


def test_behind_the_proxy_the_address_it_saw_is_used(settings):
    settings.BEHIND_PROXY = True
    request = request_from("10.0.0.2", SCHOOL_NAT)
    assert throttle.client_address(request) == SCHOOL_NAT
    # A client that writes its own X-Forwarded-For only adds entries to the left.
    spoofed = request_from("10.0.0.2", f"198.51.100.66, {SCHOOL_NAT}")
    assert throttle.client_address(spoofed) == SCHOOL_NAT
    # Not through the proxy at all: the connection's address.
    assert throttle.client_address(request_from("192.0.2.5")) == "192.0.2.5"
    assert throttle.client_address(request_from("192.0.2.5", "not an address")) == "192.0.2.5"


def test_two_trusted_proxies_are_two_hops(settings):
    settings.BEHIND_PROXY = True
    settings.PROXY_HOPS = 2
    request = request_from("10.0.0.2", f"198.51.100.66, {SCHOOL_NAT}, 10.0.0.1")
    assert throttle.client_address(request) == SCHOOL_NAT


def test_an_ipv6_client_is_counted_by_its_64_and_ports_are_dropped(settings):
    settings.BEHIND_PROXY = True
    one = throttle.client_address(request_from("10.0.0.2", "2001:db8:1:2::1"))
    other = throttle.client_address(request_from("10.0.0.2", "[2001:db8:1:2::ff]:4431"))
    assert one == other == "2001:db8:1:2::/64"
    assert throttle.client_address(request_from("10.0.0.2", f"{SCHOOL_NAT}:5555")) == SCHOOL_NAT


def test_behind_the_proxy_a_spoofed_entry_does_not_escape_the_address_ceiling(
    client, olivia, settings
):
    settings.BEHIND_PROXY = True
    settings.LOGIN_ATTEMPTS_PER_ADDRESS = 10
    for n in range(10):
        sign_in(
            client,
            f"nobody{n}",
            "guess",
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, {SCHOOL_NAT}",
        )
    assert SignInCounter.objects.get(kind=ThrottleKind.ADDRESS).value == SCHOOL_NAT
    response = sign_in(
        client,
        "olivia",
        PASSWORD,
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR=f"192.0.2.200, {SCHOOL_NAT}",
    )
    assert response.status_code == 429
    # Another school behind the same proxy is not affected.
    response = sign_in(
        client, "olivia", PASSWORD, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.77"
    )
    assert response.status_code == 302


# --- The admin's sign-in. ---


@pytest.fixture
def staff(db):
    user = create_user("opal", email="opal@example.org", password=PASSWORD, check_password=False)
    user.is_staff = user.is_superuser = True
    user.save()
    return user


def test_the_admin_sign_in_is_throttled(client, staff):
    for _ in range(5):
        response = client.post(ADMIN_LOGIN, {"username": "opal", "password": "wrong"})
        assert response.status_code == 200
        assert not signed_in(client)
    response = client.post(ADMIN_LOGIN, {"username": "opal", "password": PASSWORD})
    assert not signed_in(client)
    assert "Too many failed sign-ins for this username" in response.content.decode()


def test_a_pause_from_the_sign_in_page_holds_on_the_admin_sign_in(client, staff):
    for _ in range(5):
        sign_in(client, "opal", "wrong")
    response = client.post(ADMIN_LOGIN, {"username": "opal", "password": PASSWORD})
    assert not signed_in(client)
    assert "Try again after" in response.content.decode()


def test_the_admin_sign_in_still_works(client, staff):
    response = client.post(ADMIN_LOGIN, {"username": "opal", "password": PASSWORD})
    assert response.status_code == 302
    assert signed_in(client)


# --- The API's tokens. ---


def test_a_token_guesser_gets_429_json_after_too_many_failures(olivia, settings):
    settings.LOGIN_ATTEMPTS_PER_ADDRESS = 5
    guesser = APIClient(REMOTE_ADDR=SCHOOL_NAT)
    for n in range(5):
        guesser.credentials(HTTP_AUTHORIZATION=f"Token {n:040x}")
        response = guesser.get("/api/v1/me/")
        assert response.status_code == 401
    response = guesser.get("/api/v1/me/")
    assert response.status_code == 429
    assert response["Content-Type"].startswith("application/json")
    assert "Too many failed sign-ins" in response.json()["detail"]
    assert int(response["Retry-After"]) > 0
    # A right token from the same address still works: one guesser stops no script.
    token = Token.objects.create(user=olivia)
    script = APIClient(REMOTE_ADDR=SCHOOL_NAT)
    script.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert script.get("/api/v1/me/").status_code == 200
    # The guesser's address is paused for the sign-in page too.
    response = APIClient(REMOTE_ADDR=SCHOOL_NAT).post(
        LOGIN, {"username": "olivia", "password": PASSWORD}, format="multipart"
    )
    assert response.status_code == 429


def test_a_right_token_counts_nothing(olivia):
    token = Token.objects.create(user=olivia)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    for _ in range(3):
        assert api.get("/api/v1/me/").status_code == 200
    assert not SignInCounter.objects.exists()


# --- Lifting a pause. ---


def test_unlock_lets_the_person_sign_in_again(client, olivia, capsys):
    for _ in range(5):
        sign_in(client, "olivia", "wrong")
    assert sign_in(client, "olivia", PASSWORD).status_code == 429
    assert cli.main(["unlock", "Olivia"]) == 0
    assert "Olivia may try signing in again now." in capsys.readouterr().out
    assert sign_in(client, "olivia", PASSWORD).status_code == 302


def test_unlock_an_address(client, olivia, settings, capsys):
    settings.LOGIN_ATTEMPTS_PER_ADDRESS = 3
    for n in range(3):
        sign_in(client, f"nobody{n}", "guess", REMOTE_ADDR=SCHOOL_NAT)
    assert sign_in(client, "olivia", PASSWORD, REMOTE_ADDR=SCHOOL_NAT).status_code == 429
    assert cli.main(["unlock", "--address", SCHOOL_NAT]) == 0
    assert sign_in(client, "olivia", PASSWORD, REMOTE_ADDR=SCHOOL_NAT).status_code == 302


def test_unlock_says_when_there_was_nothing_to_do_and_needs_a_name(capsys):
    assert cli.main(["unlock", "nobody"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert cli.main(["unlock"]) == 2
    assert capsys.readouterr().err.startswith("changedesk: error: give a USERNAME")


def test_a_superuser_unlocks_in_the_admin(client, olivia, staff):
    for _ in range(5):
        sign_in(client, "olivia", "wrong")
    client.force_login(staff)
    counter = SignInCounter.objects.get(kind=ThrottleKind.USERNAME)
    response = client.post(
        reverse("admin:accounts_signincounter_changelist"),
        {"action": "unlock", "_selected_action": [counter.pk]},
    )
    assert response.status_code == 302
    assert not SignInCounter.objects.filter(pk=counter.pk).exists()
    client.logout()
    assert sign_in(client, "olivia", PASSWORD).status_code == 302
