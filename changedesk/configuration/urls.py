from django.urls import path

from changedesk.configuration import views
from changedesk.lib import converters  # noqa: F401  (registers <id:...>)

app_name = "configuration"

urlpatterns = [
    path("", views.item_list, name="list"),
    path("new/", views.item_create, name="create"),
    path("import/<slug:slug>/", views.item_import, name="import"),
    path("import/<slug:slug>/<id:pk>/", views.import_job, name="import_job"),
    path("<id:pk>/", views.item_detail, name="detail"),
    path("<id:pk>/edit/", views.item_edit, name="edit"),
    path("<id:pk>/status/", views.item_status, name="status"),
]
