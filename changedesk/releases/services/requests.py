"""Install requests: how installation needs arrive (FITS: from one person, or from an RFC,
for infrastructure), and how the installers answer them.

- Any member may send one (`permissions.may_request_install`): what, optionally the piece of
  the library or the build, where (text or a configuration item), why, and by when. It is
  mailed to the school's installers (or, in a school with none yet, its release managers).
- From an RFC: the RFC page's "Part of release" panel (`releases/rfc.py`) offers the same
  short form with the RFC named; the request then has `source` "change" and its `change`.
  It is sent by a person who sees the need, not raised by itself when an RFC is approved:
  an approval does not say what to install where, and a request nobody asked for is noise.
- An installer (`permissions.may_install`: an installer or release manager) accepts it (it
  is then theirs: `assigned_to`), declines it with an answer (mailed to the requester), or
  marks it done, optionally naming the installation that did it (also mailed).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from changedesk.accounts.choices import Role
from changedesk.accounts.models import School, User
from changedesk.changes.models import Change
from changedesk.configuration.models import ConfigurationItem
from changedesk.lib.errors import InvalidAction, NotPermitted, refuse_unknown
from changedesk.notifications.outbox import enqueue
from changedesk.releases import permissions
from changedesk.releases.choices import (
    OPEN_REQUEST_STATES,
    InstallationState,
    RequestSource,
    RequestState,
)
from changedesk.releases.models import Build, Installation, InstallRequest, Software

REQUEST_MAIL = "releases_request"
ANSWER_MAIL = "releases_request_answer"
FIELDS = ("what", "software", "build", "where", "item", "reason", "needed_by", "change")
MOST_TEXT = 5000


def handlers(school: School) -> list[User]:
    """Who is told of a new request: the installers, or the release managers if none."""
    found = list(school.holders_of(Role.INSTALLER).order_by("pk"))
    return found or list(school.holders_of(Role.RELEASE_MANAGER).order_by("pk"))


def _text(data: dict[str, Any], name: str, most: int, errors: dict[str, str]) -> str:
    value = data.get(name) or ""
    if not isinstance(value, str):
        errors[name] = gettext("Give text.")
        return ""
    if len(value.strip()) > most:
        errors[name] = gettext("At most %(most)s characters.") % {"most": most}
    return value.strip()


def _of_school(
    model: Any, value: Any, school: School, name: str, noun: str, errors: dict[str, str]
) -> Any:
    if value in (None, ""):
        return None
    pk = value.pk if isinstance(value, model) else value
    if not isinstance(pk, int) or isinstance(pk, bool):
        errors[name] = f"Give the {noun}'s id."
        return None
    found = model.objects.filter(pk=pk, school_id=school.pk).first()
    if found is None:
        errors[name] = f"No {noun} of {school.name} has that id."
    return found


def request_install(school: School, user: User, data: dict[str, Any]) -> InstallRequest:
    """Send an install request to the school's installers."""
    if not permissions.may_request_install(user, school):
        raise NotPermitted(
            gettext("Only a member of %(school)s may ask for an installation.")
            % {"school": school.name}
        )
    refuse_unknown(data, FIELDS)
    errors: dict[str, str] = {}
    what = _text(data, "what", 300, errors)
    if not what and "what" not in errors:
        errors["what"] = gettext("Say what should be installed.")
    where = _text(data, "where", 300, errors)
    reason = _text(data, "reason", MOST_TEXT, errors)
    software = _of_school(Software, data.get("software"), school, "software", "piece", errors)
    build = _of_school(Build, data.get("build"), school, "build", "build", errors)
    item = _of_school(ConfigurationItem, data.get("item"), school, "item", "item", errors)
    change = _of_school(Change, data.get("change"), school, "change", "RFC", errors)
    needed_by = data.get("needed_by")
    if isinstance(needed_by, datetime) or (
        needed_by is not None and not isinstance(needed_by, date)
    ):
        errors["needed_by"] = gettext("Give a date, YYYY-MM-DD.")
    elif needed_by is not None and needed_by < timezone.now().astimezone(school.zone).date():
        errors["needed_by"] = gettext("A day from today on.")
    if errors:
        raise InvalidAction(gettext("Some fields need correcting."), errors)
    with transaction.atomic():
        request = InstallRequest.objects.create(
            school=school,
            source=RequestSource.CHANGE if change is not None else RequestSource.PERSON,
            what=what,
            software=software,
            build=build,
            where=where,
            item=item,
            reason=reason,
            needed_by=needed_by,
            change=change,
            requested_by=user,
        )
        _tell_handlers(request)
    return request


def _context(request: InstallRequest, recipient: User) -> dict[str, Any]:
    return {
        "school": request.school.name,
        "what": request.what,
        "where": request.where or (request.item.name if request.item else ""),
        "reason": request.reason,
        "needed_by": request.needed_by.strftime("%-d %B %Y") if request.needed_by else "",
        "requester": request.requested_by.get_full_name() or request.requested_by.username,
        "reference": request.change.reference if request.change else "",
        "recipient_name": recipient.get_short_name() or recipient.username,
        "path": request.get_absolute_url(),
    }


def _tell_handlers(request: InstallRequest) -> int:
    queued = 0
    for person in handlers(request.school):
        if person.pk == request.requested_by_id:
            continue
        key = f"releases-request:{request.pk}:{person.pk}"
        if enqueue(
            recipient=person,
            template=REQUEST_MAIL,
            context=_context(request, person),
            key=key,
            school=request.school,
        ):
            queued += 1
    return queued


def _tell_requester(request: InstallRequest, installer: User) -> None:
    person = request.requested_by
    if person.pk == installer.pk:
        return
    context = _context(request, person)
    context.update(
        {
            "declined": request.state == RequestState.DECLINED,
            "answer": request.answer,
            "installer": installer.get_full_name() or installer.username,
        }
    )
    enqueue(
        recipient=person,
        template=ANSWER_MAIL,
        context=context,
        key=f"releases-answer:{request.pk}:{request.state}",
        school=request.school,
    )


def _locked(request_pk: int, user: User) -> InstallRequest:
    request = (
        InstallRequest.objects.select_for_update(of=("self",))
        .select_related("school", "requested_by", "change", "item")
        .get(pk=request_pk)
    )
    if not permissions.may_install(user, request.school):
        raise NotPermitted(
            gettext("Only an installer or release manager of %(school)s may do that.")
            % {"school": request.school.name}
        )
    return request


def _open(request: InstallRequest, what: str) -> None:
    if request.state not in OPEN_REQUEST_STATES:
        raise InvalidAction(
            gettext("A request that is %(state)s is not %(what)s.")
            % {"state": request.get_state_display().lower(), "what": what},
            {
                "state": gettext("Not while it is %(state)s.")
                % {"state": request.get_state_display().lower()}
            },
        )


def accept(request_pk: int, user: User) -> InstallRequest:
    """An installer takes the request on: it is theirs."""
    with transaction.atomic():
        request = _locked(request_pk, user)
        if request.state != RequestState.OPEN:
            raise InvalidAction(
                gettext("Only an open request is taken on; this one is %(state)s.")
                % {"state": request.get_state_display().lower()},
                {
                    "state": gettext("Not while it is %(state)s.")
                    % {"state": request.get_state_display().lower()}
                },
            )
        request.state = RequestState.ACCEPTED
        request.assigned_to = user
        request.save(update_fields=["state", "assigned_to", "updated_at"])
    return request


def decline(request_pk: int, user: User, answer: str) -> InstallRequest:
    """Decline it, saying why; the requester is told."""
    errors: dict[str, str] = {}
    answer = _text({"answer": answer}, "answer", MOST_TEXT, errors)
    if not answer and not errors:
        errors["answer"] = gettext("Say why it is declined: the requester reads it.")
    if errors:
        raise InvalidAction(gettext("Some fields need correcting."), errors)
    with transaction.atomic():
        request = _locked(request_pk, user)
        _open(request, gettext("declined"))
        request.state = RequestState.DECLINED
        request.answer = answer
        request.assigned_to = request.assigned_to or user
        request.closed_at = timezone.now()
        request.save(update_fields=["state", "answer", "assigned_to", "closed_at", "updated_at"])
        _tell_requester(request, user)
    return request


def done(
    request_pk: int, user: User, installation: Installation | int | None = None, answer: str = ""
) -> InstallRequest:
    """Mark it installed, optionally naming the installation (of the school, installed)."""
    errors: dict[str, str] = {}
    answer = _text({"answer": answer}, "answer", MOST_TEXT, errors)
    if errors:
        raise InvalidAction(gettext("Some fields need correcting."), errors)
    with transaction.atomic():
        request = _locked(request_pk, user)
        _open(request, gettext("marked done"))
        found: Installation | None = None
        if installation is not None:
            pk = installation.pk if isinstance(installation, Installation) else installation
            found = Installation.objects.filter(pk=pk, school_id=request.school_id).first()
            if found is None:
                raise InvalidAction(
                    gettext("Name an installation of the school."),
                    {
                        "installation": gettext("No installation of %(school)s has that id.")
                        % {"school": request.school.name}
                    },
                )
            if found.state != InstallationState.INSTALLED:
                raise InvalidAction(
                    gettext("That installation is not finished as installed."),
                    {"installation": gettext("Choose an installation that finished as installed.")},
                )
        request.state = RequestState.DONE
        request.answer = answer
        request.assigned_to = request.assigned_to or user
        request.closed_at = timezone.now()
        request.save(update_fields=["state", "answer", "assigned_to", "closed_at", "updated_at"])
        if found is not None and found.request_id is None:
            Installation.objects.filter(pk=found.pk).update(request=request)
        _tell_requester(request, user)
    return request
