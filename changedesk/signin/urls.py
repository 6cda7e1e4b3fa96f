from django.contrib.auth.decorators import login_not_required
from django.urls import path

from changedesk.signin import oidc, views

app_name = "signin"

urlpatterns = [
    # Both answer 404 while OpenID Connect is not configured.
    path("oidc/start/", login_not_required(oidc.StartView.as_view()), name="oidc_start"),
    path("oidc/callback/", login_not_required(oidc.CallbackView.as_view()), name="oidc_callback"),
    path("schools/<slug:slug>/", views.school_rules, name="school_rules"),
    path("trusts/<slug:slug>/", views.trust_rules, name="trust_rules"),
]
