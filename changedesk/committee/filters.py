"""One filter set for the meetings page and `/api/v1/committee/meetings/`."""

from __future__ import annotations

import django_filters

from changedesk.committee.choices import MeetingStatus
from changedesk.committee.models import Meeting
from changedesk.lib.filters import FilterSet, SchoolFilter


class MeetingFilterSet(FilterSet):
    """`school` (a slug) and `status`; an empty value filters nothing, a bad one is a
    field error (a 400 from the API)."""

    school = SchoolFilter()
    status = django_filters.ChoiceFilter(
        choices=MeetingStatus.choices, label="Status", empty_label="Any status"
    )

    class Meta:
        model = Meeting
        fields: list[str] = []
