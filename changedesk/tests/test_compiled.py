"""Queries compiled once per shape (lib/compiled.py): the same rows as the ORM's own query
for any values, converted as `values_list` converts them, on SQLite and on PostgreSQL; and
a query that would be compiled wrongly is refused."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Value
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from changedesk.changes.models import Change
from changedesk.changes.services import create_change
from changedesk.conftest import REQUEST
from changedesk.lib import compiled
from changedesk.lib.compiled import Compiled

pytestmark = pytest.mark.django_db


def _windowed(school, olivia, other_school, oscar):
    """Five RFCs: four at Greenfield an hour apart, one at Hillside."""
    base = timezone.now().replace(microsecond=0) + timedelta(days=3)
    made = []
    for n in range(4):
        start = base + timedelta(hours=n)
        made.append(
            create_change(
                school,
                olivia,
                {**REQUEST, "title": f"Greenfield {n}", "planned_start": start,
                 "planned_end": start + timedelta(minutes=90)},
            )
        )  # fmt: skip
    made.append(
        create_change(
            other_school,
            oscar,
            {**REQUEST, "title": "Hillside", "planned_start": base,
             "planned_end": base + timedelta(hours=9)},
        )
    )  # fmt: skip
    return base, made


def _orm(schools, start, end, ids=None):
    queryset = Change.objects.filter(
        school_id__in=schools, planned_start__lt=end, planned_end__gt=start
    )
    if ids is not None:
        queryset = queryset.filter(pk__in=ids)
    return (
        queryset.annotate(flag=Value(True))
        .values_list("id", "title", "planned_start", "flag")
        .order_by("planned_start", "id")
    )


MEETING = Compiled(_orm)


def test_its_rows_are_the_orms_for_any_values(school, olivia, other_school, oscar):
    base, made = _windowed(school, olivia, other_school, oscar)
    both = [school.pk, other_school.pk]
    hour, day = timedelta(hours=1), timedelta(days=1)
    some = [made[1].pk, made[4].pk, made[2].pk]
    asked = [
        {"schools": both, "start": base, "end": base + 2 * hour},
        {"schools": [school.pk], "start": base + 2 * hour, "end": base + day},
        {"schools": [other_school.pk], "start": base, "end": base + timedelta(minutes=1)},
        {"schools": both, "start": base, "end": base + day, "ids": some},
        {"schools": both, "start": base - 9 * day, "end": base - 8 * day},
    ]
    for values in asked:
        expected = list(_orm(**values))
        assert MEETING.rows(**values) == expected, values
    # Not a vacuous comparison: the first asked finds Greenfield 0 and 1 and Hillside.
    found = MEETING.rows(**asked[0])
    assert [title for _, title, _, _ in found] == ["Greenfield 0", "Hillside", "Greenfield 1"]
    # Converted as `values_list` converts: an aware time, a boolean (SQLite gives 1).
    assert found[0][2] == made[0].planned_start and found[0][2].tzinfo is not None
    assert found[0][3] is True


def test_a_shape_is_compiled_once_and_lists_are_padded(school, olivia, other_school, oscar):
    base, made = _windowed(school, olivia, other_school, oscar)
    query = Compiled(_orm)
    built = []
    original = query.build
    query.build = lambda **values: built.append(values) or original(**values)
    end = base + timedelta(days=1)
    for ids in (
        [made[0].pk],
        [made[0].pk, made[1].pk],
        [m.pk for m in made[:3]],
        [m.pk for m in made[:4]],
    ):
        with CaptureQueriesContext(connection) as queries:
            rows = query.rows(schools=[school.pk], start=base, end=end, ids=ids)
        assert [r[0] for r in rows] == ids
        assert len(queries) == 1
    # Lists of 1, 2 and 3-4 values: three shapes, each built twice (two sets of stand-ins).
    assert len(built) == 6
    # Three ids are padded to four with the last: the SQL asks for four.
    key = (connection.alias, ("end", -1, datetime), ("ids", 4, int), ("schools", 1, int),
           ("start", -1, datetime))  # fmt: skip
    assert key in query._shapes


def test_a_value_computed_from_is_refused(school):
    now = timezone.now()
    later = Compiled(
        lambda start: Change.objects.filter(
            planned_start__gte=start + timedelta(days=7)
        ).values_list("id")
    )
    with pytest.raises(ValueError, match="not in the SQL"):
        later.rows(start=now)
    # Found in its place, and worked out from as well: the worked-out value differs
    # between the two sets of stand-ins.
    counted = Compiled(
        lambda ids: Change.objects.filter(pk__in=ids, pk__gte=ids[0] // 2).values_list("id")
    )
    with pytest.raises(ValueError, match="otherwise than by their places"):
        counted.rows(ids=[5, 6])


def test_values_it_cannot_stand_in_for_are_refused(school):
    query = Compiled(lambda ids: Change.objects.filter(pk__in=ids).values_list("id"))
    with pytest.raises(ValueError, match="empty list"):
        query.rows(ids=[])
    with pytest.raises(ValueError, match="an int or a datetime"):
        query.rows(ids=["1"])
    with pytest.raises(ValueError, match="an int or a datetime"):
        query.rows(ids=[True])
    naive = Compiled(
        lambda start: Change.objects.filter(planned_start__gte=start).values_list("id")
    )
    with pytest.raises(ValueError, match="naive"):
        naive.rows(start=timezone.now().replace(tzinfo=None))
    # Also once the shape is compiled.
    naive.rows(start=timezone.now())
    with pytest.raises(ValueError, match="naive"):
        naive.rows(start=timezone.now().replace(tzinfo=None))


def test_a_query_that_gives_no_plain_rows_is_refused(school):
    for build in (
        lambda ids: Change.objects.filter(pk__in=ids),
        lambda ids: Change.objects.filter(pk__in=ids).values("id"),
        lambda ids: Change.objects.filter(pk__in=ids).values_list("id", flat=True),
        lambda ids: Change.objects.filter(pk__in=ids).values_list("id", named=True),
    ):
        with pytest.raises(ValueError, match="give rows"):
            Compiled(build).rows(ids=[1])
    # Ordered by a column it does not select, DISTINCT selects that column too.
    extra = Compiled(
        lambda ids: Change.objects.filter(pk__in=ids).values_list("id").order_by("title").distinct()
    )
    with pytest.raises(ValueError, match="more than its columns"):
        extra.rows(ids=[1])


def test_the_shapes_kept_are_bounded(school, monkeypatch):
    monkeypatch.setattr(compiled, "MAX_SHAPES", 2)
    query = Compiled(lambda ids: Change.objects.filter(pk__in=ids).values_list("id"))
    for size in (1, 2, 3, 5, 9):
        assert query.rows(ids=list(range(1, size + 1))) == []
    assert len(query._shapes) == 2
