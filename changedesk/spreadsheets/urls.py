"""/spreadsheets/: importing a change log, the change log as XLSX, a school's archive."""

from django.urls import path

from changedesk.lib import converters  # noqa: F401  (registers <id:...>)
from changedesk.spreadsheets import trust_views, views

app_name = "spreadsheets"

urlpatterns = [
    path("", views.index, name="index"),
    path("changes.xlsx", views.changes_xlsx, name="changes_xlsx"),
    path("import/<slug:slug>/", views.upload, name="upload"),
    path("import/<slug:slug>/<id:pk>/", views.job_page, name="job"),
    path("import/<slug:slug>/<id:pk>/apply/", views.apply, name="apply"),
    path("school/<slug:slug>/archive.zip", views.school_archive, name="archive"),
    path("trusts/<slug:slug>/import/", trust_views.upload, name="trust_upload"),
    path("trusts/<slug:slug>/import/<id:pk>/", trust_views.job_page, name="trust_job"),
    path("trusts/<slug:slug>/import/<id:pk>/apply/", trust_views.apply, name="trust_apply"),
]
