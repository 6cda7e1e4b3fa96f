"""The database out of reach: a 503 with a Retry-After (JSON under /api/, the product's page
elsewhere), wherever in the request it was found; any other error stays a 500.

The real thing (a PostgreSQL stopped and restarted under a running server) is in
test_database_restart.py; here the failures are simulated, on either database.
"""

from __future__ import annotations

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.test import RequestFactory
from rest_framework.test import APIClient

from changedesk.changes.api import ChangeViewSet
from changedesk.lib.middleware import (
    DATABASE_UNAVAILABLE,
    RETRY_AFTER_SECONDS,
    database_unavailable,
    is_database_unreachable,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def database_down(monkeypatch):
    """The connection cannot be used: what a health check finds with the server gone."""
    monkeypatch.setattr(connection, "is_usable", lambda: False)


def _refuse(*args, **kwargs):
    raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")


def test_an_api_request_gets_a_json_503_with_retry_after(team, database_down, monkeypatch):
    monkeypatch.setattr(ChangeViewSet, "get_queryset", _refuse)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(team["olivia"])

    response = client.get("/api/v1/changes/")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": DATABASE_UNAVAILABLE}
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)


def test_a_signed_in_page_whose_session_cannot_be_read_gets_the_503_page(
    client, team, database_down, monkeypatch
):
    """The session is read by the sign-in check, in a middleware, before any view runs."""
    client.force_login(team["olivia"])
    client.raise_request_exception = False
    monkeypatch.setattr(SessionStore, "_get_session_from_db", _refuse)

    response = client.get("/")

    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    page = response.content.decode()
    assert "<title>Back in a moment · changedesk</title>" in page
    assert DATABASE_UNAVAILABLE in page
    assert "Sign out" not in page  # nobody is asked who is signed in
    # The headers every page has, though the 503 replaced the 500 drawn inside them.
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_a_lost_connection_in_an_api_view_is_a_503(team, database_down, monkeypatch):
    def lost(*args, **kwargs):
        raise InterfaceError("connection already closed")

    monkeypatch.setattr(ChangeViewSet, "get_queryset", lost)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(team["olivia"])

    response = client.get("/api/v1/changes/")

    assert response.status_code == 503
    assert response.json()["detail"] == DATABASE_UNAVAILABLE


def test_a_database_error_on_a_working_connection_stays_a_500(team, monkeypatch):
    """A deadlock, a lock timeout or a bad query is not the database being away."""
    monkeypatch.setattr(ChangeViewSet, "get_queryset", _refuse)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(team["olivia"])

    response = client.get("/api/v1/changes/")

    assert response.status_code == 500
    assert "Retry-After" not in response
    assert response.json()["detail"] != DATABASE_UNAVAILABLE


def test_another_error_stays_a_500_even_with_the_database_away(team, database_down, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(ChangeViewSet, "get_queryset", broken)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(team["olivia"])

    assert client.get("/api/v1/changes/").status_code == 500


def test_only_connection_errors_with_an_unusable_connection_count(database_down):
    assert is_database_unreachable(OperationalError("server closed the connection"))
    assert is_database_unreachable(InterfaceError("connection already closed"))
    assert not is_database_unreachable(DatabaseError("value too long"))
    assert not is_database_unreachable(RuntimeError("a bug"))
    assert not is_database_unreachable(None)


def test_the_503_page_asks_the_database_nothing(django_assert_num_queries):
    request = RequestFactory().get("/changes/")
    with django_assert_num_queries(0):
        response = database_unavailable(request)
    assert response.status_code == 503
    assert "Back in a moment" in response.content.decode()
