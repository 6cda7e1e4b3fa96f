"""`lib.days`: no schools, as a list or as an empty queryset, match no rows."""

from __future__ import annotations

import pytest
from django.db.models import Q

from changedesk.accounts.models import School
from changedesk.lib import days

pytestmark = pytest.mark.django_db


def test_no_schools_match_no_rows(school):
    everything = lambda today: Q(pk__gte=0)  # noqa: E731
    assert days.zones(School.objects.none()) == []
    assert days.zones([]) == []
    for none in (School.objects.none(), []):
        assert not School.objects.filter(days.per_zone(none, everything)).exists()
    assert School.objects.filter(days.per_zone(School.objects.all(), everything)).exists()
    assert School.objects.filter(days.per_zone([school], everything)).exists()
