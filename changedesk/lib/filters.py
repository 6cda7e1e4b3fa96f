"""The base of every list's filter set: an empty value means "no filter"; a value no
database could store is a field error.

A form's "Any state" option sends `state=`, and an API client may send `?school=`; for
every filter of every list, a blank value is dropped before the filters read the query,
so it filters nothing instead of failing validation (a multiple-choice filter would
otherwise refuse "" as "Select a valid choice" and the list would show nothing).

A NUL character (PostgreSQL cannot hold one in text) in any filter's value, and a time
whose UTC offset is beyond ±15:59 (PostgreSQL refuses it) or which cannot be turned into
UTC, are refused as that filter's error, on every database: a 400 from the API, a form
error on a page, never a 500. The value with a NUL never reaches the filter (nor the
database, as a lookup of a model choice would).

And every filter is one an index can serve: a choice of a column's values makes no SELECT
DISTINCT, and a day compared with a time column (`DayFilter`) is a range of instants, not a
cast of every row to a date.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import django_filters
from django import forms
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django_filters.constants import EMPTY_VALUES
from django_filters.filters import FilterMethod

NUL_MESSAGE = gettext_lazy("This contains a NUL character, which cannot be searched for.")
OFFSET_MESSAGE = gettext_lazy(
    "Give a UTC offset between -15:59 and +15:59, e.g. 2025-03-01T18:00:00+00:00."
)
RANGE_MESSAGE = gettext_lazy("Give a time between 0001 and 9999 in UTC.")
MAX_OFFSET = timedelta(hours=15, minutes=59)


class FilterSet(django_filters.FilterSet):
    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        # django-filter deep-copies `base_filters` for each filter set: copied one level
        # deep instead (`_Filters`).
        self.base_filters = _Filters(self.base_filters)
        super().__init__(without_blanks(data) if data is not None else None, *args, **kwargs)
        self.refused: dict[str, str] = {}
        for one in self.filters.values():
            # A choice of values of the list's own column matches each row once: no
            # SELECT DISTINCT (django-filter's default, which sorted every column of every
            # matching row, spilling to disk at trust scale).
            if isinstance(one, django_filters.MultipleChoiceFilter) and "__" not in str(
                one.field_name
            ):
                one.distinct = False
        if self.is_bound:
            self.data, self.refused = _without_nul(self.data, list(self.filters))

    def get_form_class(self) -> type[forms.Form]:
        base: type[forms.Form] = super().get_form_class()
        attrs = {"refused": self.refused}
        return type(base.__name__, (StorableValues, base), attrs)


class _Filters(OrderedDict[str, django_filters.Filter]):
    """A filter set's filters, which django-filter copies for each filter set with
    `copy.deepcopy`: a generic deep copy of every attribute of every filter, the lists of
    choices and their lazy labels among them (1-2 ms of each list page). Each filter is
    copied one level deep instead, which is all that is set on a copy (its `parent` and
    `model`; a form field made from its own `extra`): the choices and the rest are read,
    never changed, and are shared."""

    def __deepcopy__(self, memo: dict[int, Any]) -> OrderedDict[str, django_filters.Filter]:
        return OrderedDict((name, _copied(one)) for name, one in self.items())


def _copied(one: django_filters.Filter) -> django_filters.Filter:
    copied = copy.copy(one)
    copied.extra = dict(one.extra)
    copied.__dict__.pop("_field", None)  # the form field: made afresh from `extra`
    if isinstance(one.__dict__.get("filter"), FilterMethod):
        # A `method=` filter's callable is bound to the filter it was made for.
        copied.filter = FilterMethod(copied)  # type: ignore[method-assign]
    return copied


YES = ("true", "True", "1")
NO = ("false", "False", "0")
# What the page's "Any" option of a yes/no filter sends (Django's NullBooleanSelect).
EITHER = ("unknown",)


class YesNoSelect(forms.NullBooleanSelect):
    """Passes on what it cannot read, for the field to refuse (Django's widget reads it as
    "either", so that `?is_emergency=perhaps` would filter nothing)."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        value = data.get(name)
        return None if value in EITHER else value


class YesNoField(forms.NullBooleanField):
    widget = YesNoSelect

    def to_python(self, value: Any) -> bool | None:  # type: ignore[override]
        if value in (True, *YES):
            return True
        if value in (False, *NO):
            return False
        if value in (None, ""):
            return None
        raise forms.ValidationError(gettext("Give true or false."), code="invalid")


class BooleanFilter(django_filters.BooleanFilter):
    """A yes/no filter: `true` or `false` (or blank, or the page's "Any"); anything else is
    a field error rather than no filter at all."""

    field_class = YesNoField


class DayFilter(django_filters.DateFilter):
    """A day compared with a time column (`lookup_expr` "gte": on or after the day; "lte":
    on or before it) by the instants the day starts and ends in the current time zone, as
    `__date` would compare, but without casting every row to a date, so that an index on
    the column serves it."""

    def filter(self, qs: Any, value: Any) -> Any:
        if value in EMPTY_VALUES:
            return qs
        if self.lookup_expr == "gte":
            start = _day_start(value)
            return qs.filter(**{f"{self.field_name}__gte": start}) if start else _any(qs, self)
        end = _day_start(value + timedelta(days=1)) if value < date.max else None
        return qs.filter(**{f"{self.field_name}__lt": end}) if end else _any(qs, self)


def _day_start(day: date) -> datetime | None:
    """When `day` starts in the current time zone, or None beyond what UTC can hold."""
    try:
        return timezone.make_aware(datetime.combine(day, time.min)).astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _any(qs: Any, one: django_filters.Filter) -> Any:
    # A bound at the end of the calendar leaves every row with a value.
    return qs.filter(**{f"{one.field_name}__isnull": False})


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


class SchoolFilter(django_filters.CharFilter):
    """A school by its slug, compared by id (a one-row subquery): the schools' table is
    never joined onto every row of the list."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label", "School (slug)")
        super().__init__(*args, **kwargs)

    def filter(self, qs: Any, value: Any) -> Any:
        if value in EMPTY_VALUES:
            return qs
        school = qs.model._meta.get_field("school").related_model
        return qs.filter(school__in=school._default_manager.filter(slug=value).values("pk"))


class TrustFilter(django_filters.CharFilter):
    """The schools of a trust, by the trust's slug: their ids are read first (a trust has
    tens of schools, not thousands) and the list filtered on its own `school` column, as
    the person's own schools are (`accounts.models.member_schools`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label", "Trust (slug)")
        kwargs.setdefault("help_text", "Only the RFCs of the trust's schools (among yours).")
        super().__init__(*args, **kwargs)

    def filter(self, qs: Any, value: Any) -> Any:
        if value in EMPTY_VALUES:
            return qs
        school = qs.model._meta.get_field("school").related_model
        ids = school._default_manager.filter(trust__slug=value).values_list("pk", flat=True)
        return qs.filter(school_id__in=list(ids))


class StorableValues(forms.Form):
    """Mixed into every filter set's form: the refusals found in the raw data, and times
    a database cannot compare."""

    refused: dict[str, str] = {}

    def clean(self) -> dict[str, Any]:
        super().clean()
        for name, message in self.refused.items():
            self.add_error(name, message)
        for name, value in list(self.cleaned_data.items()):
            if message := time_problem(value):
                self.add_error(name, message)
        return self.cleaned_data


def time_problem(value: Any) -> str:
    """Why `value` (a datetime, or a range or list of them) cannot be compared in the
    database, or ""."""
    values: Iterable[Any]
    if isinstance(value, slice):
        values = (value.start, value.stop)
    elif isinstance(value, list | tuple):
        values = value
    else:
        values = (value,)
    for one in values:
        if not isinstance(one, datetime) or one.tzinfo is None:
            continue
        offset = one.utcoffset()
        if offset is not None and abs(offset) > MAX_OFFSET:
            return str(OFFSET_MESSAGE)
        try:
            one.astimezone(UTC)
        except OverflowError:
            return str(RANGE_MESSAGE)
    return ""


def _without_nul(data: Any, names: list[str]) -> tuple[Any, dict[str, str]]:
    """`data` without the values holding a NUL, and an error for each filter they were for
    (a range filter's keys are its name and a suffix)."""
    if not isinstance(data, QueryDict | dict):
        return data, {}
    keys = [key for key in data if any("\x00" in str(v) for v in _values(data, key))]
    if not keys:
        return data, {}
    refused: dict[str, str] = {}
    for key in keys:
        name = next((n for n in names if key == n or key.startswith(f"{n}_")), None)
        if name is not None:
            refused[name] = str(NUL_MESSAGE)
    if isinstance(data, QueryDict):
        kept = data.copy()
        for key in keys:
            del kept[key]
        return kept, refused
    return {k: v for k, v in data.items() if k not in keys}, refused


def _values(data: Any, key: str) -> list[Any]:
    if isinstance(data, QueryDict):
        return data.getlist(key)
    value = data[key]
    return list(value) if isinstance(value, list | tuple) else [value]


def without_blanks(data: Any) -> Any:
    """`data` (a QueryDict or a dict) without its blank values."""
    if isinstance(data, QueryDict):
        kept = QueryDict(mutable=True)
        for key in data:
            values = [v for v in data.getlist(key) if str(v).strip()]
            if values:
                kept.setlist(key, values)
        return kept
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
    return data
