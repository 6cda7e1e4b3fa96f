"""The site's URLs with the notices API mounted, whether or not api_urls.py includes it yet."""

from django.urls import include, path

from changedesk import urls as site
from changedesk.communication import api

urlpatterns = [
    path("api/v1/", include((api.urlpatterns, "notices_api"))),
    *site.urlpatterns,
]
