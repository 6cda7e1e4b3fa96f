"""One filter set for the meetings page and `/api/v1/committee/meetings/`."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from changedesk.committee.choices import MeetingStatus
from changedesk.committee.models import Meeting
from changedesk.lib.filters import FilterSet


class MeetingFilterSet(FilterSet):
    """`school` (a slug) and `status`; an empty value filters nothing, a bad one is a
    field error (a 400 from the API)."""

    school = django_filters.CharFilter(method="by_school", label="School (slug)")
    status = django_filters.ChoiceFilter(
        choices=MeetingStatus.choices, label="Status", empty_label="Any status"
    )

    class Meta:
        model = Meeting
        fields: list[str] = []

    def by_school(self, queryset: QuerySet[Meeting], name: str, value: str) -> QuerySet[Meeting]:
        return queryset.filter(school__slug=value) if value else queryset
