"""/api/v1/reports/: the reports' part of the API, one module per area."""

from changedesk.reports.api import archive, period

urlpatterns = [
    *archive.urlpatterns,
    *period.urlpatterns,
]
