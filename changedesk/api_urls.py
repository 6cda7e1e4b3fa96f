"""/api/v1/: the REST API, composed from each app's `api.py`."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from changedesk.accounts.api import MeView, SchoolViewSet
from changedesk.changes.api import ChangeViewSet

app_name = "api"

router = SimpleRouter()
router.register("changes", ChangeViewSet, basename="change")
router.register("schools", SchoolViewSet, basename="school")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("me/", MeView.as_view(), name="me"),
    *router.urls,
]
