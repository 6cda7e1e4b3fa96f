"""Trusts: a group of schools run together, and the roles that reach all of them.

A trust's people hold **trust roles** (`TrustMembership`): its administrator, its
technicians and its peer reviewers. Each trust role holds school roles in every school of
the trust (`choices.TRUST_GRANTS`: a trust technician originates and implements, a trust
peer reviewer reviews, the trust administrator reads), without anyone making them a member
of each school. A school's roles stay its own: no trust role approves or administers a
school, so only a school's own final approver accepts its impact, and only its own
administrator gives its roles.

The roles held through a trust are kept as rows like a school's own (`MembershipRole` with
its `trust`, on a `Membership` made for the trust where the person had none), so that every
question of who may, who sees what and who is told (the rulebook, the lists' scoping, My
work, the mail) answers for them as for anyone, in the same queries, at any size. `sync`
is the one writer of those rows: it runs whenever a trust role is given or taken away and
whenever a school joins or leaves a trust. A school's own roles are never touched by it: a
role both given by the school and held through the trust is the school's own row, and
stays when the trust's goes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone as django_timezone
from django.utils.text import slugify
from django.utils.translation import gettext, gettext_noop

from changedesk.accounts.choices import TRUST_GRANTS, Role, TrustRole
from changedesk.accounts.models import (
    Delegation,
    Membership,
    MembershipRole,
    School,
    Trust,
    TrustMembership,
    User,
)
from changedesk.lib.errors import InvalidAction

# What apps above do when a school joins or leaves a trust (the schedule copies the trust's
# calendar into the school's, and takes it out again): functions of (trust, school), each
# registered once from its app's `ready()`, run in the same transaction.
_joined: list[Callable[[Trust, School], None]] = []
_left: list[Callable[[Trust, School], None]] = []


def on_school_joined(run: Callable[[Trust, School], None]) -> None:
    if run not in _joined:
        _joined.append(run)


def on_school_left(run: Callable[[Trust, School], None]) -> None:
    if run not in _left:
        _left.append(run)


LAST_TRUST_ADMIN = gettext_noop("A trust needs at least one administrator: name another first.")
NO_OWN_ADMIN = gettext_noop(
    "{school} has no administrator of its own: give someone the school administrator role "
    "there before it leaves {trust}."
)


def create_trust(name: str, slug: str | None = None) -> Trust:
    trust = Trust(name=name.strip(), slug=slug or slugify(name))
    trust.full_clean()
    trust.save()
    return trust


OTHER_ZONE = gettext_noop(
    "{school} keeps its time in {zone}, the trust's schools in {theirs}: a trust's calendar "
    "is set in one time zone."
)


def lock(trust: Trust) -> None:
    """One change at a time to which schools a trust has and what reaches them all (its
    people, its calendar), so that a school joining meanwhile misses none of it."""
    Trust.objects.select_for_update().only("pk").get(pk=trust.pk)


def add_school(trust: Trust, school: School) -> None:
    """`school` joins `trust`: the trust's people hold their roles there at once. The
    schools of a trust keep one time zone (its calendar is set in it)."""
    if school.trust_id == trust.pk:
        return
    if school.trust_id is not None:
        raise InvalidAction(
            gettext("%(school)s belongs to %(trust)s: it must leave that trust first.")
            % {"school": school.name, "trust": school.trust}
        )
    with transaction.atomic():
        lock(trust)
        theirs = School.objects.filter(trust=trust).values_list("timezone", flat=True).first()
        if theirs is not None and theirs != school.timezone:
            raise InvalidAction(
                gettext(OTHER_ZONE).format(school=school.name, zone=school.timezone, theirs=theirs)
            )
        school.trust = trust
        school.save(update_fields=["trust"])
        sync(trust)
        for run in _joined:
            run(trust, school)


def remove_school(school: School) -> None:
    """`school` leaves its trust: the roles held there through the trust go. Refused while
    the school would be left with no administrator of its own."""
    trust = school.trust
    if trust is None:
        return
    with transaction.atomic():
        lock(trust)
        own_admin = MembershipRole.objects.filter(
            membership__school=school,
            membership__user__is_active=True,
            role=Role.SCHOOL_ADMIN,
            trust__isnull=True,
        ).exists()
        if not own_admin:
            raise InvalidAction(gettext(NO_OWN_ADMIN).format(school=school.name, trust=trust.name))
        school.trust = None
        school.save(update_fields=["trust"])
        sync(trust)
        for run in _left:
            run(trust, school)


def create_school(
    trust: Trust,
    name: str,
    slug: str | None = None,
    *,
    timezone: str = "Europe/London",
    admin_email: str = "",
    invited_by: User | None = None,
) -> School:
    """A new school in `trust`; with `admin_email`, its first administrator is invited (a
    school's administrator is its own: the trust's administrator reads it, and does not
    administer it)."""
    from changedesk.accounts.services import create_school as create
    from changedesk.accounts.services import invite

    with transaction.atomic():
        school = create(name, slug, timezone=timezone)
        add_school(trust, school)
        if admin_email and invited_by is not None:
            invite(school, admin_email, [Role.SCHOOL_ADMIN], invited_by)
    return school


def set_trust_roles(trust: Trust, user: User, roles: Iterable[str]) -> list[str]:
    """Give `user` exactly `roles` in `trust` (none: they leave it), and hold them in each of
    its schools. The trust keeps at least one administrator."""
    wanted = set(roles)
    unknown = sorted(wanted - set(TrustRole.values))
    if unknown:
        known = ", ".join(TrustRole.values)
        raise ValidationError(
            {
                "roles": gettext("Unknown trust role %(roles)s; use %(known)s.")
                % {"roles": ", ".join(unknown), "known": known}
            }
        )
    with transaction.atomic():
        # One change of administrators at a time per trust, so two cannot both step down.
        lock(trust)
        held = TrustMembership.objects.filter(trust=trust, user=user)
        if TrustRole.TRUST_ADMIN not in wanted and held.filter(role=TrustRole.TRUST_ADMIN).exists():
            others = (
                TrustMembership.objects.filter(trust=trust, role=TrustRole.TRUST_ADMIN)
                .exclude(user=user)
                .exists()
            )
            if not others:
                raise InvalidAction(gettext(LAST_TRUST_ADMIN))
        held.exclude(role__in=wanted).delete()
        existing = set(held.values_list("role", flat=True))
        TrustMembership.objects.bulk_create(
            [TrustMembership(trust=trust, user=user, role=r) for r in sorted(wanted - existing)]
        )
        sync(trust, users=[user])
    return [role.value for role in TrustRole if role.value in wanted]


def sync(trust: Trust, users: Iterable[User] | None = None) -> None:
    """Make the roles held through `trust` match its people's trust roles in its schools:
    for `users`, or for everyone who holds or held roles through it. In a fixed number of
    queries, however many schools and people."""
    user_ids = None if users is None else {u.pk for u in users}
    school_ids = list(School.objects.filter(trust=trust).values_list("pk", flat=True))
    grants = TrustMembership.objects.filter(trust=trust)
    if user_ids is not None:
        grants = grants.filter(user_id__in=user_ids)
    wanted: dict[int, set[str]] = defaultdict(set)  # by person, in every school
    for user_id, role in grants.values_list("user_id", "role"):
        wanted[user_id].update(TRUST_GRANTS[role])

    # Whoever is concerned: the people given trust roles, and those holding roles or places
    # through the trust (their roles may have gone, or their school may have left).
    concerned = set(wanted) | set(
        Membership.objects.filter(Q(trust=trust) | Q(roles__trust=trust))
        .values_list("user_id", flat=True)
        .distinct()
    )
    if user_ids is not None:
        concerned &= user_ids
    places = Membership.objects.filter(
        Q(school_id__in=school_ids) | Q(trust=trust) | Q(roles__trust=trust),
        user_id__in=concerned,
    ).distinct()
    memberships = {(m.user_id, m.school_id): m for m in places}
    rows: dict[int, dict[str, MembershipRole]] = defaultdict(dict)  # by membership
    for row in MembershipRole.objects.filter(membership__in=list(memberships.values())):
        rows[row.membership_id][row.role] = row

    new_places = [
        Membership(user_id=user_id, school_id=school_id, trust=trust)
        for user_id, roles in wanted.items()
        if roles
        for school_id in school_ids
        if (user_id, school_id) not in memberships
    ]
    for membership in Membership.objects.bulk_create(new_places):
        memberships[(membership.user_id, membership.school_id)] = membership

    in_trust = set(school_ids)
    add: list[MembershipRole] = []
    drop: list[int] = []
    for (user_id, school_id), membership in memberships.items():
        want = wanted.get(user_id, set()) if school_id in in_trust else set()
        mine = rows.get(membership.pk, {})
        for role, row in mine.items():
            if row.trust_id == trust.pk and role not in want:
                drop.append(row.pk)
        add += [
            MembershipRole(membership=membership, role=role, trust=trust)
            for role in sorted(want - set(mine))
        ]
    MembershipRole.objects.filter(pk__in=drop).delete()
    MembershipRole.objects.bulk_create(add)
    _close_empty(trust, user_ids)


def _close_empty(trust: Trust, user_ids: set[int] | None) -> None:
    """Memberships made for the trust that hold no role any more go, and whoever leaves a
    school that way stops deputising there, as anyone removed from it does."""
    empty = Membership.objects.filter(trust=trust).annotate(held=Count("roles")).filter(held=0)
    if user_ids is not None:
        empty = empty.filter(user_id__in=user_ids)
    gone = list(empty.values_list("pk", "user_id", "school_id"))
    if not gone:
        return
    leaving = Q()
    for _, user_id, school_id in gone:
        leaving |= Q(school_id=school_id) & (Q(deputy_id=user_id) | Q(approver_id=user_id))
    Delegation.objects.filter(leaving, revoked_at__isnull=True).update(
        revoked_at=django_timezone.now()
    )
    Membership.objects.filter(pk__in=[pk for pk, _, _ in gone]).delete()


def known_people(trust: Trust, caller: User) -> QuerySet[User]:
    """Whom `caller` may give trust roles to: the members of the trust's schools and its
    people already; anyone with an account for an operator. (Joining a school is consented
    to, by an invitation; a trust reaches no one a school of it has not taken in.)"""
    if caller.is_superuser:
        return User.objects.all()
    return User.objects.filter(
        Q(memberships__school__trust=trust) | Q(trust_memberships__trust=trust)
    ).distinct()
