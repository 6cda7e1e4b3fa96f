from django.urls import path, re_path

from changedesk.communication import views
from changedesk.lib import converters  # noqa: F401  (registers <id:...>)

app_name = "communication"

# The board's secret key is 20 or more URL-safe characters, so it never matches a word
# such as "manage" and a school slugged "board" keeps its own pages.
KEY = r"(?P<key>[A-Za-z0-9_-]{20,64})"

urlpatterns = [
    path("", views.index, name="index"),
    re_path(rf"^board/{KEY}/$", views.public_board, name="board"),
    re_path(rf"^board/{KEY}/print/$", views.public_board_print, name="board_print"),
    path("<slug:slug>/", views.school_board, name="school_board"),
    path("<slug:slug>/print/", views.school_board_print, name="school_board_print"),
    path("<slug:slug>/manage/", views.manage, name="manage"),
    path("<slug:slug>/settings/", views.settings_page, name="settings"),
    path("<slug:slug>/settings/board-link/", views.board_key_regenerate, name="regenerate_key"),
    path("<slug:slug>/new/", views.notice_create, name="create"),
    path("<slug:slug>/draft/<id:change_id>/", views.notice_draft, name="draft"),
    path("<slug:slug>/<id:pk>/", views.notice_detail, name="detail"),
    path("<slug:slug>/<id:pk>/edit/", views.notice_edit, name="edit"),
    path("<slug:slug>/<id:pk>/publish/", views.notice_publish, name="publish"),
    path("<slug:slug>/<id:pk>/withdraw/", views.notice_withdraw, name="withdraw"),
]
