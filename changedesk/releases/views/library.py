"""The definitive software library's pages: the catalogue, one piece with its in/out book
(taking it out, bringing it back), adding and editing a piece, and everything out now."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils.formats import date_format
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from changedesk.accounts import permissions as accounts_permissions
from changedesk.accounts.current import current_user
from changedesk.accounts.models import loaded_schools, seen_school_ids
from changedesk.lib import (
    converters,  # noqa: F401  (registers <id:...>)
    paging,
)
from changedesk.lib.loading import attach
from changedesk.lib.views import act, forbid, form_page
from changedesk.releases import permissions
from changedesk.releases.filters.library import CheckoutFilterSet, SoftwareFilterSet
from changedesk.releases.forms.library import ReturnForm, SoftwareForm, TakeOutForm
from changedesk.releases.models import Checkout, Software
from changedesk.releases.services import library as services
from changedesk.releases.views.common import (
    chosen_school,
    query_without_page,
    require,
    schools_where,
    visible,
)

PAGE_SIZE = 50
# The newest lines of one piece's book shown on its page.
BOOK_LINES = 500
# The 403 for anyone else: a whole sentence, which translates where a role's name would not.
KEEPERS = gettext_lazy(
    "Only a release manager, a build developer or a school administrator of %(school)s may do that."
)
TAKERS = gettext_lazy(
    "Only a release manager, a build developer, an installer, an implementer or a school "
    "administrator of %(school)s may do that."
)


def _paged_schools(request: HttpRequest, user: Any, schools: list[Any]) -> list[int] | None:
    chosen = chosen_school(request, schools) if request.GET.get("school") else None
    return [chosen.pk] if chosen is not None else seen_school_ids(user)


@require_GET
def library(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    schools = accounts_permissions.schools(user)
    filters = SoftwareFilterSet(request.GET, queryset=Software.objects.visible_to(user))
    queryset = filters.qs if filters.is_valid() else Software.objects.none()
    page = paging.page(
        queryset.order_by("title", "id"),
        request.GET.get("page"),
        PAGE_SIZE,
        schools=_paged_schools(request, user, schools),
    )
    pieces: list[Software] = list(page.object_list)
    attach(pieces, "school", known=loaded_schools(user))
    out = list(Checkout.objects.filter(software__in=[p.pk for p in pieces]).out())
    attach(out, "taken_by")
    by_piece = {c.software_id: c for c in out}
    rows = []
    for piece in pieces:
        checkout = by_piece.get(piece.pk)
        late = checkout is not None and checkout.due_back < services.today_in(piece.school)
        rows.append((piece, checkout, late))
    return render(
        request,
        "releases/library/list.html",
        {
            "filters": filters,
            "page": page,
            "rows": rows,
            "schools": schools,
            "query": query_without_page(request),
            "may_write": bool(schools_where(user, permissions.may_keep_library)),
        },
    )


def _piece_context(piece: Software, user: Any, take_form: Any = None) -> dict[str, Any]:
    book = list(
        piece.checkouts.select_related("taken_by", "returned_to", "change", "release").order_by(
            "-taken_at", "-id"
        )[:BOOK_LINES]
    )
    out = next((c for c in book if c.is_out), None)
    may_take = permissions.may_take_out(user, piece.school)
    if take_form is None and may_take and out is None and piece.is_active:
        take_form = TakeOutForm(school=piece.school, user=user)
    return {
        "piece": piece,
        "school": piece.school,
        "book": book,
        "out": out,
        "late": out is not None and out.due_back < services.today_in(piece.school),
        "may_edit": permissions.may_keep_library(user, piece.school),
        "may_take": may_take,
        "take_form": take_form,
        "return_form": ReturnForm() if may_take and out is not None else None,
    }


@require_GET
def software(request: HttpRequest, pk: int) -> HttpResponse:
    piece = visible(request, Software, pk, "licence")
    user = current_user(request)
    return render(request, "releases/library/software.html", _piece_context(piece, user))


@require_http_methods(["GET", "POST"])
def software_create(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    schools = schools_where(user, permissions.may_keep_library)
    if not schools:
        raise PermissionDenied(
            gettext(
                "Only a release manager, a build developer or a school administrator may add "
                "to the software library."
            )
        )
    school = chosen_school(request, schools)
    if school is None:
        return render(
            request,
            "releases/library/choose_school.html",
            {"schools": schools, "what": gettext("Add to the library")},
        )
    form = SoftwareForm(request.POST if request.method == "POST" else None, school=school)
    return form_page(
        request,
        form,
        "releases/library/software_form.html",
        {"school": school, "piece": None, "multiple_schools": len(schools) > 1},
        save=lambda: services.save_software(school, user, form.values()),
        done=lambda p: gettext("%(piece)s is in the library.") % {"piece": p},
    )


@require_http_methods(["GET", "POST"])
def software_edit(request: HttpRequest, pk: int) -> HttpResponse:
    piece = visible(request, Software, pk, "licence")
    user = require(request, piece.school, permissions.may_keep_library, KEEPERS)
    form = SoftwareForm(
        request.POST if request.method == "POST" else None, instance=piece, school=piece.school
    )
    return form_page(
        request,
        form,
        "releases/library/software_form.html",
        {"school": piece.school, "piece": piece},
        save=lambda: services.save_software(piece.school, user, form.values(), piece),
        done=gettext("The piece is saved."),
    )


@require_POST
def software_take(request: HttpRequest, pk: int) -> HttpResponse:
    piece = visible(request, Software, pk, "licence")
    user = require(request, piece.school, permissions.may_take_out, TAKERS)
    form = TakeOutForm(request.POST, school=piece.school, user=user)
    return form_page(
        request,
        form,
        "releases/library/software.html",
        lambda: _piece_context(piece, user, take_form=form),
        save=lambda: services.take_out(piece, user, form.values()),
        done=lambda c: (
            gettext("%(piece)s is out with %(name)s, due back %(day)s.")
            % {
                "piece": piece,
                "name": c.taken_by.get_full_name() or c.taken_by,
                "day": date_format(c.due_back, "j F Y"),
            }
        ),
        success_url=piece.get_absolute_url(),
    )


@require_POST
def software_return(request: HttpRequest, pk: int) -> HttpResponse:
    piece = visible(request, Software, pk)
    user = require(request, piece.school, permissions.may_take_out, TAKERS)
    form = ReturnForm(request.POST)
    notes = form.cleaned_data["notes"] if form.is_valid() else str(request.POST.get("notes", ""))
    return act(
        request,
        lambda: services.bring_back(piece, user, notes),
        done=gettext("%(piece)s is back in the library.") % {"piece": piece},
        then=piece,
        refused=forbid,
    )


@require_GET
def checkouts(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    schools = accounts_permissions.schools(user)
    filters = CheckoutFilterSet(request.GET, queryset=Checkout.objects.visible_to(user).out())
    queryset = filters.qs if filters.is_valid() else Checkout.objects.none()
    # The earliest due first: the overdue ones lead (the index (school, due_back) of those out).
    page = paging.page(
        queryset.order_by("due_back", "id"),
        request.GET.get("page"),
        PAGE_SIZE,
        schools=_paged_schools(request, user, schools),
    )
    out: list[Checkout] = list(page.object_list)
    attach(out, "school", "software", "taken_by", "change", "release", known=loaded_schools(user))
    rows = [(c, c.due_back < services.today_in(c.school)) for c in out]
    return render(
        request,
        "releases/library/checkouts.html",
        {
            "filters": filters,
            "page": page,
            "rows": rows,
            "schools": schools,
            "query": query_without_page(request),
        },
    )


urlpatterns: list[URLPattern] = [
    path("library/", library, name="library"),
    path("library/new/", software_create, name="software_create"),
    path("library/out/", checkouts, name="checkouts"),
    path("library/<id:pk>/", software, name="software"),
    path("library/<id:pk>/edit/", software_edit, name="software_edit"),
    path("library/<id:pk>/take/", software_take, name="software_take"),
    path("library/<id:pk>/return/", software_return, name="software_return"),
]
