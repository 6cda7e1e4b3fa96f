"""Pages for people and schools: sign-in, profile, members and roles, settings, delegations.

A school's pages are visible to its members; changing members, roles and settings needs
the school administrator role (a superuser counts as one). Anyone outside the school gets
a 404. Who may is asked of `accounts.permissions`; the writes are `accounts.services`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from smtplib import SMTPException
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework.authtoken.models import Token

from changedesk.accounts.choices import APPROVER_ROLES
from changedesk.accounts.current import current_user
from changedesk.accounts.forms import (
    DelegationForm,
    MemberForm,
    RolesForm,
    SchoolSettingsForm,
    ThrottledAuthenticationForm,
)
from changedesk.accounts.models import Delegation, Membership, School, User
from changedesk.accounts.permissions import holds_any, is_member, is_school_admin, roles
from changedesk.accounts.services import (
    add_member,
    change_roles,
    remove_member,
    revoke_delegation,
)
from changedesk.lib.views import act, form_page, warning

logger = logging.getLogger(__name__)


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    next_page = "accounts:login"


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form: Any) -> HttpResponse:
        messages.success(self.request, "Your password is changed.")
        return super().form_valid(form)


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    html_email_template_name = "accounts/email/password_reset.html"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


@dataclass
class Place:
    """The signed-in user's standing in one school."""

    school: School
    roles: set[str]
    is_admin: bool


def _place(request: HttpRequest, slug: str) -> Place:
    user = current_user(request)
    school = get_object_or_404(School, slug=slug)
    if not is_member(user, school):
        raise Http404("No such school.")
    return Place(school, roles(user, school), is_school_admin(user, school))


def _administered(request: HttpRequest, slug: str) -> Place:
    place = _place(request, slug)
    if not place.is_admin:
        raise PermissionDenied(f"Only a school administrator of {place.school.name} may do this.")
    return place


def _school_page(place: Place) -> str:
    return reverse("accounts:school", args=[place.school.slug])


@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    token = Token.objects.filter(user=user).first()
    if request.method == "POST" and request.POST.get("token") in ("create", "revoke"):
        Token.objects.filter(user=user).delete()
        if request.POST["token"] == "create":
            token = Token.objects.create(user=user)
            messages.success(request, "A new API token is made. Copy it now: it is shown once.")
            request.session["new_token"] = token.key
        else:
            messages.success(request, "Your API token is revoked.")
        return redirect("accounts:profile")
    return render(
        request,
        "accounts/profile.html",
        {
            "memberships": user.memberships.all(),
            "has_token": token is not None,
            "new_token": request.session.pop("new_token", None),
            "delegations": Delegation.objects.active()
            .filter(deputy=user)
            .select_related("approver", "school"),
        },
    )


@require_GET
def schools(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    memberships = {m.school_id: m for m in user.memberships.all()}
    rows = [(school, memberships.get(school.pk)) for school in School.objects.for_user(user)]
    return render(request, "accounts/schools.html", {"rows": rows})


@require_GET
def school_detail(request: HttpRequest, slug: str) -> HttpResponse:
    place = _place(request, slug)
    members = (
        Membership.objects.filter(school=place.school)
        .select_related("user")
        .prefetch_related("roles")
        .order_by("user__first_name", "user__last_name", "user__username")
    )
    return render(request, "accounts/school_detail.html", {"place": place, "members": members})


@require_http_methods(["GET", "POST"])
def member_add(request: HttpRequest, slug: str) -> HttpResponse:
    place = _administered(request, slug)
    form = MemberForm(request.POST or None, school=place.school)
    return form_page(
        request,
        form,
        "accounts/member_add.html",
        {"place": place},
        save=lambda: add_member(place.school, form.cleaned_data, form.existing),
        done=lambda added: _welcome(request, place.school, *added),
        success_url=_school_page(place),
    )


def _welcome(request: HttpRequest, school: School, person: User, created: bool) -> str:
    """Send a new person their link (once they are saved, so that a mail server that is
    down does not undo the adding), and say what happened."""
    if not created:
        return f"{person.display_name} is added to {school.name}."
    if not _send_welcome(request, person):
        return warning(
            f"{person.display_name} is added, but the e-mail with their link could not be "
            "sent. They can use “Forgotten your password?” on the sign-in page."
        )
    return (
        f"{person.display_name} is added; an e-mail with a link to set a password "
        f"went to {person.email}."
    )


def _send_welcome(request: HttpRequest, person: User) -> bool:
    """A new person chooses their own password through a one-time link."""
    protocol, _, domain = settings.SITE_URL.partition("://")
    context = {
        "user": person,
        "protocol": protocol,
        "domain": domain.rstrip("/"),
        "uid": urlsafe_base64_encode(force_bytes(person.pk)),
        "token": default_token_generator.make_token(person),
    }
    try:
        send_mail(
            render_to_string("accounts/email/welcome_subject.txt", context).strip(),
            render_to_string("accounts/email/welcome.txt", context),
            None,
            [person.email],
        )
    except (OSError, SMTPException):
        logger.exception("Could not send the welcome e-mail to %s", person.email)
        return False
    return True


@require_http_methods(["GET", "POST"])
def member_edit(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    place = _administered(request, slug)
    membership = get_object_or_404(
        Membership.objects.select_related("user", "school").prefetch_related("roles"),
        school=place.school,
        user_id=user_id,
    )
    name = membership.user.display_name
    form = RolesForm(request.POST or None, initial={"roles": membership.role_list})
    removing = request.POST.get("remove") == "1"
    return form_page(
        request,
        form,
        "accounts/member_edit.html",
        {"place": place, "membership": membership},
        save=lambda: (
            remove_member(membership)
            if removing
            else change_roles(membership, form.cleaned_data["roles"])
        ),
        done=f"{name} is removed." if removing else f"{name}'s roles are saved.",
        success_url=_school_page(place),
    )


@require_http_methods(["GET", "POST"])
def school_settings(request: HttpRequest, slug: str) -> HttpResponse:
    place = _administered(request, slug)
    form = SchoolSettingsForm(request.POST or None, instance=place.school)
    return form_page(
        request,
        form,
        "accounts/school_settings.html",
        {"place": place},
        save=form.save,
        done="The school's settings are saved.",
        success_url=_school_page(place),
    )


@require_http_methods(["GET", "POST"])
def delegations(request: HttpRequest, slug: str) -> HttpResponse:
    place = _place(request, slug)
    user = current_user(request)
    listed = (
        Delegation.objects.filter(school=place.school, ends_at__gt=timezone.now())
        .select_related("approver", "deputy")
        .order_by("starts_at")
    )
    context = {"place": place, "delegations": listed, "now": timezone.now()}
    if not (place.is_admin or holds_any(user, frozenset(APPROVER_ROLES), place.school)):
        if request.method == "POST":
            raise PermissionDenied("Only an approver or a school administrator may name a deputy.")
        return render(request, "accounts/delegations.html", {**context, "form": None})
    form = DelegationForm(
        request.POST or None, school=place.school, user=user, is_admin=place.is_admin
    )
    return form_page(
        request,
        form,
        "accounts/delegations.html",
        context,
        save=form.save,
        done=lambda delegation: f"{delegation.deputy} will deputise for {delegation.approver}.",
        success_url=reverse("accounts:delegations", args=[place.school.slug]),
    )


@require_POST
def delegation_revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    place = _place(request, slug)
    delegation = get_object_or_404(
        Delegation.objects.select_related("approver", "deputy"), school=place.school, pk=pk
    )
    if not (place.is_admin or delegation.approver_id == request.user.pk):
        raise PermissionDenied("Only the approver or a school administrator may revoke this.")
    return act(
        request,
        lambda: revoke_delegation(delegation),
        done=lambda revoked: (
            f"{delegation.deputy} no longer deputises for {delegation.approver}." if revoked else ""
        ),
        then=reverse("accounts:delegations", kwargs={"slug": place.school.slug}),
    )
