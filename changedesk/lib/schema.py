"""The OpenAPI schema's truths that no single view states: which error statuses every
operation can answer with, and what the query parameters and list filters accept.

`complete` is a drf-spectacular post-processing hook (named in `SPECTACULAR_SETTINGS`);
`AutoSchema` (the API's schema class) lets a view adjust what it reads of an operation's
body and answers, when they depend on what is known only once every app is loaded;
`FilterParameters` replaces drf-spectacular's reading of the
django-filter backend (it is registered when this module is imported, by `api_urls`).
The API is fuzzed against the schema by `changedesk/tests/test_api_schema_fuzz.py`.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from drf_spectacular import openapi
from drf_spectacular.contrib.django_filters import DjangoFilterExtension


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, asking the view too: a view's `schema_request(found)` and
    `schema_responses(found)`, when it has them, may replace what the operation's body and
    answers were read as (e.g. the RFC API's create, which the apps' `creators` widen)."""

    def get_request_serializer(self) -> Any:
        found = super().get_request_serializer()
        adjust = getattr(self.view, "schema_request", None)
        return adjust(found) if adjust is not None else found

    def get_response_serializers(self) -> Any:
        found = super().get_response_serializers()
        adjust = getattr(self.view, "schema_responses", None)
        return adjust(found) if adjust is not None else found


ERROR_SCHEMA = {
    "type": "object",
    "description": "An error: a `detail`, and for bad input each field's errors as "
    "{field: [message]}.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
WRITES = ("post", "put", "patch", "delete")
# Why each status may answer any operation it applies to (see `document_errors`).
ERROR_DESCRIPTIONS = {
    400: "Bad input: a `detail`, and each field's errors as {field: [message]}.",
    401: "Not signed in, or the token is not valid.",
    403: "You may not do this: your role does not allow it (or, signed in by session, the "
    "CSRF token is missing).",
    404: "Not found among your schools (or no such page of the list).",
    409: "Changed by someone else since you loaded it, or at the same moment: load it again.",
    413: "The request body is too large.",
    415: "The request body is in a media type the API does not read.",
    429: "Too many failed sign-ins from your network: try again after `Retry-After` seconds.",
    503: "The database cannot be reached for a moment: try again after `Retry-After` seconds.",
}


def error_statuses(method: str, operation: dict[str, Any]) -> list[int]:
    """The error statuses `operation` can answer with, whatever its view: authentication
    (401, or 429 once a network has failed too often), the database out of reach for a
    moment (503), permission (403, which also covers
    session CSRF), bad input (400) wherever there is input, 404 wherever something is named
    in the path or a list has pages, and for writes a race (409) and the body's limits."""
    parameters = operation.get("parameters", [])
    statuses = [401, 403, 429, 503]
    if parameters or "requestBody" in operation or method in WRITES:
        statuses.append(400)
    if any(p.get("in") == "path" or p.get("name") == "page" for p in parameters):
        statuses.append(404)
    if method in WRITES:
        statuses += [409, 413, 415]
    return sorted(statuses)


def complete(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular's post-processing hook: what every operation can answer
    (`document_errors`) and what its query accepts (`document_query`)."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("Error", ERROR_SCHEMA)
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if isinstance(operation, dict) and "responses" in operation:
                document_errors(method, operation)
                document_query(operation)
    return result


def document_errors(method: str, operation: dict[str, Any]) -> None:
    """Every error status `operation` can answer with (`error_statuses`), in the API's one
    error shape; a view's own description of a status (e.g. `lib.api.ERRORS`) is kept."""
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    responses = operation["responses"]
    for code in error_statuses(method, operation):
        responses.setdefault(str(code), {"description": ERROR_DESCRIPTIONS[code], "content": body})
    for retried in ("429", "503"):
        if retried in responses:
            responses[retried].setdefault("headers", RETRY_AFTER)


# Text without a NUL character, which every query parameter refuses (`lib.middleware`).
WITHOUT_NUL = "^[^\\u0000]*$"


def document_query(operation: dict[str, Any]) -> None:
    """A query parameter's text may not hold a NUL (a 400, whichever view), an empty
    `page` is the first page (as DRF reads it), and `page_size` is from 1."""
    for parameter in operation.get("parameters", []):
        if parameter.get("in") != "query":
            continue
        schema = parameter.get("schema", {})
        if parameter.get("name") == "page":
            parameter["allowEmptyValue"] = True
        if parameter.get("name") == "page_size":
            # A whole number from 1; more than the most a page holds is that most.
            schema["minimum"] = 1
        if schema.get("type") == "string" and not {"enum", "format", "pattern"} & set(schema):
            schema["pattern"] = WITHOUT_NUL


RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer"},
    }
}


# A time's UTC offset as PostgreSQL can hold it: Z, or up to ±15:59.
UTC_OFFSET_PATTERN = r"(?:[Zz]|[+-](?:0\d|1[0-5]):[0-5]\d)$"


class FilterParameters(DjangoFilterExtension):
    """The list filters' query parameters as the filter sets read them (`lib.filters`): an
    empty value filters nothing (`allowEmptyValue`), a time's UTC offset is at most ±15:59,
    and a whole number's bounds (e.g. an id's, from 1) are those of its form field."""

    priority = 1

    def resolve_filter_field(
        self, auto_schema: Any, model: Any, filterset_class: Any, field_name: str, filter_field: Any
    ) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().resolve_filter_field(  # type: ignore[no-untyped-call]
            auto_schema, model, filterset_class, field_name, filter_field
        )
        field = filter_field.field
        for parameter in parameters:
            parameter["allowEmptyValue"] = True
            schema = parameter.get("schema", {})
            if schema.get("format") == "date-time":
                # What a database can compare (`lib.filters.time_problem`).
                schema.setdefault("pattern", UTC_OFFSET_PATTERN)
            if parameter.get("name") == field_name and isinstance(
                filter_field, django_filters.BooleanFilter
            ):
                # A yes/no filter read by a method is still a yes or no (spectacular would
                # call it text).
                schema.clear()
                schema["type"] = "boolean"
            if parameter.get("name") == field_name and isinstance(field, forms.IntegerField):
                schema["type"] = "integer"
                schema.pop("format", None)
                if field.min_value is not None:
                    schema.setdefault("minimum", field.min_value)
                if field.max_value is not None:
                    schema.setdefault("maximum", field.max_value)
        return parameters
