"""The patch cycle: one table (`TRANSITIONS`) and one door (`perform`).

Only `perform` changes a patch's state. It locks the patch, finds the action's row for the
patch's state, checks who may (the row's roles, or the RFC's outcome acting for the school:
`by_change`), reads the action's payload with the row's reader (refusing bad input with field
errors, before anything is written), sets what the reader says, and writes one `PatchEvent`
holding the payload, in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from changedesk.accounts import permissions
from changedesk.accounts.choices import Role
from changedesk.accounts.models import User
from changedesk.changes.choices import TERMINAL_STATES
from changedesk.changes.models import Change, ChangeItem
from changedesk.configuration.models import ConfigurationItem
from changedesk.lib.errors import InvalidAction, NotPermitted, UnknownAction
from changedesk.patches.choices import CheckKind, CheckResult, PatchAction, PatchState, Severity
from changedesk.patches.models import (
    Installation,
    Patch,
    PatchCheck,
    PatchEvent,
    PatchPolicy,
    today_in,
)

A = PatchAction
S = PatchState
ADMIN = frozenset({Role.PATCH_ADMINISTRATOR})
TECHNICIANS = frozenset({Role.PATCH_ADMINISTRATOR, Role.IMPLEMENTER})
# Who may take a step, as its refusal says: a whole sentence per set of roles, to translate.
REFUSED: dict[frozenset[str], str] = {
    ADMIN: gettext_noop("Only a patch administrator of %(school)s may do that."),
    TECHNICIANS: gettext_noop(
        "Only an implementer or a patch administrator of %(school)s may do that."
    ),
    frozenset(): gettext_noop("Only a deploying RFC of %(school)s may do that."),
}
# The most machines one test or verification names.
MOST_RESULTS = 200


@dataclass
class Step:
    """What a reader makes of an action's payload: what to set on the patch, what the event
    keeps, and the results to record per machine."""

    sets: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    checks: list[tuple[ConfigurationItem, str, str]] = field(default_factory=list)
    change: Change | None = None
    installs: list[ConfigurationItem] = field(default_factory=list)


Reader = Callable[[Patch, dict[str, Any]], Step]


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    target: str
    # Who may; empty: only the RFC deploying the patch (`by_change`).
    roles: frozenset[str]
    reader: Reader
    # May also be done for the school by an RFC's outcome (or the worker), with no role.
    by_change: bool = False
    label: str = ""
    # What the page's button says.
    verb: str = ""


def _text(data: dict[str, Any], name: str, *, required: str = "", most: int = 5000) -> str:
    value = data.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidAction(gettext("Some fields need correcting."), {name: gettext("Give text.")})
    value = value.strip()
    if required and not value:
        raise InvalidAction(required, {name: required})
    if len(value) > most:
        raise InvalidAction(
            gettext("Some fields need correcting."),
            {name: gettext("At most %(most)s characters.") % {"most": most}},
        )
    return value


def _date(data: dict[str, Any], name: str) -> date | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidAction(
            gettext("Some fields need correcting."), {name: gettext("Give a date, YYYY-MM-DD.")}
        ) from None


def _severity(patch: Patch, data: dict[str, Any]) -> str:
    value = data.get("severity") or patch.severity
    if value not in Severity.values:
        raise InvalidAction(
            gettext("Some fields need correcting."),
            {"severity": gettext("One of: %(actions)s.") % {"actions": ", ".join(Severity.values)}},
        )
    return str(value)


def _items(patch: Patch, ids: Any, name: str) -> list[ConfigurationItem]:
    """The school's active items named by id."""
    if not isinstance(ids, list | tuple) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in ids
    ):
        raise InvalidAction(
            gettext("Some fields need correcting."), {name: gettext("Give a list of item ids.")}
        )
    if len(ids) > MOST_RESULTS:
        raise InvalidAction(
            gettext("Some fields need correcting."),
            {name: gettext("At most %(most)s.") % {"most": MOST_RESULTS}},
        )
    found = {
        i.pk: i
        for i in ConfigurationItem.objects.filter(
            school_id=patch.school_id, is_active=True, pk__in=ids
        )
    }
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise InvalidAction(
            gettext("Some fields need correcting."),
            {
                name: gettext("Not an item of %(school)s in use: %(ids)s.")
                % {"school": patch.school.name, "ids": ", ".join(missing)}
            },
        )
    return [found[i] for i in dict.fromkeys(ids)]


def _results(
    patch: Patch, data: dict[str, Any], kind: str
) -> list[tuple[ConfigurationItem, str, str]]:
    """`results`: a list of {"item": id, "result": "passed"|"failed", "notes": text}."""
    rows = data.get("results")
    if not isinstance(rows, list) or not rows:
        if kind == CheckKind.TEST:
            raise InvalidAction(
                gettext("Name the machines it was tested on."),
                {
                    "results": gettext(
                        "Give at least one machine it was tested on, with its result."
                    )
                },
            )
        raise InvalidAction(
            gettext("Name the machines it was verified on."),
            {"results": gettext("Give at least one machine it was verified on, with its result.")},
        )
    if not all(isinstance(r, dict) for r in rows):
        raise InvalidAction(
            gettext("Some fields need correcting."),
            {"results": gettext("Each result is {item, result, notes}.")},
        )
    ids = [r.get("item") for r in rows]
    if len(set(map(repr, ids))) != len(ids):
        raise InvalidAction(
            gettext("Some fields need correcting."), {"results": gettext("Name each machine once.")}
        )
    found = {i.pk: i for i in _items(patch, ids, "results")}
    out = []
    for row in rows:
        item = found[row["item"]]
        result = row.get("result")
        if result not in CheckResult.values:
            raise InvalidAction(
                gettext("Some fields need correcting."),
                {
                    "results": gettext("%(item)s: the result is one of %(results)s.")
                    % {"item": item.name, "results": ", ".join(CheckResult.values)}
                },
            )
        notes = row.get("notes") or ""
        if not isinstance(notes, str) or len(notes) > 2000:
            raise InvalidAction(
                gettext("Some fields need correcting."),
                {
                    "results": gettext("%(item)s: notes are text of at most 2,000 characters.")
                    % {"item": item.name}
                },
            )
        out.append((item, str(result), notes.strip()))
    failed = [item.name for item, result, _ in out if result == CheckResult.FAILED]
    if failed:
        advice = (
            gettext("Defer it (with the reason and a date) or mark it not applicable.")
            if kind == CheckKind.TEST
            else gettext("Put it right with an RFC, then record the verification when it passes.")
        )
        names = ", ".join(failed)
        raise InvalidAction(
            gettext("It failed on %(names)s. %(advice)s") % {"names": names, "advice": advice},
            {
                "results": gettext("Failed on %(names)s. %(advice)s")
                % {"names": names, "advice": advice}
            },
        )
    return out


def _checked(rows: list[tuple[ConfigurationItem, str, str]]) -> list[dict[str, Any]]:
    return [{"item": i.pk, "name": i.name, "result": r, "notes": n} for i, r, n in rows]


def _read_assess(patch: Patch, data: dict[str, Any]) -> Step:
    severity = _severity(patch, data)
    sets: dict[str, Any] = {"severity": severity, "severity_confirmed": True}
    if severity != patch.severity:
        sets["due_on"] = PatchPolicy.of(patch.school).due_on(patch.release_date, severity)
    step = Step(sets=sets, data={"severity": severity, "was": patch.severity})
    if "items" in data and data["items"] is not None:
        step.installs = _items(patch, data["items"], "items")
        step.data["items"] = [i.pk for i in step.installs]
    return step


def _read_defer(patch: Patch, data: dict[str, Any]) -> Step:
    reason = _text(data, "reason", required=gettext("Say why it is deferred."))
    until = _date(data, "defer_until")
    today = today_in(patch.school)
    if until is None:
        raise InvalidAction(
            gettext("Give the date to look at it again."), {"defer_until": gettext("Give a date.")}
        )
    if until <= today:
        raise InvalidAction(
            gettext("Defer it to a later day."),
            {"defer_until": gettext("A day after today, where the school is.")},
        )
    if until > _a_year_after(today):
        raise InvalidAction(
            gettext("Defer it for at most a year."),
            {"defer_until": gettext("At most a year from today.")},
        )
    return Step(
        sets={"reason": reason, "defer_until": until, "severity_confirmed": True},
        data={"reason": reason, "defer_until": until.isoformat()},
    )


def _a_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def _read_not_applicable(patch: Patch, data: dict[str, Any]) -> Step:
    reason = _text(data, "reason", required=gettext("Say why it does not apply."))
    return Step(sets={"reason": reason, "defer_until": None}, data={"reason": reason})


def _read_reassess(patch: Patch, data: dict[str, Any]) -> Step:
    # The deferral's reason stays in its event; the patch is open again, with none.
    return Step(sets={"defer_until": None, "reason": ""}, data={"was": patch.state})


def _read_test(patch: Patch, data: dict[str, Any]) -> Step:
    rows = _results(patch, data, CheckKind.TEST)
    return Step(data={"results": _checked(rows)}, checks=rows)


def _read_schedule(patch: Patch, data: dict[str, Any]) -> Step:
    value = data.get("change")
    if isinstance(value, Change):
        value = value.pk  # read again: `perform` has locked it, so its state is current
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidAction(
            gettext("Name the RFC that deploys it."), {"change": gettext("Give the RFC's id.")}
        )
    change = Change.objects.filter(pk=value, school_id=patch.school_id).first()
    if change is None:
        raise InvalidAction(
            gettext("Name the RFC that deploys it."),
            {
                "change": gettext("No RFC of %(school)s has that id.")
                % {"school": patch.school.name}
            },
        )
    if change.state in TERMINAL_STATES or change.outcome:
        raise InvalidAction(
            gettext("RFC %(reference)s is %(state)s.")
            % {
                "reference": change.reference,
                # The state's label is in the catalogue (lib/labels.py).
                "state": gettext(str(change.get_state_display())).lower(),
            },
            {"change": gettext("Choose an RFC still to be carried out.")},
        )
    if patch.release_date > today_in(patch.school):
        raise InvalidAction(
            gettext("It is not released yet."),
            {
                "change": gettext("It is released on %(day)s: schedule it from then.")
                % {"day": patch.release_date}
            },
        )
    # The RFC names what it touches: the patch's items must be among them, or its success
    # would say the patch was deployed where the RFC never went.
    named = set(ChangeItem.objects.filter(change=change).values_list("item_id", flat=True))
    outside = [i.name for i in patch.items.all() if i.pk not in named]
    if outside:
        raise InvalidAction(
            gettext("RFC %(reference)s does not touch %(names)s.")
            % {"reference": change.reference, "names": ", ".join(outside)},
            {"change": gettext("Choose an RFC naming every item the patch applies to, or add "
                               "them to the RFC first.")},
        )  # fmt: skip
    return Step(sets={"change": change}, data={"change": change.pk}, change=change)


def _read_unschedule(patch: Patch, data: dict[str, Any]) -> Step:
    return Step(sets={"change": None}, data={"change": patch.change_id}, change=patch.change)


def _read_deploy(patch: Patch, data: dict[str, Any]) -> Step:
    today = today_in(patch.school)
    given = _date(data, "deployed_on")
    if given is not None and given > today:
        raise InvalidAction(
            gettext("It cannot be deployed after today."),
            {"deployed_on": gettext("On %(day)s or before.") % {"day": today}},
        )
    # Not before its release: a release date given ahead (by hand) does not stop the RFC.
    on = max(given or today, patch.release_date)
    return Step(
        sets={"deployed_on": on},
        data={"deployed_on": on.isoformat(), "on_time": on <= patch.due_on},
        change=patch.change,
    )


def _read_verify(patch: Patch, data: dict[str, Any]) -> Step:
    rows = _results(patch, data, CheckKind.VERIFY)
    return Step(data={"results": _checked(rows)}, checks=rows)


def _read_close(patch: Patch, data: dict[str, Any]) -> Step:
    version = _text(data, "version", most=200) or patch.reference or patch.title[:200]
    items = list(patch.items.all())
    return Step(data={"version": version, "items": [i.pk for i in items]}, installs=items)


TRANSITIONS: tuple[Transition, ...] = (
    Transition(A.ASSESS, (S.AVAILABLE,), S.ASSESSED, ADMIN, _read_assess, verb="Deploy it"),
    Transition(
        A.DEFER, (S.AVAILABLE, S.ASSESSED, S.TESTED), S.DEFERRED, ADMIN, _read_defer, verb="Defer"
    ),
    Transition(
        A.NOT_APPLICABLE,
        (S.AVAILABLE, S.ASSESSED, S.TESTED, S.DEFERRED),
        S.NOT_APPLICABLE,
        ADMIN,
        _read_not_applicable,
        verb="Not applicable",
    ),
    Transition(
        A.REASSESS,
        (S.DEFERRED, S.NOT_APPLICABLE),
        S.AVAILABLE,
        ADMIN,
        _read_reassess,
        by_change=True,
        verb="Assess it again",
    ),
    Transition(A.TEST, (S.ASSESSED,), S.TESTED, TECHNICIANS, _read_test, verb="Record the tests"),
    Transition(
        A.SCHEDULE, (S.TESTED,), S.SCHEDULED, ADMIN, _read_schedule, verb="Put it on an RFC"
    ),
    Transition(
        A.UNSCHEDULE,
        (S.SCHEDULED,),
        S.TESTED,
        ADMIN,
        _read_unschedule,
        by_change=True,
        verb="Take it off its RFC",
    ),
    Transition(A.DEPLOY, (S.SCHEDULED,), S.DEPLOYED, frozenset(), _read_deploy, by_change=True),
    Transition(
        A.VERIFY, (S.DEPLOYED,), S.VERIFIED, TECHNICIANS, _read_verify, verb="Record verification"
    ),
    Transition(A.CLOSE, (S.VERIFIED,), S.CLOSED, ADMIN, _read_close, verb="Close it"),
)


def transition_for(state: str, action: str) -> Transition | None:
    for row in TRANSITIONS:
        if row.action == action and state in row.sources:
            return row
    return None


def may(user: Any, patch: Patch, row: Transition) -> bool:
    return (
        bool(row.roles)
        and user is not None
        and permissions.holds_any(user, set(row.roles), patch.school)
    )


def available_actions(user: Any, patch: Patch) -> list[Transition]:
    """What `user` may do to `patch` now, in the table's order."""
    return [row for row in TRANSITIONS if patch.state in row.sources and may(user, patch, row)]


def perform(
    patch_id: int,
    action: str,
    actor: User | None,
    data: dict[str, Any] | None = None,
    *,
    comment: str = "",
    by_change: bool = False,
) -> Patch:
    """The one door: `action` on the patch, by `actor` (None: the worker), in one transaction.

    `by_change` is for the RFC deploying the patch (its outcome, or its end) and the worker:
    it may take only the rows that allow it, with no role asked."""
    if action not in PatchAction.values or action in (A.CREATE, A.EDIT):
        raise UnknownAction(
            gettext("Unknown action “%(action)s”.") % {"action": action},
            {
                "action": gettext("One of: %(actions)s.")
                % {"actions": ", ".join(r.action for r in TRANSITIONS if r.roles)}
            },
        )
    data = data or {}
    with transaction.atomic():
        if action == A.SCHEDULE:
            # The RFC first, then the patch: the order its outcome takes them in (the RFC
            # locked by its door, then its patches by `rfc.py`), so the two never deadlock
            # and an outcome never misses a patch put on its RFC meanwhile.
            _lock_change(data.get("change"))
        # Only the patch's row: not the school's, which every RFC's commit may touch.
        patch = (
            Patch.objects.select_for_update(of=("self",)).select_related("school").get(pk=patch_id)
        )
        row = transition_for(patch.state, action)
        if row is None:
            raise InvalidAction(
                gettext("A patch that is %(state)s cannot be %(action)s.")
                % {
                    "state": patch.get_state_display().lower(),
                    "action": PatchAction(action).label.lower(),
                },
                {"action": gettext("Not allowed while it is %(state)s.") % {"state": patch.state}},
            )
        if by_change:
            if not row.by_change:
                raise NotPermitted(
                    gettext("“%(action)s” is done by a person.") % {"action": action}
                )
        elif not may(actor, patch, row):
            refusal = REFUSED.get(
                row.roles, gettext_noop("Your roles at %(school)s do not allow that.")
            )
            raise NotPermitted(gettext(refusal) % {"school": patch.school.name})
        comment = _text({"comment": comment}, "comment")
        step = row.reader(patch, data)
        before = patch.state
        for name, value in step.sets.items():
            setattr(patch, name, value)
        patch.state = row.target
        patch.save()
        if action == A.ASSESS and "items" in step.data:
            patch.items.set(step.installs)
        event = PatchEvent.objects.create(
            patch=patch,
            school_id=patch.school_id,
            kind=action,
            from_state=before,
            to_state=row.target,
            actor=actor,
            change=step.change,
            comment=comment,
            data=step.data,
            created_at=timezone.now(),
        )
        kind = CheckKind.TEST if action == A.TEST else CheckKind.VERIFY
        PatchCheck.objects.bulk_create(
            PatchCheck(patch=patch, kind=kind, item=item, result=result, notes=notes, event=event)
            for item, result, notes in step.checks
        )
        if action == A.CLOSE:
            _install(patch, step.installs, step.data["version"])
    return patch


def _lock_change(value: Any) -> None:
    pk = value.pk if isinstance(value, Change) else value
    if isinstance(pk, int) and not isinstance(pk, bool):
        list(Change.objects.select_for_update(of=("self",)).filter(pk=pk).values_list("pk"))


def _install(patch: Patch, items: Iterable[ConfigurationItem], version: str) -> None:
    on = patch.deployed_on or today_in(patch.school)
    Installation.objects.bulk_create(
        [
            Installation(
                school_id=patch.school_id, item=i, patch=patch, version=version, installed_on=on
            )
            for i in items
        ],
        ignore_conflicts=True,
    )


def record_created(patch: Patch, actor: User | None, *, data: dict[str, Any] | None = None) -> None:
    """The first event of a patch (entered, imported or from a feed)."""
    PatchEvent.objects.create(
        patch=patch,
        school_id=patch.school_id,
        kind=A.CREATE,
        from_state="",
        to_state=patch.state,
        actor=actor,
        data=data or {},
        created_at=timezone.now(),
    )


def edit_event(patch: Patch, actor: User | None, changed: dict[str, Any]) -> PatchEvent:
    """An edit's event, unsaved (for a caller writing many at once)."""
    return PatchEvent(
        patch=patch,
        school_id=patch.school_id,
        kind=A.EDIT,
        from_state=patch.state,
        to_state=patch.state,
        actor=actor,
        data={"changed": changed},
        created_at=timezone.now(),
    )


def record_edit(patch: Patch, actor: User, changed: dict[str, Any]) -> None:
    edit_event(patch, actor, changed).save()
