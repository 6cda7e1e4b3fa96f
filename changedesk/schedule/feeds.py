"""iCalendar feeds of the forward schedule of change, behind secret, revocable links.

Two kinds of feed (`FeedKind`): a school's (every change of the school with a planned
window) and a person's (the changes they are named on, in every school they belong to).
A calendar app subscribes to `/schedule/feeds/<key>.ics` without signing in, so the key is
the only credential: revoking it, or replacing it with a new one, makes the old link a 404
at once, and a school's feed stops working when its owner leaves the school.

So that calendar apps update an event rather than add a second one, each change keeps one
UID for life and its SEQUENCE is the change's version, which every edit and action raises;
a withdrawn or rejected change stays in the feed as STATUS:CANCELLED for a while, long
enough for every subscriber to have fetched it and taken it off their calendar.

What a feed holds is built here; the links are made and revoked by `services`, the feed
and the page where a user manages their links are in `views/feeds.py`, the API in
`feed_api.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext
from icalendar import Calendar, Event, vText
from icalendar.enums import STATUS, TRANSP

from changedesk.accounts.models import Membership, School, User
from changedesk.changes.choices import State
from changedesk.changes.models import PEOPLE_FIELDS, Change
from changedesk.schedule.models import FeedKind, FeedToken
from changedesk.schedule.windows import since

# What a feed covers: recent history and the next two years, so that it stays small.
FEED_PAST = timedelta(days=90)
FEED_AHEAD = timedelta(days=730)
# How long a withdrawn or rejected change stays in a feed, marked cancelled, after it was
# called off: calendar apps remove an event they see cancelled, not one that vanishes.
CANCELLED_KEPT = timedelta(days=60)
# How often calendar apps are asked to fetch the feed again.
REFRESH_INTERVAL = timedelta(hours=1)

PRODID = "-//changedesk//Forward schedule of change//EN"
CONFIRMED_STATES = frozenset({State.APPROVED, State.IMPLEMENTED, State.CLOSED})
CANCELLED_STATES = frozenset({State.WITHDRAWN, State.REJECTED})
# The people named on an RFC, in the order its page shows them.
ROLES_ON_RFC = (
    ("originator", "Raised by"),
    ("initial_approver", "Initial approver"),
    ("peer_reviewer", "Peer reviewer"),
    ("final_approver", "Final approver"),
    ("implementer", "Implementer"),
)


# --- The secret links. ---


def feed_url(token: FeedToken) -> str:
    """The full address of a feed, as a calendar app needs it."""
    return f"{settings.SITE_URL}{reverse('schedule:feed_ics', args=[token.key])}"


def webcal_url(token: FeedToken) -> str:
    """The same address with the webcal: scheme, which opens the user's calendar app."""
    return "webcal:" + feed_url(token).split(":", 1)[1]


def usable_token(key: str) -> FeedToken | None:
    """The live token with this key, or None: unknown, revoked, its owner deactivated, or
    (for a school's feed) its owner no longer a member of the school. One query."""
    token = (
        FeedToken.objects.select_related("user", "school")
        .filter(key=key, revoked_at__isnull=True, user__is_active=True)
        .annotate(
            is_member=Exists(
                Membership.objects.filter(user=OuterRef("user"), school=OuterRef("school"))
            )
        )
        .first()
    )
    if token is None:
        return None
    is_member = getattr(token, "is_member", False)
    if token.kind == FeedKind.SCHOOL and not (is_member or token.user.is_superuser):
        return None
    return token


# --- What a feed holds. ---


def feed_changes(token: FeedToken, now: datetime) -> QuerySet[Change]:
    """The changes a feed shows, with everything an event needs joined: one query."""
    if token.kind == FeedKind.SCHOOL:
        changes = Change.objects.filter(school=token.school_id)
    else:
        named = Q()
        for name in ("originator", *PEOPLE_FIELDS):
            named |= Q(**{name: token.user_id})
        changes = Change.objects.visible_to(token.user).filter(named)
    return (
        changes.filter(
            since(now - FEED_PAST),  # a lower bound on planned_start too, for the index
            planned_start__isnull=False,
            planned_end__isnull=False,
            planned_end__gte=now - FEED_PAST,
            planned_start__lte=now + FEED_AHEAD,
        )
        .filter(~Q(state__in=CANCELLED_STATES) | Q(updated_at__gte=now - CANCELLED_KEPT))
        .select_related("school", "originator", *PEOPLE_FIELDS)
        .order_by("planned_start", "pk")
    )


def site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "changedesk"


def event_status(change: Change) -> STATUS:
    if change.state in CONFIRMED_STATES:
        return STATUS.CONFIRMED
    if change.state in CANCELLED_STATES:
        return STATUS.CANCELLED
    return STATUS.TENTATIVE


def event_summary(change: Change) -> str:
    summary = f"{change.reference} {change.title}"
    if change.is_emergency:
        summary = f"[EMERGENCY] {summary}"
    if change.state in CANCELLED_STATES:
        return f"{summary} ({change.get_state_display().lower()})"
    if change.state not in CONFIRMED_STATES:
        return f"{summary} (not yet approved)"
    return summary


def event_description(change: Change) -> str:
    lines = [f"State: {change.get_state_display()}", f"School: {change.school.name}"]
    if change.is_emergency:
        lines.append("Emergency change")
    if change.outcome:
        lines.append(f"Outcome: {change.get_outcome_display()}")
    for name, label in ROLES_ON_RFC:
        person: User | None = getattr(change, name)
        if person is not None:
            title = f", {person.job_title}" if person.job_title else ""
            lines.append(f"{label}: {person.display_name}{title}")
    lines += ["", change.absolute_link]
    return "\n".join(lines)


def change_event(change: Change, host: str, busy: bool = False) -> Event:
    """One VEVENT. No METHOD is set on the calendar, so DTSTAMP is, as RFC 5545 says for
    that case, the time the change was last revised: the same feed twice is the same bytes."""
    assert change.planned_start is not None and change.planned_end is not None
    modified = change.updated_at.astimezone(UTC)
    return Event.new(
        uid=f"change-{change.pk}@{host}",
        sequence=change.version,
        stamp=modified,
        last_modified=modified,
        start=change.planned_start.astimezone(UTC),
        end=change.planned_end.astimezone(UTC),
        summary=event_summary(change),
        description=event_description(change),
        location=change.school.name,
        url=change.absolute_link,
        status=event_status(change),
        transparency=TRANSP.OPAQUE if busy else TRANSP.TRANSPARENT,
    )


def feed_title(token: FeedToken) -> str:
    if token.kind == FeedKind.SCHOOL:
        assert token.school is not None
        return f"{token.school.name}: changes"
    return f"Changes I am part of ({token.user.display_name})"


def build_calendar(token: FeedToken, changes: QuerySet[Change] | list[Change]) -> bytes:
    host = site_host()
    if token.kind == FeedKind.SCHOOL:
        assert token.school is not None
        uid = f"feed-school-{token.school.pk}@{host}"
        about = f"The changes planned at {token.school.name}, from changedesk."
    else:
        uid = f"feed-person-{token.user.pk}@{host}"
        about = "The changes you raised, approve, review or carry out, from changedesk."
    calendar = Calendar.new(
        prodid=PRODID, uid=uid, refresh_interval=REFRESH_INTERVAL, calscale="GREGORIAN"
    )
    # Added as TEXT here: `Calendar.new(name=…)` would write commas and semicolons in a
    # school's or a person's name unescaped, which RFC 5545 does not allow in TEXT.
    title = feed_title(token)
    for name, value in (
        ("NAME", title),
        ("X-WR-CALNAME", title),
        ("DESCRIPTION", about),
        ("X-WR-CALDESC", about),
    ):
        calendar.add(name, vText(value))
    calendar["REFRESH-INTERVAL"].params["VALUE"] = "DURATION"  # RFC 7986 requires it
    calendar.add("X-PUBLISHED-TTL", "PT1H")  # the older name of REFRESH-INTERVAL
    for change in changes:
        # In a person's feed, the time is busy only for the one who carries the change out.
        busy = token.kind == FeedKind.PERSON and change.implementer_id == token.user_id
        calendar.add_component(change_event(change, host, busy=busy))
    ical: bytes = calendar.to_ical()  # icalendar leaves its return type out
    return ical


# --- The page where a user manages their links. ---


def feed_anchor(school: School | None) -> str:
    return f"feed-{school.slug}" if school else "feed-mine"


@dataclass
class FeedRow:
    """One feed a user may have: their own, or one of their schools'."""

    kind: str
    title: str
    hint: str
    school: School | None = None
    token: FeedToken | None = None

    @property
    def anchor(self) -> str:
        return feed_anchor(self.school)

    @property
    def url(self) -> str:
        return feed_url(self.token) if self.token else ""

    @property
    def webcal(self) -> str:
        return webcal_url(self.token) if self.token else ""


def feed_rows(user: User) -> tuple[list[FeedRow], list[FeedToken]]:
    """The user's feeds, with the live link of each, and any live links that no longer
    work (a school they have left). Two queries."""
    tokens = list(
        FeedToken.objects.filter(user=user, revoked_at__isnull=True)
        .select_related("school")
        .order_by("-created_at", "-pk")
    )
    rows = [
        FeedRow(
            FeedKind.PERSON,
            gettext("Changes I am part of"),
            gettext("The changes you raised, approve, review or carry out, in all your schools."),
        )
    ]
    rows += [
        FeedRow(
            FeedKind.SCHOOL,
            school.name,
            gettext("Every change planned at %(school)s, approved or not.")
            % {"school": school.name},
            school=school,
        )
        for school in School.objects.for_user(user).order_by("name", "pk")
    ]
    unused = []
    for token in tokens:  # newest first: a row takes the newest of its links
        row = next((r for r in rows if r.kind == token.kind and r.school == token.school), None)
        if row is not None and row.token is None:
            row.token = token
        else:
            unused.append(token)
    return rows, unused
