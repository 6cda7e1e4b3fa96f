"""Lists paged ids first: the one way every list of every app is paged, page and API.

A list's query filters and sorts on the list's own table (and on indexes of it) and reads
only the ids of one page; a second query loads those rows by primary key, with whatever the
page shows joined (`select_related`) or prefetched. The database then sorts ids, not wide
joined rows, and plans two small queries instead of one with every table in it (issue 9
measured the joined top-N query at 61-226 ms at 500,000 RFCs, the two at 0.3-12 ms). The
count is the filtered query's, without its joins or ordering.

    page = paging.page(queryset, request.GET.get("page"), 25)   # a page's Page
    pagination_class = paging.IdsFirstPagination                 # an API list (the default;
                                                                 # a viewset's `loaded(qs)`
                                                                 # adds what only rows need)

`queryset` is the list as the page shows it (scoped, filtered, sorted, with its
`select_related`, `prefetch_related` and annotations): the id query drops the loading, the
row query the ordering. Join only what the page shows: the change log loads two people of
an RFC, not five.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.core.paginator import Page, Paginator
from django.db import connections, models
from django.db.models import QuerySet, Value
from django.utils.translation import gettext
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

_Row = TypeVar("_Row", bound=models.Model)
MAX_PAGE_SIZE = 200


def ids_of(queryset: QuerySet[_Row]) -> QuerySet[Any]:
    """`queryset`'s primary keys in its order, without the rows' loading."""
    return queryset.select_related(None).prefetch_related(None).values_list("pk", flat=True)


# A person of more schools than this (a trust's administrator) is paged in one query.
MERGE_MAX_SCHOOLS = 50


# Values no school id or rank can take, compiled into `MergedIds`' branch and replaced.
_STAND_IN, _STAND_IN_RANK = -7_193_502_001, -7_193_502_002


class MergedIds:
    """The ids of `queryset` in its order, for a person of several schools, on PostgreSQL:
    each school's first rows in that order (a branch per school, `ORDER BY ... LIMIT` as
    far as the page reaches, which its index answers by reading only those rows), merged
    under one `ORDER BY ... LIMIT ... OFFSET`. A filter on all the schools at once reads and
    sorts every row of every school instead. For a ten-school person at 500,000 RFCs
    (EXPLAIN ANALYZE of the ids' query): page 500 of the closed RFCs 63 ms that way, 9-20 ms
    merged; the first page sorted by start 0.5-4 ms merged, where the whole page took 116 ms
    before and 34 ms after.

    Sliced and counted as `Paginator` does. `of(queryset, schools)` says whether it serves:
    on PostgreSQL, for a list with a `school`, scoped to 2 to `MERGE_MAX_SCHOOLS` schools,
    whose order is of its own columns, after the school's name or not. (A list of one
    school ordered by its name is ordered by the rest, on any database.)
    """

    def __init__(
        self, queryset: QuerySet[Any], schools: Sequence[int], columns: list[str], by_name: str
    ) -> None:
        self.queryset = queryset
        self.schools = list(schools)
        self.columns = columns  # the order within a school: own columns, "-" for descending
        self.by_name = by_name  # "", "school__name" or "-school__name" first

    @classmethod
    def of(cls, queryset: QuerySet[Any], schools: Sequence[int] | None) -> Any:
        """`MergedIds` of `queryset`, or its plain ids where merging cannot serve it."""
        plain = ids_of(queryset)
        fields = {f.name for f in queryset.model._meta.concrete_fields}
        if schools is None or "school" not in fields:
            return plain
        order = [str(o) for o in (queryset.query.order_by or queryset.model._meta.ordering)]
        if len(schools) == 1 and order and order[0].lstrip("-") == "school__name":
            # One school's name orders nothing: no join to read it.
            return ids_of(queryset.order_by(*(order[1:] or ["pk"])))
        if not 1 < len(schools) <= MERGE_MAX_SCHOOLS:
            return plain
        if connections[queryset.db].vendor != "postgresql" or queryset.query.combinator:
            return plain
        by_name = order.pop(0) if order and order[0].lstrip("-") == "school__name" else ""
        if not order or any(o.lstrip("-") not in fields | {"pk"} for o in order):
            return plain
        return cls(queryset, schools, order, by_name)

    def count(self) -> int:
        return ids_of(self.queryset).count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[Any]:
        start = int(window.start or 0)
        reach = None if window.stop is None else int(window.stop)
        if reach is not None and reach <= start:
            return []  # an empty list's page (Paginator asks for [0:0]): nothing to ask
        ranks = self._ranks()
        names = [c.lstrip("-") for c in self.columns]
        # One branch is compiled, for a stand-in school and rank, and each school's is that
        # SQL with its own two values (compiling ten branches cost 3-5 ms a page).
        branch = ids_of(self.queryset.filter(school_id=_STAND_IN).order_by(*self.columns))
        # Each branch's place by the school's name (constant within it; 0 for all when the
        # order does not start with the name).
        branch = branch.annotate(_rank=Value(_STAND_IN_RANK)).values_list("pk", "_rank", *names)
        sql, compiled = (branch if reach is None else branch[:reach]).query.sql_with_params()
        slots = [n for n, v in enumerate(compiled) if v in (_STAND_IN, _STAND_IN_RANK)]
        assert len(slots) == 2, "the stand-ins are the branch's school and rank"
        branches: list[str] = []
        params: list[Any] = []
        for school in self.schools:
            own = list(compiled)
            for n in slots:
                own[n] = school if compiled[n] == _STAND_IN else ranks.get(school, 0)
            branches.append(f"({sql})")
            params.extend(own)
        aliases = ", ".join(f"c{n}" for n in range(len(names) + 2))
        order = [("u.c1 DESC" if self.by_name.startswith("-") else "u.c1")] * bool(ranks) + [
            f"u.c{n} {'DESC' if c.startswith('-') else 'ASC'}"
            for n, c in enumerate(self.columns, start=2)
        ]
        params.extend([] if reach is None else [reach - start])
        params.append(start)
        # The branches are Django's SQL (values as parameters), the columns the model's.
        sql = (
            f"SELECT u.c0 FROM ({' UNION ALL '.join(branches)}) AS u({aliases}) "  # noqa: S608
            f"ORDER BY {', '.join(order)} LIMIT {'ALL' if reach is None else '%s'} OFFSET %s"
        )
        with connections[self.queryset.db].cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]

    def _ranks(self) -> dict[int, int]:
        """Each school's place by name, when the order starts with it (else all 0)."""
        if not self.by_name:
            return {}
        school = self.queryset.model._meta.get_field("school").related_model
        named = school._default_manager.filter(pk__in=self.schools).order_by("name", "pk")
        return {pk: n for n, pk in enumerate(named.values_list("pk", flat=True))}


class Counted:
    """A list's ids (a queryset or `MergedIds`) whose count is known without counting them:
    how many a list holds by a tally kept by the database (changes/tally.py), say."""

    def __init__(self, ids: Any, total: int) -> None:
        self.ids = ids
        self.total = total

    def count(self) -> int:
        return self.total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, window: slice) -> list[Any]:
        return list(self.ids[window])


class PageWithCount:
    """A list's ids, or its rows, whose count comes with its page, in one query
    (`COUNT(*) OVER ()`), for a list whose every row the database reads to sort it anyway
    (one bounded by a window of time: the agenda). Such a list's page is best read whole
    with its count (`ids` a queryset of rows): the rows are read for the sort already. A
    list that an index reads in its order, only as far as the page, is better counted
    apart: the count would make it read every row.

    `Paginator` asks the count before the page: the page asked for (`number`, read as
    `Paginator.get_page` reads it) is read when the count is. A page past the end has no
    count with it; it is counted, and the last page read, apart. `of_rows`: `ids` gives
    the rows themselves (else their ids)."""

    def __init__(self, ids: QuerySet[Any], number: Any, size: int, *, of_rows: bool) -> None:
        self.ids = ids
        self.of_rows = of_rows
        first = (_page_number(number) - 1) * size
        self.window = (first, first + size)
        self.rows: list[Any] | None = None
        self.total: int | None = None

    def count(self) -> int:
        if self.rows is None:
            first, stop = self.window
            # Django's Window renders `COUNT(*) OVER ()`: the whole list's count on each row.
            with_total = self.ids.annotate(_total=models.Window(models.Count("*")))
            if not self.of_rows:
                found = list(with_total.values_list("pk", "_total")[first:stop])
                self.rows = [pk for pk, _ in found]
                counts = [total for _, total in found]
            else:  # rows, each with the count
                self.rows = list(with_total[first:stop])
                counts = [row._total for row in self.rows]
            # Nothing on the first page: an empty list. Nothing on a later page: past its end.
            self.total = counts[0] if counts else (0 if first == 0 else None)
        if self.total is None:
            self.total = self.ids.count()
        return self.total

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[Any]:
        first, stop = self.window
        # The page read with the count (the last page's window ends at the count).
        if (
            self.rows is not None
            and window.start == first
            and window.stop is not None
            and window.stop <= stop
        ):
            return self.rows[: window.stop - first]
        return list(self.ids[window])


def _page_number(number: Any) -> int:
    """The page `Paginator.get_page` will take for `number`, when it is in range (else 1)."""
    try:
        wanted = float(number)
    except (TypeError, ValueError):
        return 1
    return int(wanted) if wanted.is_integer() and wanted >= 1 else 1


def _counted(ids: Any, total: int | None) -> Any:
    return ids if total is None else Counted(ids, total)


def rows_of(queryset: QuerySet[_Row], ids: Sequence[Any]) -> list[_Row]:
    """The rows of `queryset` with `ids`, in that order, loaded as `queryset` loads them
    (its joins, prefetches and annotations; its filters cost little beside the ids)."""
    if not ids:
        return []
    found = {row.pk: row for row in queryset.filter(pk__in=list(ids)).order_by()}
    return [found[pk] for pk in ids if pk in found]


def page(
    queryset: QuerySet[_Row],
    number: Any,
    size: int,
    load: QuerySet[_Row] | None = None,
    schools: Sequence[int] | None = None,
    count: int | None = None,
    together: bool = False,
) -> Page[_Row]:
    """Page `number` (as `Paginator.get_page` reads it: out of range is the last) of
    `queryset`, `size` rows a page, paged ids first; the rows loaded as `load` loads them
    when given (e.g. with counts annotated, which the ids need not wait for). `schools`,
    the ids of the schools `queryset` is scoped to, lets a list with a `school` be paged
    school by school (`MergedIds`); `count`, how many it holds when that is known without
    counting them (`Counted`); `together`, that the count be read with the page
    (`PageWithCount`: for a list the database must read whole to sort; without `load`, the
    page's rows are read with it, as `queryset` loads them: one query)."""
    ids: Any
    if together and count is None:
        ids = PageWithCount(
            queryset if load is None else ids_of(queryset), number, size, of_rows=load is None
        )
        found = Paginator(ids, size).get_page(number)
        if load is not None:
            found.object_list = rows_of(load, list(found.object_list))
        return found
    ids = _counted(MergedIds.of(queryset, schools), count)
    found = Paginator(ids, size).get_page(number)
    found.object_list = rows_of(queryset if load is None else load, list(found.object_list))
    return found


class IdsFirstPagination(PageNumberPagination):
    """DRF's page-number pagination (`?page=`, `count`, `next`, `previous`, `results`),
    paged ids first; `?page_size=` up to `MAX_PAGE_SIZE` (the default is the settings')."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int | None:
        """`?page_size=`: a whole number from 1 (more than `MAX_PAGE_SIZE` is that many);
        anything else is the field's error (DRF would quietly use the default)."""
        given = request.query_params.getlist(self.page_size_query_param)
        if given and not all(v.strip().isascii() and v.strip().isdecimal() and int(v) > 0
                             for v in given):  # fmt: skip
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        gettext("Give a whole number from 1 to %(most)s.") % {"most": MAX_PAGE_SIZE}
                    ]
                }
            )
        return super().get_page_size(request)

    def paginate_queryset(
        self, queryset: Any, request: Request, view: Any = None
    ) -> list[Any] | None:
        if not isinstance(queryset, QuerySet):
            return super().paginate_queryset(queryset, request, view)
        # A viewset whose list is scoped to the caller's schools names them
        # (`paged_schools()`) for its list to be paged school by school (`MergedIds`).
        schools = getattr(view, "paged_schools", lambda: None)()
        # And one that knows how many its list holds without counting them
        # (`paged_count()`, an int or None) says so.
        count = getattr(view, "paged_count", lambda: None)()
        ids: list[Any] | None = super().paginate_queryset(
            _counted(MergedIds.of(queryset, schools), count), request, view
        )
        if ids is None:
            return None
        # A viewset may load its list's rows with more than choosing them needs
        # (`loaded(queryset)`: counts annotated, say), which the ids need not pay for.
        loaded = getattr(view, "loaded", None) if getattr(view, "action", "") == "list" else None
        rows = rows_of(loaded(queryset) if loaded else queryset, ids)
        # And load what the rows point at after them (`paged_rows(rows)`: lib.loading).
        getattr(view, "paged_rows", lambda rows: None)(rows)
        return rows
