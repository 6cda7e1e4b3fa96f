"""The release policy on the school's notice board: a section of `communication`'s board
(its seam, `communication/sections.py`), registered from `apps.py`. It shows the version in
force, its rules and its release windows, and, to a signed-in member, a link to its print.
Two queries (the version, its windows); none shown when no version is published."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from changedesk.accounts import permissions
from changedesk.accounts.models import School, User
from changedesk.communication.sections import BoardSection
from changedesk.releases.services import policy as services


def policy_section(school: School, viewer: User | None) -> dict[str, Any] | None:
    policy = services.current(school)
    if policy is None:
        return None
    print_url = None
    if viewer is not None and permissions.is_member(viewer, school):
        print_url = f"{reverse('releases:policy_print')}?school={school.slug}"
    return {
        "policy": policy,
        "windows": services.shown_windows(policy, school),
        "print_url": print_url,
    }


SECTION = BoardSection(
    key="release_policy", template="releases/policy/_board.html", context=policy_section
)
