from django.urls import path

from changedesk.configuration import views

app_name = "configuration"

urlpatterns = [
    path("", views.item_list, name="list"),
    path("new/", views.item_create, name="create"),
    path("import/<slug:slug>/", views.item_import, name="import"),
    path("import/<slug:slug>/<int:pk>/", views.import_job, name="import_job"),
    path("<int:pk>/", views.item_detail, name="detail"),
    path("<int:pk>/edit/", views.item_edit, name="edit"),
    path("<int:pk>/status/", views.item_status, name="status"),
]
