"""Provisioning schools and people: the CLI, the demo, the member pages and the tests use these."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Membership, School, User


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
