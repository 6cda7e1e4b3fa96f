"""Provisioning schools and people: the CLI, the demo, the member pages and the tests use these.

The member pages check that the caller administers the school (`accounts.permissions`)
before they call these; the functions here hold the rules about the school itself (it
keeps an administrator; whoever leaves it stops deputising there).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone as django_timezone
from django.utils.text import slugify

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Delegation, Membership, School, User
from changedesk.lib.errors import InvalidAction

LAST_ADMIN = "A school needs at least one administrator: name another first."


def create_school(
    name: str,
    slug: str | None = None,
    *,
    peer_review_enabled: bool = True,
    final_approver_may_be_originator: bool = False,
    timezone: str = "Europe/London",
) -> School:
    school = School(
        name=name.strip(),
        slug=slug or slugify(name),
        timezone=timezone,
        peer_review_enabled=peer_review_enabled,
        final_approver_may_be_originator=final_approver_may_be_originator,
    )
    school.full_clean()
    school.save()
    return school


def set_membership(user: User, school: School, roles: Iterable[str]) -> Membership:
    """Give `user` exactly `roles` in `school`, creating the membership if needed."""
    roles = list(roles)
    unknown = sorted(set(roles) - set(Role.values))
    if unknown:
        raise ValidationError(
            {"roles": f"Unknown role {', '.join(unknown)}; use {', '.join(Role.values)}."}
        )
    with transaction.atomic():
        membership, _ = Membership.objects.get_or_create(user=user, school=school)
        membership.set_roles(roles)
    return membership


def create_user(
    username: str,
    *,
    email: str,
    password: str | None,
    first_name: str = "",
    last_name: str = "",
    job_title: str = "",
    check_password: bool = True,
) -> User:
    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        job_title=job_title,
    )
    user.full_clean(exclude=["password"])
    if password is None:
        user.set_unusable_password()
    else:
        if check_password:
            validate_password(password, user)
        user.set_password(password)
    user.save()
    return user


# --- The member pages. ---


def add_member(school: School, data: dict[str, Any], existing: User | None) -> tuple[User, bool]:
    """Add `existing`, or a new person made from `data` (with no usable password: they
    choose one through the welcome link), to `school` with `data["roles"]`.

    Returns (the person, whether they are new)."""
    with transaction.atomic():
        person = existing
        if person is None:
            person = create_user(
                data["username"],
                email=data["email"],
                password=None,
                first_name=data["first_name"],
                last_name=data["last_name"],
                job_title=data["job_title"],
            )
        set_membership(person, school, data["roles"])
    return person, existing is None


def change_roles(membership: Membership, roles: Iterable[str]) -> Membership:
    """Give a member exactly `roles`; the school keeps at least one administrator."""
    roles = list(roles)
    with transaction.atomic():
        _keep_an_admin(membership, roles)
        return set_membership(membership.user, membership.school, roles)


def remove_member(membership: Membership) -> None:
    """Take a person out of a school. Whoever leaves neither deputises there nor is
    deputised for; the school keeps at least one administrator."""
    with transaction.atomic():
        _keep_an_admin(membership, [])
        person = membership.user
        Delegation.objects.filter(school=membership.school, revoked_at__isnull=True).filter(
            Q(deputy=person) | Q(approver=person)
        ).update(revoked_at=django_timezone.now())
        membership.delete()


def revoke_delegation(delegation: Delegation) -> bool:
    """End a delegation now; False when it was revoked already."""
    revoked = Delegation.objects.filter(pk=delegation.pk, revoked_at__isnull=True).update(
        revoked_at=django_timezone.now()
    )
    return revoked > 0


def _keep_an_admin(membership: Membership, roles: list[str]) -> None:
    if Role.SCHOOL_ADMIN in roles or Role.SCHOOL_ADMIN not in membership.role_list:
        return
    # One change of administrators at a time per school, so two cannot both step down.
    School.objects.select_for_update().only("pk").get(pk=membership.school_id)
    others = (
        Membership.objects.filter(school_id=membership.school_id, roles__role=Role.SCHOOL_ADMIN)
        .exclude(pk=membership.pk)
        .exists()
    )
    if not others:
        raise InvalidAction(LAST_ADMIN)
