"""settings.py's "LDAP sign-in" block: off without LDAP_SERVER_URI, and a clear refusal at
start-up for a configuration that cannot work. Runs the real settings.py with the
environment given; needs no directory server. The tests of a configured block need
python-ldap (requirements-ldap.txt) and skip without it, unless CHANGEDESK_REQUIRE_LDAP=1."""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

SETTINGS_FILE = Path(__file__).parents[2] / "settings.py"
BACKEND = "changedesk.signin.ldap.SchoolLDAPBackend"
LDAP_VARIABLES = [
    "LDAP_SERVER_URI",
    "LDAP_BIND_DN",
    "LDAP_BIND_PASSWORD",
    "LDAP_USER_SEARCH_BASE",
    "LDAP_USER_FILTER",
    "LDAP_START_TLS",
    "LDAP_CA_FILE",
    "LDAP_TIMEOUT",
    "LDAP_CREATE_USERS",
    "LDAP_ATTR_FIRST_NAME",
    "LDAP_ATTR_LAST_NAME",
    "LDAP_ATTR_EMAIL",
]


def made(monkeypatch, tmp_path, **environment: str) -> dict:
    """settings.py's globals, run with only `environment` of the LDAP variables set."""
    for name in LDAP_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


def needs_python_ldap() -> None:
    try:
        import django_auth_ldap  # noqa: F401
        import ldap  # noqa: F401
    except ImportError:
        if os.environ.get("CHANGEDESK_REQUIRE_LDAP") == "1":
            raise
        pytest.skip("needs python-ldap and django-auth-ldap (requirements-ldap.txt)")


AD = {
    "LDAP_SERVER_URI": "ldap://dc1.school.local",
    "LDAP_BIND_DN": "CN=changedesk,OU=Service,DC=school,DC=local",
    "LDAP_BIND_PASSWORD": "secret",
    "LDAP_USER_SEARCH_BASE": "OU=Staff,DC=school,DC=local",
}


def test_without_a_server_there_is_no_ldap(monkeypatch, tmp_path):
    values = made(monkeypatch, tmp_path)
    assert BACKEND not in values["AUTHENTICATION_BACKENDS"]
    assert not [name for name in values if name.startswith("AUTH_LDAP_")]


def test_a_server_without_python_ldap_is_refused_at_start_up_saying_what_to_install(
    monkeypatch, tmp_path
):
    monkeypatch.setitem(sys.modules, "ldap", None)  # as if it were not installed
    with pytest.raises(ImproperlyConfigured, match=r"requirements-ldap\.txt"):
        made(monkeypatch, tmp_path, **AD)


def test_active_directory_defaults(monkeypatch, tmp_path):
    needs_python_ldap()
    without = made(monkeypatch, tmp_path)["AUTHENTICATION_BACKENDS"]
    values = made(monkeypatch, tmp_path, **AD)
    # Appended after the others (passwords first), never in their place.
    assert values["AUTHENTICATION_BACKENDS"] == [*without, BACKEND]
    assert values["AUTH_LDAP_USER_SEARCH"].filterstr == "(sAMAccountName=%(user)s)"
    assert values["AUTH_LDAP_USER_SEARCH"].base_dn == "OU=Staff,DC=school,DC=local"
    assert values["AUTH_LDAP_START_TLS"] is True
    assert values["AUTH_LDAP_NO_NEW_USERS"] is True
    assert values["AUTH_LDAP_USER_ATTR_MAP"] == {
        "first_name": "givenName",
        "last_name": "sn",
        "email": "mail",
    }


def test_ldaps_needs_no_starttls_and_refuses_it(monkeypatch, tmp_path):
    needs_python_ldap()
    ldaps = {**AD, "LDAP_SERVER_URI": "ldaps://dc1.school.local"}
    assert made(monkeypatch, tmp_path, **ldaps)["AUTH_LDAP_START_TLS"] is False
    with pytest.raises(ImproperlyConfigured, match="LDAP_START_TLS"):
        made(monkeypatch, tmp_path, **ldaps, LDAP_START_TLS="true")


def test_a_server_without_a_search_base_is_refused(monkeypatch, tmp_path):
    needs_python_ldap()
    with pytest.raises(ImproperlyConfigured, match="LDAP_USER_SEARCH_BASE"):
        made(monkeypatch, tmp_path, **{**AD, "LDAP_USER_SEARCH_BASE": ""})


def test_a_bad_yes_or_no_is_refused(monkeypatch, tmp_path):
    needs_python_ldap()
    with pytest.raises(ImproperlyConfigured, match="LDAP_CREATE_USERS"):
        made(monkeypatch, tmp_path, **AD, LDAP_CREATE_USERS="perhaps")


def test_a_missing_ca_file_is_refused_at_start_up(monkeypatch, tmp_path):
    needs_python_ldap()
    with pytest.raises(ImproperlyConfigured, match="LDAP_CA_FILE"):
        made(monkeypatch, tmp_path, **AD, LDAP_CA_FILE=str(tmp_path / "no-such-ca.pem"))


def test_a_timeout_of_nothing_is_refused(monkeypatch, tmp_path):
    needs_python_ldap()
    with pytest.raises(ImproperlyConfigured, match="LDAP_TIMEOUT"):
        made(monkeypatch, tmp_path, **AD, LDAP_TIMEOUT="0")
