from django.urls import path

from changedesk.committee import views

app_name = "committee"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:slug>/", views.meeting_list, name="list"),
    path("<slug:slug>/new/", views.meeting_create, name="create"),
    path("<slug:slug>/settings/", views.settings_page, name="settings"),
    path("<slug:slug>/<int:pk>/", views.meeting_detail, name="detail"),
    path("<slug:slug>/<int:pk>/edit/", views.meeting_edit, name="edit"),
    path("<slug:slug>/<int:pk>/attendees/", views.attendees, name="attendees"),
    path("<slug:slug>/<int:pk>/agenda/", views.build_agenda, name="build_agenda"),
    path("<slug:slug>/<int:pk>/items/<int:item_pk>/decide/", views.decide, name="decide"),
    path("<slug:slug>/<int:pk>/minutes/", views.minutes, name="minutes"),
]
