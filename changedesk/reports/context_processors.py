"""Whether the navigation offers "Reports": to those who may read the reports of one of their
schools (`permissions.may_read`), worked out only when a page's menu asks, from the roles the
page loaded when it did."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from changedesk.accounts.choices import Role
from changedesk.accounts.models import MembershipRole
from changedesk.reports.permissions import READERS

# Who may read some school's reports (`permissions.may_read`): a reader's role or the school
# administrator's.
ROLES = frozenset({*READERS, Role.SCHOOL_ADMIN})


def menu(request: HttpRequest) -> dict[str, Any]:
    return {"may_read_reports": SimpleLazyObject(lambda: _may_read_any(request))}


def _may_read_any(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if "memberships" in getattr(user, "_prefetched_objects_cache", {}):
        # Loaded with the page's roles (`current_user`): no query.
        return any(ROLES.intersection(m.role_list) for m in user.memberships.all())
    return MembershipRole.objects.filter(membership__user=user, role__in=ROLES).exists()
