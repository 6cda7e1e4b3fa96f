"""One filter set for the change log page, its CSV export and the API."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import django_filters
from django.db.models import Q, QuerySet

from changedesk.accounts.models import School, User
from changedesk.changes import extensions
from changedesk.changes.choices import ChangeType, State
from changedesk.changes.models import QUALIFIED_REFERENCE_RE, REFERENCE_RE, Change
from changedesk.lib.filters import BooleanFilter, DayFilter, FilterSet, SchoolFilter, TrustFilter
from changedesk.lib.search import LIMIT, newest, search

SORTS = {
    "reference": ("school__name", "number"),
    "-reference": ("school__name", "-number"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
    "start": ("planned_start", "id"),
    "-start": ("-planned_start", "-id"),
    "title": ("title", "id"),
    "-title": ("-title", "-id"),
    "state": ("state", "id"),
    "-state": ("-state", "-id"),
}


class ChangeFilterSet(FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label="Search",
        help_text=(
            "Every word (or its start) in the title or description, or an RFC's reference "
            "(listed first); every match, best first. (The change log page lists the newest "
            f"{LIMIT} matches, best first.)"
        ),
    )
    state = django_filters.MultipleChoiceFilter(choices=State.choices, label="State")
    school = SchoolFilter()
    trust = TrustFilter()
    originator = django_filters.CharFilter(method="by_originator", label="Originator")
    person = django_filters.CharFilter(method="by_person", label="Anyone named on it (username)")
    is_emergency = BooleanFilter(label="Emergency")
    type = django_filters.MultipleChoiceFilter(
        method="by_type",
        choices=ChangeType.choices,
        label="Type",
        help_text="normal, emergency or standard (raised from a template approved once).",
    )
    created_after = DayFilter(
        field_name="created_at", lookup_expr="gte", label="Raised on or after"
    )
    created_before = DayFilter(
        field_name="created_at", lookup_expr="lte", label="Raised on or before"
    )
    starts_after = DayFilter(
        field_name="planned_start", lookup_expr="gte", label="Starts on or after"
    )
    starts_before = DayFilter(
        field_name="planned_start", lookup_expr="lte", label="Starts on or before"
    )
    sort = django_filters.ChoiceFilter(
        method="sort_by", choices=[(k, k) for k in SORTS], label="Sort", empty_label="Newest first"
    )

    class Meta:
        model = Change
        fields: list[str] = []

    # A search lists and ranks the newest `search_limit` matches (lib.search.newest) and
    # says whether more matched (`more_matches`); `search_limit=None`: every match, ranked
    # (for an export, say).
    search_limit: int | None = LIMIT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.search_limit = kwargs.pop("search_limit", self.search_limit)
        self.more_matches = False
        # How many RFCs a search listed (None: no search, or every match): the list's count.
        self.matches: int | None = None
        super().__init__(*args, **kwargs)

    def filter_queryset(self, queryset: QuerySet[Change]) -> QuerySet[Change]:
        # The search is bounded to the newest matches of what every other filter leaves
        # ("closed" among the newest matches of any state would be a few of them), so it
        # comes after them, and the sort, which orders what it found, last.
        chosen = self.form.cleaned_data
        last = [name for name in ("q", "sort") if name in chosen]
        for name in [*(n for n in chosen if n not in last), *last]:
            queryset = self.filters[name].filter(queryset, chosen[name])
        return queryset

    def search(self, queryset: QuerySet[Change], name: str, value: str) -> QuerySet[Change]:
        value = value.strip()
        if not value:
            return queryset
        qualified = QUALIFIED_REFERENCE_RE.match(value)
        plain = REFERENCE_RE.match(qualified["ref"] if qualified else value)
        reference = Q(number=int(plain["number"])) if plain else None
        fields = ("title", "description")
        if self.search_limit is None:
            return search(queryset, value, fields=fields, also=reference)
        found = newest(queryset, value, fields=fields, also=reference, limit=self.search_limit)
        self.more_matches = found.more
        self.matches = found.count
        return found.rows

    # Filters on people compare ids with a one-row subquery, never join the
    # people's table onto every RFC.
    def by_originator(self, queryset: QuerySet[Change], name: str, value: str) -> QuerySet[Change]:
        return queryset.filter(originator__in=_user_named(value))

    def by_person(self, queryset: QuerySet[Change], name: str, value: str) -> QuerySet[Change]:
        person = _user_named(value)
        return queryset.filter(
            Q(originator__in=person)
            | Q(initial_approver__in=person)
            | Q(peer_reviewer__in=person)
            | Q(final_approver__in=person)
            | Q(implementer__in=person)
        )

    def by_type(self, queryset: QuerySet[Change], name: str, value: list[str]) -> QuerySet[Change]:
        if not value:
            return queryset
        matches = Q(pk__in=[])
        for kind in value:
            matches |= TYPE_QUERIES[kind]
        return queryset.filter(matches)

    def sort_by(self, queryset: QuerySet[Change], name: str, value: str) -> QuerySet[Change]:
        return queryset.order_by(*SORTS.get(value, ("-created_at", "-id")))


# Each type as a filter on the RFC's own columns.
TYPE_QUERIES: dict[str, Q] = {
    ChangeType.NORMAL: Q(is_emergency=False, is_standard=False),
    ChangeType.EMERGENCY: Q(is_emergency=True),
    ChangeType.STANDARD: Q(is_standard=True),
}


def _user_named(username: str) -> QuerySet[User, Any]:
    return User.objects.filter(username=username).values("pk")


def school_choices(user: User) -> QuerySet[School]:
    return School.objects.for_user(user)


def app_filters(
    filterset: FilterSet, user: User, names: Iterable[str] | None = None
) -> list[tuple[str, str, str]]:
    """The apps' filters (`changes.extensions`; `names`: those of them `filterset` took)
    asked for and read, as (name, value as given, what it keeps in words), to keep them in
    a page's links and show them: a filter's words are its `describe(value, user)` where it
    has one (naming only what `user` may see), else its label and value."""
    filterset.is_valid()
    found = []
    names = set(extensions.filters() if names is None else names)
    for name in sorted(names - set(filterset.form.errors)):
        value = filterset.form.cleaned_data.get(name)
        if value in (None, "") or name not in filterset.filters:
            continue
        one = filterset.filters[name]
        describe = getattr(one, "describe", None)
        words = describe(value, user) if describe else f"{one.label}: {value}"
        found.append((name, str(filterset.form.data.get(name)), str(words)))
    return found
