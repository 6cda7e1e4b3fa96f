"""The review checklist: FITS's change and release management review items, each judged from
the data where the data can tell, with what fails it; the school answers the rest; a review
is recorded (`ChecklistReview`, append-only) with the next one due, and the worker reminds
the school's administrators once when it falls due.

Change management (in our words):

    roles          every role the change process needs has a holder
    trained        everyone taking part has confirmed the guide of each role they hold
    understood     (the school) the people taking part understand the process
    forms          the RFC form and the materials are at hand (always, in changedesk)
    complete       RFCs approved in the last three months have every plan section written
                   and were not sent back for amendment more than once
    authorised     (the school) RFCs let the approvers understand and authorise them
    communicated   approved RFCs that started in the last three months had a notice
                   published to the users before the start
    reports_made   no report missing from the archive in the last 12 periods of the school's
                   frequency (since the school began)
    reports_used   decisions are recorded on the reports of the last three months

Release management:

    release_roles       a release manager, a build developer and an installer
    release_trained     their holders have confirmed their guides (the overview where a
                        role has no guide of its own)
    release_understood  (the school) they understand the process
    library             the definitive software library holds something
    builds_documented   every service has an approved build procedure
    install_checklist   installations finished in the last three months had every step of
                        their install build checklist ticked
    install_routes      those installations came from an install request, an RFC or a
                        release (the proper processes), not out of nowhere
    new_builds          (the school) new build procedures are identified when needed
    release_reports     the reports (which carry the release figures) are made and used

Queries: a fixed number (about fifteen) whatever the number of RFCs, each bounded in time or
by the school so an index serves it: approvals by (kind, created_at), planned starts by
(school, planned_start), snapshots by (school, period, start), installations by
(school, state, finished_at).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Min
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext, gettext_lazy, ngettext

from changedesk.accounts import permissions
from changedesk.accounts.choices import Role
from changedesk.accounts.models import School, User
from changedesk.adoption import services
from changedesk.adoption.guidance import GUIDES, OVERVIEW_KEY
from changedesk.adoption.models import ChecklistReview
from changedesk.changes.choices import EventKind, State
from changedesk.changes.models import Change, ChangeEvent
from changedesk.communication.choices import NoticeStatus
from changedesk.communication.models import Notice
from changedesk.lib.days import today_in
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.notifications.models import OutboxMessage
from changedesk.notifications.outbox import enqueue
from changedesk.releases import measurements
from changedesk.releases.choices import InstallationState
from changedesk.releases.models import Installation, Software
from changedesk.releases.services.builds import undocumented_in
from changedesk.reports.models import Decision, Period, ReportSettings, Snapshot

RECENT_MONTHS = 3
PERIODS = 12
# The most failing rows an item lists (a school has a few dozen at most).
MOST_LISTED = 50
ANSWERS = ("yes", "no", "partly")
DUE_CHOICES = (3, 6, 12)
DEFAULT_DUE = 6
MOST_NOTE = 5000
RELEASE_ROLES = (Role.RELEASE_MANAGER, Role.BUILD_DEVELOPER, Role.INSTALLER)
REMINDER_TEMPLATE = "adoption_review_due"
# Plan sections that must be written on an approved RFC.
PLAN_SECTIONS = (
    ("details", "full details"),
    ("impact", "impact"),
    ("risk", "risk"),
    ("fallback_plan", "fallback plan"),
)
APPROVED_STATES = (State.APPROVED, State.IMPLEMENTED, State.CLOSED)


@dataclass
class Failing:
    """A row that fails an item: what it is, why, and where to see it."""

    label: str
    why: str
    url: str

    def as_dict(self) -> dict[str, str]:
        return {"label": self.label, "why": self.why, "url": self.url}


@dataclass
class Item:
    key: str
    area: str  # "change" | "release"
    label: str
    by: str  # "data" | "school"
    passed: bool | None = None
    detail: str = ""
    link: str = ""
    link_text: str = ""
    failing: list[Failing] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "area": self.area,
            "label": self.label,
            "by": self.by,
            "passed": self.passed,
            "detail": self.detail,
            "link": self.link,
            "link_text": self.link_text,
            "failing": [f.as_dict() for f in self.failing],
        }


# (key, area, label, judged by the school?) in the checklist's order.
ITEMS: tuple[tuple[str, str, str, bool], ...] = (
    ("roles", "change", "Every change management role has a holder", False),
    ("trained", "change", "Everyone taking part has confirmed their training", False),
    ("understood", "change", "The people taking part understand the process", True),
    ("forms", "change", "The RFC form and the materials are available", False),
    ("complete", "change", "RFCs are completed in full for the changes approved", False),
    ("authorised", "change", "RFCs let the approvers understand and authorise them", True),
    ("communicated", "change", "Changes are told to those affected before they start", False),
    ("reports_made", "change", "Reports are produced regularly", False),
    ("reports_used", "change", "Reports are used to make decisions", False),
    ("release_roles", "release", "Every release management role has a holder", False),
    ("release_trained", "release", "Release participants have confirmed their training", False),
    ("release_understood", "release", "Release participants understand the process", True),
    ("library", "release", "A definitive software library exists", False),
    ("builds_documented", "release", "Every service has a build procedure", False),
    ("install_checklist", "release", "Every installation follows the install checklist", False),
    ("install_routes", "release", "Installations arrive through the proper processes", False),
    ("new_builds", "release", "New build procedures are identified when needed", True),
    ("release_reports", "release", "Release reports are produced and used", False),
)
KEYS = tuple(key for key, *_ in ITEMS)
SCHOOL_KEYS = tuple(key for key, _, _, asked in ITEMS if asked)
LABELS = {key: label for key, _, label, _ in ITEMS}

# What the pages show, in the reader's language (the checklist's keys, the labels and the
# details stored in a review and given by the API stay English: translated on display only).
SHOWN_LABELS: dict[str, Promise] = {
    "roles": gettext_lazy("Every change management role has a holder"),
    "trained": gettext_lazy("Everyone taking part has confirmed their training"),
    "understood": gettext_lazy("The people taking part understand the process"),
    "forms": gettext_lazy("The RFC form and the materials are available"),
    "complete": gettext_lazy("RFCs are completed in full for the changes approved"),
    "authorised": gettext_lazy("RFCs let the approvers understand and authorise them"),
    "communicated": gettext_lazy("Changes are told to those affected before they start"),
    "reports_made": gettext_lazy("Reports are produced regularly"),
    "reports_used": gettext_lazy("Reports are used to make decisions"),
    "release_roles": gettext_lazy("Every release management role has a holder"),
    "release_trained": gettext_lazy("Release participants have confirmed their training"),
    "release_understood": gettext_lazy("Release participants understand the process"),
    "library": gettext_lazy("A definitive software library exists"),
    "builds_documented": gettext_lazy("Every service has a build procedure"),
    "install_checklist": gettext_lazy("Every installation follows the install checklist"),
    "install_routes": gettext_lazy("Installations arrive through the proper processes"),
    "new_builds": gettext_lazy("New build procedures are identified when needed"),
    "release_reports": gettext_lazy("Release reports are produced and used"),
}
# The fixed English of the details, links and reasons (English -> shown); those with
# figures in them are read by `_PATTERNS`, and anything else is shown as it is, marked English.
SHOWN_TEXTS: dict[str, Promise] = {
    "Someone holds each role.": gettext_lazy("Someone holds each role."),
    "No one holds a role yet.": gettext_lazy("No one holds a role yet."),
    "No one holds a release role yet.": gettext_lazy("No one holds a release role yet."),
    "The RFC form, a blank printable RFC, role cards and worked examples are here.": (
        gettext_lazy(
            "The RFC form, a blank printable RFC, role cards and worked examples are here."
        )
    ),
    "No RFC was approved in the last three months.": gettext_lazy(
        "No RFC was approved in the last three months."
    ),
    "No approved change started in the last three months.": gettext_lazy(
        "No approved change started in the last three months."
    ),
    "No report in the last three months.": gettext_lazy("No report in the last three months."),
    "Every catalogued service has an approved build procedure.": gettext_lazy(
        "Every catalogued service has an approved build procedure."
    ),
    "No installation finished in the last three months.": gettext_lazy(
        "No installation finished in the last three months."
    ),
    "The data cannot tell: the school answers this at the review.": gettext_lazy(
        "The data cannot tell: the school answers this at the review."
    ),
    # Links.
    "The roles": gettext_lazy("The roles"),
    "Training": gettext_lazy("Training"),
    "Materials": gettext_lazy("Materials"),
    "Change log": gettext_lazy("Change log"),
    "Notices": gettext_lazy("Notices"),
    "Report archive": gettext_lazy("Report archive"),
    "Software library": gettext_lazy("Software library"),
    "Services with no build procedure": gettext_lazy("Services with no build procedure"),
    "Installations": gettext_lazy("Installations"),
    "Install requests": gettext_lazy("Install requests"),
    # Why a row fails.
    "has not confirmed every guide of their roles": gettext_lazy(
        "has not confirmed every guide of their roles"
    ),
    "has not confirmed their guides": gettext_lazy("has not confirmed their guides"),
    "no notice published": gettext_lazy("no notice published"),
    "the notice came after the start": gettext_lazy("the notice came after the start"),
    "no report": gettext_lazy("no report"),
    "no decision recorded": gettext_lazy("no decision recorded"),
    "no approved build procedure": gettext_lazy("no approved build procedure"),
    "no checklist": gettext_lazy("no checklist"),
    "no install request, RFC or release behind it": gettext_lazy(
        "no install request, RFC or release behind it"
    ),
}
SHOWN_ANSWERS: dict[str, Promise] = {
    "yes": gettext_lazy("yes"),
    "no": gettext_lazy("no"),
    "partly": gettext_lazy("partly"),
}


# The failing rows whose label is our English (a period or a report), not a name.
_ENGLISH_ROW = re.compile(r"^The (week|month) .+ to .+$|^The report from .+$")


_ROLE_NAMES = {str(role.label).lower(): str(role.label) for role in Role}


def _roles_shown(names: str) -> str:
    return ", ".join(gettext(_ROLE_NAMES.get(n, n)).lower() for n in names.split(", "))


def _day_shown(text: str) -> str:
    try:
        day = datetime.strptime(text, "%d %B %Y").date()
    except ValueError:
        return text
    return date_format(day, "j F Y")


# The details with figures in them (English pattern -> shown).
_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(r"^No one holds this role: (.+)\.$"),
        lambda m: gettext("No one holds this role: %(roles)s.") % {"roles": _roles_shown(m[1])},
    ),
    (
        re.compile(r"^No one holds these roles: (.+)\.$"),
        lambda m: gettext("No one holds these roles: %(roles)s.") % {"roles": _roles_shown(m[1])},
    ),
    (
        re.compile(r"^(\d+) of (\d+) people taking part have confirmed\.$"),
        lambda m: (
            gettext("%(done)s of %(all)s people taking part have confirmed.")
            % {"done": m[1], "all": m[2]}
        ),
    ),
    (
        re.compile(r"^(\d+) of (\d+) release participants have confirmed\.$"),
        lambda m: (
            gettext("%(done)s of %(all)s release participants have confirmed.")
            % {"done": m[1], "all": m[2]}
        ),
    ),
    (
        re.compile(r"^Marked ready on (.+)\.$"),
        lambda m: gettext("Marked ready on %(day)s.") % {"day": _day_shown(m[1])},
    ),
    (
        re.compile(
            r"^(\d+) of (\d+) RFCs approved in the last three months were complete and "
            r"approved without being sent back more than once\.$"
        ),
        lambda m: (
            gettext(
                "%(done)s of %(all)s RFCs approved in the last three months were complete "
                "and approved without being sent back more than once."
            )
            % {"done": m[1], "all": m[2]}
        ),
    ),
    (
        re.compile(
            r"^(\d+) of (\d+) approved changes that started in the last three months were "
            r"told to the users beforehand\.$"
        ),
        lambda m: (
            gettext(
                "%(done)s of %(all)s approved changes that started in the last three months "
                "were told to the users beforehand."
            )
            % {"done": m[1], "all": m[2]}
        ),
    ),
    (
        re.compile(r"^The school reports every week; no week has ended since it began\.$"),
        lambda m: gettext("The school reports every week; no week has ended since it began."),
    ),
    (
        re.compile(r"^The school reports every month; no month has ended since it began\.$"),
        lambda m: gettext("The school reports every month; no month has ended since it began."),
    ),
    (
        re.compile(r"^(\d+) of the last (\d+) weeks have their report in the archive\.$"),
        lambda m: (
            gettext("%(done)s of the last %(all)s weeks have their report in the archive.")
            % {"done": m[1], "all": m[2]}
        ),
    ),
    (
        re.compile(r"^(\d+) of the last (\d+) months have their report in the archive\.$"),
        lambda m: (
            gettext("%(done)s of the last %(all)s months have their report in the archive.")
            % {"done": m[1], "all": m[2]}
        ),
    ),
    (
        re.compile(
            r"^Decisions are recorded on (\d+) of the (\d+) reports of the last three months\.$"
        ),
        lambda m: (
            gettext(
                "Decisions are recorded on %(done)s of the %(all)s reports of the last three "
                "months."
            )
            % {"done": m[1], "all": m[2]}
        ),
    ),
    (
        re.compile(r"^The library holds (\d+) pieces? of software\.$"),
        lambda m: (
            ngettext(
                "The library holds %(n)s piece of software.",
                "The library holds %(n)s pieces of software.",
                int(m[1]),
            )
            % {"n": m[1]}
        ),
    ),
    (
        re.compile(r"^(\d+) services have none\.$"),
        lambda m: gettext("%(n)s services have none.") % {"n": m[1]},
    ),
    (
        re.compile(r"^Many services have none\.$"),
        lambda m: gettext("Many services have none."),
    ),
    (
        re.compile(
            r"^(\d+) of (\d+) installations of the last three months had every checklist "
            r"step ticked\.$"
        ),
        lambda m: (
            gettext(
                "%(done)s of %(all)s installations of the last three months had every "
                "checklist step ticked."
            )
            % {"done": m[1], "all": m[2]}
        ),
    ),
    (
        re.compile(
            r"^(\d+) of (\d+) installations of the last three months came from an install "
            r"request, an RFC or a release\.$"
        ),
        lambda m: (
            gettext(
                "%(done)s of %(all)s installations of the last three months came from an "
                "install request, an RFC or a release."
            )
            % {"done": m[1], "all": m[2]}
        ),
    ),
    (
        re.compile(r"^The school's reports carry the release figures\.$"),
        lambda m: gettext("The school's reports carry the release figures."),
    ),
    (
        re.compile(r"^(\d+) step\(s\) not ticked$"),
        lambda m: gettext("%(n)s step(s) not ticked") % {"n": m[1]},
    ),
    (
        re.compile(r"^returned for amendment (\d+) times$"),
        lambda m: gettext("returned for amendment %(n)s times") % {"n": m[1]},
    ),
)


_SECTIONS_SHOWN = {
    "full details": gettext_lazy("Full details"),
    "impact": gettext_lazy("Impact"),
    "risk": gettext_lazy("Risk"),
    "fallback plan": gettext_lazy("Fallback plan"),
}


def _no_sections(text: str) -> str | None:
    """ "no full details, risk" (the plan sections an RFC left empty) as shown."""
    names = text.removeprefix("no ").split(", ")
    if not text.startswith("no ") or any(n not in _SECTIONS_SHOWN for n in names):
        return None
    sections = ", ".join(str(_SECTIONS_SHOWN[n]).lower() for n in names)
    return gettext("no %(sections)s") % {"sections": sections}


def _one_shown(text: str) -> str | None:
    if text in SHOWN_TEXTS:
        return str(SHOWN_TEXTS[text])
    for pattern, show in _PATTERNS:
        found = pattern.match(text)
        if found:
            return show(found)
    return _no_sections(text)


def shown(text: str) -> tuple[str, str]:
    """What the page shows for an English detail or reason, and its language: "" when
    translated (the page's own), "en-GB" when it is shown as it is (a detail is one or more
    sentences, a reason one or more parts joined by "; ")."""
    if (get_language() or "en").startswith("en"):
        return text, ""
    whole = _one_shown(text)
    if whole is not None:
        return whole, ""
    for joint, parts in ((" ", re.split(r"(?<=\.) (?=[A-Z0-9])", text)), ("; ", text.split("; "))):
        if len(parts) < 2:
            continue
        each = [_one_shown(part) for part in parts]
        if all(part is not None for part in each):
            return joint.join(part for part in each if part is not None), ""
    return text, "en-GB"


def for_display(item: dict[str, Any]) -> dict[str, Any]:
    """An item (`Item.as_dict()` or one stored in a review) as the page shows it."""
    key = str(item.get("key", ""))
    label = str(item.get("label", ""))
    detail, detail_lang = shown(str(item.get("detail", "")))
    link_text = str(item.get("link_text", ""))
    answer = str(item.get("answer", "") or "")
    failing = []
    for row in item.get("failing") or []:
        if not isinstance(row, dict):
            continue
        why, why_lang = shown(str(row.get("why", "")))
        english = _ENGLISH_ROW.match(str(row.get("label", ""))) is not None
        failing.append(
            {**row, "why": why, "why_lang": why_lang, "label_lang": "en-GB" if english else ""}
        )
    return {
        **item,
        "label": str(SHOWN_LABELS[key]) if key in SHOWN_LABELS else label,
        "label_lang": "" if key in SHOWN_LABELS else "en-GB",
        "detail": detail,
        "detail_lang": detail_lang,
        "link_text": shown(link_text)[0] if link_text else "",
        "answer": answer,
        "answer_shown": str(SHOWN_ANSWERS[answer]) if answer in SHOWN_ANSWERS else answer,
        "note": item.get("note", ""),
        "failing": failing,
    }


def _url(name: str, school: School, *args: Any) -> str:
    """A page for the school, or "" when the page does not exist (yet)."""
    try:
        path = reverse(name, args=args)
    except NoReverseMatch:
        return ""
    return path if args else f"{path}?school={school.slug}"


def months_after(day: date, months: int) -> date:
    """`day` moved by `months` (negative: back), kept within the month (31 Aug + 6 = 28 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@dataclass
class Context:
    school: School
    now: datetime
    today: date
    since_day: date
    since: datetime
    facts: services.Facts
    reports: dict[str, Item] = field(default_factory=dict)
    installations: list[Installation] | None = None


def _change_label(change: Change) -> str:
    return f"{change.reference} {change.title}"


# --- Change management. ---


def _roles(ctx: Context, item: Item) -> None:
    held = services.holders(ctx.facts)
    missing = [Role(r).label.lower() for r in ctx.facts.needed_roles if not held.get(r)]
    item.passed = not missing
    item.detail = (
        "Someone holds each role."
        if not missing
        else f"No one holds {'this role' if len(missing) == 1 else 'these roles'}: "
        + ", ".join(missing)
        + "."
    )
    item.link = _url("adoption:roles", ctx.school) or _url(
        "accounts:school", ctx.school, ctx.school.slug
    )
    item.link_text = "The roles"


def _trained(ctx: Context, item: Item) -> None:
    rows = services.training_rows(ctx.facts)
    waiting = [row for row in rows if not row.done]
    item.passed = bool(rows) and not waiting
    item.detail = (
        "No one holds a role yet."
        if not rows
        else f"{len(rows) - len(waiting)} of {len(rows)} people taking part have confirmed."
    )
    link = _url("adoption:training", ctx.school)
    item.failing = [
        Failing(row.user.display_name, "has not confirmed every guide of their roles", link)
        for row in waiting
    ]
    item.link, item.link_text = link, "Training"


def _forms(ctx: Context, item: Item) -> None:
    adoption = ctx.facts.adoption
    item.passed = True
    item.detail = "The RFC form, a blank printable RFC, role cards and worked examples are here."
    if adoption.materials_ready_at:
        when = timezone.localtime(adoption.materials_ready_at, ctx.school.zone)
        item.detail += f" Marked ready on {when:%-d %B %Y}."
    item.link, item.link_text = _url("adoption:materials", ctx.school), "Materials"


def _approved_recently(ctx: Context) -> list[int]:
    """RFCs of the school approved to go ahead in the last three months (the index on
    (kind, created_at) bounds it in time)."""
    return list(
        ChangeEvent.objects.filter(
            kind=EventKind.APPROVE,
            to_state=State.APPROVED,
            created_at__gte=ctx.since,
            created_at__lt=ctx.now,
            change__school=ctx.school,
        )
        .values_list("change_id", flat=True)
        .distinct()
    )


def _complete(ctx: Context, item: Item) -> None:
    ids = _approved_recently(ctx)
    returns = dict(
        ChangeEvent.objects.filter(change_id__in=ids, kind=EventKind.RETURN)
        .values("change_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("change_id", "n")
    )
    changes = Change.objects.filter(pk__in=ids).only(
        "id", "number", "title", "school_id", *(name for name, _ in PLAN_SECTIONS)
    )
    for change in sorted(changes, key=lambda c: c.number):
        empty = [label for name, label in PLAN_SECTIONS if not str(getattr(change, name)).strip()]
        why = []
        if empty:
            why.append("no " + ", ".join(empty))
        if change.pk in returns:
            why.append(f"returned for amendment {returns[change.pk]} times")
        if why:
            item.failing.append(
                Failing(_change_label(change), "; ".join(why), change.get_absolute_url())
            )
    item.passed = None if not ids else not item.failing
    item.detail = (
        "No RFC was approved in the last three months."
        if not ids
        else f"{len(ids) - len(item.failing)} of {len(ids)} RFCs approved in the last three "
        "months were complete and approved without being sent back more than once."
    )
    item.failing = item.failing[:MOST_LISTED]
    item.link, item.link_text = reverse("changes:list"), "Change log"


def _communicated(ctx: Context, item: Item) -> None:
    # Approved RFCs that started in the last three months ((school, planned_start) index).
    changes = list(
        Change.objects.filter(
            school=ctx.school,
            planned_start__gte=ctx.since,
            planned_start__lt=ctx.now,
            state__in=APPROVED_STATES,
        )
        .only("id", "number", "title", "school_id", "planned_start")
        .order_by("planned_start", "id")
    )
    # When each was first told to its users by a notice still published (as
    # `communication.services.users_told` says of one RFC), for all of them at once.
    told = dict(
        Notice.objects.filter(
            change_id__in=[c.pk for c in changes],
            status=NoticeStatus.PUBLISHED,
            first_published_at__isnull=False,
        )
        .values("change_id")
        .annotate(first=Min("first_published_at"))
        .values_list("change_id", "first")
    )
    for change in changes:
        first = told.get(change.pk)
        assert change.planned_start is not None
        if first is None or first >= change.planned_start:
            why = "no notice published" if first is None else "the notice came after the start"
            item.failing.append(Failing(_change_label(change), why, change.get_absolute_url()))
    item.passed = None if not changes else not item.failing
    item.detail = (
        "No approved change started in the last three months."
        if not changes
        else f"{len(changes) - len(item.failing)} of {len(changes)} approved changes that "
        "started in the last three months were told to the users beforehand."
    )
    item.failing = item.failing[:MOST_LISTED]
    item.link = _url("communication:index", ctx.school)
    item.link_text = "Notices"


def _began(ctx: Context) -> date:
    """When the school began: its creation, or its first RFC if that is older (a school
    brought in with its history)."""
    first = (
        Change.objects.filter(school=ctx.school)
        .order_by("created_at")
        .values_list("created_at", flat=True)[:1]
    )
    moments = [ctx.school.created_at, *first]
    return min(timezone.localtime(m, ctx.school.zone).date() for m in moments)


def _reports_made(ctx: Context, item: Item) -> None:
    frequency = (
        ReportSettings.objects.filter(school=ctx.school).values_list("frequency", flat=True).first()
        or Period.MONTH
    )
    current = measurements.period_bounds(frequency, ctx.today)[0]
    began = _began(ctx)
    periods = [
        (start, end)
        for start, end in measurements.periods_before(
            frequency, current - timedelta(days=1), PERIODS
        )
        if start >= began
    ]
    made = set(
        Snapshot.objects.filter(
            school=ctx.school, period=frequency, start__in=[s for s, _ in periods]
        ).values_list("start", flat=True)
    )
    archive = _url("reports:archive", ctx.school)
    noun = "week" if frequency == Period.WEEK else "month"
    for start, end in periods:
        if start not in made:
            last = end - timedelta(days=1)
            item.failing.append(
                Failing(f"The {noun} {start:%-d %b %Y} to {last:%-d %b %Y}", "no report", archive)
            )
    item.passed = None if not periods else not item.failing
    item.detail = (
        f"The school reports every {noun}; no {noun} has ended since it began."
        if not periods
        else f"{len(periods) - len(item.failing)} of the last {len(periods)} {noun}s have "
        "their report in the archive."
    )
    item.link, item.link_text = archive, "Report archive"
    ctx.reports["made"] = item


def _reports_used(ctx: Context, item: Item) -> None:
    recent = list(
        Snapshot.objects.filter(school=ctx.school, start__gte=ctx.since_day)
        .only("id", "period", "start", "end", "school_id")
        .order_by("start", "id")
    )
    decided = set(
        Decision.objects.filter(snapshot_id__in=[s.pk for s in recent]).values_list(
            "snapshot_id", flat=True
        )
    )
    for snapshot in recent:
        if snapshot.pk not in decided:
            item.failing.append(
                Failing(
                    f"The report from {snapshot.start:%-d %b %Y}",
                    "no decision recorded",
                    _url("reports:snapshot", ctx.school, snapshot.pk),
                )
            )
    item.passed = None if not recent else bool(decided)
    item.detail = (
        "No report in the last three months."
        if not recent
        else f"Decisions are recorded on {len(decided)} of the {len(recent)} reports of the "
        "last three months."
    )
    item.link, item.link_text = _url("reports:archive", ctx.school), "Report archive"
    ctx.reports["used"] = item


# --- Release management. ---


def _release_roles(ctx: Context, item: Item) -> None:
    held = services.holders(ctx.facts)
    missing = [Role(r).label.lower() for r in RELEASE_ROLES if not held.get(r)]
    item.passed = not missing
    item.detail = (
        "Someone holds each role."
        if not missing
        else f"No one holds {'this role' if len(missing) == 1 else 'these roles'}: "
        + ", ".join(missing)
        + "."
    )
    item.link = _url("adoption:roles", ctx.school) or _url(
        "accounts:school", ctx.school, ctx.school.slug
    )
    item.link_text = "The roles"


def _release_trained(ctx: Context, item: Item) -> None:
    link = _url("adoption:training", ctx.school)
    people = 0
    for membership in ctx.facts.memberships:
        held = [r for r in membership.role_list if r in RELEASE_ROLES]
        if not held:
            continue
        people += 1
        guides = {r if r in GUIDES else OVERVIEW_KEY for r in held}
        if any((membership.user_id, g) not in ctx.facts.confirmed for g in guides):
            item.failing.append(
                Failing(membership.user.display_name, "has not confirmed their guides", link)
            )
    item.passed = bool(people) and not item.failing
    item.detail = (
        "No one holds a release role yet."
        if not people
        else f"{people - len(item.failing)} of {people} release participants have confirmed."
    )
    item.link, item.link_text = link, "Training"


def _library(ctx: Context, item: Item) -> None:
    pieces = Software.objects.filter(school=ctx.school, is_active=True).count()
    item.passed = pieces > 0
    item.detail = f"The library holds {pieces} piece{'s' if pieces != 1 else ''} of software."
    item.link = _url("releases:library", ctx.school)
    item.link_text = "Software library"


def _builds_documented(ctx: Context, item: Item) -> None:
    missing = list(undocumented_in([ctx.school.pk]).only("id", "name")[: MOST_LISTED + 1])
    link = _url("releases:undocumented", ctx.school)
    item.failing = [Failing(s.name, "no approved build procedure", link) for s in missing]
    item.failing = item.failing[:MOST_LISTED]
    item.passed = not missing
    item.detail = (
        "Every catalogued service has an approved build procedure."
        if not missing
        else f"{len(missing) if len(missing) <= MOST_LISTED else 'Many'} services have none."
    )
    item.link, item.link_text = link, "Services with no build procedure"


def _installations(ctx: Context) -> list[Installation]:
    if ctx.installations is None:
        ctx.installations = list(
            Installation.objects.filter(
                school=ctx.school,
                state=InstallationState.INSTALLED,
                finished_at__gte=ctx.since,
                finished_at__lt=ctx.now,
            )
            .select_related("build")
            .only(
                "id",
                "school_id",
                "checklist",
                "request_id",
                "change_id",
                "release_id",
                "target",
                "finished_at",
                "build__name",
            )
            .order_by("finished_at", "id")
        )
    return ctx.installations


def _install_label(row: Installation) -> str:
    when = timezone.localtime(row.finished_at) if row.finished_at else None
    return f"{row.build.name}" + (f" ({when:%-d %b %Y})" if when else "")


def _install_checklist(ctx: Context, item: Item) -> None:
    rows = _installations(ctx)
    for row in rows:
        steps = row.checklist if isinstance(row.checklist, list) else []
        undone = [s for s in steps if not (isinstance(s, dict) and s.get("done"))]
        if not steps or undone:
            why = "no checklist" if not steps else f"{len(undone)} step(s) not ticked"
            item.failing.append(
                Failing(_install_label(row), why, reverse("releases:installation", args=[row.pk]))
            )
    item.passed = None if not rows else not item.failing
    item.detail = (
        "No installation finished in the last three months."
        if not rows
        else f"{len(rows) - len(item.failing)} of {len(rows)} installations of the last three "
        "months had every checklist step ticked."
    )
    item.failing = item.failing[:MOST_LISTED]
    item.link = _url("releases:installations", ctx.school)
    item.link_text = "Installations"


def _install_routes(ctx: Context, item: Item) -> None:
    rows = _installations(ctx)
    for row in rows:
        if row.request_id is None and row.change_id is None and row.release_id is None:
            item.failing.append(
                Failing(
                    _install_label(row),
                    "no install request, RFC or release behind it",
                    reverse("releases:installation", args=[row.pk]),
                )
            )
    item.passed = None if not rows else not item.failing
    item.detail = (
        "No installation finished in the last three months."
        if not rows
        else f"{len(rows) - len(item.failing)} of {len(rows)} installations of the last three "
        "months came from an install request, an RFC or a release."
    )
    item.failing = item.failing[:MOST_LISTED]
    item.link = _url("releases:requests", ctx.school)
    item.link_text = "Install requests"


def _release_reports(ctx: Context, item: Item) -> None:
    made, used = ctx.reports["made"], ctx.reports["used"]
    verdicts = [made.passed, used.passed]
    item.passed = False if False in verdicts else (None if None in verdicts else True)
    item.detail = (
        "The school's reports carry the release figures. " + made.detail + " " + used.detail
    )
    item.failing = [*made.failing, *used.failing][:MOST_LISTED]
    item.link, item.link_text = made.link, made.link_text


JUDGES: dict[str, Callable[[Context, Item], None]] = {
    "roles": _roles,
    "trained": _trained,
    "forms": _forms,
    "complete": _complete,
    "communicated": _communicated,
    "reports_made": _reports_made,
    "reports_used": _reports_used,
    "release_roles": _release_roles,
    "release_trained": _release_trained,
    "library": _library,
    "builds_documented": _builds_documented,
    "install_checklist": _install_checklist,
    "install_routes": _install_routes,
    "release_reports": _release_reports,
}

SCHOOL_DETAIL = "The data cannot tell: the school answers this at the review."


def evaluate(school: School, now: datetime | None = None) -> list[Item]:
    """Every item of the checklist, judged now (the school's items left unjudged)."""
    now = now or timezone.now()
    today = today_in(school, now)
    since_day = months_after(today, -RECENT_MONTHS)
    ctx = Context(
        school=school,
        now=now,
        today=today,
        since_day=since_day,
        since=datetime.combine(since_day, time(), tzinfo=school.zone),
        facts=services.load(school, now),
    )
    items = []
    for key, area, label, asked in ITEMS:
        item = Item(key, area, label, "school" if asked else "data")
        if asked:
            item.detail = SCHOOL_DETAIL
        else:
            JUDGES[key](ctx, item)
        items.append(item)
    return items


# --- Reviews. ---


def not_recorder(school: School) -> str:
    """What the pages and the API say when a member who may not record a review asks."""
    return gettext(
        "Only the school administrator, the initial approver or the final approver of "
        "%(school)s may record a review."
    ) % {"school": school.name}


def may_record(user: Any, school: School) -> bool:
    """Records a review: the school administrator, the initial or the final approver."""
    return permissions.is_school_admin(user, school) or permissions.holds_any(
        user, {Role.INITIAL_APPROVER, Role.FINAL_APPROVER}, school
    )


def latest(school: School) -> ChecklistReview | None:
    return (
        ChecklistReview.objects.filter(school=school)
        .select_related("reviewed_by")
        .order_by("-reviewed_on", "-id")
        .first()
    )


def first_due(school: School, adoption_live_at: datetime | None) -> date | None:
    """When a school that has never reviewed should: six months after it went live."""
    if adoption_live_at is None:
        return None
    return months_after(timezone.localtime(adoption_live_at, school.zone).date(), DEFAULT_DUE)


def read_answers(
    answers: Any, notes: Any, note: Any, months: Any
) -> tuple[dict[str, tuple[str, str]], str, int]:
    """Check what the school said (refusing with field errors, InvalidAction): an answer of
    yes, no or partly to each of its items, an optional note each and overall, and when the
    next review is due (3, 6 or 12 months)."""
    errors: dict[str, str] = {}
    answers = answers if isinstance(answers, dict) else None
    notes = notes if isinstance(notes, dict) else ({} if notes in (None, "") else None)
    if answers is None:
        errors["answers"] = gettext("Answer each of: %(items)s (yes, no or partly).") % {
            "items": ", ".join(SCHOOL_KEYS)
        }
        answers = {}
    if notes is None:
        errors["notes"] = gettext("Give the notes as an object of item: text.")
        notes = {}
    unknown = sorted((set(answers) | set(notes)) - set(KEYS))
    if unknown:
        errors["answers"] = gettext("No such item: %(items)s.") % {
            "items": ", ".join(map(str, unknown))
        }
    read: dict[str, tuple[str, str]] = {}
    for key in SCHOOL_KEYS:
        given = answers.get(key)
        if given not in ANSWERS:
            errors[f"answers.{key}"] = gettext("Answer yes, no or partly.")
    for key in KEYS:
        text = notes.get(key, "")
        if not isinstance(text, str) or len(text) > MOST_NOTE:
            errors[f"notes.{key}"] = gettext("A note is text of at most %(most)s characters.") % {
                "most": MOST_NOTE
            }
            text = ""
        read[key] = (str(answers.get(key, "")) if key in SCHOOL_KEYS else "", text.strip())
    if note is None:
        note = ""
    if not isinstance(note, str) or len(note) > MOST_NOTE:
        errors["note"] = gettext("The note is text of at most %(most)s characters.") % {
            "most": MOST_NOTE
        }
        note = ""
    if months is None or months == "":
        months = DEFAULT_DUE
    try:
        months = int(months)
    except (TypeError, ValueError):
        months = 0
    if isinstance(months, bool) or months not in DUE_CHOICES:
        errors["next_in_months"] = gettext("Choose 3, 6 or 12 months.")
    if errors:
        raise InvalidAction(gettext("The review needs correcting."), errors)
    return read, note.strip(), months


def record_review(
    school: School,
    actor: Any,
    answers: dict[str, tuple[str, str]],
    note: str,
    months: int,
    now: datetime | None = None,
) -> ChecklistReview:
    """Record a review: each item as the data judges it now, with the school's answers and
    notes (already read by `read_answers`), the note, and the next review due."""
    if not may_record(actor, school):
        raise NotPermitted(not_recorder(school))
    now = now or timezone.now()
    judged = {item.key: item for item in evaluate(school, now)}
    items: dict[str, Any] = {}
    for key in KEYS:
        item = judged[key]
        answer, text = answers.get(key, ("", ""))
        passed = item.passed
        if item.by == "school":
            passed = {"yes": True, "no": False}.get(answer)
        items[key] = {
            "label": item.label,
            "area": item.area,
            "by": item.by,
            "passed": passed,
            "answer": answer,
            "detail": item.detail,
            "note": text,
            "failing": [f.as_dict() for f in item.failing[:20]],
        }
    today = today_in(school, now)
    with transaction.atomic():
        return ChecklistReview.objects.create(
            school=school,
            reviewed_on=today,
            items=items,
            note=note,
            next_due=months_after(today, months),
            reviewed_by=actor,
            created_at=now,
        )


# --- The reminder (a worker job). ---


def _key(school: School, review: ChecklistReview | None, person: User) -> str:
    """One reminder per person per review that fell due (or per school's first review):
    the outbox refuses a second message with the same key, so the job may run every pass
    and mail each administrator once. A new review is a new key."""
    which = f"r{review.pk}" if review is not None else "first"
    return f"adoption-review-due:{school.pk}:{which}:{person.pk}"


def due_reviews(now: datetime) -> list[tuple[School, ChecklistReview | None, date]]:
    """The schools whose next review has fallen due where they are: their latest review's
    `next_due` has come, or (never reviewed) six months since they went live."""
    from changedesk.adoption.models import Adoption

    soon = now.date() + timedelta(days=1)  # no zone is more than a day ahead of UTC
    candidates = set(
        ChecklistReview.objects.filter(next_due__lte=soon).values_list("school_id", flat=True)
    )
    reviews = {
        r.school_id: r
        for r in ChecklistReview.objects.filter(school_id__in=candidates)
        .select_related("school")
        .order_by("school_id", "reviewed_on", "id")
    }  # the last per school wins
    found: list[tuple[School, ChecklistReview | None, date]] = []
    for review in reviews.values():
        if review.next_due <= today_in(review.school, now):
            found.append((review.school, review, review.next_due))
    live = (
        Adoption.objects.filter(live_at__lte=now - timedelta(days=DEFAULT_DUE * 28))
        .exclude(school_id__in=ChecklistReview.objects.values("school_id"))
        .select_related("school")
    )
    for adoption in live:
        due = first_due(adoption.school, adoption.live_at)
        if due is not None and due <= today_in(adoption.school, now):
            found.append((adoption.school, None, due))
    return found


def remind_due_reviews(now: datetime) -> int:
    """Mail each school administrator once when the school's review falls due."""
    due = due_reviews(now)
    if not due:
        return 0
    admins: dict[int, list[User]] = {}
    for school, _, _ in due:
        admins[school.pk] = list(school.holders_of(Role.SCHOOL_ADMIN).order_by("pk"))
    keys = {_key(s, r, p) for s, r, _ in due for p in admins[s.pk]}
    sent = set(OutboxMessage.objects.filter(key__in=keys).values_list("key", flat=True))
    queued = 0
    for school, review, on in due:
        for person in admins[school.pk]:
            key = _key(school, review, person)
            if key in sent:
                continue
            context = {
                "school": school.name,
                "due": f"{on:%-d %B %Y}",
                "last": f"{review.reviewed_on:%-d %B %Y}" if review else "",
                "path": f"{reverse('adoption:checklist')}?school={school.slug}",
                "recipient_name": person.get_short_name() or person.username,
            }
            if enqueue(
                recipient=person,
                template=REMINDER_TEMPLATE,
                context=context,
                key=key,
                school=school,
            ):
                queued += 1
    return queued
