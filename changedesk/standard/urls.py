from django.urls import path

from changedesk.standard import views

app_name = "standard"

urlpatterns = [
    path("", views.template_list, name="list"),
    path("new/", views.template_create, name="create"),
    path("<int:pk>/", views.template_detail, name="detail"),
    path("<int:pk>/edit/", views.template_edit, name="edit"),
    path("<int:pk>/propose/", views.template_propose, name="propose"),
    path("<int:pk>/raise/", views.template_raise, name="raise"),
    path("<int:pk>/reinstate/", views.template_reinstate, name="reinstate"),
]
