"""Pages for people and schools: sign-in, profile, members and roles, settings, delegations.

A school's pages are visible to its members; changing members, roles and settings needs
the school administrator role (a superuser counts as one). Anyone outside the school gets
a 404. Who may is asked of `accounts.permissions`; the writes are `accounts.services`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework.authtoken.models import Token

from changedesk.accounts import permissions
from changedesk.accounts.choices import APPROVER_ROLES
from changedesk.accounts.current import current_user
from changedesk.accounts.forms import (
    DelegationForm,
    InvitationForm,
    JoinForm,
    LanguageForm,
    QueuedPasswordResetForm,
    RolesForm,
    SchoolSettingsForm,
    ThrottledAuthenticationForm,
)
from changedesk.accounts.languages import language_for, remember_school_default
from changedesk.accounts.models import Delegation, Invitation, Membership, School, User
from changedesk.accounts.permissions import (
    holds_any,
    is_member,
    is_school_admin,
    may_answer_invitation,
    roles,
)
from changedesk.accounts.services import (
    INVITATION_DAYS,
    accept_invitation,
    change_roles,
    decline_invitation,
    invitation_from_token,
    invite,
    join_with_new_account,
    remove_member,
    revoke_delegation,
    withdraw_invitation,
)
from changedesk.lib.views import act, forbid, form_page, info


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form: Any) -> HttpResponse:
        """A paused sign-in is a 429 with Retry-After; the page says when to try again."""
        response = super().form_invalid(form)
        paused = getattr(form, "paused", None)
        if paused is not None:
            response.status_code = 429
            response["Retry-After"] = str(paused.seconds)
        return response


class LogoutView(auth_views.LogoutView):
    next_page = "accounts:login"


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form: Any) -> HttpResponse:
        had_token = Token.objects.filter(user=form.user).exists()
        response = super().form_valid(form)  # saving the password revokes the API token
        messages.success(
            self.request,
            gettext(
                "Your password is changed, and your API token is revoked: make a new one below "
                "if a script needs it."
            )
            if had_token
            else gettext("Your password is changed."),
        )
        return response


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    form_class = QueuedPasswordResetForm
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
    school = get_object_or_404(School.objects.select_related("trust"), slug=slug)
    if not is_member(user, school):
        raise Http404("No such school.")
    return Place(school, roles(user, school), is_school_admin(user, school))


def _administered(request: HttpRequest, slug: str) -> Place:
    place = _place(request, slug)
    if not place.is_admin:
        raise PermissionDenied(
            gettext("Only a school administrator of %(school)s may do this.")
            % {"school": place.school.name}
        )
    return place


# How long an unanswered, declined or expired invitation stays on the school's page.
INVITATIONS_SHOWN = timedelta(days=30)


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
            messages.success(
                request, gettext("A new API token is made. Copy it now: it is shown once.")
            )
            request.session["new_token"] = token.key
        else:
            messages.success(request, gettext("Your API token is revoked."))
        return redirect("accounts:profile")
    language_form = LanguageForm(
        request.POST if request.method == "POST" and "language" in request.POST else None,
        instance=user,
    )
    if language_form.is_bound and language_form.is_valid():
        language_form.save()
        # Said in the language just chosen, as the next page will be.
        with translation.override(language_for(user)):
            messages.success(request, gettext("Your language is saved."))
        return redirect("accounts:profile")
    return render(
        request,
        "accounts/profile.html",
        {
            "language_form": language_form,
            "memberships": user.memberships.all(),
            "has_token": token is not None,
            "new_token": request.session.pop("new_token", None),
            "delegations": Delegation.objects.active()
            .filter(deputy=user)
            .select_related("approver", "school"),
            "invitations": Invitation.objects.open()
            .to_address(user.email)
            .select_related("school", "invited_by"),
        },
        status=400 if language_form.is_bound else 200,
    )


@require_GET
def schools(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    memberships = {m.school_id: m for m in user.memberships.all()}
    rows = [(school, memberships.get(school.pk)) for school in School.objects.for_user(user)]
    return render(
        request, "accounts/schools.html", {"rows": rows, "trusts": permissions.trusts(user)}
    )


@require_GET
def school_detail(request: HttpRequest, slug: str) -> HttpResponse:
    place = _place(request, slug)
    members = (
        Membership.objects.filter(school=place.school)
        .select_related("user")
        .prefetch_related("roles")
        .order_by("user__first_name", "user__last_name", "user__username")
    )
    invitations = (
        Invitation.objects.filter(
            school=place.school,
            accepted_at__isnull=True,
            withdrawn_at__isnull=True,
            created_at__gte=timezone.now() - INVITATIONS_SHOWN,
        ).select_related("invited_by")
        if place.is_admin
        else Invitation.objects.none()
    )
    return render(
        request,
        "accounts/school_detail.html",
        {"place": place, "members": members, "invitations": invitations},
    )


@require_http_methods(["GET", "POST"])
def member_add(request: HttpRequest, slug: str) -> HttpResponse:
    """Invite someone by e-mail address: the same answer whether an account has it or not."""
    place = _administered(request, slug)
    user = current_user(request)
    form = InvitationForm(request.POST or None, initial={"email": request.GET.get("email", "")})
    return form_page(
        request,
        form,
        "accounts/member_add.html",
        {"place": place, "days": INVITATION_DAYS},
        save=lambda: invite(
            place.school, form.cleaned_data["email"], form.cleaned_data["roles"], user
        ),
        done=lambda invitation: (
            gettext("Invitation sent to %(email)s.") % {"email": invitation.email}
        ),
        success_url=_school_page(place),
    )


@require_POST
def invitation_withdraw(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    place = _administered(request, slug)
    invitation = get_object_or_404(Invitation, school=place.school, pk=pk)
    return act(
        request,
        lambda: withdraw_invitation(invitation),
        done=lambda withdrawn: (
            gettext("The invitation to %(email)s is withdrawn.") % {"email": invitation.email}
            if withdrawn
            else info(
                gettext("The invitation to %(email)s was no longer open.")
                % {"email": invitation.email}
            )
        ),
        then=_school_page(place),
    )


@require_POST
def my_invitation(request: HttpRequest, pk: int) -> HttpResponse:
    """Accept or decline, from the profile page, an invitation to one's own address."""
    user = current_user(request)
    invitation = get_object_or_404(
        Invitation.objects.select_related("school").to_address(user.email), pk=pk
    )
    return _answer(request, invitation, user, request.POST.get("answer"), by_link=False)


@login_not_required
@require_http_methods(["GET", "POST"])
def invitation_link(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation's e-mailed link, which works signed out: accept with the account that
    has the address (signing in on the way), make a new account and join, or decline."""
    invitation = invitation_from_token(token)
    if invitation is None:
        raise Http404("This is not an invitation link.")
    context: dict[str, Any] = {"invitation": invitation, "token": token}
    if not invitation.is_open:
        # Answered: the page after the answer (nothing wrong); expired or withdrawn: gone.
        answered = invitation.accepted_at or invitation.declined_at
        return render(request, "accounts/invitation.html", context, status=200 if answered else 410)
    answer = request.POST.get("answer")
    user = current_user(request) if request.user.is_authenticated else None
    if user is not None or answer == "decline":
        if request.method == "POST":
            return _answer(request, invitation, user, answer, by_link=True)
        context["is_invited"] = may_answer_invitation(user, invitation, by_link=False)
        return render(request, "accounts/invitation.html", context)
    form = JoinForm(request.POST or None, email=invitation.email)
    context["sign_in"] = f"{reverse('accounts:login')}?{urlencode({'next': request.path})}"
    return form_page(
        request,
        form,
        "accounts/invitation.html",
        context,
        save=lambda: _join(request, invitation, form),
    )


def _join(request: HttpRequest, invitation: Invitation, form: JoinForm) -> str:
    user = join_with_new_account(invitation, form.values())
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(
        request,
        gettext("Welcome to changedesk: you are a member of %(school)s.")
        % {"school": invitation.school.name},
    )
    return reverse("accounts:school", args=[invitation.school.slug])


def _answer(
    request: HttpRequest,
    invitation: Invitation,
    user: User | None,
    answer: str | None,
    *,
    by_link: bool,
) -> HttpResponse:
    school = invitation.school
    if answer == "accept" and user is not None:
        return act(
            request,
            lambda: accept_invitation(invitation, user),
            done=gettext("You are a member of %(school)s.") % {"school": school.name},
            then=reverse("accounts:profile"),
            done_then=lambda membership: reverse("accounts:school", args=[school.slug]),
            refused=forbid,
        )
    if answer == "decline":
        return act(
            request,
            lambda: decline_invitation(invitation, user, by_link=by_link),
            done=gettext("You declined the invitation to join %(school)s.")
            % {"school": school.name},
            then=reverse("accounts:profile") if user is not None else request.path,
            refused=forbid,
        )
    raise BadRequest("Answer accept or decline.")


@require_http_methods(["GET", "POST"])
def member_edit(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    place = _administered(request, slug)
    membership = get_object_or_404(
        Membership.objects.select_related("user", "school").prefetch_related("roles"),
        school=place.school,
        user_id=user_id,
    )
    name = membership.user.display_name
    form = RolesForm(
        request.POST or None,
        initial={"roles": membership.own_roles, "is_ict_staff": membership.is_ict_staff},
    )
    removing = request.POST.get("remove") == "1"
    return form_page(
        request,
        form,
        "accounts/member_edit.html",
        {"place": place, "membership": membership},
        save=lambda: (
            remove_member(membership)
            if removing
            else change_roles(
                membership,
                form.cleaned_data["roles"],
                is_ict_staff=form.cleaned_data["is_ict_staff"],
            )
        ),
        done=gettext("%(name)s is removed.") % {"name": name}
        if removing
        else gettext("%(name)s's roles are saved.") % {"name": name},
        success_url=_school_page(place),
    )


@require_http_methods(["GET", "POST"])
def school_settings(request: HttpRequest, slug: str) -> HttpResponse:
    place = _administered(request, slug)
    form = SchoolSettingsForm(request.POST or None, instance=place.school)

    def save() -> School:
        school = form.save()
        # The administrator sees a new default language at once; other members within
        # the session's SCHOOL_LANGUAGE_SECONDS.
        remember_school_default(request, current_user(request))
        return school

    return form_page(
        request,
        form,
        "accounts/school_settings.html",
        {"place": place},
        save=save,
        done=gettext("The school's settings are saved."),
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
            raise PermissionDenied(
                gettext("Only an approver or a school administrator may name a deputy.")
            )
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
        done=lambda delegation: (
            gettext("%(deputy)s will deputise for %(approver)s.")
            % {"deputy": delegation.deputy, "approver": delegation.approver}
        ),
        success_url=reverse("accounts:delegations", args=[place.school.slug]),
    )


@require_POST
def delegation_revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    place = _place(request, slug)
    delegation = get_object_or_404(
        Delegation.objects.select_related("approver", "deputy"), school=place.school, pk=pk
    )
    if not (place.is_admin or delegation.approver_id == request.user.pk):
        raise PermissionDenied(
            gettext("Only the approver or a school administrator may revoke this.")
        )
    return act(
        request,
        lambda: revoke_delegation(delegation),
        done=lambda revoked: (
            gettext("%(deputy)s no longer deputises for %(approver)s.")
            % {"deputy": delegation.deputy, "approver": delegation.approver}
            if revoked
            else ""
        ),
        then=reverse("accounts:delegations", kwargs={"slug": place.school.slug}),
    )
