"""Signing in other than with a password: OpenID Connect (Microsoft Entra ID, Google
Workspace) and LDAP / Active Directory, and a school's or trust's rule that its members use
them."""

from typing import Any

from django.apps import AppConfig


class SigninConfig(AppConfig):
    name = "changedesk.signin"
    label = "signin"
    verbose_name = "Signing in"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from changedesk.accounts.authentication import register_token_check
        from changedesk.signin import services

        register_token_check(services.token_refusal)
        user_logged_in.connect(_signed_in, dispatch_uid="changedesk.signin.record")


def _signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """How the person signed in (`services.record_sign_in`), for their API tokens."""
    from django.contrib.auth import BACKEND_SESSION_KEY

    from changedesk.signin import services

    session = getattr(request, "session", None)
    backend = session.get(BACKEND_SESSION_KEY) if session is not None else None
    services.record_sign_in(user, backend or getattr(user, "backend", "") or "")
