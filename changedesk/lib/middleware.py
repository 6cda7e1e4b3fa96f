from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


def policy(style_src: str = "'self'") -> str:
    """The Content-Security-Policy; only the API docs page (Swagger UI) loosens styles."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            f"style-src {style_src}",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


# No inline script or style anywhere in our templates, so the policy can be strict.
POLICY = policy()


class ContentSecurityPolicyMiddleware:
    """Sends a strict Content-Security-Policy unless a view has set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", POLICY)
        return response
