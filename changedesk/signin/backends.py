"""Signing in with a password, refused to the members of a school that requires single
sign-on (`services.sso_required_for`).

Used in place of Django's `ModelBackend` (settings.AUTHENTICATION_BACKENDS). The refusal
is a ValidationError, so that the sign-in form (and the admin's) shows it as it is, rather
than "wrong username or password": it is raised only once the password is found right, so
it tells no one else whether an account exists. A reset password is no way round it: a
reset never signs anyone in, and the new password is refused as the old one was. API
tokens are made only by someone signed in (or by an operator on the command line)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from changedesk.signin.services import sso_required_for, sso_required_message


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
            raise ValidationError(sso_required_message(), code="sso_required")
        return user
