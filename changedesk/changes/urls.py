from django.urls import path

from changedesk.changes import views
from changedesk.lib import converters  # noqa: F401  (registers <id:...>)

app_name = "changes"

urlpatterns = [
    path("", views.my_work, name="my_work"),
    path("changes/", views.change_list, name="list"),
    path("changes/export.csv", views.change_export, name="export"),
    path("changes/new/", views.change_create, name="create"),
    path("changes/<id:pk>/", views.change_detail, name="detail"),
    path("changes/<id:pk>/edit/", views.change_edit, name="edit"),
    path("changes/<id:pk>/act/", views.change_act, name="act"),
    path("changes/<id:pk>/decide/", views.change_decide, name="decide"),
    path("decide/<str:token>/", views.decide_by_link, name="decide_link"),
    path("changes/<id:pk>/print/", views.change_print, name="print"),
]
