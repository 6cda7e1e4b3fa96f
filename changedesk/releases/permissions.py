"""Who may do what in release management, in one place (on top of `accounts.permissions`).

Every member of a school reads its release pages (the policy, the library, the builds, the
licences, the releases) and may send an install request. The writes belong to FITS's
release roles:

- the **release manager** owns the policy (writes and publishes it), approves build
  procedures, keeps the licence log and manages releases;
- the **build developer** writes build procedures;
- the **installer** installs builds with the checklist and answers install requests;
- the school administrator, who sets the work up, may do what the release manager does
  with the policy, the licence log, releases and the library; not the technicians' work
  (writing build procedures, installing builds) nor approving a build procedure (a
  decision, like an RFC's, is a role's);
- the library is kept by the release manager, the build developer and the school
  administrator; anyone who works on the machines (the release roles and the implementers)
  and the school administrator may take a piece out and bring it back.
"""

from __future__ import annotations

from typing import Any

from changedesk.accounts import permissions
from changedesk.accounts.choices import Role
from changedesk.accounts.models import School

RELEASE_ROLES = frozenset({Role.RELEASE_MANAGER, Role.BUILD_DEVELOPER, Role.INSTALLER})


def may_read(user: Any, school: School) -> bool:
    return permissions.is_member(user, school)


def may_request_install(user: Any, school: School) -> bool:
    return permissions.is_member(user, school)


def may_manage(user: Any, school: School) -> bool:
    """The policy, the licence log and releases: the release manager (or school admin)."""
    return permissions.is_school_admin_or(user, Role.RELEASE_MANAGER, school)


def may_keep_library(user: Any, school: School) -> bool:
    return permissions.holds_any(
        user, {Role.RELEASE_MANAGER, Role.BUILD_DEVELOPER}, school
    ) or permissions.is_school_admin(user, school)


def may_take_out(user: Any, school: School) -> bool:
    """Take a piece of the library out (or bring it back)."""
    return permissions.holds_any(
        user, RELEASE_ROLES | {Role.IMPLEMENTER}, school
    ) or permissions.is_school_admin(user, school)


def may_write_builds(user: Any, school: School) -> bool:
    return permissions.holds_any(user, {Role.BUILD_DEVELOPER, Role.RELEASE_MANAGER}, school)


def may_approve_builds(user: Any, school: School) -> bool:
    """Approving a build procedure is the release manager's decision (never a superuser's
    or an administrator's as such)."""
    return permissions.holds(user, Role.RELEASE_MANAGER, school)


def may_install(user: Any, school: School) -> bool:
    return permissions.holds_any(user, {Role.INSTALLER, Role.RELEASE_MANAGER}, school)
