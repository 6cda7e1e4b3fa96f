from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", include("changedesk.changes.urls")),
    path("accounts/", include("changedesk.accounts.urls")),
    path("items/", include("changedesk.configuration.urls")),
    path("schedule/", include("changedesk.schedule.urls")),
    path("notices/", include("changedesk.communication.urls")),
    path("committee/", include("changedesk.committee.urls")),
    path("standard-changes/", include("changedesk.standard.urls")),
    path("trust-changes/", include("changedesk.trustwide.urls")),
    path("patches/", include("changedesk.patches.urls")),
    path("releases/", include("changedesk.releases.urls")),
    path("reports/", include("changedesk.reports.urls")),
    path("getting-started/", include("changedesk.adoption.urls")),
    path("spreadsheets/", include("changedesk.spreadsheets.urls")),
    path("signin/", include("changedesk.signin.urls")),
    path("api/v1/", include("changedesk.api_urls")),
    path("admin/", admin.site.urls),
    path(
        "favicon.ico",
        login_not_required(RedirectView.as_view(url=static("changedesk/favicon.svg"))),
    ),
]

# Django's own error answers: JSON in the API's error shape under /api/, pages elsewhere.
handler400 = "changedesk.lib.api.handler400"
handler403 = "changedesk.lib.api.handler403"
handler404 = "changedesk.lib.api.handler404"
handler500 = "changedesk.lib.api.handler500"
