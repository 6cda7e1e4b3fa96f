"""/api/v1/adoption/: a school's adoption of FITS and its review checklist, one module per
area."""

from changedesk.adoption.api import adoption, checklist, trust

urlpatterns = [
    *adoption.urlpatterns,
    *checklist.urlpatterns,
    *trust.urlpatterns,
]
