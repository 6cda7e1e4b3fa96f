"""Schools, the people in them, the FITS roles they hold, and delegation between approvers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from changedesk.accounts.choices import APPROVER_ROLES, Language, Role, ThrottleKind, TrustRole


def validate_timezone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            gettext("%(value)s is not a known time zone.") % {"value": repr(value)}
        ) from None


class User(AbstractUser):
    """A person: a technician, a teacher, a headteacher or a supplier's engineer."""

    job_title = models.CharField(
        max_length=100, blank=True, help_text="Shown beside the name on the printed RFC."
    )
    language = models.CharField(
        max_length=8,
        choices=Language.choices,
        blank=True,
        help_text="The language changedesk speaks to this person; blank: their school's.",
    )

    class Meta:
        ordering = ["first_name", "last_name", "username"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save; a new password (changed, reset, or set by an administrator) also revokes
        the person's API token, so that whoever held the old password loses the API too.
        (A hash upgraded at sign-in is not a new password: Django leaves `_password` unset.)"""
        new_password = getattr(self, "_password", None) is not None and not self._state.adding
        super().save(*args, **kwargs)
        if new_password:
            from rest_framework.authtoken.models import Token

            Token.objects.filter(user=self).delete()

    # roles_in's table of the loaded memberships' roles by school, and what it was read from.
    _roles_by_school: tuple[object, dict[int, frozenset[str]]]

    def roles_in(self, school: School) -> set[str]:
        """The roles this user holds in `school` (uses prefetched memberships when present,
        read once into a table by school for as long as the same memberships stay loaded:
        a list of fifty RFCs asks it a hundred times)."""
        loaded = getattr(self, "_prefetched_objects_cache", {}).get("memberships")
        if loaded is None:
            return {
                r for m in self.memberships.all() if m.school_id == school.pk for r in m.role_list
            }
        cached = getattr(self, "_roles_by_school", None)
        if cached is None or cached[0] is not loaded:
            by_school: dict[int, frozenset[str]] = {}
            for membership in loaded:
                held = by_school.get(membership.school_id, frozenset())
                by_school[membership.school_id] = held | frozenset(membership.role_list)
            cached = self._roles_by_school = (loaded, by_school)
        return set(cached[1].get(school.pk, ()))


class Trust(models.Model):
    """A group of schools run together: a multi-academy trust, or a local authority's ICT
    service. Its people hold trust roles (`TrustMembership`), which reach every school of
    the trust (`accounts.trusts`); each school keeps its own approvers."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TrustMembership(models.Model):
    """One trust role held by one person (a row per role)."""

    trust = models.ForeignKey(Trust, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="trust_memberships")
    role = models.CharField(max_length=32, choices=TrustRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["trust", "user", "role"], name="trust_membership_unique_role"
            )
        ]
        indexes = [models.Index(fields=["user", "trust"])]

    def __str__(self) -> str:
        return f"{self.user} as {self.get_role_display()} of {self.trust}"


class SchoolQuerySet(models.QuerySet["School"]):
    def for_user(self, user: User) -> SchoolQuerySet:
        """The schools `user` belongs to (all of them for a superuser): the scoping rule."""
        return self.filter(member_schools(user, path="pk"))


class School(models.Model):
    """A school; every domain row belongs to one."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    trust = models.ForeignKey(
        Trust,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="schools",
        help_text="The trust or local authority the school belongs to, if any.",
    )
    timezone = models.CharField(
        max_length=64, default="Europe/London", validators=[validate_timezone]
    )
    peer_review_enabled = models.BooleanField(
        default=True,
        help_text="FITS allows a school to leave peer review out while it starts out.",
    )
    final_approver_may_be_originator = models.BooleanField(
        default=False,
        help_text="Allow the final approver of an RFC to be the person who raised it.",
    )
    decision_links_enabled = models.BooleanField(
        "approve from e-mail",
        default=True,
        help_text=(
            "Approvers' e-mails carry a link that lets them decide on that one RFC without "
            "signing in (single-use, expiring, void once the RFC changes)."
        ),
    )
    normal_lead_days = models.PositiveSmallIntegerField(
        "lead time for normal changes (working days)",
        default=2,
        validators=[MaxValueValidator(30)],
        help_text=(
            "The next safe slot for a normal change starts at least this many working days "
            "ahead: time to approve it and to tell the users."
        ),
    )
    standard_lead_hours = models.PositiveSmallIntegerField(
        "lead time for standard changes (hours)",
        default=4,
        validators=[MaxValueValidator(24 * 14)],
        help_text="The next safe slot for a standard (pre-approved) change starts this far ahead.",
    )
    language = models.CharField(
        "default language",
        max_length=8,
        choices=Language.choices,
        default=Language.EN_GB,
        help_text="The language of members who have not chosen their own, and of its notices.",
    )
    bilingual_notices = models.BooleanField(
        "bilingual notices",
        default=False,
        help_text="Notices to staff and pupils in Welsh first, then English.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SchoolQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        """The school's time zone: its calendar, its planned windows and its mail use it."""
        return ZoneInfo(self.timezone)

    def holders_of(self, role: str) -> QuerySet[User]:
        return User.objects.filter(
            is_active=True, memberships__school=self, memberships__roles__role=role
        ).distinct()


class Membership(models.Model):
    """A user's place in a school, with the set of FITS roles they hold there."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="memberships")
    # FITS advises that the final approver should, in time, be someone outside ICT support:
    # the getting-started page warns when the only final approvers are ICT staff.
    is_ict_staff = models.BooleanField(
        "ICT staff",
        default=False,
        help_text="Works in ICT support (technician, network manager, ICT co-ordinator, supplier).",
    )
    # Made for the trust's roles alone (`accounts.trusts`): it goes when they go, unless the
    # school has given the person roles of its own meanwhile.
    trust = models.ForeignKey(
        Trust, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "school"], name="membership_unique_user_school")
        ]
        ordering = ["school__name", "user__first_name", "user__last_name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.school}"

    @property
    def role_list(self) -> list[str]:
        """The role names, sorted in the order of `Role` (uses prefetched roles when present)."""
        held = {r.role for r in self.roles.all()}
        return [role.value for role in Role if role.value in held]

    @property
    def own_roles(self) -> list[str]:
        """The roles the school gave, in the order of `Role` (not those through a trust)."""
        held = {r.role for r in self.roles.all() if r.trust_id is None}
        return [role.value for role in Role if role.value in held]

    @property
    def trust_roles(self) -> list[str]:
        """The roles held through the school's trust, in the order of `Role`."""
        held = {r.role for r in self.roles.all() if r.trust_id is not None}
        return [role.value for role in Role if role.value in held]

    def set_roles(self, roles: Iterable[str]) -> None:
        """Give exactly `roles` as the school's own. A role the trust also gives stays held
        through the trust when the school takes its own away (`accounts.trusts.sync`)."""
        wanted = set(roles)
        unknown = wanted - set(Role.values)
        if unknown:
            raise ValidationError(
                {
                    "roles": gettext("Unknown role: %(roles)s.")
                    % {"roles": ", ".join(sorted(unknown))}
                }
            )
        self.roles.filter(trust__isnull=True).exclude(role__in=wanted).delete()
        # A role held through the trust that the school now gives is the school's own.
        self.roles.filter(trust__isnull=False, role__in=wanted).update(trust=None)
        existing = set(self.roles.values_list("role", flat=True))
        MembershipRole.objects.bulk_create(
            [MembershipRole(membership=self, role=role) for role in sorted(wanted - existing)]
        )


class MembershipRole(models.Model):
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=32, choices=Role.choices)
    # Held through this trust (one of its people's trust roles), not given by the school.
    trust = models.ForeignKey(
        Trust, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["membership", "role"], name="membership_role_unique")
        ]
        indexes = [models.Index(fields=["role", "membership"])]

    def __str__(self) -> str:
        return self.get_role_display()


class DelegationQuerySet(models.QuerySet["Delegation"]):
    def active(self, at: object = None) -> DelegationQuerySet:
        at = at or timezone.now()
        return self.filter(
            revoked_at__isnull=True,
            starts_at__lte=at,
            ends_at__gt=at,
            # A deputy who has left the school (or been deactivated) deputises no more.
            deputy__is_active=True,
            deputy__memberships__school=models.F("school"),
        )

    def covering(self, role: str) -> DelegationQuerySet:
        return self.filter(Q(role="") | Q(role=role))


class Delegation(models.Model):
    """An approver names a deputy for a period: "J. Smith for the headteacher"."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="delegations")
    approver = models.ForeignKey(User, on_delete=models.CASCADE, related_name="delegations_given")
    deputy = models.ForeignKey(User, on_delete=models.CASCADE, related_name="delegations_held")
    role = models.CharField(
        max_length=32,
        blank=True,
        choices=[(r.value, r.label) for r in APPROVER_ROLES],
        help_text="Leave blank to cover every approval role the approver holds.",
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = DelegationQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["school", "deputy", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="delegation_ends_after_start"
            ),
            models.CheckConstraint(
                condition=~Q(approver=models.F("deputy")), name="delegation_not_to_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.deputy} for {self.approver}"

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and self.starts_at <= now < self.ends_at


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def open(self, at: Any = None) -> InvitationQuerySet:
        """Neither answered nor withdrawn, and not yet expired."""
        return self.filter(
            accepted_at__isnull=True,
            declined_at__isnull=True,
            withdrawn_at__isnull=True,
            expires_at__gt=at or timezone.now(),
        )

    def to_address(self, email: str) -> InvitationQuerySet:
        """Those sent to `email` (as typed, compared without regard to case)."""
        return self.filter(email__iexact=email.strip()) if email.strip() else self.none()


class Invitation(models.Model):
    """A school's offer of a place, with roles, to an e-mail address.

    Joining a school is consented to: an administrator names an address, not an account.
    Whoever answers for that address (signed in with an account that has it, or holding the
    e-mailed link) accepts or declines; only then is the account known to the school. Until
    then the school sees the address it typed, and nothing else."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(help_text="As the administrator typed it.")
    roles = models.JSONField(default=list, help_text="The role names offered.")
    invited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # Who answered: resolved when they answer, never when the invitation is made.
    answered_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["school", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.email} to {self.school}"

    @property
    def status(self) -> str:
        """pending, accepted, declined, withdrawn or expired."""
        if self.accepted_at:
            return "accepted"
        if self.declined_at:
            return "declined"
        if self.withdrawn_at:
            return "withdrawn"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"

    @property
    def is_open(self) -> bool:
        return self.status == "pending"

    @property
    def role_labels(self) -> list[str]:
        """The roles offered, by name, in the order of `Role`."""
        return [role.label for role in Role if role.value in self.roles]


# --- The one scoping rule: every row belongs to a school, and is seen by its members. ---

_Row = TypeVar("_Row", bound=models.Model)


def member_schools(user: Any, path: str = "school") -> Q:
    """Rows (reached through `path`) of the schools `user` belongs to: every school for a
    superuser, none for someone signed out. A filter on a list of school ids, never a join
    or a subquery (the planner cannot tell how many rows a subquery's schools hold, and
    misjudged it by ten times at trust scale): the ids of the memberships already loaded
    (no query), else read once and kept on `user`."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    if user.is_superuser:
        return Q()
    return Q(**{f"{path}__in": member_school_ids(user)})


def member_school_ids(user: Any) -> list[int]:
    """The ids of the schools `user` (signed in) belongs to, read at most once per user
    object."""
    if "memberships" in getattr(user, "_prefetched_objects_cache", {}):
        return sorted(m.school_id for m in user.memberships.all())
    cached: list[int] | None = getattr(user, "_member_school_ids", None)
    if cached is None:
        cached = sorted(Membership.objects.filter(user=user).values_list("school_id", flat=True))
        user._member_school_ids = cached
    return cached


def seen_school_ids(user: Any) -> list[int] | None:
    """The ids of the schools whose rows `user` (signed in) sees: None for a superuser, who
    sees every school's."""
    return None if user.is_superuser else member_school_ids(user)


def loaded_schools(user: Any) -> list[School]:
    """The schools of `user`'s memberships when they were loaded with them (`with_roles`),
    else none: the rows a page can take its RFCs' schools from without asking for them
    (`lib.loading.attach(..., known=)`)."""
    if "memberships" not in getattr(user, "_prefetched_objects_cache", {}):
        return []
    return [m.school for m in user.memberships.all()]


class SchoolScopedQuerySet(models.QuerySet[_Row]):
    """For a model with a `school`: `visible_to(user)`, the one scoping rule for every list
    (invisible rows are 404 to the pages and the API)."""

    def visible_to(self, user: Any) -> Self:
        return self.filter(member_schools(user))


class SignInCounter(models.Model):
    """Failed sign-ins counted for one username, or for one client address (API token
    failures too), within a window; past its limit, signing in is paused until
    `locked_until`. Written by `accounts.throttle` only."""

    kind = models.CharField(max_length=16, choices=ThrottleKind.choices)
    # The username as typed, lower-cased; or the address (an IPv6 one as its /64).
    value = models.CharField(max_length=150)
    failures = models.PositiveIntegerField(default=0)
    window_ends = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-locked_until", "kind", "value"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="signin_counter_unique")
        ]
        indexes = [models.Index(fields=["window_ends"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value}"
