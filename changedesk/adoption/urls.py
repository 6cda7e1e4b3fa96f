"""/getting-started/: bringing FITS into a school (the preparation tasks, roles with
guidance, training, the pilot and going live, the materials) and reviewing it afterwards (the
review checklist); one module of views per area."""

from changedesk.adoption.views import checklist, getting_started, materials, pilot, training, trust

app_name = "adoption"

urlpatterns = [
    *getting_started.urlpatterns,
    *training.urlpatterns,
    *pilot.urlpatterns,
    *materials.urlpatterns,
    *checklist.urlpatterns,
    *trust.urlpatterns,
]
