"""What every schedule page needs: the signed-in user with their schools, loaded once."""

from __future__ import annotations

from changedesk.accounts import permissions
from changedesk.accounts.models import School, User


def schools_of(user: User) -> list[School]:
    return permissions.schools(user)
