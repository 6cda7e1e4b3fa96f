"""What every page's template may use: the site's address and whether to offer "New RFC"."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from changedesk.accounts.choices import Role
from changedesk.accounts.permissions import holds_anywhere


def site(request: HttpRequest) -> dict[str, Any]:
    return {
        "SITE_URL": settings.SITE_URL,
        "may_raise_rfc": SimpleLazyObject(lambda: _may_raise(request)),
    }


def _may_raise(request: HttpRequest) -> bool:
    """Whether the navigation offers "New RFC": only originators may raise one."""
    user = getattr(request, "user", None)
    return user is not None and holds_anywhere(user, Role.ORIGINATOR)
