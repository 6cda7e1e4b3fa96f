"""/reports/: a school's (or a person's schools') report for a period, its charts, and the
archive of frozen reports with their decisions; one module of views per area."""

from changedesk.reports.views import archive, period

app_name = "reports"

urlpatterns = [
    *archive.urlpatterns,
    *period.urlpatterns,
]
