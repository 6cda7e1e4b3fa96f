"""One filter set per list, shared by its page and its API list.

- `CalendarPeriodFilterSet`: a school's calendar periods, on the calendar page (its
  "current and coming" list is `ends_after` yesterday) and at `/api/v1/calendar-periods/`.
- `ScheduleFilterSet`: the forward schedule (month, week, agenda and print): the RFCs
  with a planned window in the caller's schools. It has no API list (the RFCs themselves
  are listed by `/api/v1/changes/`).

The parameter names are public: the API's are its contract, the schedule's are in links
people keep. A value a filter cannot read is a 400 with the field's error from the API.
"""

from __future__ import annotations

import builtins
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any, cast

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext

from changedesk.accounts.models import School, User
from changedesk.changes import extensions
from changedesk.changes.choices import ChangeType, State
from changedesk.changes.filters import TYPE_QUERIES, app_filters
from changedesk.changes.models import Change, ChangeItem
from changedesk.configuration.models import ConfigurationItem
from changedesk.lib.filters import FilterSet
from changedesk.schedule.models import CalendarPeriod, PeriodKind, TrustPeriod
from changedesk.schedule.queries import APPROVED_STATES, DEFAULT_STATES, NOT_YET_APPROVED_STATES


class StorableIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """ISO 8601, refused (a 400, not a 500) when it cannot be turned into UTC to compare,
    e.g. 0001-01-01T00:00:00+14:00."""

    def clean(self, value: Any) -> datetime | None:
        parsed: datetime | None = super().clean(value)
        try:
            _ = parsed.astimezone(UTC) if parsed is not None else None
        except OverflowError:
            raise forms.ValidationError(
                gettext("Give a time between 0001 and 9999 in UTC.")
            ) from None
        return parsed


class StorableIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = StorableIsoDateTimeField


class CalendarPeriodFilterSet(FilterSet):
    school = django_filters.CharFilter(field_name="school__slug", label="School (slug)")
    kind = django_filters.MultipleChoiceFilter(choices=PeriodKind.choices, label="Kind")
    ends_after = StorableIsoDateTimeFilter(
        field_name="ends_at", lookup_expr="gt", label="Ends after (ISO 8601)"
    )
    starts_before = StorableIsoDateTimeFilter(
        field_name="starts_at", lookup_expr="lt", label="Starts before (ISO 8601)"
    )

    class Meta:
        model = CalendarPeriod
        fields: list[str] = []


class TrustPeriodFilterSet(FilterSet):
    """A trust's calendar periods in the API (its page lists them all)."""

    trust = django_filters.CharFilter(field_name="trust__slug", label="Trust (slug)")
    kind = django_filters.MultipleChoiceFilter(choices=PeriodKind.choices, label="Kind")
    ends_after = StorableIsoDateTimeFilter(
        field_name="ends_at", lookup_expr="gt", label="Ends after (ISO 8601)"
    )
    starts_before = StorableIsoDateTimeFilter(
        field_name="starts_at", lookup_expr="lt", label="Starts before (ISO 8601)"
    )

    class Meta:
        model = TrustPeriod
        fields: list[str] = []


# --- The forward schedule. ---

APPROVALS = [("approved", "Approved only"), ("pending", "Not yet approved only")]
# The page's own parameters, besides its filters': no app's filter takes these names.
PARAMETERS = frozenset({"view", "date", "page", "trust", "print"})
ITEM_ID_LENGTH = 18


class ScheduleFilterForm(forms.Form):
    """Reads `school` (a slug) and `item` (an id) against the caller's schools."""

    schools: list[School] = []

    def clean_school(self) -> School | None:
        slug = self.cleaned_data.get("school") or ""
        if not slug:
            return None
        school = next((s for s in self.schools if s.slug == slug), None)
        if school is None:
            raise forms.ValidationError(
                gettext("No such school among yours."), code="invalid_choice"
            )
        return school

    def clean_item(self) -> ConfigurationItem | None:
        raw = self.cleaned_data.get("item") or ""
        if not raw:
            return None
        if "school" in self.errors:
            return None
        school = self.cleaned_data.get("school")
        shown = [school] if school else self.schools
        item = None
        if raw.isascii() and raw.isdecimal() and len(raw) <= ITEM_ID_LENGTH:
            item = ConfigurationItem.objects.filter(
                pk=int(raw), school_id__in=[s.pk for s in shown]
            ).first()
        if item is None:
            raise forms.ValidationError(gettext("No such item among yours."), code="invalid_choice")
        return item


class ScheduleFilterSet(FilterSet):
    """The RFCs with a planned window in `schools` (the caller's), narrowed to one of
    them, to those naming an item, to a state, or to approved (or not yet approved) ones.
    Without a state or an approval it shows every state but rejected and withdrawn.

    A school or item that is not the caller's is an error on its field (the page answers
    404 to it); a state or approval it does not know is left out, so it filters nothing.

    The apps' filters of RFCs (`changes.extensions`, e.g. `parent`: one trust-wide
    change's RFCs) join these, as they join the change log's; a value one cannot read
    filters nothing.
    """

    school = django_filters.CharFilter(method="by_school", label="School (slug)")
    item = django_filters.CharFilter(method="by_item", label="Configuration item (id)")
    state = django_filters.ChoiceFilter(choices=State.choices, method="by_state", label="State")
    approval = django_filters.ChoiceFilter(
        choices=APPROVALS, method="by_approval", label="Approval"
    )
    type = django_filters.ChoiceFilter(choices=ChangeType.choices, method="by_type", label="Type")

    class Meta:
        model = Change
        fields: list[str] = []
        form = ScheduleFilterForm

    def __init__(self, data: Any = None, *, schools: list[School], **kwargs: Any) -> None:
        kwargs.setdefault(
            "queryset",
            Change.objects.filter(planned_start__isnull=False, planned_end__isnull=False),
        )
        # The apps' filters join this set's own (copied with them, as django-filter copies
        # `base_filters` for each filter set).
        # One whose name the schedule already uses (a filter, or a parameter of the page's
        # own) is left out.
        own = type(self).base_filters
        self.base_filters = OrderedDict(own)
        apps = extensions.filters()
        self.app_filter_names = [n for n in apps if n not in own and n not in PARAMETERS]
        for name in self.app_filter_names:
            self.base_filters[name] = apps[name]
        super().__init__(data, **kwargs)
        self.schools = schools

    def app_filters(self, user: User) -> list[tuple[str, str, str]]:
        """The apps' filters asked for (see `changes.filters.app_filters`)."""
        return app_filters(self, user, self.app_filter_names)

    def get_form_class(self) -> builtins.type[ScheduleFilterForm]:
        # Built on `Meta.form`; django-filter's types only know it is some `Form`.
        form_class = cast(builtins.type[ScheduleFilterForm], super().get_form_class())
        form_class.schools = self.schools
        return form_class

    def value(self, name: str) -> Any:
        """A filter's value as read, or None (absent or not readable)."""
        self.is_valid()
        return self.form.cleaned_data.get(name) or None

    @property
    def shown(self) -> list[School]:
        """The schools whose RFCs are shown: the one asked for, or all the caller's."""
        school = self.value("school")
        return [school] if school else self.schools

    def filter_queryset(self, queryset: QuerySet[Change]) -> QuerySet[Change]:
        queryset = queryset.filter(school_id__in=[s.pk for s in self.schools])
        if not (self.value("state") or self.value("approval")):
            queryset = queryset.filter(state__in=sorted(DEFAULT_STATES))
        result: QuerySet[Change] = super().filter_queryset(queryset)
        return result

    def by_school(self, queryset: QuerySet[Change], name: str, value: School) -> QuerySet[Change]:
        return queryset.filter(school_id=value.pk)

    def by_item(
        self, queryset: QuerySet[Change], name: str, value: ConfigurationItem
    ) -> QuerySet[Change]:
        return queryset.filter(
            Exists(ChangeItem.objects.filter(change=OuterRef("pk"), item_id=value.pk))
        )

    def by_state(self, queryset: QuerySet[Change], name: str, value: str) -> QuerySet[Change]:
        return queryset.filter(state=value)

    def by_type(self, queryset: QuerySet[Change], name: str, value: str) -> QuerySet[Change]:
        return queryset.filter(TYPE_QUERIES[value])

    def by_approval(self, queryset: QuerySet[Change], name: str, value: str) -> QuerySet[Change]:
        if self.value("state"):
            return queryset  # a state asked for wins
        states = APPROVED_STATES if value == "approved" else NOT_YET_APPROVED_STATES
        return queryset.filter(state__in=sorted(states))
