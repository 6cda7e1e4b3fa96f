"""The patch and vendor lists' filters, one filter set each, used by the page and the API."""

from __future__ import annotations

from datetime import date
from typing import Any

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from changedesk.accounts.models import School
from changedesk.lib import days
from changedesk.lib.filters import BooleanFilter, FilterSet, IdFilter, SchoolFilter
from changedesk.patches.choices import OPEN_STATES, PatchState, Severity
from changedesk.patches.models import Patch, Vendor

MONTH_FORMATS = ["%Y-%m"]


def site_today() -> date:
    """Today in the instance's time zone: the lists' "overdue" across schools (each
    school's own day is used on its compliance page and in its reminders)."""
    return timezone.localdate()


def month_bounds(month: date) -> tuple[date, date]:
    """The first day of `month` and of the month after."""
    first = month.replace(day=1)
    after = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return first, after


class MonthField(forms.DateField):
    input_formats = MONTH_FORMATS

    def to_python(self, value: Any) -> date | None:
        month = super().to_python(value)
        if month is not None and not 2000 <= month.year <= 2999:
            raise forms.ValidationError(gettext("Give a month from 2000 to 2999, YYYY-MM."))
        return month

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "YYYY-MM")
        kwargs.setdefault("error_messages", {"invalid": "Give a month, YYYY-MM."})
        super().__init__(*args, **kwargs)


class MonthFilter(django_filters.DateFilter):
    """Released in a month (YYYY-MM)."""

    field_class = MonthField

    def filter(self, qs: Any, value: Any) -> Any:
        if not value:
            return qs
        first, after = month_bounds(value)
        return qs.filter(release_date__gte=first, release_date__lt=after)


class PatchFilterSet(FilterSet):
    """`school` (a slug), `state` and `severity` (one or more), `vendor` (an id), `overdue`,
    `month` (released in, YYYY-MM), `released_after`/`released_before` (days), `change` (the
    RFC's id) and `q` (title, reference, CVE id or product)."""

    school = SchoolFilter()
    state = django_filters.MultipleChoiceFilter(choices=PatchState.choices, label="State")
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices, label="Severity")
    vendor = IdFilter(field_name="vendor_id", label="Vendor (id)")
    overdue = BooleanFilter(method="filter_overdue", label="Overdue")
    month = MonthFilter(label="Released in (YYYY-MM)")
    released_after = django_filters.DateFilter(field_name="release_date", lookup_expr="gte")
    released_before = django_filters.DateFilter(field_name="release_date", lookup_expr="lte")
    change = IdFilter(field_name="change_id", label="RFC (id)")
    q = django_filters.CharFilter(method="filter_q", label="Search", max_length=200)

    class Meta:
        model = Patch
        fields: list[str] = []

    def filter_overdue(self, qs: Any, name: str, value: bool | None) -> Any:
        if value is None:
            return qs
        # Each school's own today: a patch is late where its school is.
        late = Q(state__in=OPEN_STATES) & days.compare_today("due_on", "lt", School.objects.all())
        return qs.filter(late) if value else qs.exclude(late)

    def filter_q(self, qs: Any, name: str, value: str) -> Any:
        words = value.split()
        for word in words[:8]:
            qs = qs.filter(
                Q(title__icontains=word)
                | Q(reference__icontains=word)
                | Q(cves__icontains=word)
                | Q(product__icontains=word)
            )
        return qs


class VendorFilterSet(FilterSet):
    """`school` (a slug) and `q` (in the name)."""

    school = SchoolFilter()
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name")

    class Meta:
        model = Vendor
        fields: list[str] = []
