"""The API's token authentication, with the sign-in ceiling per client address.

A wrong token counts as a failed sign-in from the caller's address (`accounts.throttle`);
once the address has passed its ceiling, a wrong token is answered 429 (JSON, with
Retry-After) until the pause ends. A right token is never refused: tokens are too long to
guess, and refusing them would let one guesser behind a school's NAT stop every script
there. Session authentication needs no throttle of its own: a session is had only by
signing in, which is throttled.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.request import Request

from changedesk.accounts import throttle


class ThrottledTokenAuthentication(TokenAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            try:
                throttle.failed(throttle.client_address(request._request))
            except throttle.SignInPaused as paused:
                raise exceptions.Throttled(
                    wait=paused.seconds,
                    detail="Too many failed sign-ins from your network.",
                ) from None
            raise
