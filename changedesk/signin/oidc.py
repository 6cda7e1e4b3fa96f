"""Signing in with OpenID Connect (Microsoft Entra ID, Google Workspace, any provider
that follows the standard), on mozilla-django-oidc's authorisation code flow with PKCE.

The library checks the ID token's signature and nonce; `OIDCBackend` adds what it leaves
out: the token must be meant for this changedesk (`aud`, and `azp` where there are several
audiences), come from the configured issuer, and be in date (`exp`, `iat`, with
OIDC_CLOCK_SKEW seconds of leeway). The person is taken from the ID token's claims only,
and must have an e-mail address the provider says it has verified (one of the
OIDC_VERIFIED_EMAIL_CLAIMS true) and, where OIDC_HOSTED_DOMAIN_CLAIM is set (Google's
`hd`), be an account of an organisation whose domain a school allows. Who that is, and
whether they get an account, is `services.account_for`. Every refusal is told to the
person on the sign-in page."""

from __future__ import annotations

import logging
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from changedesk.signin import provider
from changedesk.signin.services import SignInRefused, account_for, organisation_allowed

logger = logging.getLogger(__name__)


def _not_in_date(name: str) -> str:
    return (
        f"The sign-in from {name} was out of date (its token had expired or was issued in "
        "the future). Check this computer's clock, then try again."
    )


class OIDCBackend(OIDCAuthenticationBackend):  # type: ignore[misc]  # the library is untyped
    """mozilla-django-oidc's backend with the ID token's claims checked in full."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Unlike the library's, reads no endpoint: Django makes a backend to load the
        # signed-in person on every request, and discovery waits until someone signs in.
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.OIDC_OP_USER_ENDPOINT = ""
        self.UserModel = get_user_model()

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:  # the library's name
        return provider.endpoints().token

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:  # the library's name
        return provider.endpoints().jwks

    def get_user(self, user_id: Any) -> Any:
        """The signed-in person, while their account is switched on (as for a password:
        the library's own would keep a switched-off account signed in)."""
        return ModelBackend.get_user(self, user_id)

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> Any:
        """The person the provider's answer names; None, with the reason told on the next
        page, when it is refused. Only the callback's call (which gives a nonce) is ours:
        a password sign-in passes by."""
        if request is None or "nonce" not in kwargs or "password" in kwargs:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except SignInRefused as refused:
            message = refused.message
        except (requests.RequestException, provider.ProviderUnavailable) as exc:
            logger.warning("OpenID Connect sign-in failed: %s", exc)
            message = _unreachable()
        except SuspiciousOperation as exc:
            logger.warning("OpenID Connect sign-in refused: %s", exc)
            message = _untrusted()
        except (jwt.PyJWTError, KeyError, TypeError, AttributeError, ValueError):
            # The library reads the provider's answers as it expects them: a token answer
            # with no ID token, a header or key set missing a field, or a key it cannot
            # load fail there. A refusal, not a 500; logged in full, as it may be a bug.
            logger.exception("OpenID Connect sign-in failed on the provider's answer")
            message = _untrusted()
        messages.error(request, message)
        return None

    def _verify_jws(self, payload: Any, key: Any) -> dict[str, Any]:
        """The ID token's claims, once its signature, algorithm, audience, issuer and
        dates are checked."""
        name = provider.name()
        try:
            alg = jwt.get_unverified_header(payload).get("alg")
        except jwt.InvalidTokenError:
            raise SuspiciousOperation("The ID token is not a JWT.") from None
        if alg != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation(f"The ID token is signed with {alg!r}.")
        try:
            claims: dict[str, Any] = jwt.decode(
                payload,
                key,
                algorithms=[alg],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=provider.issuer(),
                leeway=settings.OIDC_CLOCK_SKEW,
                options={"require": ["exp", "iat", "aud", "iss", "sub"]},
            )
        except jwt.InvalidAudienceError:
            raise SignInRefused(
                f"The sign-in from {name} was meant for another application, not this "
                "changedesk, so it is refused."
            ) from None
        except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError):
            raise SignInRefused(_not_in_date(name)) from None
        except jwt.InvalidIssuerError:
            raise SignInRefused(
                f"The sign-in did not come from the {name} this changedesk trusts."
            ) from None
        except jwt.InvalidTokenError as exc:
            raise SuspiciousOperation(f"ID token refused: {exc}") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SignInRefused(
                f"The sign-in from {name} was meant for another application, not this "
                "changedesk, so it is refused."
            )
        return claims

    def get_or_create_user(self, access_token: Any, id_token: Any, payload: Any) -> Any:
        """The account of the ID token's verified e-mail address (`services.account_for`)."""
        name = provider.name()
        email = payload.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise SignInRefused(
                f"{name} did not tell changedesk your e-mail address, so it cannot tell who "
                "you are. Ask the person who runs changedesk to check its scopes."
            )
        email = email.strip()
        verified = settings.OIDC_VERIFIED_EMAIL_CLAIMS
        if not any(
            payload.get(claim) is True or payload.get(claim) == "true" for claim in verified
        ):
            raise SignInRefused(
                f"{name} has not verified your e-mail address ({email}), so changedesk cannot "
                "match it to an account. Verify it with your provider, or ask your "
                "administrator."
            )
        hosted = settings.OIDC_HOSTED_DOMAIN_CLAIM
        if hosted and not organisation_allowed(payload.get(hosted)):
            raise SignInRefused(
                f"{name} says the account you signed in with ({email}) is not your school's "
                "own (it may be a personal one made with a school address). Sign in with "
                "your school account."
            )
        return account_for(email, payload)


def _started_here(request: HttpRequest) -> bool:
    """Whether the callback's `state` is one of a sign-in this browser started (and has not
    finished): the library keeps them in the session."""
    states = request.session.get("oidc_states")
    return isinstance(states, dict) and request.GET.get("state", "") in states


def _refuse_unless_enabled() -> None:
    if not provider.enabled():
        raise Http404("Single sign-on is not configured here.")


class StartView(OIDCAuthenticationRequestView):  # type: ignore[misc]  # the library is untyped
    """Sends the person to the provider to sign in (`?next=` is kept for afterwards)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The library's reads the endpoint here; it is read when asked for, below.
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    def get(self, request: HttpRequest) -> HttpResponse:
        _refuse_unless_enabled()
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider.endpoints().authorization
        except provider.ProviderUnavailable as exc:
            logger.warning("OpenID Connect sign-in failed: %s", exc)
            messages.error(request, _unreachable())
            return HttpResponseRedirect(reverse("accounts:login"))
        response: HttpResponse = super().get(request)
        return response


class CallbackView(OIDCAuthenticationCallbackView):  # type: ignore[misc]  # the library is untyped
    """Where the provider sends the person back: signs them in, or says why not."""

    def get(self, request: HttpRequest) -> HttpResponse:
        _refuse_unless_enabled()
        if request.GET.get("error"):
            if not _started_here(request):
                # Anyone can make a link to this page: without a sign-in this browser
                # started, an "error" neither signs the person out (the library's answer)
                # nor puts the link's words on the sign-in page.
                messages.error(request, _not_started_here())
                return HttpResponseRedirect(reverse("accounts:login"))
            said = str(request.GET.get("error_description", ""))[:200]
            messages.error(
                request,
                gettext("Signing in with %(provider)s was cancelled or refused there: %(said)s")
                % {"provider": provider.name(), "said": said}
                if said
                else gettext("Signing in with %(provider)s was cancelled or refused there.")
                % {"provider": provider.name()},
            )
        try:
            response: HttpResponse = super().get(request)
        except SuspiciousOperation:
            messages.error(request, _not_started_here())
            return HttpResponseRedirect(reverse("accounts:login"))
        return response

    def login_failure(self) -> HttpResponse:
        if not messages.get_messages(self.request):
            messages.error(
                self.request,
                gettext("Signing in with %(provider)s did not work.")
                % {"provider": provider.name()},
            )
        return HttpResponseRedirect(reverse("accounts:login"))


def _unreachable() -> str:
    return gettext("%(provider)s could not be reached. Try again in a few minutes.") % {
        "provider": provider.name()
    }


def _untrusted() -> str:
    return gettext("The answer from %(provider)s could not be trusted. Try again.") % {
        "provider": provider.name()
    }


def _not_started_here() -> str:
    return gettext(
        "This sign-in with %(provider)s was not started here, or was already used. Try again."
    ) % {"provider": provider.name()}
