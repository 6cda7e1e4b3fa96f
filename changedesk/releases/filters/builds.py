"""The build and installation lists' filters, one filter set each, used by the page and the
API: builds by school, documented or not, service and name; installations by school, state,
build, installer, item and version."""

from __future__ import annotations

from typing import Any

import django_filters
from django.utils.translation import gettext_lazy as _

from changedesk.accounts.models import User
from changedesk.lib.filters import BooleanFilter, FilterSet, IdFilter, SchoolFilter
from changedesk.releases.choices import InstallationState
from changedesk.releases.models import Build, Installation, RunningBuild


class BuildFilterSet(FilterSet):
    """`school` (a slug), `documented` (has an approved version, or not), `service` (the
    configuration item's id), `active` and `q` (in the name)."""

    school = SchoolFilter()
    documented = BooleanFilter(method="filter_documented", label=_("Documented"))
    service = IdFilter(field_name="service_id", label=_("Service (id)"))
    active = BooleanFilter(field_name="is_active", label=_("In use"))
    q = django_filters.CharFilter(method="filter_q", label=_("Search"), max_length=200)

    class Meta:
        model = Build
        fields: list[str] = []

    def filter_documented(self, qs: Any, name: str, value: bool | None) -> Any:
        if value is None:
            return qs
        return qs.filter(approved_version__isnull=not value)

    def filter_q(self, qs: Any, name: str, value: str) -> Any:
        for word in value.split()[:8]:
            qs = qs.filter(name__icontains=word)
        return qs


class UsernameFilter(django_filters.CharFilter):
    """A person by username, compared by id (a one-row subquery, not a join)."""

    def filter(self, qs: Any, value: Any) -> Any:
        if not value:
            return qs
        people = User.objects.filter(username=value).values("pk")
        return qs.filter(**{f"{self.field_name}__in": people})


class InstallationFilterSet(FilterSet):
    """`school` (a slug), `state` (one or more), `build` and `version` (ids), `installer` (a
    username) and `item` (the configuration item's id)."""

    school = SchoolFilter()
    state = django_filters.MultipleChoiceFilter(choices=InstallationState.choices, label=_("State"))
    build = IdFilter(field_name="build_id", label=_("Build (id)"))
    version = IdFilter(field_name="version_id", label=_("Version (id)"))
    installer = UsernameFilter(
        field_name="installer", label=_("Installer (username)"), max_length=150
    )
    item = IdFilter(field_name="item_id", label=_("Item (id)"))

    class Meta:
        model = Installation
        fields: list[str] = []


class RunningBuildFilterSet(FilterSet):
    """`school` (a slug), `item`, `build` (ids)."""

    school = SchoolFilter()
    item = IdFilter(field_name="item_id", label=_("Item (id)"))
    build = IdFilter(field_name="build_id", label=_("Build (id)"))

    class Meta:
        model = RunningBuild
        fields: list[str] = []
