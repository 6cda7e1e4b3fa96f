"""One filter set for the notices: `/api/v1/notices/` and the notice lists of the
communicators' overview share it."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms

from changedesk.communication.choices import NoticeStatus
from changedesk.communication.models import Notice
from changedesk.lib.filters import FilterSet, SchoolFilter

# The largest id the database keeps (a signed 64-bit integer).
MAX_ID = 2**63 - 1


class IdField(forms.IntegerField):
    """A row's id: a whole number the database can hold (others are a field error)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)


class IdFilter(django_filters.NumberFilter):
    # An id is a whole number where a NumberFilter reads a decimal; django-filter's types allow
    # only a DecimalField here. It stays a NumberFilter: the API schema shows it as a number.
    field_class = IdField  # type: ignore[assignment]


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
