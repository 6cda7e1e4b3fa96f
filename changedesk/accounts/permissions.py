"""The rulebook: who may do what, in one place.

Every page, API view and service asks these questions here rather than answering them
again. The answers read the person's memberships and roles; load them once with
`with_roles` (pages get them from `current.current_user`, viewsets from `CallerMixin`) and
every later check costs no query.

- A **member** of a school holds a membership there. A superuser is treated as a member
  (and as the **school administrator**) of every school, so that an operator can set a
  school up and do whatever its administrator may: its members, settings and calendar,
  and, as the secretary of a change advisory committee meeting, recording the decisions
  of the approvers present. A superuser holds none of the FITS roles, so never decides
  on an RFC in their own name.
- **Separation of duties** (FITS): the originator of an RFC is never its peer reviewer,
  and is its final approver only where the school allows it. `originator_may_be` is the
  one statement of that rule; forms, services, the workflow, My work and mail ask it.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext

from changedesk.accounts.choices import APPROVER_ROLES, Role, TrustRole
from changedesk.accounts.models import (
    Membership,
    MembershipRole,
    School,
    Trust,
    TrustMembership,
    User,
)
from changedesk.lib.compiled import Compiled

if TYPE_CHECKING:
    from changedesk.accounts.models import Invitation


def with_roles(user: Any) -> User:
    """`user` with their memberships, schools and roles loaded (one query), so that
    every later `roles_in` and check here costs none. Already loaded: returned as it is.
    Else they are loaded onto a copy, not onto `user`, which may outlive a change of the
    person's roles (the person's own row is not read again: a page's was read for it)."""
    if isinstance(user, User) and "memberships" in getattr(user, "_prefetched_objects_cache", {}):
        return user
    loaded = copy.copy(user) if isinstance(user, User) else User.objects.get(pk=user.pk)
    # The copy's own cache: the copy shares the original's dict (Django's, not in the stubs).
    cache = dict(getattr(loaded, "_prefetched_objects_cache", {}))
    loaded._prefetched_objects_cache = cache  # type: ignore[attr-defined]
    _load_memberships(loaded)
    return loaded


# What every page asks first: the person's memberships with their schools and roles, in
# one query (a row per role, or one for a membership with none). Compiled once
# (`lib/compiled.py`) and loaded as `prefetch_related("memberships__roles")` with
# `select_related("school")` would load them, in two queries and twice the time.
_MEMBERSHIP_COLUMNS = [f.attname for f in Membership._meta.concrete_fields]
_SCHOOL_COLUMNS = [f.attname for f in School._meta.concrete_fields]
_ROLE_COLUMNS = [f.attname for f in MembershipRole._meta.concrete_fields]
_MEMBERSHIPS = Compiled(
    lambda user: (
        Membership.objects.filter(user_id=user)
        .values_list(
            *_MEMBERSHIP_COLUMNS,
            *(f"school__{c}" for c in _SCHOOL_COLUMNS),
            *(f"roles__{c}" for c in _ROLE_COLUMNS),
        )
        # Membership's own order, for one person: by the school's name.
        .order_by("school__name", "pk", "roles__id")
    )
)


def _load_memberships(user: User) -> None:
    db = Membership.objects.db
    to_school = Membership._meta.get_field("school")
    to_user = Membership._meta.get_field("user")
    to_membership = MembershipRole._meta.get_field("membership")
    schools_from = len(_MEMBERSHIP_COLUMNS)
    roles_from = schools_from + len(_SCHOOL_COLUMNS)
    memberships: dict[int, Membership] = {}
    roles: dict[int, list[MembershipRole]] = {}
    for row in _MEMBERSHIPS.rows(db, user=user.pk):
        membership = memberships.get(row[0])
        if membership is None:
            membership = Membership.from_db(db, _MEMBERSHIP_COLUMNS, row[:schools_from])
            school = School.from_db(db, _SCHOOL_COLUMNS, row[schools_from:roles_from])
            to_school.set_cached_value(membership, school)
            to_user.set_cached_value(membership, user)
            memberships[membership.pk] = membership
            roles[membership.pk] = []
        if row[roles_from] is not None:
            role = MembershipRole.from_db(db, _ROLE_COLUMNS, row[roles_from:])
            to_membership.set_cached_value(role, membership)
            roles[membership.pk].append(role)
    for pk, membership in memberships.items():
        membership._prefetched_objects_cache = {}  # type: ignore[attr-defined]
        _prefetched(membership, "roles", roles[pk])
    _prefetched(user, "memberships", list(memberships.values()))


def _prefetched(instance: Any, name: str, rows: list[Any]) -> None:
    """`rows` as `instance`'s prefetched `name`, as `prefetch_related` keeps them."""
    queryset = getattr(instance, name).get_queryset()
    queryset._result_cache = rows
    queryset._prefetch_done = True
    instance._prefetched_objects_cache[name] = queryset


def roles(user: Any, school: School) -> set[str]:
    """The roles `user` holds in `school`; none for anyone signed out or deactivated."""
    if not user.is_authenticated or not user.is_active:
        return set()
    found: set[str] = user.roles_in(school)
    return found


def holds(user: Any, role: str, school: School) -> bool:
    return role in roles(user, school)


def holds_any(user: Any, wanted: frozenset[str] | set[str], school: School) -> bool:
    return bool(roles(user, school) & set(wanted))


def holds_anywhere(user: Any, role: str) -> bool:
    """Whether `user` holds `role` in any school (e.g. may raise an RFC somewhere): from the
    loaded memberships when they are, else in one query."""
    if not user.is_authenticated or not user.is_active:
        return False
    if "memberships" in getattr(user, "_prefetched_objects_cache", {}):
        return any(role in m.role_list for m in user.memberships.all())
    return MembershipRole.objects.filter(membership__user=user, role=role).exists()


def schools(user: Any) -> list[School]:
    """The schools `user` may see, by name: every school for a superuser, else those of the
    memberships (already loaded with `with_roles`: no query)."""
    if not user.is_authenticated:
        return []
    if user.is_superuser:
        return list(School.objects.order_by("name"))
    return sorted((m.school for m in user.memberships.all()), key=lambda school: school.name)


def is_member(user: Any, school: School) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_superuser) or any(m.school_id == school.pk for m in user.memberships.all())


def is_school_admin(user: Any, school: School) -> bool:
    """The school's administrator: its members, roles, settings, calendar and imports."""
    if not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_superuser) or Role.SCHOOL_ADMIN in user.roles_in(school)


def is_school_admin_or(user: Any, role: str, school: School) -> bool:
    """A holder of `role`, or the school administrator who sets the work up."""
    return holds(user, role, school) or is_school_admin(user, school)


def holds_or_superuser(user: Any, wanted: str | frozenset[str] | set[str], school: School) -> bool:
    """A holder of `wanted` (a role, or any of a set) in `school`, or a superuser.

    For the school's housekeeping (writing notices, keeping the item list), which an operator
    may do for any school; never for deciding on an RFC, which asks `holds` alone."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return holds_any(user, {wanted} if isinstance(wanted, str) else wanted, school)


# --- Trusts (accounts/trusts.py). ---


def trust_roles(user: Any, trust: Trust) -> set[str]:
    """The trust roles `user` holds in `trust`; none for anyone signed out or deactivated."""
    if not user.is_authenticated or not user.is_active:
        return set()
    return set(
        TrustMembership.objects.filter(trust=trust, user=user).values_list("role", flat=True)
    )


def is_trust_admin(user: Any, trust: Trust) -> bool:
    """The trust's administrator (a superuser is one of every trust): its schools and its
    people's trust roles."""
    if not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_superuser) or TrustRole.TRUST_ADMIN in trust_roles(user, trust)


def trusts(user: Any) -> list[Trust]:
    """The trusts `user` may see: those they hold a role in (every trust for a superuser)."""
    if not user.is_authenticated or not user.is_active:
        return []
    found = Trust.objects.order_by("name")
    return list(found if user.is_superuser else found.filter(memberships__user=user).distinct())


# --- Delegation. ---


def roles_to_deputise(approver: Any, role: str, school: School) -> set[str]:
    """The approval roles a deputy decides in: the one delegated or, with none named
    ("every approval I give"), each one the approver holds."""
    if role:
        return {role}
    return roles(approver, school) & set(APPROVER_ROLES)


def deputy_may_decide(deputy: Any, role: str, school: School) -> bool:
    """May `deputy` decide in `role` for the approver who named them? A deputy need hold no
    role of their own (FITS: "J. Smith for the headteacher"), but a viewer reads only and
    decides nothing, so stands in only for a role they hold themself."""
    if not is_member(deputy, school):
        return False
    held = roles(deputy, school)
    return Role.VIEWER not in held or role in held


def may_deputise(deputy: Any, approver: Any, role: str, school: School) -> bool:
    """May `approver` name `deputy` for `role` ("" for every approval they hold)?"""
    needed = roles_to_deputise(approver, role, school)
    return bool(needed) and all(deputy_may_decide(deputy, r, school) for r in needed)


# --- Separation of duties. ---


def originator_may_be(role: str, school: School) -> bool:
    """May an RFC's originator also act in `role` on it (named, or as a deputy)?"""
    if role == Role.PEER_REVIEWER:
        return False
    if role == Role.FINAL_APPROVER:
        return bool(school.final_approver_may_be_originator)
    return True


def separation_error(role: str) -> str:
    label = gettext(Role(role).label)
    return gettext("The %(role)s must be someone other than the originator.") % {
        "role": label[:1].lower() + label[1:]
    }


def separation_allows(person_id: int | None, originator_id: int, role: str, school: School) -> bool:
    """Whether `person_id` may act in `role` on an RFC raised by `originator_id`."""
    return person_id != originator_id or originator_may_be(role, school)


# --- Joining a school. ---


def may_answer_invitation(user: Any, invitation: Invitation, *, by_link: bool) -> bool:
    """Who may answer an invitation: someone signed in whose account has the address
    invited, or (`by_link`) whoever holds its e-mailed link, which went to that address.
    The link lets its holder decline, or make a new account with the address and accept;
    an existing account accepts only when it has the address."""
    if by_link:
        return True
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    email = (user.email or "").strip().lower()
    return bool(email) and email == invitation.email.strip().lower()
