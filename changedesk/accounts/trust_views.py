"""A trust's pages: its schools and its people's trust roles (`accounts.trusts`).

A trust's page is seen by whoever holds a role in it; adding schools and giving or taking
away trust roles needs its administrator (a superuser counts as one). Anyone else gets a
404, as for a school's pages."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods

from changedesk.accounts import trusts as trust_services
from changedesk.accounts.choices import TRUST_GRANTS, Role, TrustRole
from changedesk.accounts.current import current_user, member_trust
from changedesk.accounts.forms import TrustPersonForm, TrustRolesForm, TrustSchoolForm
from changedesk.accounts.models import MembershipRole, School, Trust, TrustMembership, User
from changedesk.accounts.permissions import trust_roles
from changedesk.lib.views import form_page


def _people(trust: Trust) -> list[tuple[User, list[str]]]:
    """The trust's people, by name, each with their trust roles' names."""
    held: dict[int, set[str]] = defaultdict(set)
    for user_id, role in TrustMembership.objects.filter(trust=trust).values_list("user_id", "role"):
        held[user_id].add(role)
    people = User.objects.filter(pk__in=list(held)).order_by("first_name", "last_name", "username")
    return [(p, [gettext(r.label) for r in TrustRole if r.value in held[p.pk]]) for p in people]


@require_GET
def trust_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    found = Trust.objects.annotate(school_count=Count("schools", distinct=True)).order_by("name")
    if not user.is_superuser:
        found = found.filter(memberships__user=user).distinct()
    return render(request, "accounts/trusts.html", {"trusts": list(found)})


@require_GET
def trust_detail(request: HttpRequest, slug: str) -> HttpResponse:
    trust, is_admin = member_trust(request, slug)
    schools = list(
        School.objects.filter(trust=trust)
        .annotate(
            members=Count("memberships", distinct=True),
            own_admins=Count(
                "memberships__roles",
                filter=Q(
                    memberships__roles__role=Role.SCHOOL_ADMIN,
                    memberships__roles__trust__isnull=True,
                ),
                distinct=True,
            ),
            final_approvers=Count(
                "memberships__roles",
                filter=Q(memberships__roles__role=Role.FINAL_APPROVER),
                distinct=True,
            ),
        )
        .order_by("name")
    )
    return render(
        request,
        "accounts/trust_detail.html",
        {
            "trust": trust,
            "is_admin": is_admin,
            "schools": schools,
            "people": _people(trust),
            "grants": [
                (gettext(role.label), [gettext(Role(r).label) for r in TRUST_GRANTS[role]])
                for role in TrustRole
            ],
        },
    )


@require_http_methods(["GET", "POST"])
def trust_school_add(request: HttpRequest, slug: str) -> HttpResponse:
    trust, _ = member_trust(request, slug, admin=True)
    form = TrustSchoolForm(request.POST or None, initial={"timezone": "Europe/London"})
    return form_page(
        request,
        form,
        "accounts/trust_school_add.html",
        {"trust": trust},
        save=lambda: trust_services.create_school(
            trust,
            form.cleaned_data["name"],
            form.cleaned_data["slug"],
            timezone=form.cleaned_data["timezone"],
            admin_email=form.cleaned_data["admin_email"],
            invited_by=current_user(request),
        ),
        done=lambda school: (
            gettext("%(school)s is added to %(trust)s.")
            % {"school": school.name, "trust": trust.name}
            + " "
            + (
                gettext("%(email)s is invited to administer it.")
                % {"email": form.cleaned_data["admin_email"]}
                if form.cleaned_data["admin_email"]
                else gettext("Invite its administrator from its page.")
            )
        ),
        success_url=reverse("accounts:trust", args=[trust.slug]),
    )


@require_http_methods(["GET", "POST"])
def trust_person_add(request: HttpRequest, slug: str) -> HttpResponse:
    trust, _ = member_trust(request, slug, admin=True)
    form = TrustPersonForm(
        request.POST or None, known=trust_services.known_people(trust, current_user(request))
    )
    return form_page(
        request,
        form,
        "accounts/trust_person.html",
        {"trust": trust, "person": None},
        save=lambda: trust_services.set_trust_roles(
            trust,
            form.cleaned_data["person"],
            sorted(
                set(form.cleaned_data["roles"]) | trust_roles(form.cleaned_data["person"], trust)
            ),
        ),
        done=lambda _: (
            gettext("%(name)s's trust roles are saved.")
            % {"name": form.cleaned_data["person"].display_name}
        ),
        success_url=reverse("accounts:trust", args=[trust.slug]),
    )


@require_http_methods(["GET", "POST"])
def trust_person_edit(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    trust, _ = member_trust(request, slug, admin=True)
    held = set(
        TrustMembership.objects.filter(trust=trust, user_id=user_id).values_list("role", flat=True)
    )
    if not held:
        raise Http404("No such person in this trust.")
    person = get_object_or_404(User, pk=user_id)
    form = TrustRolesForm(
        request.POST if request.method == "POST" else None, initial={"roles": sorted(held)}
    )
    return form_page(
        request,
        form,
        "accounts/trust_person.html",
        lambda: {"trust": trust, "person": person, "schools": _held_in(person, trust)},
        save=lambda: trust_services.set_trust_roles(trust, person, form.cleaned_data["roles"]),
        done=lambda roles: (
            gettext("%(name)s's trust roles are saved.") % {"name": person.display_name}
            if roles
            else gettext("%(name)s has left %(trust)s.")
            % {"name": person.display_name, "trust": trust.name}
        ),
        success_url=reverse("accounts:trust", args=[trust.slug]),
    )


def _held_in(person: User, trust: Trust) -> list[Any]:
    """The names of the trust's schools the person holds roles in through the trust."""
    return list(
        MembershipRole.objects.filter(trust=trust, membership__user=person)
        .values_list("membership__school__name", flat=True)
        .distinct()
        .order_by("membership__school__name")
    )
