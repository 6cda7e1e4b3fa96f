from django.urls import path

from changedesk.lib import converters  # noqa: F401  (registers <id:...>)
from changedesk.standard import views

app_name = "standard"

urlpatterns = [
    path("", views.template_list, name="list"),
    path("new/", views.template_create, name="create"),
    path("<id:pk>/", views.template_detail, name="detail"),
    path("<id:pk>/edit/", views.template_edit, name="edit"),
    path("<id:pk>/propose/", views.template_propose, name="propose"),
    path("<id:pk>/raise/", views.template_raise, name="raise"),
    path("<id:pk>/reinstate/", views.template_reinstate, name="reinstate"),
]
