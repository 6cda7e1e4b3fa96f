"""The library's lists' filters, one filter set each, used by the page and the API: the
catalogue (`SoftwareFilterSet`) and the in/out book (`CheckoutFilterSet`)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from changedesk.accounts.models import School
from changedesk.lib import days
from changedesk.lib.filters import BooleanFilter, FilterSet, SchoolFilter
from changedesk.releases.choices import SoftwareKind
from changedesk.releases.models import Checkout, Software


def _out() -> Exists:
    return Exists(Checkout.objects.filter(software=OuterRef("pk"), returned_at__isnull=True))


class SoftwareFilterSet(FilterSet):
    """`school` (a slug), `kind` (one or more), `q` (words in the title, vendor or version),
    `out` (taken out now, or in) and `active` (in the library, or withdrawn)."""

    school = SchoolFilter()
    kind = django_filters.MultipleChoiceFilter(choices=SoftwareKind.choices, label=_("Kind"))
    q = django_filters.CharFilter(method="filter_q", label=_("Search"), max_length=200)
    out = BooleanFilter(method="filter_out", label=_("Out now"))
    active = BooleanFilter(field_name="is_active", label=_("In the library (not withdrawn)"))

    class Meta:
        model = Software
        fields: list[str] = []

    def filter_q(self, qs: Any, name: str, value: str) -> Any:
        for word in value.split()[:8]:
            qs = qs.filter(
                Q(title__icontains=word) | Q(vendor__icontains=word) | Q(version__icontains=word)
            )
        return qs

    def filter_out(self, qs: Any, name: str, value: bool | None) -> Any:
        if value is None:
            return qs
        return qs.filter(_out()) if value else qs.filter(~_out())


class CheckoutFilterSet(FilterSet):
    """`school` (a slug), `out` (not back yet, or back) and `overdue` (out and past its due
    day, or not)."""

    school = SchoolFilter()
    out = BooleanFilter(method="filter_out", label=_("Out now"))
    overdue = BooleanFilter(method="filter_overdue", label=_("Overdue"))

    class Meta:
        model = Checkout
        fields: list[str] = []

    def filter_out(self, qs: Any, name: str, value: bool | None) -> Any:
        if value is None:
            return qs
        return qs.filter(returned_at__isnull=value)

    def filter_overdue(self, qs: Any, name: str, value: bool | None) -> Any:
        if value is None:
            return qs
        # Past its due day where its own school is (the schools grouped by time zone).
        late = Q(returned_at__isnull=True) & days.compare_today(
            "due_back", "lt", School.objects.all()
        )
        return qs.filter(late) if value else qs.exclude(late)
