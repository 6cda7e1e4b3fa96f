"""Who may read a school's reports and record decisions from them (on top of
`accounts.permissions`).

FITS says reports are for making decisions, so they are read by the people who decide and
the people who run the processes measured:

- **may read** a school's report (the period report, its print, the RFCs behind a figure,
  the archive and the API): its initial approvers, peer reviewers, final approvers, release
  managers, patch administrators and the school administrator (a superuser is one
  everywhere). A plain viewer, originator, implementer or communicator may not (403):
  the report names RFCs across the school and is for the decision makers.
- **may decide** (record a decision against a frozen report in the archive): the final
  approver, the initial approver or the school administrator.
- **may set the frequency** (week or month): the school administrator.
- **may read a trust's** reports across its schools (`?trust=`) and its compliance page:
  whoever holds a trust role in it (its administrators, technicians and peer reviewers) and
  operators. A trust role holds only a viewer's, originator's or peer reviewer's place in
  each school (`accounts.choices.TRUST_GRANTS`), so this is a rule of its own: it grants no
  school's reports (`may_read`) one by one.
"""

from __future__ import annotations

from typing import Any

from changedesk.accounts import permissions
from changedesk.accounts.choices import Role
from changedesk.accounts.models import School, Trust

READERS = frozenset(
    {
        Role.INITIAL_APPROVER,
        Role.PEER_REVIEWER,
        Role.FINAL_APPROVER,
        Role.RELEASE_MANAGER,
        Role.PATCH_ADMINISTRATOR,
    }
)
DECIDERS = frozenset({Role.INITIAL_APPROVER, Role.FINAL_APPROVER})


def may_read(user: Any, school: School) -> bool:
    return permissions.holds_any(user, READERS, school) or permissions.is_school_admin(user, school)


def may_decide(user: Any, school: School) -> bool:
    return permissions.holds_any(user, DECIDERS, school) or permissions.is_school_admin(
        user, school
    )


def may_set_frequency(user: Any, school: School) -> bool:
    return permissions.is_school_admin(user, school)


def may_read_trust(user: Any, trust: Trust) -> bool:
    """Any trust role in `trust`, or a superuser (one query for anyone else)."""
    if not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_superuser) or bool(permissions.trust_roles(user, trust))
