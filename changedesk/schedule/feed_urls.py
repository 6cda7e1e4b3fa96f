"""/schedule/feeds/: the iCalendar feeds and the page to manage their secret links.

Included by `schedule/urls.py`, so the names are `schedule:feed_…`."""

from django.urls import path, re_path

from changedesk.lib import converters  # noqa: F401  (registers <id:...>)
from changedesk.schedule.views import feeds

urlpatterns = [
    path("", feeds.feed_list, name="feed_list"),
    path("new/", feeds.feed_create, name="feed_create"),
    path("<id:pk>/revoke/", feeds.feed_revoke, name="feed_revoke"),
    re_path(r"^(?P<key>[-A-Za-z0-9_]{16,64})\.ics$", feeds.feed_ics, name="feed_ics"),
]
