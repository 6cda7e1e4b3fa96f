"""The signed-in person, with their memberships, schools and roles loaded once a request."""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from changedesk.accounts.models import School, User
from changedesk.accounts.permissions import with_roles


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
