"""Lists paged ids first: the one way every list of every app is paged, page and API.

A list's query filters and sorts on the list's own table (and on indexes of it) and reads
only the ids of one page; a second query loads those rows by primary key, with whatever the
page shows joined (`select_related`) or prefetched. The database then sorts ids, not wide
joined rows, and plans two small queries instead of one with every table in it (at 500,000
RFCs the joined top-N query took 60-230 ms, the two 0.3-12 ms). The count is the filtered
query's, without its joins or ordering.

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
from django.db import models
from django.db.models import QuerySet
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

_Row = TypeVar("_Row", bound=models.Model)
MAX_PAGE_SIZE = 200


def ids_of(queryset: QuerySet[_Row]) -> QuerySet[Any]:
    """`queryset`'s primary keys in its order, without the rows' loading."""
    return queryset.select_related(None).prefetch_related(None).values_list("pk", flat=True)


def rows_of(queryset: QuerySet[_Row], ids: Sequence[Any]) -> list[_Row]:
    """The rows of `queryset` with `ids`, in that order, loaded as `queryset` loads them
    (its joins, prefetches and annotations; its filters cost little beside the ids)."""
    if not ids:
        return []
    found = {row.pk: row for row in queryset.filter(pk__in=list(ids)).order_by()}
    return [found[pk] for pk in ids if pk in found]


def page(
    queryset: QuerySet[_Row], number: Any, size: int, load: QuerySet[_Row] | None = None
) -> Page[_Row]:
    """Page `number` (as `Paginator.get_page` reads it: out of range is the last) of
    `queryset`, `size` rows a page, paged ids first; the rows loaded as `load` loads them
    when given (e.g. with counts annotated, which the ids need not wait for)."""
    found = Paginator(ids_of(queryset), size).get_page(number)
    found.object_list = rows_of(queryset if load is None else load, list(found.object_list))
    return found


class IdsFirstPagination(PageNumberPagination):
    """DRF's page-number pagination (`?page=`, `count`, `next`, `previous`, `results`),
    paged ids first; `?page_size=` up to `MAX_PAGE_SIZE` (the default is the settings')."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def paginate_queryset(
        self, queryset: Any, request: Request, view: Any = None
    ) -> list[Any] | None:
        if not isinstance(queryset, QuerySet):
            return super().paginate_queryset(queryset, request, view)
        ids = super().paginate_queryset(ids_of(queryset), request, view)
        if ids is None:
            return None
        # A viewset may load its list's rows with more than choosing them needs
        # (`loaded(queryset)`: counts annotated, say), which the ids need not pay for.
        loaded = getattr(view, "loaded", None) if getattr(view, "action", "") == "list" else None
        return rows_of(loaded(queryset) if loaded else queryset, ids)
