"""Provisioning schools and people: the CLI, the demo, the member pages and the tests use these.

The member pages check that the caller administers the school (`accounts.permissions`)
before they call these; the functions here hold the rules about the school itself (it
keeps an administrator; whoever leaves it stops deputising there).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone as django_timezone
from django.utils.text import slugify
from django.utils.translation import gettext, gettext_noop

from changedesk.accounts import trusts
from changedesk.accounts.choices import Role
from changedesk.accounts.mail import queue_mail
from changedesk.accounts.models import Delegation, Invitation, Membership, School, User
from changedesk.accounts.permissions import may_answer_invitation
from changedesk.lib.errors import InvalidAction, NotPermitted

LAST_ADMIN = gettext_noop("A school needs at least one administrator: name another first.")


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
            {
                "roles": gettext("Unknown role %(roles)s; use %(known)s.")
                % {"roles": ", ".join(unknown), "known": ", ".join(Role.values)}
            }
        )
    with transaction.atomic():
        membership, _ = Membership.objects.get_or_create(user=user, school=school)
        if membership.trust_id is not None:
            # Made for the trust's roles; the school now holds the place too, so it stays
            # when they go (`trusts.sync` removes only places made for the trust alone).
            membership.trust = None
            membership.save(update_fields=["trust"])
        membership.set_roles(roles)
        if school.trust is not None:
            # A role the school took away may still be held through its trust.
            trusts.sync(school.trust, users=[user])
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


def change_roles(
    membership: Membership, roles: Iterable[str], *, is_ict_staff: bool | None = None
) -> Membership:
    """Give a member exactly `roles` (and, when given, record whether they are ICT staff);
    the school keeps at least one administrator."""
    roles = list(roles)
    with transaction.atomic():
        _keep_an_admin(membership, roles)
        if is_ict_staff is not None and membership.is_ict_staff != is_ict_staff:
            membership.is_ict_staff = is_ict_staff
            membership.save(update_fields=["is_ict_staff"])
        return set_membership(membership.user, membership.school, roles)


def remove_member(membership: Membership) -> None:
    """Take a person out of a school. Whoever leaves neither deputises there nor is
    deputised for; the school keeps at least one administrator."""
    if membership.trust_roles:
        trust = membership.school.trust
        raise InvalidAction(
            gettext(
                "%(name)s holds roles here through %(trust)s: its administrator manages those. "
                "Take away the school's own roles instead."
            )
            % {
                "name": membership.user.display_name,
                "trust": trust if trust is not None else gettext("the trust"),
            }
        )
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
    if (
        Role.SCHOOL_ADMIN in roles
        or Role.SCHOOL_ADMIN in membership.trust_roles
        or Role.SCHOOL_ADMIN not in membership.role_list
    ):
        return
    # One change of administrators at a time per school, so two cannot both step down.
    School.objects.select_for_update().only("pk").get(pk=membership.school_id)
    others = (
        Membership.objects.filter(school_id=membership.school_id, roles__role=Role.SCHOOL_ADMIN)
        .exclude(pk=membership.pk)
        .exists()
    )
    if not others:
        raise InvalidAction(gettext(LAST_ADMIN))


# --- Invitations: joining a school is consented to. ---

INVITATION_DAYS = 14
INVITATION_SALT = "changedesk.accounts.invitation"
USERNAME_TAKEN = gettext_noop("That sign-in name is taken: choose another.")
ALREADY_MEMBER = gettext_noop(
    "Someone with this address is a member already: change their roles instead."
)


def invitation_token(invitation: Invitation) -> str:
    """The secret of an invitation's link: its id, signed with the instance's key."""
    return signing.dumps({"i": invitation.pk}, salt=INVITATION_SALT)


def invitation_path(invitation: Invitation) -> str:
    return reverse("accounts:invitation", args=[invitation_token(invitation)])


def invitation_from_token(token: str) -> Invitation | None:
    """The invitation a link names, answered or not; None for a link not made by us."""
    try:
        value = signing.loads(token, salt=INVITATION_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("i"), int):
        return None
    return Invitation.objects.select_related("school", "invited_by").filter(pk=value["i"]).first()


def invite(school: School, email: str, roles: Iterable[str], invited_by: User) -> Invitation:
    """Offer `roles` at `school` to whoever answers for `email`, and queue the mail.

    The same whether an account with that address exists or not (nothing here looks for
    one): the school learns nothing about the person until they accept. An open invitation
    to the same address is replaced (a fresh link and expiry). Someone with the address who
    is a member already is refused: that is changing their roles. The caller checks that
    `invited_by` administers the school."""
    email = email.strip()
    roles = [role.value for role in Role if role.value in set(roles)]
    if not roles:
        refused = gettext("Choose at least one role.")
        raise InvalidAction(refused, {"roles": refused})
    with transaction.atomic():
        # One invitation at a time per school, so two cannot leave two open to one address.
        School.objects.select_for_update().only("pk").get(pk=school.pk)
        if Membership.objects.filter(school=school, user__email__iexact=email).exists():
            refused = gettext(ALREADY_MEMBER)
            raise InvalidAction(refused, {"email": refused})
        now = django_timezone.now()
        Invitation.objects.open(now).filter(school=school).to_address(email).update(
            withdrawn_at=now
        )
        invitation = Invitation.objects.create(
            school=school,
            email=email,
            roles=roles,
            invited_by=invited_by,
            expires_at=now + timedelta(days=INVITATION_DAYS),
        )
        _queue_invitation_mail(invitation)
    return invitation


def _queue_invitation_mail(invitation: Invitation) -> None:
    """To the address typed, which may be no account's: the row names no recipient."""
    school = invitation.school
    inviter = invitation.invited_by
    expires = django_timezone.localtime(invitation.expires_at, school.zone)
    queue_mail(
        to_address=invitation.email,
        template="invitation",
        context={
            "school": school.name,
            "invited_by": inviter.display_name if inviter else "",
            "roles": [label.lower() for label in invitation.role_labels],
            "path": invitation_path(invitation),
            "expires": f"{expires.day} {expires:%B %Y}",
        },
        key=f"invitation:{invitation.pk}",
        school=school,
    )


def withdraw_invitation(invitation: Invitation) -> bool:
    """The school takes back an open invitation; False when it was answered or over."""
    withdrawn = (
        Invitation.objects.open()
        .filter(pk=invitation.pk)
        .update(withdrawn_at=django_timezone.now())
    )
    return withdrawn > 0


def accept_invitation(invitation: Invitation, user: User) -> Membership:
    """`user`, whose account has the address invited, takes up the place offered: a
    membership with the roles offered (added to any they hold there already)."""
    with transaction.atomic():
        invitation = _answerable(invitation, user, by_link=False)
        existing = Membership.objects.filter(user=user, school=invitation.school).first()
        # The school's own roles; those held through its trust stay the trust's.
        held = existing.own_roles if existing else []
        membership = set_membership(user, invitation.school, [*held, *invitation.roles])
        invitation.accepted_at = django_timezone.now()
        invitation.answered_by = user
        invitation.save(update_fields=["accepted_at", "answered_by"])
    return membership


def decline_invitation(invitation: Invitation, user: User | None, *, by_link: bool) -> None:
    """Say no: recorded, and the school sees that it was declined."""
    with transaction.atomic():
        invitation = _answerable(invitation, user, by_link=by_link)
        invitation.declined_at = django_timezone.now()
        invitation.answered_by = user if user is not None and user.is_authenticated else None
        invitation.save(update_fields=["declined_at", "answered_by"])


def join_with_new_account(invitation: Invitation, data: dict[str, Any]) -> User:
    """The holder of the link makes an account, with the invited address, and accepts."""
    with transaction.atomic():
        invitation = _answerable(invitation, None, by_link=True)
        try:
            with transaction.atomic():
                user = create_user(
                    data["username"],
                    email=invitation.email,
                    password=data["password"],
                    first_name=data.get("first_name", ""),
                    last_name=data.get("last_name", ""),
                    job_title=data.get("job_title", ""),
                )
        except IntegrityError:  # the name was taken a moment ago
            taken = gettext(USERNAME_TAKEN)
            raise InvalidAction(taken, {"username": taken}) from None
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                fields = {name: " ".join(texts) for name, texts in error.message_dict.items()}
            else:  # the password's validators
                fields = {"password1": " ".join(error.messages)}
            raise InvalidAction(gettext("The account could not be made."), fields) from None
        accept_invitation(invitation, user)
    return user


# Why an invitation can no longer be answered, by its status: whole sentences, to translate.
CLOSED_INVITATION = {
    "accepted": gettext_noop("This invitation is accepted: it can no longer be answered."),
    "declined": gettext_noop("This invitation is declined: it can no longer be answered."),
    "withdrawn": gettext_noop("This invitation is withdrawn: it can no longer be answered."),
    "expired": gettext_noop("This invitation is expired: it can no longer be answered."),
}


def _answerable(invitation: Invitation, user: User | None, *, by_link: bool) -> Invitation:
    """The invitation, locked, if it is still open and `user` (or the link) may answer it."""
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not may_answer_invitation(user, locked, by_link=by_link):
        raise NotPermitted(gettext("This invitation is for someone else."))
    if not locked.is_open:
        raise InvalidAction(
            gettext(CLOSED_INVITATION.get(locked.status, CLOSED_INVITATION["expired"]))
        )
    return locked
