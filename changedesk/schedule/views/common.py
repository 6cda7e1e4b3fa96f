"""What every schedule page needs: the signed-in user with their schools, loaded once."""

from __future__ import annotations

from django.http import HttpRequest

from changedesk.accounts.models import School, User


def current_user(request: HttpRequest) -> User:
    """The signed-in user with their memberships, schools and roles, loaded once."""
    user = request.user
    assert isinstance(user, User)
    if not hasattr(user, "_prefetched_objects_cache"):
        user = User.objects.prefetch_related("memberships__roles", "memberships__school").get(
            pk=user.pk
        )
        request.user = user
    return user


def schools_of(user: User) -> list[School]:
    if user.is_superuser:
        return list(School.objects.order_by("name"))
    return sorted((m.school for m in user.memberships.all()), key=lambda s: s.name)
