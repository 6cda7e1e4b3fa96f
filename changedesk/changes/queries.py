"""The queries behind the pages: what waits for whom, and the change log with its people.

Each returns a queryset with everything its page shows already joined, so the number of
queries a page makes does not grow with the number of RFCs.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache, reduce
from typing import Any, NamedTuple
from urllib.parse import urlencode

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import BigIntegerField, Count, ExpressionWrapper, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.db.models.lookups import In
from django.urls import reverse

from changedesk.accounts import permissions
from changedesk.accounts.choices import APPROVER_ROLES, Role
from changedesk.accounts.models import User
from changedesk.changes import extensions, workflow
from changedesk.changes.choices import State
from changedesk.changes.models import Change, format_reference

# Each section shows this many (the oldest first, or the soonest) and links to the rest.
LIMIT = 10
PEOPLE = ("school", "originator", "initial_approver", "peer_reviewer", "final_approver",
          "implementer")  # fmt: skip


def with_people(queryset: QuerySet[Change]) -> QuerySet[Change]:
    return queryset.select_related(*PEOPLE)


# What a card of My work shows, as `Card` takes it (with the originator's names).
CARD_FIELDS = ("pk", "number", "title", "state", "is_emergency", "is_standard", "planned_start",
               "school__name",
               "originator_id", "originator__username", "originator__first_name",
               "originator__last_name")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Card:
    """What a card of My work shows of an RFC: its reference, title, state and start, its
    school and who raised it. Read as values, not as models (a page of six full sections
    would otherwise build 180 model instances: each RFC, its school and its originator)."""

    pk: int
    url: str
    number: int
    title: str
    state: str
    is_emergency: bool
    is_standard: bool
    planned_start: datetime | None
    school_name: str
    originator_name: str
    # The key of each of the extensions' groupings it is in (None: not in one), in order.
    part_of: tuple[Any, ...] = ()

    @property
    def reference(self) -> str:
        return format_reference(self.number)

    def get_state_display(self) -> str:
        return str(State(self.state).label)


@dataclass
class WorkSection:
    key: str
    title: str
    role: str
    hint: str
    changes: list[Card]
    # How many wait in all (the page shows the first `LIMIT`), and the change log's
    # filter that lists them (`exact`), or that lists RFCs like them (`note` says how).
    total: int = 0
    states: tuple[str, ...] = ()
    person_filter: str = "person"
    exact: bool = False
    note: str = ""
    link: str = ""

    # What the page lists: the cards, with those of a group the person may see (e.g. a
    # trust-wide change's schools' RFCs) gathered into one entry where the first of them is.
    entries: list[Card | GroupEntry] = field(default_factory=list)

    @property
    def more(self) -> int:
        return self.total - len(self.changes)


@dataclass(frozen=True)
class GroupEntry:
    """Cards of one section that are part of one group (an extension's): shown as a row."""

    group: extensions.Group
    cards: list[Card]

    is_group = True

    @property
    def states(self) -> list[tuple[str, str, int]]:
        """Its RFCs in each state, all of them (not only this section's): label, state, count."""
        return [(str(State(state).label), state, n) for state, n in self.group.states]


class _Kind(NamedTuple):
    """How My work presents a section; what goes in it is read off the workflow's table."""

    key: str
    title: str
    hint: str
    order: tuple[str, ...]
    # The change log's filter on the person, and how its list differs from the section's
    # (nothing: the filter is the section's condition).
    person_filter: str = "person"
    note: str = ""


# The change log has no filter for "named as the initial approver", "as a deputy" or "not
# named yet": its link lists the RFCs in those steps that name the person in any role.
_NAMED = "it lists every RFC in these steps that names you, in any role"
SECTIONS: dict[str, _Kind] = {
    Role.INITIAL_APPROVER: _Kind("initial", "To approve for planning",
                                 "Agree that these may be planned, send them back, or reject "
                                 "them.", ("-is_emergency", "created_at", "id"),
                                 note=f"{_NAMED}, and not those you approve as a deputy"),
    Role.PEER_REVIEWER: _Kind("peer", "To peer review",
                              "Check that each plan is technically sound.",
                              ("planned_start", "created_at", "id"),
                              note=f"{_NAMED}, and not those you review as a deputy"),
    Role.FINAL_APPROVER: _Kind("final", "To approve for implementation",
                               "Give the go-ahead, accepting the impact on the school; "
                               "ratify emergency changes.", ("planned_start", "created_at", "id"),
                               note=f"{_NAMED}, and not those you approve as a deputy"),
    Role.IMPLEMENTER: _Kind("implement", "To carry out",
                            "Approved changes to implement; record the outcome when done.",
                            ("planned_start", "created_at", "id"),
                            note=f"{_NAMED}, and not those no one has taken on yet"),
    Role.ORIGINATOR: _Kind("mine", "My requests",
                           "Drafts to submit, plans to write, and implemented changes to review "
                           "and close.", ("state", "created_at", "id"), person_filter="originator"),
}  # fmt: skip
WAITING = _Kind("waiting", "My requests waiting on others",
                "Nothing for you to do until someone else acts.", ("created_at", "id"),
                person_filter="originator",
                note="it lists every RFC of yours in these steps, also those waiting on you in "
                     "another section")  # fmt: skip

# A school compared as a value. My work's sections are found from the indexes on (state,
# person): a person is named on a few hundred RFCs in those steps. Given the school ids as
# `school_id IN (...)`, PostgreSQL chose to also read the school index and intersect
# (122,000 entries for ten schools, 4-6 ms a section at 500,000 RFCs; 0.4-1.3 ms without).
_SCHOOL = ExpressionWrapper(F("school") + 0, output_field=BigIntegerField())


def _of_schools(ids: Iterable[int]) -> Q:
    return Q(In(_SCHOOL, sorted(ids)))


def _steps(role: str) -> Q:
    """The RFCs in a state where the table asks `role` to act."""
    rows = workflow.task_rows(role)
    return reduce(operator.or_, (Q(state=row.source) & row.only_when.query for row in rows))


class _Person(NamedTuple):
    """All the sections' query depends on, of a person: who they are, the roles they hold
    in each school, the schools where an RFC's originator may act in each role (separation
    of duties, by the rulebook), and the approvers they deputise for (approver, school, role)."""

    pk: int
    roles: tuple[tuple[int, frozenset[str]], ...]
    allowed: tuple[tuple[str, frozenset[int]], ...]
    deputising: tuple[tuple[int, int, str], ...]


def _person(user: User) -> _Person:
    memberships = list(user.memberships.all())

    def allowed(role: str) -> frozenset[int]:
        return frozenset(
            m.school_id for m in memberships if permissions.originator_may_be(role, m.school)
        )

    return _Person(
        user.pk,
        tuple(sorted((m.school_id, frozenset(m.role_list)) for m in memberships)),
        tuple((role, allowed(role)) for role in SECTIONS),
        tuple(sorted((d.approver_id, d.school_id, d.role) for d in workflow.deputising(user))),
    )


def _named(person: _Person, role: str) -> Q:
    """RFCs on which the person is the one for `role`: named, a deputy of the one named, or
    (for work anyone holding the role may pick up) a holder while no one is named."""
    field = workflow.ROLE_FIELD[role]
    held = dict(person.roles)
    condition = Q(**{field: person.pk})
    if role in APPROVER_ROLES:
        for approver, school, covered in person.deputising:
            if covered in ("", role):
                condition |= Q(**{field: approver}) & _of_schools([school])
    # (A list of every school of the person's says nothing: My work sees those alone.)
    if any(row.claims for row in workflow.task_rows(role)):
        holding = [school for school, roles in held.items() if role in roles]
        unnamed = Q(**{f"{field}__isnull": True})
        condition |= unnamed if len(holding) == len(held) else unnamed & _of_schools(holding)
    if role != Role.ORIGINATOR:
        # Separation of duties: never one's own RFC where the rulebook says so.
        allowed = dict(person.allowed)[role]
        if len(allowed) < len(held):
            condition &= ~Q(originator=person.pk) | _of_schools(allowed)
    return condition


class _SectionsQuery(NamedTuple):
    """A person's sections (role, how shown, states) and the query for their first RFCs,
    on the database `db`."""

    sections: tuple[tuple[str, _Kind, tuple[str, ...]], ...]
    sql: str
    params: tuple[Any, ...]
    db: str


def my_work(user: User) -> list[WorkSection]:
    """What waits for `user`, one section per role they hold somewhere (as in FITS's steps).

    Two queries, however many sections (once the user's memberships, roles and delegations
    are loaded, as a page has them): one finds the first RFCs of every section and counts
    each section's, one loads those RFCs' cards; and one for each extension's grouping that
    some card is in (`extensions.Grouping`), however many groups."""
    user = permissions.with_roles(user)
    query = _sections_query(_person(user), Change.objects.db, LIMIT)
    change_log = reverse("changes:list")
    sections = [
        _section(user, kind, role, states, change_log) for role, kind, states in query.sections
    ]
    firsts = _first_of_each(query)
    groupings = extensions.groupings()
    cards = _cards({pk for _, ids in firsts for pk in ids}, groupings)
    groups = _groups(user, groupings, cards.values())
    for section, (total, ids) in zip(sections, firsts, strict=True):
        section.total = total
        section.changes = [cards[pk] for pk in ids if pk in cards]
        section.entries = _entries(section.changes, groups)
    return sections


def _groups(
    user: User, groupings: list[extensions.Grouping], cards: Iterable[Card]
) -> list[dict[Any, extensions.Group]]:
    """Each grouping's groups of these cards that `user` may see (no query for a grouping
    none of the cards is in)."""
    cards = list(cards)
    found: list[dict[Any, extensions.Group]] = []
    for index, grouping in enumerate(groupings):
        keys = {card.part_of[index] for card in cards if card.part_of[index] is not None}
        found.append(grouping.load(user, keys) if keys else {})
    return found


def _entries(cards: list[Card], groups: list[dict[Any, extensions.Group]]) -> list[Any]:
    """The cards in order, those of one group gathered where its first card is."""
    entries: list[Any] = []
    gathered: dict[tuple[int, Any], GroupEntry] = {}
    for card in cards:
        place = next(
            (
                (index, key)
                for index, key in enumerate(card.part_of)
                if key is not None and card.pk in _members(groups[index], key)
            ),
            None,
        )
        if place is None:
            entries.append(card)
        elif place in gathered:
            gathered[place].cards.append(card)
        else:
            gathered[place] = GroupEntry(groups[place[0]][place[1]], [card])
            entries.append(gathered[place])
    return entries


def _members(groups: dict[Any, extensions.Group], key: Any) -> frozenset[int]:
    group = groups.get(key)
    return group.members if group is not None else frozenset()


@lru_cache(maxsize=256)
def _sections_query(person: _Person, db: str, limit: int) -> _SectionsQuery:
    """The sections of `person` and the one query for the first `limit` RFCs of each, with
    each one's count: a UNION ALL of each section's first rows (each part planned as a
    query of its own would be; one round trip instead of six).

    Kept for the next page (a function of its arguments alone): building and compiling the
    sections' conditions took 4-5 ms of a page, more than the database took to answer."""
    held = dict(person.roles)
    roles: set[str] = set().union(*held.values())
    deputy_roles = {role for _, _, role in person.deputising}
    sections: list[tuple[str, _Kind, tuple[str, ...]]] = []
    wanted: list[tuple[Q, tuple[str, ...]]] = []  # each section's condition and order
    others: list[Q] = []  # what waits on the person in a role other than the originator's
    for role, kind in SECTIONS.items():
        deputy = role in APPROVER_ROLES and ("" in deputy_roles or role in deputy_roles)
        if role not in roles and not deputy:
            continue
        condition = _steps(role) & _named(person, role)
        if role != Role.ORIGINATOR:
            others.append(condition)
        states = _states(role)
        sections.append((role, kind, states))
        # The states again, as one list: the index on (state, person) is then searched
        # once for all of them, from the index alone where it covers the section
        # (`change_*_work`), rather than a bitmap a state and every RFC's row read.
        wanted.append((Q(state__in=states) & condition, kind.order))
    if Role.ORIGINATOR in roles:
        theirs = tuple(sorted(_theirs()))
        sections.append((Role.ORIGINATOR, WAITING, theirs))
        wanted.append((_waiting_on_others(person, theirs, others), WAITING.order))
    parts: list[str] = []
    params: list[Any] = []
    for index, (condition, order) in enumerate(wanted):
        # Filtered last: each step before copies the query, and the conditions are long.
        first = (
            Change.objects.using(db)
            .values_list("pk")
            .annotate(_total=Window(Count("pk")), _place=Window(RowNumber(), order_by=order))
            .order_by(*order)
            .filter(_of_schools(held), condition)[:limit]
        )
        try:
            sql, part_params = first.query.get_compiler(db).as_sql()
        except EmptyResultSet:
            continue  # nothing can meet it: a section with none
        # Wrapped: SQLite takes no ORDER BY or LIMIT in a part of a UNION, but in a subquery.
        parts.append(f"SELECT {index}, part.* FROM ({sql}) AS part")  # noqa: S608
        params.extend(part_params)
    return _SectionsQuery(tuple(sections), " UNION ALL ".join(parts), tuple(params), db)


def _section(user: User, kind: _Kind, role: str, states: tuple[str, ...], change_log: str
             ) -> WorkSection:  # fmt: skip
    filters = urlencode([(kind.person_filter, user.username), *(("state", s) for s in states)])
    return WorkSection(kind.key, kind.title, role, kind.hint, [], states=states,
                       person_filter=kind.person_filter, exact=not kind.note, note=kind.note,
                       link=f"{change_log}?{filters}")  # fmt: skip


def _first_of_each(query: _SectionsQuery) -> list[tuple[int, list[int]]]:
    """Each section's count and the ids of its first RFCs, in order (none: no query)."""
    totals = [0] * len(query.sections)
    firsts: list[list[int]] = [[] for _ in query.sections]
    if query.sql:
        with connections[query.db].cursor() as cursor:
            # The parts are Django's SQL (values as parameters) and each part's number.
            cursor.execute(query.sql, query.params)
            rows = sorted(cursor.fetchall(), key=lambda row: (row[0], row[3]))
        for index, pk, total, _place in rows:
            totals[index] = total
            firsts[index].append(pk)
    return list(zip(totals, firsts, strict=True))


def _cards(ids: set[int], groupings: Sequence[extensions.Grouping] = ()) -> dict[int, Card]:
    """The cards of the RFCs `ids`, by id, in one query (none when there are none), with
    the key of each grouping they are in (read in the same query)."""
    if not ids:
        return {}
    fields = (*CARD_FIELDS, *(grouping.field for grouping in groupings))
    rows = Change.objects.filter(pk__in=sorted(ids)).order_by().values_list(*fields)
    url = _detail_url()
    names: dict[int, str] = {}
    cards: dict[int, Card] = {}
    size = len(CARD_FIELDS)
    for row in rows:
        pk, number, title, state, emergency, standard, start, school, by, *name = row[:size]
        if by not in names:
            username, first_name, last_name = name
            person = User(pk=by, username=username, first_name=first_name, last_name=last_name)
            names[by] = person.display_name
        cards[pk] = Card(pk, url(pk), number, title, state, emergency, standard, start, school,
                         names[by], tuple(row[size:]))  # fmt: skip
    return cards


def _detail_url() -> Callable[[int], str]:
    """The RFC page's address for an id, reversed once (not once a card: 60 times a page)."""
    marker = 918273645
    before, after = reverse("changes:detail", args=[marker]).split(str(marker))
    return lambda pk: f"{before}{pk}{after}"


def _states(role: str) -> tuple[str, ...]:
    return tuple(sorted({row.source for row in workflow.task_rows(role)}))


def _theirs() -> set[str]:
    """The states in which an RFC waits on someone other than its originator."""
    theirs = {str(r.source) for r in workflow.TRANSITIONS if r.task and r.by != Role.ORIGINATOR}
    return theirs - {str(row.source) for row in workflow.task_rows(Role.ORIGINATOR)}


def _waiting_on_others(person: _Person, theirs: tuple[str, ...], others: list[Q]) -> Q:
    """The person's RFCs whose next step is someone else's: not theirs as originator, nor in
    any other section of theirs (e.g. one they implement themselves)."""
    waiting = Q(originator=person.pk, state__in=theirs)
    return waiting & ~reduce(operator.or_, others) if others else waiting
