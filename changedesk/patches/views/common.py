"""What the patch pages share: fetching a row the person may see, and the schools they
manage patches in."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext

from changedesk.accounts import permissions
from changedesk.accounts.current import current_user
from changedesk.accounts.models import School, User
from changedesk.patches import services
from changedesk.patches.models import Patch, Vendor


def visible_patch(request: HttpRequest, pk: int) -> Patch:
    user = current_user(request)
    queryset = Patch.objects.visible_to(user).select_related("school", "vendor", "change")
    return get_object_or_404(queryset, pk=pk)


def visible_vendor(request: HttpRequest, pk: int) -> Vendor:
    user = current_user(request)
    return get_object_or_404(Vendor.objects.visible_to(user).select_related("school"), pk=pk)


def require_manager(request: HttpRequest, school: School) -> User:
    user = current_user(request)
    if not services.may_manage(user, school):
        raise PermissionDenied(
            gettext(
                "Only a patch administrator or a school administrator of %(school)s may do that."
            )
            % {"school": school.name}
        )
    return user


def managed_schools(user: User) -> list[School]:
    return [s for s in permissions.schools(user) if services.may_manage(user, s)]


def chosen_school(request: HttpRequest, schools: list[School]) -> School | None:
    """`?school=<slug>` among `schools`, or the only one; else None (all of them)."""
    slug = request.GET.get("school") or request.POST.get("school") or ""
    if slug:
        return next((s for s in schools if s.slug == slug), None)
    return schools[0] if len(schools) == 1 else None
