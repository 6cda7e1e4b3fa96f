"""One filter set for the items page and the API."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from changedesk.configuration.models import ConfigurationItem, ItemKind
from changedesk.lib.filters import FilterSet, SchoolFilter
from changedesk.lib.search import search

STATUSES = [("active", _("In use")), ("retired", _("Retired")), ("all", _("All"))]


class ItemFilterSet(FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    school = SchoolFilter()
    kind = django_filters.MultipleChoiceFilter(choices=ItemKind.choices, label="Kind")
    status = django_filters.ChoiceFilter(
        method="by_status",
        choices=STATUSES,
        label="Status (in use unless given)",
        empty_label="In use",
    )

    class Meta:
        model = ConfigurationItem
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet[ConfigurationItem]) -> QuerySet[ConfigurationItem]:
        queryset = super().filter_queryset(queryset)
        # Retired items are hidden unless asked for: a filter method never runs when absent.
        if not self.form.cleaned_data.get("status"):
            queryset = queryset.filter(is_active=True)
        return queryset

    def search(
        self, queryset: QuerySet[ConfigurationItem], name: str, value: str
    ) -> QuerySet[ConfigurationItem]:
        value = value.strip()
        if not value:
            return queryset
        return search(queryset, value, fields=("name", "identifier", "location", "notes"))

    def by_status(
        self, queryset: QuerySet[ConfigurationItem], name: str, value: str
    ) -> QuerySet[ConfigurationItem]:
        if value == "retired":
            return queryset.filter(is_active=False)
        if value == "active":
            return queryset.filter(is_active=True)
        return queryset
