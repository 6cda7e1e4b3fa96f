"""The release policy versions' filters (the API's list): `school` (a slug) and `state`."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from changedesk.lib.filters import FilterSet, SchoolFilter
from changedesk.releases.choices import PolicyState
from changedesk.releases.models import ReleasePolicy


class PolicyFilterSet(FilterSet):
    school = SchoolFilter()
    state = django_filters.MultipleChoiceFilter(choices=PolicyState.choices, label=_("State"))

    class Meta:
        model = ReleasePolicy
        fields: list[str] = []
