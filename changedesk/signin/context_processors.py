"""What the sign-in page needs to offer single sign-on: the provider's name, when there is
one (settings TEMPLATES)."""

from __future__ import annotations

from django.http import HttpRequest

from changedesk.signin import provider


def sign_in(request: HttpRequest) -> dict[str, str]:
    return {"oidc_provider_name": provider.name() if provider.enabled() else ""}
