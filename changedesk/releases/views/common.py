"""What the release pages share: fetching a row the person may see, refusing a person who
may not, the school a page is about, and a list's query without its page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.functional import Promise

from changedesk.accounts import permissions
from changedesk.accounts.current import current_user
from changedesk.accounts.models import School, User

M = TypeVar("M", bound=Model)

# A check of `releases.permissions`: may this person do it in this school?
Check = Callable[[Any, School], bool]


def visible(request: HttpRequest, model: type[M], pk: int, *related: str) -> M:
    """The row `pk` of `model` if the person may see it (a member of its school); else 404."""
    user = current_user(request)
    queryset = model._default_manager.visible_to(user).select_related("school", *related)  # type: ignore[attr-defined]
    row: M = get_object_or_404(queryset, pk=pk)
    return row


def require(request: HttpRequest, school: School, check: Check, refusal: str | Promise) -> User:
    """The person, if `check` lets them act in `school`; else 403 with `refusal`, a whole
    (translatable) sentence saying who may, with %(school)s in it: e.g. "Only a release
    manager of %(school)s may do that." A role's name alone would not translate well."""
    user = current_user(request)
    if not check(user, school):
        raise PermissionDenied(str(refusal) % {"school": school.name})
    return user


def schools_where(user: User, check: Check) -> list[School]:
    """The person's schools in which `check` lets them act."""
    return [s for s in permissions.schools(user) if check(user, s)]


def chosen_school(request: HttpRequest, schools: list[School]) -> School | None:
    """`?school=<slug>` among `schools`, or the only one; else None (all of them)."""
    slug = request.GET.get("school") or request.POST.get("school") or ""
    if slug:
        return next((s for s in schools if s.slug == slug), None)
    return schools[0] if len(schools) == 1 else None


def query_without_page(request: HttpRequest) -> str:
    """The list's filters as a query string (for the pages' links), less `page` and blanks."""
    return urlencode(
        [(k, one) for k, values in request.GET.lists() for one in values if k != "page" and one]
    )
