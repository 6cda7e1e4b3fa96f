"""Writes of the definitive software library and its in/out book, each asking who may.

Who may (`releases.permissions`):
- keep the catalogue (add, edit, withdraw a piece): `may_keep_library` (the release manager,
  the build developer, the school administrator);
- take a piece out and bring it back: `may_take_out` (the release roles, the implementers,
  the school administrator).

The book's invariants: a piece is out at most once at a time (the piece's row is locked and
its open checkout looked for; the constraint `releases_checkout_out_once` is the backstop
against a writer that does not lock), only a piece that is out comes back, and a withdrawn
piece (`is_active` False) is not taken out.

The worker's job `overdue_checkouts` reminds whoever has an overdue piece, once a day.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, gettext_noop

from changedesk.accounts import permissions as accounts_permissions
from changedesk.accounts.choices import Role
from changedesk.accounts.models import School, User
from changedesk.changes.models import Change
from changedesk.lib import days
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.notifications.outbox import enqueue
from changedesk.releases import permissions
from changedesk.releases.models import Checkout, Licence, Release, Software
from changedesk.releases.services.links import open_link

logger = logging.getLogger(__name__)

FIX = gettext_noop("Some fields need correcting.")
SOFTWARE_FIELDS = ("title", "vendor", "version", "kind", "location", "checksum", "licence",
                   "notes", "is_active")  # fmt: skip
TAKE_FIELDS = ("taken_by", "due_back", "purpose", "change", "release")
# A checksum names its algorithm and gives the digest in hex.
CHECKSUM_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}
CHECKSUM = re.compile(r"^(md5|sha1|sha256|sha512):([0-9a-f]+)$")
# How far ahead a piece may be due back.
LONGEST_LOAN = timedelta(days=366)
# The most overdue checkouts one pass of the worker looks at.
MOST_NUDGED = 5000
OVERDUE_TEMPLATE = "releases_overdue"


def today_in(school: School, now: datetime | None = None) -> date:
    """Today where the school is: due days are its days."""
    return days.today_in(school, now)


def _unknown(data: dict[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise InvalidAction(gettext(FIX), {n: gettext("Not a field you may set.") for n in unknown})


def clean_checksum(value: Any) -> str:
    """`value` as `algorithm:hex` in lower case, or "" (none given); else a field error."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidAction(gettext(FIX), {"checksum": gettext("Give the checksum as text.")})
    text = value.strip().lower()
    if not text:
        return ""
    found = CHECKSUM.fullmatch(text)
    if found is None or len(found.group(2)) != CHECKSUM_LENGTHS[found.group(1)]:
        raise InvalidAction(
            gettext(FIX),
            {
                "checksum": gettext(
                    "Give the algorithm and the digest in hex, e.g. sha256: and 64 hex digits "
                    "(sha1: 40, md5: 32, sha512: 128)."
                )
            },
        )
    return text


# --- The catalogue. ---


def save_software(
    school: School, user: User, data: dict[str, Any], software: Software | None = None
) -> Software:
    """Add a piece to `school`'s library (`software` None) or change one (its school is
    kept). Withdraw a piece with `is_active` False: it stays, with its book."""
    _unknown(data, SOFTWARE_FIELDS)
    user = accounts_permissions.with_roles(user)
    with transaction.atomic():
        if software is None:
            piece = Software(school=school, created_by=user)
        else:
            piece = (
                Software.objects.select_for_update().select_related("school").get(pk=software.pk)
            )
            school = piece.school
        if not permissions.may_keep_library(user, school):
            raise NotPermitted(
                gettext(
                    "Only a release manager, a build developer or a school administrator of "
                    "%(school)s may keep its software library."
                )
                % {"school": school.name}
            )
        for name, value in data.items():
            if name == "checksum":
                value = clean_checksum(value)
            elif name == "licence":
                value = _licence_of(school, value)
            elif isinstance(value, str) and name != "notes":
                value = value.strip()
            setattr(piece, name, value)
        _clean(piece, exclude=["school", "licence", "created_by"])
        piece.save()
    return piece


def _licence_of(school: School, value: Any) -> Licence | None:
    if value in (None, ""):
        return None
    if isinstance(value, Licence):
        licence = value
    else:
        try:
            licence = Licence.objects.get(pk=int(value))
        except (Licence.DoesNotExist, TypeError, ValueError):
            raise InvalidAction(gettext(FIX), {"licence": gettext("No such licence.")}) from None
    if licence.school_id != school.pk:
        raise InvalidAction(
            gettext(FIX),
            {"licence": gettext("Not a licence of %(school)s.") % {"school": school.name}},
        )
    return licence


def _clean(row: Any, exclude: list[str]) -> None:
    try:
        row.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise InvalidAction(
            gettext(FIX), {n: " ".join(str(m) for m in ms) for n, ms in error.message_dict.items()}
        ) from error


# --- The in/out book. ---


def take_out(software: Software, user: User, data: dict[str, Any]) -> Checkout:
    """Write in the book that `data["taken_by"]` (a member of the school who may take
    pieces out, `takers`; by default the
    person recording it) took `software`, to bring it back by `due_back` (a day where the
    school is, not before today), for a `purpose`, maybe for an RFC (`change`) or a
    `release` of the school. Refused when the piece is out already or withdrawn."""
    _unknown(data, TAKE_FIELDS)
    user = accounts_permissions.with_roles(user)
    school = software.school
    _require_take_out(user, school)
    taker = _taker(school, data.get("taken_by"), user)
    due_back = _due_back(school, data.get("due_back"))
    purpose = data.get("purpose") or ""
    if not isinstance(purpose, str) or len(purpose.strip()) > 300:
        raise InvalidAction(gettext(FIX), {"purpose": gettext("At most 300 characters of text.")})
    change = _change_of(school, data.get("change"))
    release = _release_of(school, data.get("release"))
    with transaction.atomic():
        # The piece's row is the book's lock: whoever holds it decides whether it is in.
        piece = Software.objects.select_for_update().get(pk=software.pk)
        if not piece.is_active:
            raise InvalidAction(
                gettext("%(piece)s is withdrawn from the library: it is not taken out.")
                % {"piece": piece},
                {"software": gettext("Withdrawn.")},
            )
        out = Checkout.objects.filter(software=piece, returned_at__isnull=True).first()
        if out is not None:
            raise _already_out(piece, out)
        checkout = Checkout(
            school=school,
            software=piece,
            taken_by=taker,
            due_back=due_back,
            purpose=purpose.strip(),
            change=change,
            release=release,
            recorded_by=user,
        )
        try:
            # A savepoint: the refused insert leaves the caller's transaction usable.
            with transaction.atomic():
                checkout.save()
        except IntegrityError:
            # Only a writer that took no lock gets here; the constraint kept the book true.
            raise _already_out(piece, None) from None
    return checkout


def _already_out(piece: Software, out: Checkout | None) -> InvalidAction:
    if out is None:
        said = gettext("%(piece)s is out already: someone took it at the same moment.") % {
            "piece": piece
        }
    else:
        said = gettext(
            "%(piece)s is out already: %(name)s has it, due back %(day)s. It must come back first."
        ) % {
            "piece": piece,
            "name": out.taken_by.get_full_name() or out.taken_by.username,
            "day": date_format(out.due_back, "j F Y"),
        }
    return InvalidAction(said, {"software": gettext("Out already.")})


def _require_take_out(user: User, school: School) -> None:
    if not permissions.may_take_out(user, school):
        raise NotPermitted(
            gettext(
                "Only a release manager, a build developer, an installer, an implementer or a "
                "school administrator of %(school)s may take software out or bring it back."
            )
            % {"school": school.name}
        )


def _taker(school: School, value: Any, user: User) -> User:
    """The person who takes the piece: a member of the school, by user or username."""
    if value in (None, ""):
        value = user
    username = value.username if isinstance(value, User) else value
    if not isinstance(username, str):
        raise InvalidAction(gettext(FIX), {"taken_by": gettext("Give a username.")})
    found = User.objects.filter(
        username=username, is_active=True, memberships__school=school
    ).first()
    if found is None:
        raise InvalidAction(
            gettext(FIX),
            {
                "taken_by": gettext("No one called “%(username)s” at %(school)s.")
                % {"username": username, "school": school.name}
            },
        )
    if not permissions.may_take_out(accounts_permissions.with_roles(found), school):
        name = found.get_full_name() or found.username
        raise InvalidAction(
            gettext(FIX),
            {
                "taken_by": gettext("%(name)s may not take pieces out of %(school)s's library.")
                % {"name": name, "school": school.name}
            },
        )
    return found


def takers(school: School) -> QuerySet[User]:
    """The people who may take a piece of `school` out (`permissions.may_take_out`, in one
    query): the release roles, the implementers, the school administrator (a superuser
    who is a member too)."""
    roles = {*permissions.RELEASE_ROLES, Role.IMPLEMENTER, Role.SCHOOL_ADMIN}
    return User.objects.filter(
        Q(memberships__school=school)
        & (Q(memberships__roles__role__in=roles) | Q(is_superuser=True)),
        is_active=True,
    ).distinct()


def _due_back(school: School, value: Any) -> date:
    if value in (None, ""):
        raise InvalidAction(gettext(FIX), {"due_back": gettext("Say when it is due back.")})
    day: date
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    elif isinstance(value, str):
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise InvalidAction(
                gettext(FIX), {"due_back": gettext("Give a day, YYYY-MM-DD.")}
            ) from None
    else:
        raise InvalidAction(gettext(FIX), {"due_back": gettext("Give a day, YYYY-MM-DD.")})
    today = today_in(school)
    if day < today:
        raise InvalidAction(gettext(FIX), {"due_back": gettext("Not a day in the past.")})
    if day > today + LONGEST_LOAN:
        raise InvalidAction(gettext(FIX), {"due_back": gettext("Within a year.")})
    return day


def _change_of(school: School, value: Any) -> Change | None:
    change: Change | None = open_link(Change, _as_id(value), school, "change", "an RFC")
    return change


def _release_of(school: School, value: Any) -> Release | None:
    release: Release | None = open_link(Release, _as_id(value), school, "release", "a release")
    return release


def _as_id(value: Any) -> Any:
    """A row as it is; an id given as text (a form's) as a number."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def bring_back(checkout_or_software: Checkout | Software, user: User, notes: str = "") -> Checkout:
    """Write in the book that a piece came back (given its open checkout, or the piece).
    Refused for a checkout returned already, or a piece that is in."""
    user = accounts_permissions.with_roles(user)
    if isinstance(checkout_or_software, Checkout):
        software_id = checkout_or_software.software_id
        checkout_id: int | None = checkout_or_software.pk
    else:
        software_id = checkout_or_software.pk
        checkout_id = None
    notes = notes or ""
    if not isinstance(notes, str) or len(notes) > 5000:
        raise InvalidAction(gettext(FIX), {"notes": gettext("At most 5,000 characters of text.")})
    with transaction.atomic():
        piece = Software.objects.select_for_update().select_related("school").get(pk=software_id)
        _require_take_out(user, piece.school)
        if checkout_id is None:
            checkout = Checkout.objects.filter(software=piece, returned_at__isnull=True).first()
            if checkout is None:
                raise InvalidAction(
                    gettext("%(piece)s is in the library: nothing to bring back.")
                    % {"piece": piece},
                    {"software": gettext("Not out.")},
                )
        else:
            checkout = Checkout.objects.get(pk=checkout_id)
            if checkout.returned_at is not None:
                back = timezone.localtime(checkout.returned_at, piece.school.zone)
                raise InvalidAction(
                    gettext("%(piece)s came back already, on %(day)s.")
                    % {"piece": piece, "day": date_format(back, "j F Y")},
                    {"checkout": gettext("Returned already.")},
                )
        checkout.returned_at = timezone.now()
        checkout.returned_to = user
        checkout.return_notes = notes.strip()
        checkout.save(update_fields=["returned_at", "returned_to", "return_notes"])
    return checkout


# --- The worker's job. ---


def overdue_checkouts(now: datetime) -> int:
    """Remind whoever has a piece past its due day (a day where its school is), once a day
    per checkout (`nudged_on`); the school's release managers get their own mail of it.
    Returns the mails queued."""

    # Past due and not reminded today, each school's today its own: rows reminded today
    # are not read again, so they never crowd out the later ones past `MOST_NUDGED`.
    def due(today: date) -> Q:
        return Q(due_back__lt=today) & (Q(nudged_on__isnull=True) | Q(nudged_on__lt=today))

    late = (
        Checkout.objects.filter(returned_at__isnull=True)
        .filter(days.per_zone(School.objects.all(), due, now))
        .select_related("school", "software", "taken_by")
        .order_by("due_back", "id")[:MOST_NUDGED]
    )
    managers: dict[int, list[User]] = {}
    queued = 0
    for checkout in late:
        school = checkout.school
        today = today_in(school, now)
        if checkout.due_back >= today or checkout.nudged_on == today:
            continue
        with transaction.atomic():
            # Claim today's reminder: a second worker's pass finds it claimed.
            claimed = (
                Checkout.objects.filter(pk=checkout.pk, returned_at__isnull=True)
                .exclude(nudged_on=today)
                .update(nudged_on=today)
            )
            if not claimed:
                continue
            if school.pk not in managers:
                managers[school.pk] = list(school.holders_of(Role.RELEASE_MANAGER).order_by("pk"))
            queued += _tell_overdue(checkout, today, managers[school.pk])
    if queued:
        logger.info("Queued %s overdue library reminders", queued)
    return queued


def _tell_overdue(checkout: Checkout, today: date, managers: list[User]) -> int:
    school = checkout.school
    taker = checkout.taken_by
    days = (today - checkout.due_back).days
    context = {
        "school": school.name,
        "title": str(checkout.software),
        "location": checkout.software.location,
        "taken_by": taker.get_full_name() or taker.username,
        "taken_on": timezone.localtime(checkout.taken_at, school.zone).strftime("%-d %B %Y"),
        "due": checkout.due_back.strftime("%-d %B %Y"),
        "days": days,
        "purpose": checkout.purpose,
        "path": reverse("releases:software", args=[checkout.software_id]),
        "day": today.isoformat(),
    }
    queued = 0
    for person, as_manager in [(taker, False)] + [(m, True) for m in managers if m != taker]:
        key = f"releases-overdue:{checkout.pk}:{today.isoformat()}:{person.pk}"
        mail = {
            **context,
            "recipient_name": person.get_short_name() or person.username,
            "as_manager": as_manager,
        }
        if enqueue(
            recipient=person, template=OVERDUE_TEMPLATE, context=mail, key=key, school=school
        ):
            queued += 1
    return queued
