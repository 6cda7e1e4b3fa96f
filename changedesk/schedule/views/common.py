"""What every schedule page needs: the signed-in user with their schools, loaded once."""

from __future__ import annotations

from changedesk.accounts.models import School, User


def schools_of(user: User) -> list[School]:
    if user.is_superuser:
        return list(School.objects.order_by("name"))
    return sorted((m.school for m in user.memberships.all()), key=lambda s: s.name)
