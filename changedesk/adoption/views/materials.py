"""The materials FITS asks a school to gather before it starts: a blank printable RFC laid out
like the paper form, printable role cards and a library of worked example RFCs, each with a
button that copies it into a new RFC (the new-RFC form, pre-filled from its query string).

    /getting-started/materials/                    adoption:materials          ?school=<slug>
    /getting-started/materials/blank-rfc/          adoption:materials_blank    A4 print
    /getting-started/materials/role-cards/         adoption:materials_cards    A4 print
    /getting-started/materials/examples/<slug>/    adoption:materials_example

Every member of a school reads them (no query beyond the person's memberships); a school
named that is not one of theirs is a 404, as is a person in no school.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.http import require_GET

from changedesk.accounts import permissions
from changedesk.accounts.choices import Role
from changedesk.accounts.current import current_user
from changedesk.accounts.models import School
from changedesk.adoption import examples

STYLESHEET = "changedesk/adoption.css"


def _school(request: HttpRequest) -> tuple[list[School], School | None]:
    """The person's schools and the one `?school=<slug>` names (404 if not theirs), or the
    only one; a person in no school is a 404."""
    schools = permissions.schools(current_user(request))
    if not schools:
        raise Http404("You are not a member of any school.")
    slug = request.GET.get("school") or ""
    if slug:
        school = next((s for s in schools if s.slug == slug), None)
        if school is None:
            raise Http404("No such school among yours.")
        return schools, school
    return schools, schools[0] if len(schools) == 1 else None


def _copy_targets(
    request: HttpRequest, schools: list[School], school: School | None
) -> list[School]:
    """The schools where the person may raise an RFC from an example: the chosen one, or
    each of theirs where they are an originator."""
    user = current_user(request)
    offered = [school] if school is not None else schools
    return [s for s in offered if permissions.holds(user, Role.ORIGINATOR, s)]


def _context(request: HttpRequest) -> dict[str, Any]:
    schools, school = _school(request)
    return {
        "school": school,
        "schools": schools,
        "suffix": f"?school={school.slug}" if school else "",
        "stylesheet": STYLESHEET,
    }


@require_GET
def materials(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "adoption/materials.html",
        {**_context(request), "examples": [examples.translated(e) for e in examples.EXAMPLES]},
    )


@require_GET
def blank_rfc(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "adoption/materials_blank.html",
        {
            **_context(request),
            "sections": examples.blank_sections(),
            "approvals": examples.blank_approvals(),
            "after": examples.blank_after(),
        },
    )


@require_GET
def role_cards(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "adoption/materials_cards.html",
        {**_context(request), "cards": examples.role_cards()},
    )


@require_GET
def example(request: HttpRequest, slug: str) -> HttpResponse:
    found = examples.BY_SLUG.get(slug)
    if found is None:
        raise Http404("No such example.")
    context = _context(request)
    create = reverse("changes:create")
    copies = [
        {"school": s, "url": f"{create}?{found.copy_query(s.slug)}"}
        for s in _copy_targets(request, context["schools"], context["school"])
    ]
    return render(
        request,
        "adoption/materials_example.html",
        {
            **context,
            # Shown in the active language; copied (above) in English, as an RFC is stored.
            "example": examples.translated(found),
            "copies": copies,
            "several": len(copies) > 1,
        },
    )


urlpatterns = [
    path("materials/", materials, name="materials"),
    path("materials/blank-rfc/", blank_rfc, name="materials_blank"),
    path("materials/role-cards/", role_cards, name="materials_cards"),
    path("materials/examples/<slug:slug>/", example, name="materials_example"),
]
