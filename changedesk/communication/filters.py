"""One filter set for the notices: `/api/v1/notices/` and the notice lists of the
communicators' overview share it."""

from __future__ import annotations

import django_filters

from changedesk.communication.choices import NoticeStatus
from changedesk.communication.models import Notice
from changedesk.lib.filters import FilterSet, IdFilter, SchoolFilter


class NoticeFilterSet(FilterSet):
    """`school` (a slug), `status` and `change` (an RFC's id); an empty value filters
    nothing, a bad one is a field error (a 400 from the API)."""

    school = SchoolFilter()
    status = django_filters.ChoiceFilter(
        choices=NoticeStatus.choices, label="Status", empty_label="Any status"
    )
    change = IdFilter(field_name="change_id", label="RFC (id)")

    class Meta:
        model = Notice
        fields: list[str] = []
