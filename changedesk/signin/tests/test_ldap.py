"""LDAP / Active Directory sign-in against a real slapd, through the real sign-in page.

The module starts its own slapd (Debian's `slapd` package) on a free port, in a temporary
folder, with the test school's directory loaded (tests/ldap/: a tiny mdb database, a
service account, AD's logon name and "disabled" flag in a little schema of their own), and
stops it at the end. The settings come from settings.py's "LDAP sign-in" block itself, run
with the environment a school would set, so the block is tested too. StartTLS is on (the
default) with a certificate made for the test; the server answers ldaps:// too.

Without slapd or python-ldap the module is skipped, saying which is missing, unless
CHANGEDESK_REQUIRE_LDAP=1 (as .ci/run sets), when it fails instead.
"""

from __future__ import annotations

import os
import runpy
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Membership, User
from changedesk.conftest import PASSWORD

HERE = Path(__file__).parent / "ldap"
SETTINGS_FILE = Path(__file__).parents[2] / "settings.py"
SLAPD = shutil.which("slapd") or shutil.which("slapd", path="/usr/sbin:/usr/local/sbin")
BACKEND = "changedesk.signin.ldap.SchoolLDAPBackend"
LOGIN = "/accounts/login/"
ORDINARY = "Please enter a correct username and password"
SUFFIX = "dc=school,dc=example"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "directory-admin-secret"
SERVICE_DN = f"cn=changedesk,ou=service,{SUFFIX}"
SERVICE_PASSWORD = "service-account-secret"


def _require_ldap() -> None:
    missing = []
    if SLAPD is None:
        missing.append("slapd (Debian's slapd package)")
    try:
        import django_auth_ldap  # noqa: F401
        import ldap  # noqa: F401
    except ImportError:
        missing.append(
            "python-ldap and django-auth-ldap (requirements-ldap.txt; they build against "
            "libldap2-dev and libsasl2-dev)"
        )
    if missing:
        reason = "LDAP sign-in tests need " + " and ".join(missing)
        if os.environ.get("CHANGEDESK_REQUIRE_LDAP") == "1":
            raise RuntimeError(f"CHANGEDESK_REQUIRE_LDAP=1 but: {reason}")
        pytest.skip(reason, allow_module_level=True)


_require_ldap()

import ldap  # noqa: E402
import ldif  # noqa: E402

pytestmark = pytest.mark.django_db


# --- The directory server. ---


@dataclass
class Directory:
    url: str
    ldaps_url: str
    ca_file: Path
    folder: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _certificates(folder: Path) -> dict[str, Path]:
    """A CA and, signed by it, the server's certificate for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)

    def key_pem(key):
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def certificate(subject, key, issuer, issuer_key, *, ca: bool):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]),
                critical=False,
            )
        return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    server_key = ec.generate_private_key(ec.SECP256R1())
    stranger_key = ec.generate_private_key(ec.SECP256R1())
    files = {
        "ca": certificate("Test school CA", ca_key, "Test school CA", ca_key, ca=True),
        "stranger": certificate("Someone else's CA", stranger_key, "x", stranger_key, ca=True),
        "cert": certificate("127.0.0.1", server_key, "Test school CA", ca_key, ca=False),
        "key": key_pem(server_key),
    }
    paths = {}
    for name, content in files.items():
        paths[name] = folder / f"{name}.pem"
        paths[name].write_bytes(content)
    return paths


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 15
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"slapd stopped at start-up:\n{log.read_text()}")
        try:
            connection = ldap.initialize(url)
            connection.simple_bind_s(ADMIN_DN, ADMIN_PASSWORD)
            connection.unbind_s()
            return
        except ldap.SERVER_DOWN:
            if time.monotonic() > deadline:
                raise RuntimeError(f"slapd did not answer at {url}:\n{log.read_text()}") from None
            time.sleep(0.05)


def _load(url: str) -> None:
    with (HERE / "people.ldif").open("rb") as people:
        parser = ldif.LDIFRecordList(people)
        parser.parse()
    connection = ldap.initialize(url)
    connection.simple_bind_s(ADMIN_DN, ADMIN_PASSWORD)
    for dn, entry in parser.all_records:
        connection.add_s(dn, list(entry.items()))
    connection.unbind_s()


@pytest.fixture(scope="module")
def directory(tmp_path_factory):
    """The school's directory: a slapd of the test's own, stopped when the module ends."""
    folder = tmp_path_factory.mktemp("slapd")
    (folder / "db").mkdir()
    tls = _certificates(folder)
    config = (HERE / "slapd.conf").read_text()
    for marker, value in {
        "{here}": str(HERE),
        "{dir}": str(folder),
        "{admin_password}": ADMIN_PASSWORD,
        "{tls}": (
            f"TLSCACertificateFile {tls['ca']}\n"
            f"TLSCertificateFile {tls['cert']}\n"
            f"TLSCertificateKeyFile {tls['key']}"
        ),
    }.items():
        config = config.replace(marker, value)
    (folder / "slapd.conf").write_text(config)
    url = f"ldap://127.0.0.1:{_free_port()}"
    ldaps_url = f"ldaps://127.0.0.1:{_free_port()}"
    log = folder / "slapd.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [SLAPD, "-h", f"{url} {ldaps_url}", "-f", str(folder / "slapd.conf"), "-d", "0"],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(url, process, log)
        _load(url)
        yield Directory(url=url, ldaps_url=ldaps_url, ca_file=tls["ca"], folder=folder)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- The settings, from settings.py's own LDAP block. ---


def ldap_settings(monkeypatch, tmp_path, **environment: str) -> dict:
    """What settings.py makes of the environment `environment` (plus DATA_DIR), its
    AUTH_LDAP_* settings and AUTHENTICATION_BACKENDS. LDAP variables of the shell running
    the tests are left out."""
    for name in list(os.environ):
        if name.startswith("LDAP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    made = runpy.run_path(str(SETTINGS_FILE))
    return {
        name: value
        for name, value in made.items()
        if name.startswith("AUTH_LDAP_") or name == "AUTHENTICATION_BACKENDS"
    }


def school_environment(directory: Directory, **more: str) -> dict[str, str]:
    """What a school with Active Directory sets (README), pointed at the test directory."""
    return {
        "LDAP_SERVER_URI": directory.url,
        "LDAP_BIND_DN": SERVICE_DN,
        "LDAP_BIND_PASSWORD": SERVICE_PASSWORD,
        "LDAP_USER_SEARCH_BASE": f"ou=staff,{SUFFIX}",
        "LDAP_CA_FILE": str(directory.ca_file),
        "LDAP_TIMEOUT": "3",
        **more,
    }


@pytest.fixture
def use_ldap(settings, monkeypatch, tmp_path, directory):
    """Switch the directory on, as a school configures it; call again with more variables."""

    def configure(**more: str) -> None:
        for name, value in ldap_settings(
            monkeypatch, tmp_path, **school_environment(directory, **more)
        ).items():
            setattr(settings, name, value)

    configure()
    return configure


# --- Through the sign-in page. ---


def sign_in(client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password})


def signed_in_as(client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def test_the_settings_block_adds_the_backend_after_passwords(use_ldap, settings):
    assert settings.AUTHENTICATION_BACKENDS[-1] == BACKEND
    assert len(settings.AUTHENTICATION_BACKENDS) > 1
    assert settings.AUTH_LDAP_START_TLS is True
    assert settings.AUTH_LDAP_NO_NEW_USERS is True


def test_the_right_directory_password_signs_in_and_copies_name_and_email(
    use_ldap, client, olivia, school
):
    response = sign_in(client, "olivia", "olivia-directory-pw")
    assert response.status_code == 302
    assert client.session["_auth_user_backend"] == BACKEND
    user = signed_in_as(client)
    assert user == olivia
    assert (user.first_name, user.last_name) == ("Olivia", "Okafor-Reid")
    assert user.email == "olivia.okafor@greenfield.example"
    # Roles stay changedesk's, and the changedesk password still works.
    membership = Membership.objects.get(user=user, school=school)
    assert set(membership.role_list) == {Role.ORIGINATOR, Role.IMPLEMENTER}
    assert user.check_password(PASSWORD)
    # The next page knows who it is (the backend loads the user from the session).
    assert client.get("/accounts/me/").status_code == 200


def test_the_logon_name_is_not_case_sensitive(use_ldap, client, olivia):
    assert sign_in(client, "Olivia", "olivia-directory-pw").status_code == 302
    assert signed_in_as(client) == olivia


def test_a_wrong_password_is_refused_with_the_ordinary_message(use_ldap, client, olivia):
    response = sign_in(client, "olivia", "not-her-password")
    assert response.status_code == 200
    assert ORDINARY in response.content.decode()
    assert signed_in_as(client) is None


def test_someone_with_another_logon_is_matched_by_email(use_ldap, client, fiona):
    assert sign_in(client, "ffraser", "fiona-directory-pw").status_code == 302
    assert signed_in_as(client) == fiona
    assert not User.objects.filter(username="ffraser").exists()


def test_an_email_two_accounts_share_matches_neither(use_ldap, client, fiona):
    User.objects.create(username="fiona2", email="FIONA@greenfield.example")
    response = sign_in(client, "ffraser", "fiona-directory-pw")
    assert ORDINARY in response.content.decode()
    assert signed_in_as(client) is None
    assert not User.objects.filter(username="ffraser").exists()


def test_with_create_users_on_a_shared_email_still_matches_nobody(use_ldap, client, fiona):
    use_ldap(LDAP_CREATE_USERS="true")
    User.objects.create(username="fiona2", email="fiona@greenfield.example")
    assert ORDINARY in sign_in(client, "ffraser", "fiona-directory-pw").content.decode()
    assert not User.objects.filter(username="ffraser").exists()


def test_an_operator_is_not_matched_by_email(use_ldap, client, fiona):
    fiona.is_superuser = True
    fiona.save()
    assert ORDINARY in sign_in(client, "ffraser", "fiona-directory-pw").content.decode()
    assert signed_in_as(client) is None


def test_an_operator_never_signs_in_through_the_directory(use_ldap, client, olivia):
    # Whoever may make directory logons must not become changedesk's operator by making
    # one with an operator's username: operators use their changedesk password.
    olivia.is_superuser = True
    olivia.save()
    assert ORDINARY in sign_in(client, "olivia", "olivia-directory-pw").content.decode()
    assert signed_in_as(client) is None


def test_someone_unknown_to_changedesk_is_refused_and_no_account_is_made(use_ldap, client):
    response = sign_in(client, "nia", "nia-directory-pw")
    assert response.status_code == 200
    assert ORDINARY in response.content.decode()
    assert signed_in_as(client) is None
    assert not User.objects.filter(username="nia").exists()


def test_with_create_users_on_someone_new_gets_an_account_with_no_roles(use_ldap, client):
    use_ldap(LDAP_CREATE_USERS="true")
    assert sign_in(client, "nia", "nia-directory-pw").status_code == 302
    nia = User.objects.get(username="nia")
    assert signed_in_as(client) == nia
    assert (nia.first_name, nia.last_name, nia.email) == ("Nia", "Newydd", "nia@greenfield.example")
    assert not nia.has_usable_password()
    assert not nia.memberships.exists()
    assert not (nia.is_staff or nia.is_superuser)


def test_with_create_users_on_a_wrong_password_still_makes_nothing(use_ldap, client):
    use_ldap(LDAP_CREATE_USERS="true")
    assert ORDINARY in sign_in(client, "nia", "guess").content.decode()
    assert not User.objects.filter(username="nia").exists()


def test_someone_not_in_the_directory_is_refused(use_ldap, client):
    use_ldap(LDAP_CREATE_USERS="true")
    assert ORDINARY in sign_in(client, "mallory", "anything").content.decode()
    assert not User.objects.filter(username="mallory").exists()


def test_a_disabled_directory_account_is_refused_even_with_its_password(use_ldap, client, school):
    User.objects.create(username="dan", email="dan@greenfield.example")
    response = sign_in(client, "dan", "dan-directory-pw")
    assert response.status_code == 200
    assert ORDINARY in response.content.decode()
    assert signed_in_as(client) is None


def test_a_deactivated_changedesk_account_is_refused(use_ldap, client, olivia):
    olivia.is_active = False
    olivia.save()
    response = sign_in(client, "olivia", "olivia-directory-pw")
    assert response.status_code == 200
    assert signed_in_as(client) is None


def test_the_directory_being_down_is_a_clear_refusal_not_a_500(use_ldap, client, olivia):
    use_ldap(LDAP_SERVER_URI=f"ldap://127.0.0.1:{_free_port()}")
    response = sign_in(client, "olivia", "olivia-directory-pw")
    assert response.status_code == 200
    page = response.content.decode()
    assert "directory could not check your password" in page
    assert signed_in_as(client) is None
    # A changedesk password still works while the directory is away.
    assert sign_in(client, "olivia", PASSWORD).status_code == 302
    assert client.session["_auth_user_backend"] != BACKEND


def test_a_directory_whose_certificate_is_not_trusted_is_refused(use_ldap, client, directory):
    use_ldap(LDAP_CA_FILE=str(directory.folder / "stranger.pem"))
    response = sign_in(client, "olivia", "olivia-directory-pw")
    assert response.status_code == 200
    assert "directory could not check your password" in response.content.decode()
    assert signed_in_as(client) is None


def test_without_starttls_it_signs_in_over_plain_ldap(use_ldap, client, olivia):
    use_ldap(LDAP_START_TLS="false", LDAP_CA_FILE="")
    assert sign_in(client, "olivia", "olivia-directory-pw").status_code == 302


def test_over_ldaps_it_signs_in_without_starttls(use_ldap, client, directory, settings, olivia):
    use_ldap(
        LDAP_SERVER_URI=directory.ldaps_url, LDAP_CA_FILE=str(directory.folder / "stranger.pem")
    )
    assert "directory could not check" in sign_in(client, "olivia", "olivia-directory-pw").text
    use_ldap(LDAP_SERVER_URI=directory.ldaps_url)
    assert settings.AUTH_LDAP_START_TLS is False
    assert sign_in(client, "olivia", "olivia-directory-pw").status_code == 302


def test_openldap_s_uid_filter_works_too(use_ldap, client, fiona):
    use_ldap(LDAP_USER_FILTER="(uid=%(user)s)")
    assert sign_in(client, "ffraser", "fiona-directory-pw").status_code == 302
    assert signed_in_as(client) == fiona


def test_a_wrong_service_account_password_is_a_clear_refusal(use_ldap, client, olivia):
    use_ldap(LDAP_BIND_PASSWORD="not-the-secret")
    response = sign_in(client, "olivia", "olivia-directory-pw")
    assert "directory could not check your password" in response.content.decode()
    assert signed_in_as(client) is None


def test_wrong_directory_passwords_count_towards_the_sign_in_throttle(
    use_ldap, client, settings, olivia
):
    settings.LOGIN_ATTEMPTS_LIMIT = 2
    for _ in range(2):
        sign_in(client, "olivia", "wrong")
    assert sign_in(client, "olivia", "olivia-directory-pw").status_code == 429


def test_a_school_that_requires_single_sign_on_lets_its_members_in_through_the_directory(
    use_ldap, client, olivia, school
):
    from changedesk.signin.models import SchoolSignIn

    SchoolSignIn.objects.create(school=school, require_sso=True)
    refused = sign_in(client, "olivia", PASSWORD)
    assert "not with a password" in refused.text
    assert signed_in_as(client) is None
    assert sign_in(client, "olivia", "olivia-directory-pw").status_code == 302
    assert client.session["_auth_user_backend"] == BACKEND


def test_a_changedesk_password_that_is_also_the_directory_s_lets_the_directory_in(
    use_ldap, client, olivia, school
):
    from changedesk.signin.models import SchoolSignIn

    SchoolSignIn.objects.create(school=school, require_sso=True)
    olivia.set_password("olivia-directory-pw")
    olivia.save()
    assert sign_in(client, "olivia", "olivia-directory-pw").status_code == 302
    assert signed_in_as(client) == olivia
    # Signed in by the directory, not by a password (whose session single sign-on ends).
    assert client.session["_auth_user_backend"] == BACKEND
    client.logout()
    # A superseded changedesk password the directory does not know is still refused.
    olivia.set_password(PASSWORD)
    olivia.save()
    assert "not with a password" in sign_in(client, "olivia", PASSWORD).text
    assert signed_in_as(client) is None


@pytest.mark.parametrize("typed", ["*", "oli*", "olivia)(uid=*", "olivia\\"])
def test_a_logon_name_cannot_reach_into_the_search_filter(use_ldap, client, olivia, typed):
    response = sign_in(client, typed, "olivia-directory-pw")
    assert response.status_code == 200
    assert signed_in_as(client) is None


# --- Look-alike letters (PostgreSQL's UPPER makes a dotless i an "I"). ---


def test_a_logon_with_a_dotless_i_is_not_the_account_with_an_i(olivia):
    from changedesk.signin.ldap import _by_username

    assert _by_username("OLIVIA") == olivia
    assert _by_username("ol\u0131via") is None


def test_a_directory_address_with_a_dotless_i_matches_no_account(settings, olivia, fiona):
    from changedesk.signin.ldap import SchoolLDAPBackend

    settings.AUTH_LDAP_USER_ATTR_MAP = {"email": "mail"}

    class Entry:
        attrs = {"mail": ["ol\u0131via@greenfield.example"]}

        class AuthenticationFailed(Exception):
            pass

    user, new = SchoolLDAPBackend().get_or_build_user("someone", Entry())
    assert new and user.pk is None
    Entry.attrs = {"mail": ["FIONA@greenfield.example"]}
    assert SchoolLDAPBackend().get_or_build_user("someone", Entry()) == (fiona, False)
