"""One filter set for the change log page, its CSV export and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from changedesk.accounts.models import School, User
from changedesk.changes.choices import State
from changedesk.changes.models import QUALIFIED_REFERENCE_RE, REFERENCE_RE, Change
from changedesk.lib.filters import BooleanFilter, FilterSet

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
    q = django_filters.CharFilter(method="search", label="Search")
    state = django_filters.MultipleChoiceFilter(choices=State.choices, label="State")
    school = django_filters.CharFilter(method="by_school", label="School (slug)")
    originator = django_filters.CharFilter(field_name="originator__username", label="Originator")
    person = django_filters.CharFilter(method="by_person", label="Anyone named on it (username)")
    is_emergency = BooleanFilter(label="Emergency")
    created_after = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label="Raised on or after"
    )
    created_before = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label="Raised on or before"
    )
    starts_after = django_filters.DateFilter(
        field_name="planned_start", lookup_expr="date__gte", label="Starts on or after"
    )
    starts_before = django_filters.DateFilter(
        field_name="planned_start", lookup_expr="date__lte", label="Starts on or before"
    )
    sort = django_filters.ChoiceFilter(
        method="sort_by", choices=[(k, k) for k in SORTS], label="Sort", empty_label="Newest first"
    )

    class Meta:
        model = Change
        fields: list[str] = []

    def search(self, queryset: QuerySet[Change], name: str, value: str) -> QuerySet[Change]:
        value = value.strip()
        if not value:
            return queryset
        condition = Q(title__icontains=value) | Q(description__icontains=value)
        qualified = QUALIFIED_REFERENCE_RE.match(value)
        plain = REFERENCE_RE.match(qualified["ref"] if qualified else value)
        if plain:
            condition |= Q(number=int(plain["number"]))
        return queryset.filter(condition)

    def by_school(self, queryset: QuerySet[Change], name: str, value: str) -> QuerySet[Change]:
        return queryset.filter(school__slug=value) if value else queryset

    def by_person(self, queryset: QuerySet[Change], name: str, value: str) -> QuerySet[Change]:
        if not value:
            return queryset
        return queryset.filter(
            Q(originator__username=value)
            | Q(initial_approver__username=value)
            | Q(peer_reviewer__username=value)
            | Q(final_approver__username=value)
            | Q(implementer__username=value)
        )

    def sort_by(self, queryset: QuerySet[Change], name: str, value: str) -> QuerySet[Change]:
        return queryset.order_by(*SORTS.get(value, ("-created_at", "-id")))


def school_choices(user: User) -> QuerySet[School]:
    return School.objects.for_user(user)
