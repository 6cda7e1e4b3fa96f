"""What may be done with a standard change template, and by whom: the one door for each.

Every step writes a `TemplateEvent`; the template's approval comes from the RFC that
proposes it (see `rfc.py`, whose effects call `approved`, `refused` and `failed`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from changedesk.accounts import permissions
from changedesk.accounts.choices import Role
from changedesk.accounts.models import School, User
from changedesk.changes import workflow
from changedesk.changes.choices import Action
from changedesk.changes.models import Change
from changedesk.changes.services import PLANNING_HORIZON, create_change
from changedesk.configuration.models import ConfigurationItem
from changedesk.lib.errors import InvalidAction, NotPermitted, of_school, refuse_unknown
from changedesk.schedule.calendar import describe_window, load_calendar
from changedesk.schedule.models import MaintenanceWindow
from changedesk.standard.models import (
    CONTENT,
    EventKind,
    Raised,
    Template,
    TemplateEvent,
    TemplateState,
)

# How long a template is approved for, when no review date is given.
DEFAULT_REVIEW = timedelta(days=365)
PROPOSAL_PREFIX = "Standard change: "
# What the proposing RFC carries of the template (its title, prefixed, besides).
PROPOSED = ("description", "reason", "details", "impact", "risk", "fallback_plan")
# Who may review a suspended template and reinstate it.
REVIEWERS = frozenset({Role.FINAL_APPROVER, Role.INITIAL_APPROVER})


def _record(
    template: Template,
    kind: str,
    actor: User,
    *,
    change: Change | None = None,
    comment: str = "",
    data: dict[str, Any] | None = None,
) -> TemplateEvent:
    return TemplateEvent.objects.create(
        template=template,
        kind=kind,
        actor=actor,
        version=template.version,
        change=change,
        comment=comment.strip(),
        data=data or {},
    )


def may_manage(user: Any, school: School) -> bool:
    """Originators write templates and propose them (as they raise RFCs)."""
    return permissions.holds(user, Role.ORIGINATOR, school)


def may_raise(user: Any, template: Template) -> bool:
    """An originator of its school, and one of those it names when it names any."""
    if not permissions.holds(user, Role.ORIGINATOR, template.school):
        return False
    named = [u.pk for u in template.raisers.all()]
    return not named or user.pk in named


def may_reinstate(user: Any, template: Template) -> bool:
    return permissions.holds_any(user, REVIEWERS, template.school)


def _check_items(school: School, items: Iterable[ConfigurationItem]) -> list[ConfigurationItem]:
    return of_school(school, items, "items", gettext("Some items are not the school's."))


def _check_windows(school: School, windows: Iterable[MaintenanceWindow]) -> list[MaintenanceWindow]:
    return of_school(
        school, windows, "windows", gettext("Some maintenance windows are not the school's.")
    )


def _check_raisers(school: School, people: Iterable[User]) -> list[User]:
    listed = list(people)
    wrong = [p.display_name for p in listed if not permissions.holds(p, Role.ORIGINATOR, school)]
    if wrong:
        raise InvalidAction(
            gettext("Only originators may raise a standard change."),
            {
                "raisers": gettext("Not an originator at %(school)s: %(people)s.")
                % {"school": school.name, "people": ", ".join(wrong)}
            },
        )
    return listed


def _check_content(data: dict[str, Any], school: School, template: Template | None = None) -> None:
    refuse_unknown(data, {*CONTENT, "review_date"})
    errors = {
        name: gettext("This field is required.")
        for name in CONTENT
        if name in data and name != "duration_minutes" and not str(data[name] or "").strip()
    }
    minutes = data.get("duration_minutes")
    if minutes is not None and not (isinstance(minutes, int) and 5 <= minutes <= 7 * 24 * 60):
        errors["duration_minutes"] = gettext(
            "Give a whole number of minutes from 5 to 10080 (a week)."
        )
    review = data.get("review_date")
    unchanged = template is not None and review == template.review_date
    if review is not None and not unchanged:
        today = timezone.now().astimezone(school.zone).date()
        if not isinstance(review, date) or review < today:
            errors["review_date"] = gettext("Choose today or a later day.")
        elif review > today + PLANNING_HORIZON:
            errors["review_date"] = gettext("Choose a day within 20 years of today.")
    if errors:
        raise InvalidAction(gettext("Some fields need correcting."), errors)


def create_template(
    school: School,
    actor: User,
    data: dict[str, Any],
    *,
    items: Iterable[ConfigurationItem] = (),
    raisers: Iterable[User] = (),
    windows: Iterable[MaintenanceWindow] = (),
) -> Template:
    """A new template, in draft: it is approved by proposing it (`propose`)."""
    actor = permissions.with_roles(actor)
    if not may_manage(actor, school):
        raise NotPermitted(
            gettext("Only an originator at %(school)s may write a standard change.")
            % {"school": school.name}
        )
    missing = {
        n: gettext("This field is required.")
        for n in CONTENT
        if n not in data and n != "duration_minutes"
    }
    if missing:
        raise InvalidAction(gettext("Some fields need correcting."), missing)
    _check_content(data, school)
    items, raisers = _check_items(school, items), _check_raisers(school, raisers)
    windows = _check_windows(school, windows)
    today = timezone.now().astimezone(school.zone).date()
    values = {"review_date": today + DEFAULT_REVIEW, **data}
    with transaction.atomic():
        template = Template.objects.create(school=school, created_by=actor, **values)
        template.items.set(items)
        template.raisers.set(raisers)
        template.windows.set(windows)
        _record(template, EventKind.CREATE, actor, data={"digest": template.digest()})
    return template


def update_template(
    template_id: int,
    actor: User,
    data: dict[str, Any],
    *,
    items: Iterable[ConfigurationItem] | None = None,
    raisers: Iterable[User] | None = None,
    comment: str = "",
    windows: Iterable[MaintenanceWindow] | None = None,
) -> Template:
    """Edit a template. Its content, items, raisers and review date are what its approval
    covers: changing any of an approved (or suspended) one makes a new version, in draft,
    to be proposed again. Not while a version is being approved."""
    actor = permissions.with_roles(actor)
    with transaction.atomic():
        template = Template.objects.select_for_update().get(pk=template_id)
        if not may_manage(actor, template.school):
            raise NotPermitted(
                gettext("Only an originator at %(school)s may edit a standard change.")
                % {"school": template.school.name}
            )
        _check_content(data, template.school, template)
        if template.state == TemplateState.PROPOSED:
            raise InvalidAction(
                gettext("It is being approved: withdraw its proposal first, then edit it."),
                {"state": gettext("Awaiting approval on %(rfc)s.") % {"rfc": template.proposal}},
            )
        before = template.digest()
        for name, value in data.items():
            setattr(template, name, value)
        if items is not None:
            template.items.set(_check_items(template.school, items))
        if windows is not None:
            template.windows.set(_check_windows(template.school, windows))
        if raisers is not None:
            # Only those added are checked: someone named before who has since lost the
            # originator role does not block an edit (nor may they raise it: `may_raise`).
            listed = list(raisers)
            named = set(template.raisers.values_list("pk", flat=True))
            _check_raisers(template.school, [p for p in listed if p.pk not in named])
            template.raisers.set(listed)
        after = template.digest()
        if after == before:
            return template  # nothing changed: nothing to save or record
        approved = template.state in (TemplateState.APPROVED, TemplateState.SUSPENDED)
        if approved:
            # Approved content changed: a new version, to be approved again.
            template.version += 1
            template.state = TemplateState.DRAFT
        template.save()
        _record(
            template,
            EventKind.EDIT,
            actor,
            comment=comment,
            data={"digest": after, "needs_approval": approved},
        )
    return template


def propose(
    template_id: int, actor: User, *, people: dict[str, User | None] | None = None
) -> Change:
    """Ask for the template's approval: a normal RFC carrying its content, which goes
    through the school's approvers as any RFC does. The approval that accepts that RFC's
    impact approves this version of the template (its first run is that RFC)."""
    actor = permissions.with_roles(actor)
    with transaction.atomic():
        template = Template.objects.select_for_update().get(pk=template_id)
        if not may_manage(actor, template.school):
            raise NotPermitted(
                gettext("Only an originator at %(school)s may propose a standard change.")
                % {"school": template.school.name}
            )
        if template.state != TemplateState.DRAFT:
            raise InvalidAction(
                gettext("It is %(state)s: only a draft is proposed.")
                % {"state": str(template.get_state_display()).lower()},
                {"state": gettext("Edit it to make a new version, then propose that.")},
            )
        content = {n: getattr(template, n) for n in PROPOSED}
        title = (PROPOSAL_PREFIX + template.title)[:200]
        data = {"title": title, **content, **{k: v for k, v in (people or {}).items()}}
        change = create_change(template.school, actor, data, items=template.items.all())
        template.proposal = change
        template.state = TemplateState.PROPOSED
        template.save()
        _record(
            template, EventKind.PROPOSE, actor, change=change, data={"digest": template.digest()}
        )
    return change


# --- What the proposing and the raised RFCs do to a template (called by rfc.py's effects). ---


def approved(change: Change, actor: User) -> None:
    """The RFC proposing a template was approved: so is the template's version."""
    template = (
        Template.objects.select_for_update()
        .filter(proposal=change, state=TemplateState.PROPOSED)
        .first()
    )
    if template is None:
        return
    # What is approved is what the approvers read: the RFC as it now says it (its
    # originator may have edited it while it was returned or planned).
    taken = _take_content(template, change)
    template.state = TemplateState.APPROVED
    template.approved_version = template.version
    template.approved_digest = template.digest()
    template.approved_at = timezone.now()
    template.suspended_by = None
    template.save()
    _record(
        template,
        EventKind.APPROVE,
        actor,
        change=change,
        data={"digest": template.approved_digest, "taken_from_the_rfc": taken},
    )


def _take_content(template: Template, change: Change) -> list[str]:
    """Set `template`'s content and items to what the RFC proposing it says; the names of
    what differed."""
    taken = []
    title = change.title.removeprefix(PROPOSAL_PREFIX).strip() or template.title
    for name, value in [("title", title), *((n, getattr(change, n)) for n in PROPOSED)]:
        if getattr(template, name) != value:
            setattr(template, name, value)
            taken.append(name)
    items = set(change.item_links.values_list("item_id", flat=True))
    if items != set(template.items.values_list("pk", flat=True)):
        template.items.set(list(items))
        taken.append("items")
    return taken


def refused(change: Change, actor: User, comment: str) -> None:
    """The RFC proposing a template was rejected or withdrawn: the template is a draft again."""
    template = (
        Template.objects.select_for_update()
        .filter(proposal=change, state=TemplateState.PROPOSED)
        .first()
    )
    if template is None:
        return
    template.state = TemplateState.DRAFT
    template.save()
    _record(template, EventKind.REFUSE, actor, change=change, comment=comment)


def failed(change: Change, actor: User) -> None:
    """An RFC raised from a template (or the RFC that proposed it, its first run) failed and
    was backed out: the template is suspended until its approvers review it."""
    raised = Raised.objects.filter(change=change).values_list("template_id", flat=True)
    template = (
        Template.objects.select_for_update()
        .filter(Q(pk__in=raised) | Q(proposal=change), state=TemplateState.APPROVED)
        .first()
    )
    if template is None:
        return
    template.state = TemplateState.SUSPENDED
    template.suspended_by = change
    template.save()
    _record(template, EventKind.SUSPEND, actor, change=change)


def reinstate(template_id: int, actor: User, comment: str) -> Template:
    """An approver has reviewed a suspended template: it may be raised again."""
    actor = permissions.with_roles(actor)
    with transaction.atomic():
        template = Template.objects.select_for_update().get(pk=template_id)
        if not may_reinstate(actor, template):
            raise NotPermitted(
                gettext("Only an approver at %(school)s may reinstate a standard change.")
                % {"school": template.school.name}
            )
        if not comment.strip():
            raise InvalidAction(
                gettext("Say what the review found."),
                {"comment": gettext("Say what the review found.")},
            )
        if template.state != TemplateState.SUSPENDED:
            raise InvalidAction(
                gettext("It is %(state)s, not suspended.")
                % {"state": str(template.get_state_display()).lower()},
                {"state": gettext("Only a suspended standard change is reinstated.")},
            )
        failed_change = template.suspended_by
        template.state = TemplateState.APPROVED
        template.suspended_by = None  # the event keeps which RFC it was
        template.save()
        _record(template, EventKind.REINSTATE, actor, change=failed_change, comment=comment)
    return template


# --- Raising an RFC from a template. ---

# The longest window a standard change may be planned for, in its usual durations.
LONGEST = 3


def _check_window(template: Template, start: datetime, end: datetime | None) -> datetime:
    """The window's end (by default its usual duration after the start), or the refusal: a
    start within the school's lead time for standard changes (time to tell its users), and
    a window far longer than the change usually takes (it would be another change)."""
    now = timezone.now()
    if abs(start - now) > PLANNING_HORIZON or (end and abs(end - now) > PLANNING_HORIZON):
        raise InvalidAction(
            gettext("Choose a time within 20 years of today."),
            {"planned_start": gettext("Choose a time within 20 years of today.")},
        )
    lead = timedelta(hours=template.school.standard_lead_hours)
    if start < now + lead:
        hours = template.school.standard_lead_hours
        ahead = ngettext(
            "Start it at least %(count)s hour from now (the school's lead time for standard "
            "changes), so that its users can be told.",
            "Start it at least %(count)s hours from now (the school's lead time for standard "
            "changes), so that its users can be told.",
            hours,
        )
        raise InvalidAction(
            gettext("A standard change is planned ahead."),
            {"planned_start": ahead % {"count": hours}},
        )
    usual = timedelta(minutes=template.duration_minutes)
    end = end or start + usual
    if end <= start:
        raise InvalidAction(
            gettext("Some fields need correcting."),
            {"planned_end": gettext("The planned end must be after the planned start.")},
        )
    if end - start > LONGEST * usual:
        longer = gettext(
            "It usually takes %(minutes)s minutes: plan at most %(times)s times that, "
            "or raise it as a normal change."
        )
        raise InvalidAction(
            gettext("The window is longer than this change takes."),
            {"planned_end": longer % {"minutes": template.duration_minutes, "times": LONGEST}},
        )
    return end


def _check_fits(template: Template, start: datetime, end: datetime) -> None:
    """A template naming maintenance windows is raised only inside one of them."""
    windows = list(template.windows.all())
    if not windows:
        return
    calendar = dataclasses.replace(
        load_calendar(template.school, start - timedelta(days=1), end + timedelta(days=1)),
        windows=windows,
    )
    around = calendar.window_intervals(start - timedelta(days=1), end + timedelta(days=1))
    if not any(s <= start and end <= e for s, e in around):
        within = gettext("Plan it within %(windows)s (the standard change's maintenance windows).")
        names = gettext("; or ").join(describe_window(w) for w in windows)
        raise InvalidAction(
            gettext("It must fit one of its maintenance windows."),
            {"planned_start": within % {"windows": names}},
        )


def raise_change(
    template_id: int,
    actor: User,
    *,
    planned_start: datetime,
    planned_end: datetime | None = None,
    items: Iterable[ConfigurationItem] | None = None,
    implementer: User | None = None,
) -> Change:
    """Raise a standard change from the template: an RFC that goes ahead at once
    (`raise_standard`), its window weighed against the school calendar as any approval's
    is. All or nothing: a refusal (a hard freeze, a soft conflict, an expired or suspended
    template) leaves no RFC behind."""
    actor = permissions.with_roles(actor)
    template = Template.objects.select_related("school").get(pk=template_id)
    today = template.today()
    if not may_raise(actor, template):
        raise NotPermitted(
            gettext("You may not raise “%(title)s” at %(school)s.")
            % {"title": template.title, "school": template.school.name}
        )
    if not template.may_be_raised(today):
        raise InvalidAction(
            gettext("“%(title)s” cannot be raised: %(status)s.")
            % {"title": template.title, "status": template.status(today).lower()},
            {
                "template": gettext(
                    "Raise it as a normal change, or ask its approvers to review it."
                )
            },
        )
    end = _check_window(template, planned_start, planned_end)
    _check_fits(template, planned_start, end)
    allowed = list(template.items.all())
    chosen = list(items) if items is not None else allowed
    if allowed and not chosen:
        raise InvalidAction(
            gettext("Name what it touches."),
            {
                "items": gettext(
                    "Choose at least one of the template's items: its conflicts are checked "
                    "on them."
                )
            },
        )
    if allowed:
        outside = [i.name for i in chosen if i.pk not in {a.pk for a in allowed}]
        if outside:
            raise InvalidAction(
                gettext("The template does not cover some items."),
                {
                    "items": gettext("Not among the template's items: %(items)s.")
                    % {"items": ", ".join(outside)}
                },
            )
    _check_items(template.school, chosen)
    data: dict[str, Any] = {
        **{n: getattr(template, n) for n in CONTENT if n != "duration_minutes"},
        "planned_start": planned_start,
        "planned_end": end,
    }
    if implementer is not None:
        data["implementer"] = implementer
    with transaction.atomic():
        # Held until it is raised: an edit (a new version) waits, or is waited for.
        locked = Template.objects.select_for_update().get(pk=template.pk)
        if locked.approved_digest != template.approved_digest or not locked.may_be_raised(today):
            raise InvalidAction(
                gettext("“%(title)s” changed meanwhile: read it again.")
                % {"title": template.title},
                {"template": gettext("It was edited or suspended while you raised it.")},
            )
        change = create_change(template.school, actor, data, items=chosen, standard=True)
        Raised.objects.create(
            change=change,
            template=template,
            version=template.approved_version or template.version,
            digest=template.approved_digest,
        )
        workflow.perform(change.pk, Action.RAISE_STANDARD, actor, data={TEMPLATE_KEY: template.pk})
    return Change.objects.get(pk=change.pk)


TEMPLATE_KEY = "standard_template"
