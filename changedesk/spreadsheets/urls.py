"""/spreadsheets/: importing a change log, the change log as XLSX, a school's archive."""

from django.urls import path

from changedesk.lib import converters  # noqa: F401  (registers <id:...>)
from changedesk.spreadsheets import views

app_name = "spreadsheets"

urlpatterns = [
    path("", views.index, name="index"),
    path("changes.xlsx", views.changes_xlsx, name="changes_xlsx"),
    path("import/<slug:slug>/", views.upload, name="upload"),
    path("import/<slug:slug>/<id:pk>/", views.job_page, name="job"),
    path("import/<slug:slug>/<id:pk>/apply/", views.apply, name="apply"),
    path("school/<slug:slug>/archive.zip", views.school_archive, name="archive"),
]
