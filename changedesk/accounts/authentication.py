"""The API's token authentication, with the sign-in ceiling per client address.

A wrong token counts as a failed sign-in from the caller's address (`accounts.throttle`);
once the address has passed its ceiling, a wrong token is answered 429 (JSON, with
Retry-After) until the pause ends. A right token is never refused: tokens are too long to
guess, and refusing them would let one guesser behind a school's NAT stop every script
there. Session authentication needs no throttle of its own: a session is had only by
signing in, which is throttled.

A right token may still be refused by a rule of an app above (`register_token_check`, a
function of (user, token) answering why not, or None): `signin` refuses a token made
before its owner began signing in with single sign-on, where a school or trust requires
it. Such a refusal is a 401 with the reason, and is not a failed sign-in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.request import Request

from changedesk.accounts import throttle


class TokenRefused(exceptions.AuthenticationFailed):
    """A right token refused by a registered check: not a guess, so not throttled."""


_token_checks: list[Callable[[Any, Any], str | None]] = []


def register_token_check(check: Callable[[Any, Any], str | None]) -> None:
    """Ask `check(user, token)` of every right token; a message refuses it (401)."""
    if check not in _token_checks:
        _token_checks.append(check)


class ThrottledTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        user, token = super().authenticate_credentials(key)
        for check in _token_checks:
            refusal = check(user, token)
            if refusal:
                raise TokenRefused(refusal, code="token_refused")
        return user, token

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        try:
            return super().authenticate(request)
        except TokenRefused:
            raise
        except exceptions.AuthenticationFailed:
            try:
                throttle.failed(throttle.client_address(request._request))
            except throttle.SignInPaused as paused:
                raise exceptions.Throttled(
                    wait=paused.seconds,
                    detail="Too many failed sign-ins from your network.",
                ) from None
            raise
