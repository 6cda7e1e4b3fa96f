from django.contrib.auth import views as auth_views
from django.urls import path

from changedesk.accounts import trust_views, views
from changedesk.lib import converters  # noqa: F401  (registers <id:...>)

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("me/", views.profile, name="profile"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path("schools/", views.schools, name="schools"),
    path("trusts/", trust_views.trust_list, name="trusts"),
    path("trusts/<slug:slug>/", trust_views.trust_detail, name="trust"),
    path("trusts/<slug:slug>/schools/add/", trust_views.trust_school_add, name="trust_school_add"),
    path("trusts/<slug:slug>/people/add/", trust_views.trust_person_add, name="trust_person_add"),
    path(
        "trusts/<slug:slug>/people/<id:user_id>/",
        trust_views.trust_person_edit,
        name="trust_person_edit",
    ),
    path("schools/<slug:slug>/", views.school_detail, name="school"),
    path("schools/<slug:slug>/members/add/", views.member_add, name="member_add"),
    path("schools/<slug:slug>/members/<id:user_id>/", views.member_edit, name="member_edit"),
    path(
        "schools/<slug:slug>/invitations/<id:pk>/withdraw/",
        views.invitation_withdraw,
        name="invitation_withdraw",
    ),
    path("me/invitations/<id:pk>/", views.my_invitation, name="my_invitation"),
    path("invitations/<str:token>/", views.invitation_link, name="invitation"),
    path("schools/<slug:slug>/settings/", views.school_settings, name="school_settings"),
    path("schools/<slug:slug>/delegations/", views.delegations, name="delegations"),
    path(
        "schools/<slug:slug>/delegations/<id:pk>/revoke/",
        views.delegation_revoke,
        name="delegation_revoke",
    ),
]
