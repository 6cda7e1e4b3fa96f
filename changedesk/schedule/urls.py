from django.urls import include, path

from changedesk.lib import converters  # noqa: F401  (registers <id:...>)
from changedesk.schedule import views
from changedesk.schedule.views import trust_calendar

app_name = "schedule"

urlpatterns = [
    path("", views.forward_schedule, name="forward"),
    path("print/", views.forward_schedule_print, name="print"),
    path("slots/", views.safe_slots, name="slots"),
    path("calendar/", views.calendars, name="calendars"),
    path("calendar/trust/<slug:slug>/", trust_calendar.calendar, name="trust_calendar"),
    path(
        "calendar/trust/<slug:slug>/periods/new/",
        trust_calendar.period_create,
        name="trust_period_create",
    ),
    path(
        "calendar/trust/<slug:slug>/periods/<id:pk>/",
        trust_calendar.period_edit,
        name="trust_period_edit",
    ),
    path(
        "calendar/trust/<slug:slug>/periods/<id:pk>/delete/",
        trust_calendar.period_delete,
        name="trust_period_delete",
    ),
    path("calendar/<slug:slug>/", views.calendar_detail, name="calendar"),
    path("calendar/<slug:slug>/teaching-day/", views.teaching_day_edit, name="teaching_day"),
    path("calendar/<slug:slug>/periods/new/", views.period_create, name="period_create"),
    path("calendar/<slug:slug>/periods/<id:pk>/", views.period_edit, name="period_edit"),
    path(
        "calendar/<slug:slug>/periods/<id:pk>/delete/",
        views.period_delete,
        name="period_delete",
    ),
    path("calendar/<slug:slug>/windows/new/", views.window_create, name="window_create"),
    path("calendar/<slug:slug>/windows/<id:pk>/", views.window_edit, name="window_edit"),
    path(
        "calendar/<slug:slug>/windows/<id:pk>/delete/",
        views.window_delete,
        name="window_delete",
    ),
    path("calendar/<slug:slug>/import/", views.ics_import, name="import"),
    path("feeds/", include("changedesk.schedule.feed_urls")),
]
