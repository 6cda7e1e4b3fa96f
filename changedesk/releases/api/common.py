"""What the library's and the builds' API share: ids in the URLs, the 404 answer's schema,
and viewsets' rows (paged school by school, fetched among the caller's schools or 404,
loaded with what they point at)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext, gettext_noop
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from changedesk.accounts.api import CallerMixin
from changedesk.accounts.models import seen_school_ids

# The largest id a URL or a field may name (the database's bigint), and its URL pattern.
MAX_ID = 2**63 - 1
ID = r"\d{1,18}"

DETAIL = inline_serializer("ReleasesRowErrorDetail", {"detail": serializers.CharField()})


def not_found(noun: str) -> OpenApiResponse:
    """The schema of the 404 answer for `noun` (e.g. "build")."""
    return OpenApiResponse(DETAIL, description=f"No such {noun} among your schools.")


class BySchool(CallerMixin):
    """A list paged school by school (`lib.paging.MergedIds`), the caller's schools."""

    def paged_schools(self) -> list[int] | None:
        return seen_school_ids(self._caller())


class Rows(BySchool):
    """A viewset's rows by id (`id` in the URL): `get_object` among the caller's schools,
    else 404 saying `missing`; `load` attaches what rows point at (a page's, one row's)."""

    missing = gettext_noop("No such row among your schools.")
    lookup_url_kwarg = "id"
    lookup_value_regex = ID

    def load(self, rows: list[Any]) -> None:
        raise NotImplementedError

    def paged_rows(self, rows: list[Any]) -> None:
        self.load(rows)

    def get_object(self) -> Any:
        found = list(self.get_queryset().filter(pk=int(self.kwargs["id"]))[:1])
        if not found:
            raise NotFound(gettext(self.missing))
        self.load(found)
        return found[0]

    def _render(self, pk: int, status_code: int = status.HTTP_200_OK) -> Response:
        row = self.get_queryset().get(pk=pk)
        self.load([row])
        return Response(self.get_serializer(row).data, status=status_code)
