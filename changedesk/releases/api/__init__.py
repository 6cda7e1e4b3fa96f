"""/api/v1/: release management's part of the API, one module per area."""

from changedesk.releases.api import builds, library, licences, policy, releases

urlpatterns = [
    *policy.urlpatterns,
    *library.urlpatterns,
    *builds.urlpatterns,
    *licences.urlpatterns,
    *releases.urlpatterns,
]
