"""Pages for people and schools: sign-in, profile, members and roles, settings, delegations.

A school's pages are visible to its members; changing members, roles and settings needs
the school administrator role. Anyone outside the school gets a 404.
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
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework.authtoken.models import Token

from changedesk.accounts.choices import APPROVER_ROLES, Role
from changedesk.accounts.forms import (
    DelegationForm,
    MemberForm,
    RolesForm,
    SchoolSettingsForm,
    ThrottledAuthenticationForm,
)
from changedesk.accounts.models import Delegation, Membership, School, User
from changedesk.accounts.services import create_user, set_membership

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
    user = request.user
    assert isinstance(user, User)
    school = get_object_or_404(School, slug=slug)
    membership = (
        Membership.objects.filter(user=user, school=school).prefetch_related("roles").first()
    )
    if membership is None and not user.is_superuser:
        raise Http404("No such school.")
    roles = set(membership.role_list) if membership else set()
    return Place(school, roles, user.is_superuser or Role.SCHOOL_ADMIN in roles)


def _require_admin(place: Place) -> None:
    if not place.is_admin:
        raise PermissionDenied(f"Only a school administrator of {place.school.name} may do this.")


@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
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
    memberships = user.memberships.select_related("school").prefetch_related("roles")
    return render(
        request,
        "accounts/profile.html",
        {
            "memberships": memberships,
            "has_token": token is not None,
            "new_token": request.session.pop("new_token", None),
            "delegations": Delegation.objects.active()
            .filter(deputy=user)
            .select_related("approver", "school"),
        },
    )


@require_GET
def schools(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    memberships = {
        m.school_id: m for m in user.memberships.select_related("school").prefetch_related("roles")
    }
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
    place = _place(request, slug)
    _require_admin(place)
    form = MemberForm(request.POST or None, school=place.school)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with transaction.atomic():
            person = form.existing
            created = person is None
            if person is None:
                person = create_user(
                    data["username"],
                    email=data["email"],
                    password=None,
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    job_title=data["job_title"],
                )
            set_membership(person, place.school, data["roles"])
        if created and not _send_welcome(request, person):
            messages.warning(
                request,
                f"{person.display_name} is added, but the e-mail with their link could not be "
                "sent. They can use “Forgotten your password?” on the sign-in page.",
            )
        elif created:
            messages.success(
                request,
                f"{person.display_name} is added; an e-mail with a link to set a password "
                f"went to {person.email}.",
            )
        else:
            messages.success(request, f"{person.display_name} is added to {place.school.name}.")
        return redirect("accounts:school", slug=place.school.slug)
    status = 400 if form.is_bound else 200
    return render(
        request, "accounts/member_add.html", {"place": place, "form": form}, status=status
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
    place = _place(request, slug)
    _require_admin(place)
    membership = get_object_or_404(
        Membership.objects.select_related("user").prefetch_related("roles"),
        school=place.school,
        user_id=user_id,
    )
    form = RolesForm(request.POST or None, initial={"roles": membership.role_list})
    if request.method == "POST":
        removing = request.POST.get("remove") == "1"
        roles: list[str] = (
            [] if removing else (form.cleaned_data["roles"] if form.is_valid() else [])
        )
        problem = _last_admin_problem(place.school, membership, roles)
        if problem:
            form.add_error(None, problem)
        elif removing:
            with transaction.atomic():
                # Whoever leaves the school neither deputises there nor is deputised for.
                Delegation.objects.filter(school=place.school, revoked_at__isnull=True).filter(
                    Q(deputy=membership.user) | Q(approver=membership.user)
                ).update(revoked_at=timezone.now())
                membership.delete()
            messages.success(request, f"{membership.user.display_name} is removed.")
            return redirect("accounts:school", slug=place.school.slug)
        elif form.is_valid():
            set_membership(membership.user, place.school, roles)
            messages.success(request, f"{membership.user.display_name}'s roles are saved.")
            return redirect("accounts:school", slug=place.school.slug)
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request,
        "accounts/member_edit.html",
        {"place": place, "membership": membership, "form": form},
        status=status,
    )


def _last_admin_problem(school: School, membership: Membership, roles: list[str]) -> str:
    if Role.SCHOOL_ADMIN in roles or Role.SCHOOL_ADMIN not in membership.role_list:
        return ""
    others = (
        Membership.objects.filter(school=school, roles__role=Role.SCHOOL_ADMIN)
        .exclude(pk=membership.pk)
        .exists()
    )
    return "" if others else "A school needs at least one administrator: name another first."


@require_http_methods(["GET", "POST"])
def school_settings(request: HttpRequest, slug: str) -> HttpResponse:
    place = _place(request, slug)
    _require_admin(place)
    form = SchoolSettingsForm(request.POST or None, instance=place.school)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "The school's settings are saved.")
        return redirect("accounts:school", slug=place.school.slug)
    status = 400 if form.is_bound else 200
    return render(
        request, "accounts/school_settings.html", {"place": place, "form": form}, status=status
    )


@require_http_methods(["GET", "POST"])
def delegations(request: HttpRequest, slug: str) -> HttpResponse:
    place = _place(request, slug)
    user = request.user
    assert isinstance(user, User)
    may_delegate = place.is_admin or bool(place.roles & set(APPROVER_ROLES))
    form = None
    status = 200
    if may_delegate:
        form = DelegationForm(
            request.POST or None, school=place.school, user=user, is_admin=place.is_admin
        )
        if request.method == "POST":
            if form.is_valid():
                delegation = form.save()
                messages.success(
                    request, f"{delegation.deputy} will deputise for {delegation.approver}."
                )
                return redirect("accounts:delegations", slug=place.school.slug)
            status = 400
    elif request.method == "POST":
        raise PermissionDenied("Only an approver or a school administrator may name a deputy.")
    listed = (
        Delegation.objects.filter(school=place.school, ends_at__gt=timezone.now())
        .select_related("approver", "deputy")
        .order_by("starts_at")
    )
    return render(
        request,
        "accounts/delegations.html",
        {"place": place, "form": form, "delegations": listed, "now": timezone.now()},
        status=status,
    )


@require_POST
def delegation_revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    place = _place(request, slug)
    delegation = get_object_or_404(Delegation, school=place.school, pk=pk)
    user = request.user
    if not (place.is_admin or delegation.approver_id == user.pk):
        raise PermissionDenied("Only the approver or a school administrator may revoke this.")
    if delegation.revoked_at is None:
        Delegation.objects.filter(pk=delegation.pk).update(revoked_at=timezone.now())
        messages.success(
            request, f"{delegation.deputy} no longer deputises for {delegation.approver}."
        )
    return redirect(reverse("accounts:delegations", kwargs={"slug": place.school.slug}))
