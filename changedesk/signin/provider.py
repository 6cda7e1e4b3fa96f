"""The OpenID Connect provider this changedesk is configured with (settings.py, "OpenID
Connect sign-in"): whether there is one, its name, and its endpoints.

The endpoints are read from the provider's discovery document
(`<OIDC_ISSUER>/.well-known/openid-configuration`) the first time they are needed and kept
for an hour; any given in the environment are used as given. Nothing is fetched while
settings load or while a signed-in person's session is read, only when someone signs in."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings

DISCOVERY_KEPT_SECONDS = 60 * 60


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be read or does not fit the issuer."""


@dataclass(frozen=True)
class Endpoints:
    authorization: str
    token: str
    jwks: str


_discovered: dict[str, tuple[float, dict[str, Any]]] = {}


def enabled() -> bool:
    """Whether OpenID Connect sign-in is configured on this changedesk."""
    return bool(getattr(settings, "OIDC_ENABLED", False))


def name() -> str:
    """The provider's name as people know it ("Microsoft", "Google")."""
    return str(getattr(settings, "OIDC_PROVIDER_NAME", "") or "single sign-on")


def issuer() -> str:
    return str(settings.OIDC_ISSUER).rstrip("/")


def endpoints() -> Endpoints:
    """The provider's endpoints: as configured, else as its discovery document says."""
    given = {
        "authorization": settings.OIDC_OP_AUTHORIZATION_ENDPOINT,
        "token": settings.OIDC_OP_TOKEN_ENDPOINT,
        "jwks": settings.OIDC_OP_JWKS_ENDPOINT,
    }
    if all(given.values()):
        return Endpoints(**given)
    document = _discovery()
    keys = {"authorization": "authorization_endpoint", "token": "token_endpoint"}
    keys["jwks"] = "jwks_uri"
    found: dict[str, str] = {}
    for part, key in keys.items():
        value = given[part] or document.get(key)
        if not isinstance(value, str) or not value:
            raise ProviderUnavailable(f"The discovery document lacks {key}.")
        found[part] = value
    return Endpoints(**found)


def _discovery() -> dict[str, Any]:
    url = f"{issuer()}/.well-known/openid-configuration"
    kept = _discovered.get(url)
    if kept is not None and kept[0] > time.monotonic():
        return kept[1]
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(f"Could not read {url}: {exc}") from None
    if not isinstance(document, dict):
        raise ProviderUnavailable(f"{url} is not a discovery document.")
    if str(document.get("issuer", "")).rstrip("/") != issuer():
        raise ProviderUnavailable(
            f"{url} names the issuer {document.get('issuer')!r}, not {issuer()!r}."
        )
    _discovered[url] = (time.monotonic() + DISCOVERY_KEPT_SECONDS, document)
    return document


def forget() -> None:
    """Forget the discovery documents read (for tests, and a changed configuration)."""
    _discovered.clear()
