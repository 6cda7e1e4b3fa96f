from django.urls import path

from changedesk.committee import views
from changedesk.lib import converters  # noqa: F401  (registers <id:...>)

app_name = "committee"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:slug>/", views.meeting_list, name="list"),
    path("<slug:slug>/new/", views.meeting_create, name="create"),
    path("<slug:slug>/settings/", views.settings_page, name="settings"),
    path("<slug:slug>/<id:pk>/", views.meeting_detail, name="detail"),
    path("<slug:slug>/<id:pk>/edit/", views.meeting_edit, name="edit"),
    path("<slug:slug>/<id:pk>/attendees/", views.attendees, name="attendees"),
    path("<slug:slug>/<id:pk>/agenda/", views.build_agenda, name="build_agenda"),
    path("<slug:slug>/<id:pk>/items/<id:item_pk>/decide/", views.decide, name="decide"),
    path("<slug:slug>/<id:pk>/minutes/", views.minutes, name="minutes"),
]
