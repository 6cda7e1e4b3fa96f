"""Signing in with a school's directory: Active Directory or OpenLDAP, through django-auth-ldap.

The sign-in page is the same: a person types their directory logon and password, and this
backend (after the password backend) asks the directory. What changedesk adds to
django-auth-ldap's `LDAPBackend`:

- Who may come in. By default only people who already have a changedesk account: matched by
  username (case aside), or else by the directory's e-mail address when exactly one account
  has it. Never an operator (superuser): operators use their changedesk password. With
  `LDAP_CREATE_USERS=true` someone unknown gets an account, with no password and no roles,
  until a school administrator gives them some. Roles are always changedesk's: nothing in
  the directory grants one.
- A disabled account is refused: Active Directory's "account disabled" flag
  (`userAccountControl` bit 2) is read from the person's entry, whatever the search filter.
  A deactivated changedesk account is refused as the password backend refuses it.
- A directory that cannot be reached is a refusal that says so (a message on the page, the
  error in the log), not a 500 and not a silent "wrong password".

The settings block "LDAP sign-in" in settings.py configures it from the environment; this
module is imported only when `LDAP_SERVER_URI` is set, so python-ldap (which needs
libldap2-dev and libsasl2-dev to build) is needed only where LDAP is used.
"""

from __future__ import annotations

import logging
from typing import Any

import ldap
from django.contrib import messages
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.utils.translation import gettext, gettext_noop
from django_auth_ldap.backend import LDAPBackend, ldap_error

from changedesk.accounts.models import User
from changedesk.signin.services import ASCII_LOWER, same_address

logger = logging.getLogger(__name__)

# userAccountControl's ACCOUNTDISABLE flag (Microsoft: "User-Account-Control attribute").
ACCOUNT_DISABLED = 0x2

UNREACHABLE = gettext_noop(
    "The school's directory could not check your password just now. Try again in a few "
    "minutes; if this goes on, tell your ICT team."
)


class SchoolLDAPBackend(LDAPBackend):  # type: ignore[misc, unused-ignore]
    """django-auth-ldap's backend with changedesk's rules on who may come in (module doc)."""

    def authenticate_ldap_user(self, ldap_user: Any, password: str) -> AbstractBaseUser | None:
        """The account the directory vouches for, or None: a deactivated account is
        refused here, as `ModelBackend` refuses it, so the page says only "wrong password"."""
        user: AbstractBaseUser | None = super().authenticate_ldap_user(ldap_user, password)
        if user is not None and not user.is_active:
            logger.info("LDAP sign-in refused for %s: the changedesk account is inactive", user)
            return None
        return user

    def get_or_build_user(self, username: str, ldap_user: Any) -> tuple[User, bool]:
        """The changedesk account for a directory entry the password was right for, and
        whether it is new (unsaved). django-auth-ldap refuses a new one unless
        `AUTH_LDAP_NO_NEW_USERS` is off (`LDAP_CREATE_USERS=true`), and calls this only
        after the password is checked; refusing a disabled entry here refuses it before any
        account is touched. An account is matched by username, else by the directory's
        e-mail address (which the directory must not let people edit for themselves). An
        operator's (superuser's) account is never matched: whoever may make directory
        accounts (a school's AD administrator) must not become changedesk's operator by
        making an `admin` logon; operators sign in with their changedesk password."""
        attrs: dict[str, list[str]] = ldap_user.attrs or {}
        if _disabled(attrs):
            raise ldap_user.AuthenticationFailed("the directory account is disabled")
        user = _by_username(username)
        if user is not None and user.is_superuser:
            raise ldap_user.AuthenticationFailed("an operator signs in with their own password")
        if user is None:
            email = self._email(attrs)
            # The database finds the candidates; `same_address` decides, with no Unicode
            # case rules (PostgreSQL's would make a dotless i an "I").
            found = (
                [
                    user
                    for user in User.objects.filter(email__iexact=email)[:20]
                    if same_address(user.email, email)
                ]
                if email
                else []
            )
            if len(found) > 1:
                # Which person is it? Neither is chosen, nor a third account made.
                raise ldap_user.AuthenticationFailed("more than one account has that e-mail")
            if found and found[0].is_superuser:
                # An operator is matched by username only: an entry's mail attribute must
                # not make someone an operator.
                raise ldap_user.AuthenticationFailed("an operator's e-mail is not matched")
            user = found[0] if found else None
        if user is not None:
            return user, False
        return User(username=username.lower()), True

    def _email(self, attrs: dict[str, list[str]]) -> str:
        attribute = self.settings.USER_ATTR_MAP.get("email")
        values = attrs.get(attribute, []) if attribute else []
        return values[0].strip() if values else ""


def _disabled(attrs: dict[str, list[str]]) -> bool:
    """Whether AD's userAccountControl marks the entry disabled (an entry without it is
    not: OpenLDAP has no such flag, its directories leave disabled people out by filter)."""
    for value in attrs.get("userAccountControl", []):
        try:
            if int(value) & ACCOUNT_DISABLED:
                return True
        except ValueError:
            return True  # a flag we cannot read: refuse rather than guess
    return False


def _by_username(username: str) -> User | None:
    """The account with this username, the case of ASCII letters aside; when two differ
    only in case, the exact one. Unicode's case rules are not used (PostgreSQL's UPPER makes
    a dotless i an "I"): a directory logon spelt with one is not the account spelt with an "i"."""
    wanted = username.translate(ASCII_LOWER)
    found = [
        user
        for user in User.objects.filter(username__iexact=username)[:20]
        if user.username.translate(ASCII_LOWER) == wanted
    ]
    if len(found) == 1:
        return found[0]
    return next((user for user in found if user.username == username), None)


def _unreachable(
    sender: type[Any],
    context: str,
    user: Any,
    request: HttpRequest | None,
    exception: ldap.LDAPError,
    **kwargs: Any,
) -> None:
    """Tell the person on the sign-in page that the directory, not their password, failed.
    django-auth-ldap has already logged the error, and refuses the sign-in."""
    logger.error("LDAP sign-in could not ask the directory (%s): %r", context, exception)
    if request is not None and isinstance(sender, type) and issubclass(sender, LDAPBackend):
        messages.error(request, gettext(UNREACHABLE), fail_silently=True)


ldap_error.connect(_unreachable, dispatch_uid="changedesk.signin.ldap.unreachable")
