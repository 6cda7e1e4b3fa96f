"""The API's request parsers: JSON and forms, of a bounded size and (JSON) nesting.

Python's `json` module recurses once per level of nesting, so a body of 100,000 `[`
raises `RecursionError` (a 500) rather than a parse error. `JSONParser` counts the depth
first, without recursing (the strings taken out, then the brackets counted), and refuses
more than `MAX_DEPTH` levels with a 400. A body larger than Django's
`DATA_UPLOAD_MAX_MEMORY_SIZE` (DRF reads the stream itself, past Django's own check) is
refused with a 413 before it is read in full, and a NUL character (`\\u0000`, which no
field can hold and PostgreSQL cannot even compare with) with a 400.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Mapping
from itertools import accumulate
from typing import IO, Any

from django.conf import settings
from django.http import QueryDict
from rest_framework import exceptions, parsers, status
from rest_framework.utils.json import strict_constant

MAX_DEPTH = 64

# A JSON string, escapes included (unrolled, so that a long one does not recurse).
STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
DEPTH = {"[": 1, "{": 1, "]": -1, "}": -1}
# A NUL written in a string (\u0000, not preceded by an escaping backslash).
NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000", re.I)


class TooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


def max_bytes() -> int | None:
    limit: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit


def read_bounded(stream: IO[bytes]) -> bytes:
    """The whole body, or a 413 as soon as it is seen to be larger than the limit."""
    limit = max_bytes()
    if limit is None:
        return stream.read()
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise TooLarge(
            f"The request body is larger than {limit // 1024} KB, the most the API accepts."
        )
    return body


def nesting_depth(text: str) -> int:
    """How deeply `text`'s arrays and objects nest (strings, which may hold brackets,
    left out); counted in a loop, so that any depth can be measured."""
    brackets = NOT_BRACKETS.sub("", STRING.sub("", text))
    if len(brackets) <= 2 * MAX_DEPTH:
        # Too few brackets to nest too deeply: the common case, answered at once.
        return min(len(brackets), MAX_DEPTH)
    return max(accumulate(DEPTH[c] for c in brackets), default=0)


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        if stream is None:
            return None
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(read_bounded(stream), encoding)
        except (UnicodeDecodeError, LookupError) as error:
            raise exceptions.ParseError(f"JSON parse error - {error}") from None
        if nesting_depth(text) > MAX_DEPTH:
            raise exceptions.ParseError(
                f"JSON parse error - it nests arrays and objects more than {MAX_DEPTH} deep."
            )
        parse_constant = strict_constant if self.strict else None
        if NUL_ESCAPE.search(text):
            raise exceptions.ParseError(
                "The body contains a NUL character (\\u0000), which no field can hold."
            )
        try:
            return json.loads(text, parse_constant=parse_constant)
        except (ValueError, RecursionError) as error:
            raise exceptions.ParseError(f"JSON parse error - {error}") from None


class FormParser(parsers.FormParser):
    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        # Django's QueryDict refuses more than DATA_UPLOAD_MAX_NUMBER_FIELDS fields.
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        body = read_bounded(stream) if stream is not None else b""
        return QueryDict(body, encoding=encoding)
