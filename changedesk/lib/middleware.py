from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import unquote

from django.http import Http404, HttpRequest, HttpResponse, QueryDict

logger = logging.getLogger(__name__)


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

# The browser features changedesk never uses, switched off for its pages and anything
# they might embed.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
)


class ContentSecurityPolicyMiddleware:
    """Sends a strict Content-Security-Policy unless a view has set its own, and a
    Permissions-Policy switching off the browser features changedesk does not use."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


NUL_REFUSED = (
    "The request contains a NUL character (%00), which no field of changedesk can hold: "
    "remove it and try again."
)
NUL_FIELD = "This contains a NUL character, which cannot be searched for or stored."


class RefuseNulMiddleware:
    """A NUL character in the query string or in a form's values is refused with a 400
    (JSON under /api/, with an error for each parameter that holds one; a page elsewhere),
    whichever view would have read it: a database cannot store one, and PostgreSQL cannot
    even compare with one. In the path it names nothing: a 404. (A JSON body's NUL is
    refused by its parser, `lib.parsers`; an uploaded file's contents are its importer's.)
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path:
            raise Http404("No path holds a NUL character.")  # Django's 404 (JSON under /api/)
        names = names_with_nul(request)
        if names:
            from changedesk.lib.api import FIELD_ERRORS_DETAIL, bad_request, is_api

            fields = {name: [NUL_FIELD] for name in names if "\x00" not in name}
            detail = FIELD_ERRORS_DETAIL if fields and is_api(request) else NUL_REFUSED
            return bad_request(request, detail, fields=fields)
        return self.get_response(request)


def names_with_nul(request: HttpRequest) -> list[str]:
    """The parameters (query or form) whose name or value holds a NUL."""
    names: list[str] = []
    if "\x00" in unquote(request.META.get("QUERY_STRING", "")):
        names += _with_nul(request.GET)
    if request.method == "POST" and request.content_type in FORM_TYPES:
        # Reading the form here (not its files) is what the view would do; a body too
        # large or with too many fields is refused here, by Django, as it would be there.
        names += _with_nul(request.POST)
    return names


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _with_nul(data: QueryDict) -> list[str]:
    return [
        key
        for key, values in data.lists()
        if "\x00" in key or any("\x00" in str(value) for value in values)
    ]


# --- The database out of reach: a 503 the client may retry, not a 500. ---

RETRY_AFTER_SECONDS = 10
DATABASE_UNAVAILABLE = "changedesk cannot reach its database just now: try again in a few seconds."


def is_database_unreachable(exc: BaseException | None) -> bool:
    """Whether `exc` is a lost or refused database connection (the server stopped,
    restarting, or out of reach), not a deadlock, a lock timeout or a bad query: a
    connection error whose connection cannot be used.

    `lib.api.handler500` asks this of the exception it answers. Django draws an uncaught
    exception's answer with it in whichever layer the exception was raised (a view, the
    sign-in check reading the session in a middleware, the session's save), so this covers
    them all, with the answer passing out through the middleware above (its headers) and
    logged by Django as the 503 it is.
    """
    from django.db import InterfaceError, OperationalError, connections

    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    return any(
        conn.connection is None or not conn.is_usable()
        for conn in connections.all(initialized_only=True)
    )


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """The 503 with a Retry-After: JSON in the API's one error shape under /api/, the
    product's page (`503.html`) elsewhere."""
    from changedesk.lib.api import error_json, is_api

    response: HttpResponse
    if is_api(request):
        response = error_json(503, DATABASE_UNAVAILABLE)
    else:
        response = HttpResponse(_unavailable_page(), status=503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _unavailable_page() -> str:
    """The 503 page, drawn without the request (so no context processor asks the database
    who is signed in) and, should even that fail, a plain page."""
    from django.template.loader import render_to_string
    from django.utils.html import escape

    try:
        return render_to_string("503.html", {"message": DATABASE_UNAVAILABLE})
    except Exception:  # the page must not fail in its turn
        logger.exception("The 503 page could not be rendered")
        return (
            '<!doctype html><html lang="en-GB"><title>Back in a moment · changedesk</title>'
            f"<h1>Back in a moment</h1><p>{escape(DATABASE_UNAVAILABLE)}</p></html>"
        )
