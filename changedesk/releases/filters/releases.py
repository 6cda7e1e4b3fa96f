"""The release and install request lists' filters, one filter set each, used by the page and
the API."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from changedesk.lib.filters import FilterSet, SchoolFilter
from changedesk.releases.choices import (
    OPEN_RELEASE_STATES,
    OPEN_REQUEST_STATES,
    ReleaseState,
    RequestSource,
    RequestState,
)
from changedesk.releases.models import InstallRequest, Release


class ReleaseFilterSet(FilterSet):
    """`school` (a slug), `state` (one or more, or `open`: the four steps) and `q` (words in
    the title or description)."""

    school = SchoolFilter()
    state = django_filters.MultipleChoiceFilter(
        choices=[*ReleaseState.choices, ("open", _("Open (any step)"))],
        method="filter_state",
        label=_("State"),
    )
    q = django_filters.CharFilter(method="filter_q", label=_("Search"), max_length=200)

    class Meta:
        model = Release
        fields: list[str] = []

    def filter_state(self, qs: Any, name: str, value: list[str]) -> Any:
        if not value:
            return qs
        states = set(value) - {"open"}
        if "open" in value:
            states |= {str(s) for s in OPEN_RELEASE_STATES}
        return qs.filter(state__in=sorted(states))

    def filter_q(self, qs: Any, name: str, value: str) -> Any:
        for word in value.split()[:8]:
            qs = qs.filter(Q(title__icontains=word) | Q(description__icontains=word))
        return qs


class RequestFilterSet(FilterSet):
    """`school` (a slug), `state` (one or more, or `waiting`: open or accepted) and `source`
    (person or change)."""

    school = SchoolFilter()
    state = django_filters.MultipleChoiceFilter(
        choices=[*RequestState.choices, ("waiting", _("Waiting (open or accepted)"))],
        method="filter_state",
        label=_("State"),
    )
    source = django_filters.ChoiceFilter(choices=RequestSource.choices, label=_("From"))

    class Meta:
        model = InstallRequest
        fields: list[str] = []

    def filter_state(self, qs: Any, name: str, value: list[str]) -> Any:
        if not value:
            return qs
        states = set(value) - {"waiting"}
        if "waiting" in value:
            states |= {str(s) for s in OPEN_REQUEST_STATES}
        return qs.filter(state__in=sorted(states))
