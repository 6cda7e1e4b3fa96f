"""Each filter set's own copies of its filters (lib/filters.py `_Filters`): copied one level
deep rather than deeply, yet nothing set on one filter set's copy reaches another's, nor the
filters the class declares."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from changedesk.changes.filters import ChangeFilterSet
from changedesk.changes.models import Change
from changedesk.schedule.filters import ScheduleFilterSet

pytestmark = pytest.mark.django_db


def test_each_filter_set_has_filters_of_its_own(school, other_school):
    first = ScheduleFilterSet(QueryDict("school=" + school.slug), schools=[school])
    second = ScheduleFilterSet(QueryDict("school=" + other_school.slug), schools=[other_school])
    declared = ScheduleFilterSet.base_filters
    for name in ("school", "state", "item"):
        one, two = first.filters[name], second.filters[name]
        assert one is not two and one is not declared[name]
        assert one.parent is first and two.parent is second
        assert one.extra is not two.extra and one.extra is not declared[name].extra
        assert one.field is not two.field
        # A `method=` filter calls its own filter set's method.
        assert one.filter.method.__self__ is first
        assert two.filter.method.__self__ is second
    assert not hasattr(declared["school"], "parent")
    # Each reads its own value: the other's school would be "not among yours".
    assert first.is_valid() and second.is_valid()
    assert first.shown == [school] and second.shown == [other_school]


def test_a_filter_set_setting_a_filter_leaves_the_others_alone(school):
    queryset = Change.objects.all()
    changed = ChangeFilterSet(QueryDict("state=closed"), queryset=queryset)
    changed.filters["state"].conjoined = True
    changed.filters["state"].extra["help_text"] = "changed"
    fresh = ChangeFilterSet(QueryDict("state=closed"), queryset=queryset)
    assert fresh.filters["state"].conjoined is False
    assert ChangeFilterSet.base_filters["state"].conjoined is False
    assert "help_text" not in fresh.filters["state"].extra
    assert "help_text" not in ChangeFilterSet.base_filters["state"].extra
    assert fresh.is_valid()
    assert list(fresh.qs.values_list("pk", flat=True)) == []
