"""Writing, publishing and withdrawing notices; who may; and what the school has been told.

Every write to a notice goes through a function here, which locks the row, checks the
actor's role on the server and raises the workflow's errors (`NotPermitted` 403,
`InvalidAction` 400 with field errors, `StaleChange` 409), so the pages and the API
refuse alike. Mail to the staff list is queued in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Membership, School, User
from changedesk.accounts.permissions import (
    holds,
    holds_or_superuser,
    is_school_admin,
    is_school_admin_or,
    with_roles,
)
from changedesk.changes.choices import State
from changedesk.changes.models import Change
from changedesk.communication.choices import NoticeKind, NoticeStatus
from changedesk.communication.mail import queue_published
from changedesk.communication.models import CommunicationSettings, Notice, new_board_key
from changedesk.communication.plain import plain_window
from changedesk.lib.errors import InvalidAction, NotPermitted, StaleChange, refuse_unknown

# What a notice's editor may set. A change's notice takes its window from the RFC.
TEXT_FIELDS = ("title", "what", "when_text", "what_you_will_notice", "what_to_do", "who_to_ask")
WINDOW_FIELDS = ("starts_at", "ends_at")
EDITABLE_FIELDS = (*TEXT_FIELDS, *WINDOW_FIELDS)
MAX_LENGTHS = {"title": 200, "when_text": 200, "who_to_ask": 200}
# How far ahead a change without a published notice is flagged.
UNTOLD_WITHIN = timedelta(days=7)


# --- Who may (the rules are in `accounts.permissions`). ---


def is_communicator(user: Any, school: School) -> bool:
    """Writes and publishes the school's notices: a communicator, or a superuser."""
    return holds_or_superuser(user, Role.COMMUNICATOR, school)


def may_manage(user: Any, school: School) -> bool:
    """The communication overview: communicators, and the administrator who sets it up."""
    return is_school_admin_or(user, Role.COMMUNICATOR, school)


def _is_originator_of(user: Any, change: Change) -> bool:
    return user.pk == change.originator_id and holds(user, Role.ORIGINATOR, change.school)


def may_draft(user: Any, change: Change) -> bool:
    return is_communicator(user, change.school) or _is_originator_of(user, change)


def may_edit(user: Any, notice: Notice) -> bool:
    """A communicator edits any notice of the school; an RFC's originator edits its notice."""
    if is_communicator(user, notice.school):
        return True
    return notice.change is not None and _is_originator_of(user, notice.change)


def visible_notices(user: Any) -> QuerySet[Notice]:
    """Published notices of the user's schools; all of them where the user is a
    communicator; and the notices of the RFCs the user raised, whatever their status."""
    if not user.is_authenticated:
        return Notice.objects.none()
    if user.is_superuser:
        return Notice.objects.all()
    member_of = Membership.objects.filter(user=user).values("school")
    communicator_in = Membership.objects.filter(user=user, roles__role=Role.COMMUNICATOR).values(
        "school"
    )
    return Notice.objects.filter(
        Q(school__in=member_of, status=NoticeStatus.PUBLISHED)
        | Q(school__in=communicator_in)
        | Q(school__in=member_of, change__originator=user)
    )


# --- Settings. ---


def settings_for(school: School) -> CommunicationSettings:
    """The school's communication settings, made with the defaults on first use."""
    config = CommunicationSettings.objects.filter(school=school).first()
    if config is not None:
        return config
    try:
        with transaction.atomic():
            return CommunicationSettings.objects.create(school=school)
    except IntegrityError:
        # Another request made them at the same moment.
        return CommunicationSettings.objects.get(school=school)


def regenerate_board_key(school: School, actor: Any) -> CommunicationSettings:
    """A new secret link for the board; the old one stops working at once."""
    if not is_school_admin(actor, school):
        raise NotPermitted(
            gettext("Only a school administrator of %(school)s may change the link.")
            % {"school": school.name}
        )
    config = settings_for(school)
    config.board_key = new_board_key()
    config.save(update_fields=["board_key", "updated_at"])
    return config


# --- What the school has been told. ---


def notice_for(change: Change) -> Notice | None:
    """The notice of an RFC, whatever its status, or None."""
    return Notice.objects.filter(change=change).select_related("published_by").first()


def users_told(change: Change) -> datetime | None:
    """When the users were first told of `change` by a notice still published, or None."""
    return (
        Notice.objects.filter(change=change, status=NoticeStatus.PUBLISHED)
        .values_list("first_published_at", flat=True)
        .first()
    )


def untold_changes_starting(
    school: School, within: timedelta = UNTOLD_WITHIN, now: datetime | None = None
) -> QuerySet[Change]:
    """Approved RFCs under way or starting within `within` whose users have not been told."""
    now = now or timezone.now()
    told = Notice.objects.filter(change=OuterRef("pk"), status=NoticeStatus.PUBLISHED)
    return (
        Change.objects.filter(school=school, state=State.APPROVED, planned_start__lte=now + within)
        .filter(Q(planned_end__gt=now) | Q(planned_end__isnull=True, planned_start__gte=now))
        .exclude(Exists(told))
        .annotate(notice_id=Subquery(Notice.objects.filter(change=OuterRef("pk")).values("pk")[:1]))
        .select_related("school", "originator")
        .order_by("planned_start", "id")
    )


def _starts_soon(change: Change, now: datetime) -> bool:
    """Approved, and under way or starting within UNTOLD_WITHIN."""
    if change.state != State.APPROVED or change.planned_start is None:
        return False
    if change.planned_start > now + UNTOLD_WITHIN:
        return False
    return change.planned_end is None or change.planned_end > now


def is_untold(change: Change, now: datetime | None = None) -> bool:
    """Whether the RFC page should flag that the change starts with its users not told."""
    return _starts_soon(change, now or timezone.now()) and users_told(change) is None


@dataclass
class NoticePanel:
    """What the RFC page shows about telling the school (see `_rfc_notice.html`)."""

    notice: Notice | None
    told_at: datetime | None
    untold: bool
    may_draft: bool
    may_edit: bool
    draft_url: str = ""
    notice_url: str = ""


def notice_panel(change: Change, user: Any, now: datetime | None = None) -> NoticePanel:
    """Whether and when the RFC's users were told, and what `user` may do about it."""
    notice = notice_for(change)
    published = notice is not None and notice.status == NoticeStatus.PUBLISHED
    told_at = notice.first_published_at if notice is not None and published else None
    slug = change.school.slug
    return NoticePanel(
        notice=notice,
        told_at=told_at,
        untold=told_at is None and _starts_soon(change, now or timezone.now()),
        may_draft=notice is None and change.state == State.APPROVED and may_draft(user, change),
        may_edit=notice is not None and may_edit(user, notice),
        draft_url=reverse("communication:draft", args=[slug, change.pk]),
        notice_url=reverse("communication:detail", args=[slug, notice.pk]) if notice else "",
    )


# --- Drafting and editing. ---


def drafted_fields(change: Change, now: datetime | None = None) -> dict[str, Any]:
    """A first draft from the RFC: its impact section is what people will notice."""
    originator = change.originator
    who = originator.display_name
    if originator.job_title:
        who = f"{who}, {originator.job_title}"
    when = plain_window(change.planned_start, change.planned_end, change.school.zone,
                        now or timezone.now())  # fmt: skip
    if not when and change.is_emergency:
        when = gettext("As soon as possible: this is an emergency change.")
    return {
        "title": change.title,
        "what": change.description,
        "when_text": when,
        "what_you_will_notice": change.impact,
        "what_to_do": "",
        "who_to_ask": who,
        "starts_at": change.planned_start,
        "ends_at": change.planned_end,
    }


def _errors(values: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name in TEXT_FIELDS:
        value = values.get(name, "")
        if not isinstance(value, str):
            errors[name] = gettext("Give some text.")
        elif name in MAX_LENGTHS and len(value) > MAX_LENGTHS[name]:
            errors[name] = gettext("Keep it to %(most)s characters.") % {"most": MAX_LENGTHS[name]}
    if not str(values.get("title") or "").strip():
        errors["title"] = gettext("Give the notice a title.")
    start, end = values.get("starts_at"), values.get("ends_at")
    if start is not None and end is not None and end <= start:
        errors["ends_at"] = gettext("The end must be after the start.")
    return errors


def _check_fields(notice: Notice | None, data: dict[str, Any], is_change: bool) -> None:
    refuse_unknown(data, EDITABLE_FIELDS)
    if is_change:
        fixed = [n for n in WINDOW_FIELDS if n in data and getattr(notice, n, None) != data[n]]
        if fixed:
            message = gettext("A change's notice follows the RFC's planned window.")
            raise InvalidAction(message, {n: message for n in fixed})


def draft_from_change(
    change_id: int, actor: User, data: dict[str, Any] | None = None, now: datetime | None = None
) -> tuple[Notice, bool]:
    """Draft the notice of an approved RFC as `actor`; returns (notice, created).

    An RFC has one notice: asking again gives the one there is.
    """
    data = dict(data or {})
    change = Change.objects.select_related("school", "originator").get(pk=change_id)
    actor = with_roles(actor)
    if not may_draft(actor, change):
        raise NotPermitted(
            gettext("Only a communicator or the originator of %(reference)s may write its notice.")
            % {"reference": change.reference}
        )
    existing = notice_for(change)
    if existing is not None:
        return existing, False
    if change.state != State.APPROVED:
        raise InvalidAction(
            gettext("%(reference)s is %(state)s: a notice is written once the change is approved.")
            % {"reference": change.reference, "state": change.get_state_display().lower()}
        )
    _check_fields(None, data, is_change=True)
    values = {**drafted_fields(change, now), **data}
    errors = _errors(values)
    if errors:
        raise InvalidAction(gettext("Some fields need correcting."), errors)
    try:
        with transaction.atomic():
            notice = Notice.objects.create(
                school=change.school,
                change=change,
                kind=NoticeKind.CHANGE,
                created_by=actor,
                **values,
            )
    except IntegrityError:
        # Drafted by someone else at the same moment: theirs is the notice.
        return Notice.objects.get(change=change), False
    return notice, True


def create_notice(school: School, actor: User, data: dict[str, Any]) -> Notice:
    """A general notice, about no RFC in particular: communicators only."""
    actor = with_roles(actor)
    if not is_communicator(actor, school):
        raise NotPermitted(
            gettext("Only a communicator of %(school)s may write a general notice.")
            % {"school": school.name}
        )
    _check_fields(None, data, False)
    values = {n: data.get(n, "") for n in TEXT_FIELDS}
    values.update({n: data.get(n) for n in WINDOW_FIELDS})
    errors = _errors(values)
    if errors:
        raise InvalidAction(gettext("Some fields need correcting."), errors)
    return Notice.objects.create(school=school, kind=NoticeKind.GENERAL, created_by=actor, **values)


def _locked(notice_id: int, actor: User) -> tuple[Notice, User]:
    notice = (
        Notice.objects.select_for_update(of=("self",))
        .select_related("school", "change", "change__school", "change__originator")
        .get(pk=notice_id)
    )
    actor = with_roles(actor)
    if not may_edit(actor, notice):
        raise NotPermitted(_refusal(notice))
    return notice, actor


def _refusal(notice: Notice) -> str:
    if notice.change is not None:
        return gettext(
            "Only a communicator or the originator of %(reference)s may change its notice."
        ) % {"reference": notice.change.reference}
    return gettext("Only a communicator of %(school)s may change this notice.") % {
        "school": notice.school.name
    }


def update_notice(notice_id: int, actor: User, data: dict[str, Any]) -> Notice:
    """Edit a notice's words (and, for a general notice, its dates)."""
    with transaction.atomic():
        notice, actor = _locked(notice_id, actor)
        _check_fields(notice, data, notice.change_id is not None)
        values = {n: getattr(notice, n) for n in EDITABLE_FIELDS}
        values.update(data)
        errors = _errors(values)
        if errors:
            raise InvalidAction(gettext("Some fields need correcting."), errors)
        changed = [n for n in data if getattr(notice, n) != data[n]]
        for name in changed:
            setattr(notice, name, data[name])
        if changed:
            notice.save(update_fields=[*changed, "updated_at"])
    return notice


def publish_notice(notice_id: int, actor: User, now: datetime | None = None) -> Notice:
    """Put the notice on the board and e-mail the staff list; records who and when."""
    now = now or timezone.now()
    with transaction.atomic():
        notice, actor = _locked(notice_id, actor)
        if notice.status == NoticeStatus.PUBLISHED:
            raise StaleChange(gettext("This notice is already published."))
        required = {
            "title": gettext("Give the notice a title."),
            "what": gettext("Say what is happening."),
        }
        if notice.kind == NoticeKind.CHANGE:
            required["when_text"] = gettext("Say when it happens, in plain words.")
        errors = {n: m for n, m in required.items() if not getattr(notice, n).strip()}
        if errors:
            raise InvalidAction(
                gettext("The notice needs a little more before it goes out."), errors
            )
        change = notice.change
        if change is not None:
            if change.state in (State.WITHDRAWN, State.REJECTED):
                raise InvalidAction(
                    gettext("%(reference)s is %(state)s: there is nothing to tell the school.")
                    % {"reference": change.reference, "state": change.get_state_display().lower()}
                )
            # The RFC is the truth about when: reminders follow its window.
            notice.starts_at, notice.ends_at = change.planned_start, change.planned_end
        notice.status = NoticeStatus.PUBLISHED
        notice.published_at = now
        notice.published_by = actor
        notice.first_published_at = notice.first_published_at or now
        notice.save(
            update_fields=[
                "status",
                "published_at",
                "published_by",
                "first_published_at",
                "starts_at",
                "ends_at",
                "updated_at",
            ]
        )
        queue_published(notice, settings_for(notice.school))
    return notice


def withdraw_notice(notice_id: int, actor: User) -> Notice:
    """Take a notice off the board; no reminders follow."""
    with transaction.atomic():
        notice, actor = _locked(notice_id, actor)
        if notice.status != NoticeStatus.PUBLISHED:
            raise StaleChange(gettext("Only a published notice can be withdrawn."))
        notice.status = NoticeStatus.WITHDRAWN
        notice.save(update_fields=["status", "updated_at"])
    return notice


# --- The board. ---


@dataclass
class Board:
    now: list[Notice]
    upcoming: list[Notice]
    other: list[Notice]

    @property
    def is_empty(self) -> bool:
        return not (self.now or self.upcoming or self.other)


BOARD_LIMIT = 200


def board_for(school: School, now: datetime | None = None) -> Board:
    """The published notices that are current or to come, sorted for the board. One query."""
    now = now or timezone.now()
    notices = list(
        Notice.objects.on_board(now)
        .filter(school=school)
        .select_related("change")
        .order_by("starts_at", "id")[:BOARD_LIMIT]
    )
    dated = [n for n in notices if n.kind != NoticeKind.SUMMARY and n.starts_at is not None]
    other = [n for n in notices if n not in dated]
    other.sort(key=lambda n: n.published_at or n.created_at, reverse=True)
    return Board(
        now=[n for n in dated if n.starts_at is not None and n.starts_at <= now],
        upcoming=[n for n in dated if n.starts_at is not None and n.starts_at > now],
        other=other,
    )
