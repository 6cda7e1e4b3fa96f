"""Signing in with a password, refused to the members of a school that requires single
sign-on (`services.sso_required_for`), and a session signed in with one ended as soon as it
is required of them (`get_user`: Django asks the backend that signed the session in for its
person on every request).

Used in place of Django's `ModelBackend` (settings.AUTHENTICATION_BACKENDS). The refusal
is a ValidationError, so that the sign-in form (and the admin's) shows it as it is, rather
than "wrong username or password": it is raised only once the password is found right, so
it tells no one else whether an account exists. A reset password is no way round it: a
reset never signs anyone in, and the new password is refused as the old one was. API
tokens are made only by someone signed in (or by an operator on the command line), and
one made before its owner signed in with single sign-on is refused where it is required
of them (`services.token_refusal`, asked by `accounts.authentication`).

Where the school's directory (LDAP) is the single sign-on, a right changedesk password
that is also the directory's is let in by the directory (`_directory_backends`): this
backend then answers None, and the directory's backend, next in the list, signs the
person in, so that their session is the directory's and not a password's."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import load_backend
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from changedesk.signin.services import (
    PASSWORD_BACKENDS,
    sso_required_for,
    sso_required_message,
)


class PasswordBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and sso_required_for(user):
            # The school's directory is single sign-on typed into this same form: a
            # person whose changedesk password is also their directory password is let in
            # by the directory, as they would be had the two differed.
            for backend in _directory_backends():
                vouched = backend.authenticate(request, username=username, password=password)
                if vouched is not None:
                    return None  # the directory's backend, after this one, signs them in
            raise ValidationError(sso_required_message(), code="sso_required")
        return user

    def get_user(self, user_id: Any) -> Any:
        """The person a password session belongs to, while a password is still enough for
        them: once single sign-on is required of them, the session ends (they are asked
        to sign in again, with single sign-on)."""
        user = super().get_user(user_id)
        if user is not None and sso_required_for(user):
            return None
        return user


def _directory_backends() -> list[Any]:
    """The backends after this one that check a typed password against a directory (the
    LDAP backend), as configured."""
    return [
        load_backend(path)
        for path in settings.AUTHENTICATION_BACKENDS
        if path not in PASSWORD_BACKENDS and not path.startswith("changedesk.signin.oidc")
    ]
