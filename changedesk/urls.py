from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("changedesk.changes.urls")),
    path("accounts/", include("changedesk.accounts.urls")),
    path("api/v1/", include("changedesk.api_urls")),
    path("admin/", admin.site.urls),
]
