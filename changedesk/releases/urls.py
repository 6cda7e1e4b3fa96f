"""/releases/: release management's pages, one module of views per area."""

from changedesk.releases.views import builds, library, licences, policy, releases

app_name = "releases"

urlpatterns = [
    *releases.urlpatterns,
    *policy.urlpatterns,
    *library.urlpatterns,
    *builds.urlpatterns,
    *licences.urlpatterns,
]
