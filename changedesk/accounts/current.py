"""The signed-in person, with their memberships, schools and roles loaded once a request."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext

from changedesk.accounts.models import School, Trust, User, loaded_schools
from changedesk.accounts.permissions import is_trust_admin, trust_roles, with_roles


def current_user(request: HttpRequest) -> User:
    """`request.user` with memberships, their schools and roles loaded (`with_roles`, and
    kept on the request, so every later `roles_in` and permission check costs no query)."""
    user = request.user
    assert isinstance(user, User)
    loaded = with_roles(user)
    if loaded is not user:
        request.user = loaded
    return loaded


def member_school(request: HttpRequest, slug: str) -> School:
    """The school `slug` if the signed-in person belongs to it (anyone else: 404)."""
    return get_object_or_404(School.objects.for_user(current_user(request)), slug=slug)


def member_trust(
    request: HttpRequest, slug: str, *, admin: bool = False, schools_too: bool = False
) -> tuple[Trust, bool]:
    """The trust `slug` if the signed-in person holds a role in it (with `schools_too`, or
    belongs to one of its schools; anyone else: 404), and whether they administer it; with
    `admin`, anyone else is refused (403)."""
    user = current_user(request)
    trust = get_object_or_404(Trust, slug=slug)
    is_admin = is_trust_admin(user, trust)
    if not is_admin and not trust_roles(user, trust):
        in_a_school = schools_too and any(s.trust_id == trust.pk for s in loaded_schools(user))
        if not in_a_school:
            raise Http404("No such trust.")
    if admin and not is_admin:
        raise PermissionDenied(
            gettext("Only an administrator of %(trust)s may do this.") % {"trust": trust.name}
        )
    return trust, is_admin
