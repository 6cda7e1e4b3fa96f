"""The base of every list's filter set: an empty value means "no filter".

A form's "Any state" option sends `state=`, and an API client may send `?school=`; for
every filter of every list, a blank value is dropped before the filters read the query,
so it filters nothing instead of failing validation (a multiple-choice filter would
otherwise refuse "" as "Select a valid choice" and the list would show nothing).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.http import QueryDict


class FilterSet(django_filters.FilterSet):
    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(without_blanks(data) if data is not None else None, *args, **kwargs)


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
