"""Days where each school is: a school's today, and conditions that compare a date column
with each school's own today in one query (the rows grouped by their schools' time zones).

Generic: a school is anything with `pk` and `timezone` (a zone name); a queryset of schools
is read for its zones only (the rows are then matched by a subquery, so a list across every
school needs no list of ids)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.utils import timezone


class Placed(Protocol):
    """A school, as far as its days go."""

    @property
    def pk(self) -> Any: ...

    @property
    def timezone(self) -> str: ...


def today_in(school: Placed, now: datetime | None = None) -> date:
    """Today where the school is."""
    return (now or timezone.now()).astimezone(ZoneInfo(school.timezone)).date()


def zones(schools: Iterable[Placed] | QuerySet[Any], field: str = "school") -> list[tuple[str, Q]]:
    """The time zones of `schools`, each with the condition on rows (whose school is the
    foreign key `field`) of its schools; none (`Q()`) when all share one zone. A queryset
    of schools: its distinct zones are read (one query) and each zone's rows are matched
    by a subquery; no schools at all (an empty list or queryset): no zones, so no rows."""
    if isinstance(schools, QuerySet):
        names = sorted(set(schools.order_by().values_list("timezone", flat=True).distinct()))
        if len(names) == 1:
            return [(names[0], Q())]
        return [
            (n, Q(**{f"{field}__in": schools.filter(timezone=n).order_by().values("pk")}))
            for n in names
        ]
    by_zone: dict[str, list[Any]] = defaultdict(list)
    for school in schools:
        by_zone[school.timezone].append(school.pk)
    if len(by_zone) <= 1:
        return [(name, Q()) for name in by_zone]
    return [(name, Q(**{f"{field}__in": ids})) for name, ids in sorted(by_zone.items())]


def per_zone(
    schools: Iterable[Placed] | QuerySet[Any],
    condition: Callable[[date], Q],
    now: datetime | None = None,
    field: str = "school",
) -> Q:
    """Rows meeting `condition(today)` with today their own school's: the conditions of
    each zone, OR-ed. No schools (an empty list or queryset): no rows."""
    now = now or timezone.now()
    found = Q(pk__in=[])
    for name, where in zones(schools, field):
        found |= where & condition(now.astimezone(ZoneInfo(name)).date())
    return found


def compare_today(
    column: str,
    lookup: str,
    schools: Iterable[Placed] | QuerySet[Any],
    now: datetime | None = None,
    field: str = "school",
) -> Q:
    """Rows whose date `column` is `lookup` ("lt", "lte", "gt", "gte", "exact") their
    school's today, e.g. `compare_today("due_back", "lt", schools)`: past due."""
    return per_zone(schools, lambda today: Q(**{f"{column}__{lookup}": today}), now, field)
