"""/api/v1/: the REST API, composed from each app's `api.py`."""

from typing import Any

from django.urls import include, path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from changedesk.accounts.api import MeView, SchoolViewSet
from changedesk.accounts.trust_api import TrustViewSet
from changedesk.changes.api import ChangeViewSet
from changedesk.lib import schema  # noqa: F401  (registers the filters' schema extension)
from changedesk.lib.middleware import policy

app_name = "api"


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI sets inline styles; everything else on the site keeps the strict policy."""

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # drf-spectacular leaves its views' methods untyped.
        response: Response = super().get(request, *args, **kwargs)  # type: ignore[no-untyped-call]
        response["Content-Security-Policy"] = policy(style_src="'self' 'unsafe-inline'")
        return response


router = SimpleRouter()
router.register("changes", ChangeViewSet, basename="change")
router.register("schools", SchoolViewSet, basename="school")
router.register("trusts", TrustViewSet, basename="trust")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="api:schema"), name="docs"),
    path("me/", MeView.as_view(), name="me"),
    *router.urls,
    path("", include("changedesk.communication.api")),
    path("", include("changedesk.configuration.api")),
    path("", include("changedesk.schedule.api")),
    path("", include("changedesk.schedule.feed_api")),
    path("", include("changedesk.committee.api")),
    path("", include("changedesk.standard.api")),
    path("", include("changedesk.trustwide.api")),
    path("", include("changedesk.patches.api")),
    path("", include("changedesk.releases.api")),
    path("", include("changedesk.reports.api")),
    path("", include("changedesk.adoption.api")),
    path("", include("changedesk.spreadsheets.api")),
    path("", include("changedesk.spreadsheets.trust_api")),
    path("", include("changedesk.signin.api")),
]
