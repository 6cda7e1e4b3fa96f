"""The page benchmark's URLs (`changedesk.site.bench`): the project's, and the floor.

The floor is a bare Django view rendering a tiny template, served through the same
middleware as every page (sessions, the signed-in user, CSRF, CSP, ...): what a page costs
before it does anything of its own. The benchmark sets `ROOT_URLCONF` to this module with
`override_settings` while it measures; the product never serves it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path
from django.views.decorators.http import require_GET

FLOOR_PATH = "bench/floor/"
FLOOR_TEMPLATE = (
    '<!DOCTYPE html><html lang="en"><head><title>Floor</title></head>'
    "<body><p>Hello, {{ user.get_username }}.</p></body></html>"
)


@cache
def _template() -> Any:
    return engines["django"].from_string(FLOOR_TEMPLATE)


@require_GET
def floor(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_template().render({}, request))


urlpatterns = [
    path(FLOOR_PATH, floor, name="bench-floor"),
    path("", include("changedesk.urls")),
]

# The project's own error answers (see changedesk/urls.py).
handler400 = "changedesk.lib.api.handler400"
handler403 = "changedesk.lib.api.handler403"
handler404 = "changedesk.lib.api.handler404"
handler500 = "changedesk.lib.api.handler500"
