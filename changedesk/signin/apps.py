"""Signing in other than with a password: OpenID Connect (Microsoft Entra ID, Google
Workspace) and LDAP / Active Directory, and a school's rule that its members use them."""

from django.apps import AppConfig


class SigninConfig(AppConfig):
    name = "changedesk.signin"
    label = "signin"
    verbose_name = "Signing in"
