from django.urls import path

from changedesk.lib import converters  # noqa: F401  (registers <id:...>)
from changedesk.trustwide import views

app_name = "trustwide"

urlpatterns = [
    path("", views.parent_list, name="list"),
    path("new/<slug:slug>/", views.parent_create, name="create"),
    path("<id:pk>/", views.parent_detail, name="detail"),
    path("<id:pk>/plan/", views.parent_plan, name="plan"),
    path("<id:pk>/actions/", views.parent_act, name="act"),
]
