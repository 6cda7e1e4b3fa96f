"""A release's steps: one table (`TRANSITIONS`) and one door (`perform`).

FITS's four steps are the release's open states: define (what goes in), build (the builds
are being written and tested), release (every build is documented: approved), install (the
installers are at work in its planned window); then closed, or cancelled.

    define  → build      `build`    needs at least one build in the release
    build   → release    `release`  needs every build documented (an approved version)
    release → install    `install`  needs a planned window (start and end)
    install → closed     `close`
    any open → cancelled `cancel`   needs a reason
    closed, cancelled → the state before  `reopen`

`reopen` goes back to the state the release was in when it was closed or cancelled (read off
the event that closed it), not to define: the builds and RFCs it holds stay, and a release
closed by mistake goes on where it was. Its guards are not asked again on the way back.

Who may: the release manager, or the school administrator, as `permissions.may_manage` says
(the rulebook: the school administrator, who sets the work up, may do what the release
manager does except approve a build procedure; moving a release along is management, not a
decision on a build, so the administrator may).

Only `perform` changes a release's state. It locks the release's row, finds the action's row
for its state, checks who may, checks the row's guard (refusing with a field error before
anything is written), sets the state, and writes one `ReleaseEvent`, in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from changedesk.accounts.models import User
from changedesk.lib.errors import InvalidAction, NotPermitted, UnknownAction
from changedesk.releases import permissions
from changedesk.releases.choices import OPEN_RELEASE_STATES, ReleaseAction, ReleaseState
from changedesk.releases.models import Release, ReleaseEvent

A = ReleaseAction
S = ReleaseState
OPEN = tuple(str(s) for s in OPEN_RELEASE_STATES)
ENDED = (S.CLOSED, S.CANCELLED)
# The steps, in FITS's order, as the release page shows them.
STEPS = (S.DEFINE, S.BUILD, S.RELEASE, S.INSTALL)
MOST_TEXT = 5000

# A guard reads the release (locked) and the action's data; it refuses with
# `InvalidAction`, or returns what its event keeps.
Guard = Callable[[Release, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    # The state it goes to; "" for reopen (the state before it ended).
    target: str
    guard: Guard
    verb: str = ""
    # What the button asks for (shown on the page's form).
    needs_reason: bool = False


def _text(data: dict[str, Any], name: str, *, required: str = "") -> str:
    value = data.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidAction(gettext("Some fields need correcting."), {name: gettext("Give text.")})
    value = value.strip()
    if required and not value:
        raise InvalidAction(required, {name: required})
    if len(value) > MOST_TEXT:
        raise InvalidAction(
            gettext("Some fields need correcting."),
            {name: gettext("At most %(most)s characters.") % {"most": MOST_TEXT}},
        )
    return value


def _has_builds(release: Release, data: dict[str, Any]) -> dict[str, Any]:
    count = release.builds.count()
    if not count:
        raise InvalidAction(
            gettext("Add at least one build before building the release."),
            {"builds": gettext("Add at least one build.")},
        )
    return {"builds": count}


def _documented(release: Release, data: dict[str, Any]) -> dict[str, Any]:
    missing = list(
        release.builds.filter(approved_version__isnull=True)
        .order_by("name")
        .values_list("name", flat=True)
    )
    if missing:
        names = ", ".join(missing)
        raise InvalidAction(
            gettext("Every build must be documented (an approved version) first: %(names)s.")
            % {"names": names},
            {"builds": gettext("Not documented yet: %(names)s.") % {"names": names}},
        )
    versions = list(release.builds.order_by("pk").values_list("pk", "approved_version_id"))
    return {"versions": {str(b): v for b, v in versions}}


def _planned(release: Release, data: dict[str, Any]) -> dict[str, Any]:
    if release.planned_start is None or release.planned_end is None:
        raise InvalidAction(
            gettext("Plan the release's window (its start and end) before installing it."),
            {"planned_start": gettext("Give the window in which it is installed.")},
        )
    return {
        "planned_start": release.planned_start.isoformat(),
        "planned_end": release.planned_end.isoformat(),
    }


def _nothing(release: Release, data: dict[str, Any]) -> dict[str, Any]:
    return {}


def _reason(release: Release, data: dict[str, Any]) -> dict[str, Any]:
    return {"reason": _text(data, "reason", required=gettext("Say why it is cancelled."))}


TRANSITIONS: tuple[Transition, ...] = (
    Transition(A.BUILD, (S.DEFINE,), S.BUILD, _has_builds, verb=gettext_noop("Start building")),
    Transition(
        A.RELEASE, (S.BUILD,), S.RELEASE, _documented, verb=gettext_noop("Release the builds")
    ),
    Transition(A.INSTALL, (S.RELEASE,), S.INSTALL, _planned, verb=gettext_noop("Start installing")),
    Transition(A.CLOSE, (S.INSTALL,), S.CLOSED, _nothing, verb=gettext_noop("Close the release")),
    Transition(
        A.CANCEL,
        OPEN,
        S.CANCELLED,
        _reason,
        verb=gettext_noop("Cancel the release"),
        needs_reason=True,
    ),
    Transition(A.REOPEN, ENDED, "", _nothing, verb=gettext_noop("Reopen")),
)
ACTIONS = tuple(dict.fromkeys(row.action for row in TRANSITIONS))


def transition_for(state: str, action: str) -> Transition | None:
    for row in TRANSITIONS:
        if row.action == action and state in row.sources:
            return row
    return None


def may(user: Any, release: Release) -> bool:
    return user is not None and permissions.may_manage(user, release.school)


def available_actions(user: Any, release: Release) -> list[Transition]:
    """What `user` may do to `release` now, in the table's order."""
    if not may(user, release):
        return []
    return [row for row in TRANSITIONS if release.state in row.sources]


def state_before(release: Release) -> str:
    """The state a closed or cancelled release was in when it ended (define if unknown)."""
    event = (
        ReleaseEvent.objects.filter(release=release, to_state=release.state)
        .exclude(from_state=release.state)
        .exclude(from_state="")
        .order_by("-created_at", "-id")
        .first()
    )
    return event.from_state if event is not None else S.DEFINE


def perform(
    release_pk: int,
    action: str,
    user: User | None,
    data: dict[str, Any] | None = None,
    comment: str = "",
) -> Release:
    """The one door: `action` on the release by `user`, in one transaction."""
    if action not in ACTIONS:
        raise UnknownAction(
            gettext("Unknown action “%(action)s”.") % {"action": action},
            {"action": gettext("One of: %(actions)s.") % {"actions": ", ".join(ACTIONS)}},
        )
    data = data or {}
    with transaction.atomic():
        release = (
            Release.objects.select_for_update(of=("self",))
            .select_related("school")
            .get(pk=release_pk)
        )
        if not may(user, release):
            raise NotPermitted(
                gettext("Only a release manager or school administrator of %(school)s may do that.")
                % {"school": release.school.name}
            )
        row = transition_for(release.state, action)
        if row is None:
            raise InvalidAction(
                gettext("A release that is %(state)s cannot be %(action)s.")
                % {
                    "state": release.get_state_display().lower(),
                    "action": str(ReleaseAction(action).label).lower(),
                },
                {
                    "action": gettext("Not allowed while it is %(state)s.")
                    % {"state": release.get_state_display().lower()}
                },
            )
        comment = _text({"comment": comment}, "comment")
        kept = row.guard(release, data)
        before = release.state
        target = row.target or state_before(release)
        release.state = target
        release.closed_at = timezone.now() if target in ENDED else None
        release.save(update_fields=["state", "closed_at", "updated_at"])
        record(release, user, action, before=before, comment=comment, data=kept)
    return release


def record(
    release: Release,
    user: User | None,
    kind: str,
    *,
    before: str | None = None,
    comment: str = "",
    data: dict[str, Any] | None = None,
) -> ReleaseEvent:
    """One event of the release's history (an action's, or a service's: created, edited,
    a build or an RFC added or removed)."""
    return ReleaseEvent.objects.create(
        release=release,
        school_id=release.school_id,
        kind=kind,
        from_state=release.state if before is None else before,
        to_state=release.state,
        actor=user,
        comment=comment,
        data=data or {},
        created_at=timezone.now(),
    )
