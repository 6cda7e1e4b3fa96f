"""API error handling: every error is JSON with a `detail` and, for bad input, field errors.

The workflow and the services raise `WorkflowError`s; they are mapped here, in one place,
so that a refusal reads the same whichever endpoint met it: the status from the error's
`.status` (400, 403, 409) and the body `{"detail": message, field: [message], …}`.

What Django answers before or after a DRF view (a path no view matches, a body too large
or with too many fields, an error no one caught) goes through `handler400`, `handler403`,
`handler404` and `handler500` (named in `changedesk/urls.py`): under /api/ the same JSON
shape, elsewhere the product's own pages.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.exceptions import (
    ObjectDoesNotExist,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise
from django.utils.html import escape
from django.utils.translation import gettext, gettext_lazy
from django.views import defaults
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema_field, inline_serializer
from rest_framework import ISO_8601, exceptions, serializers, status
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from changedesk.lib.errors import WorkflowError
from changedesk.lib.middleware import database_unavailable, is_database_unreachable

logger = logging.getLogger(__name__)

FIELD_ERRORS_DETAIL = gettext_lazy("Some fields need correcting.")


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("This request for change has changed since you loaded it.")
    default_code = "conflict"


def workflow_error_body(exc: WorkflowError) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": exc.message}
    body.update({name: [message] for name, message in exc.fields.items()})
    return body


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, WorkflowError):
        return Response(workflow_error_body(exc), status=exc.status)
    if isinstance(exc, SuspiciousOperation):
        status_code, message = suspicious(exc)
        return Response({"detail": message}, status=status_code)
    if isinstance(exc, DjangoValidationError):
        detail: Any = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, ObjectDoesNotExist):
        exc = exceptions.NotFound()
    elif isinstance(exc, IntegrityError):
        # A constraint the checks before the write did not catch can only be a race with
        # another writer (e.g. two RFCs numbered at once): the caller may simply retry.
        logger.warning("Integrity error answered with 409", exc_info=exc)
        exc = Conflict(gettext("Someone else changed this at the same moment. Try again."))
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        response.data = _with_detail(response.data)
    return response


def _with_detail(data: Any) -> dict[str, Any]:
    """Give a validation error the same shape as every other error: a `detail` first."""
    if isinstance(data, dict):
        if "detail" in data and isinstance(data["detail"], list) and len(data) == 1:
            return {"detail": " ".join(str(m) for m in data["detail"])}
        return {"detail": FIELD_ERRORS_DETAIL, **data} if "detail" not in data else data
    messages = [str(m) for m in data] if isinstance(data, list) else [str(data)]
    return {"detail": " ".join(messages), "non_field_errors": messages}


# The plain columns `QuickRepresentation` reads itself, by the exact class of their field
# (a subclass may read or show them otherwise): how the field shows a value that is not None
# (a text and a number as DRF's do; None: by the field's own `to_representation`).
_PLAIN: dict[type[Any], Any] = {
    serializers.CharField: str,
    serializers.IntegerField: int,
    serializers.BooleanField: None,
    serializers.ChoiceField: None,
}

# How a field that is not a plain column is shown, given the row and the current time zone
# (None when no field needs it): the value, or SkipField.
_Show = Callable[[Any, Any], Any]


class QuickRepresentation:
    """For a model serializer that shows lists: each row shown as DRF's `Serializer` shows
    it, but its plain columns (a text, a number or a yes/no field read from one attribute of
    the row) read straight from the row, without DRF's walk through each field's
    `get_attribute` (a third of a 50-row list's time in Python). The other fields are shown
    as DRF shows them, by shorter ways where DRF's own would do the same: a field read from
    one attribute of the row (a person, a time) reads it itself, a `SerializerMethodField`
    calls its method, and a time in ISO 8601 is put in the current time zone (asked once a
    row, not once a field) as DRF's `DateTimeField` puts it. Put it before the serializer's
    class: `class S(QuickRepresentation, serializers.ModelSerializer[M])`."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        if isinstance(instance, Mapping):  # read by key, as DRF reads it
            return super().to_representation(instance)  # type: ignore[misc,no-any-return]
        plan: list[tuple[str, Any, str | None, Any]] | None = self.__dict__.get("_quick_plan")
        if plan is None:
            plan = self.__dict__["_quick_plan"] = [
                (field.field_name, field, *_plain_column(field))
                for field in cast(Any, self)._readable_fields
            ]
            self.__dict__["_quick_zoned"] = any(getattr(how, "zoned", False) for *_, how in plan)
        zone = timezone.get_current_timezone() if self.__dict__["_quick_zoned"] else None
        shown: dict[str, Any] = {}
        for name, _field, attribute, how in plan:
            if attribute is not None:
                value = getattr(instance, attribute)
                shown[name] = None if value is None else how(value)
                continue
            try:
                shown[name] = how(instance, zone)
            except SkipField:
                continue
        return shown


def _plain_column(field: Any) -> tuple[str | None, Any]:
    """The attribute a plain column is read from and how its value is shown; for any other
    field None and how it is shown from the row (a `_Show`)."""
    kind = type(field)
    own_reading = "get_attribute" in vars(field)  # given its own way to read the row
    single = len(field.source_attrs) == 1 and field.source != "*"
    if kind in _PLAIN and not own_reading and single:
        return field.source_attrs[0], _PLAIN[kind] or field.to_representation
    if (
        kind is serializers.BigIntegerField
        and not own_reading
        and single
        and not getattr(field, "coerce_to_string", api_settings.COERCE_BIGINT_TO_STRING)
    ):
        return field.source_attrs[0], int
    drf_reading = not own_reading and kind.get_attribute is serializers.Field.get_attribute
    if drf_reading and single:
        return None, _attribute_shown(field, field.source_attrs[0])
    if (
        drf_reading
        and kind is serializers.SerializerMethodField
        and field.source == "*"
        and "to_representation" not in vars(field)
    ):
        method = getattr(field.parent, field.method_name)
        return None, lambda instance, zone: method(instance)
    return None, _drf_shown(field)


def _drf_shown(field: Any) -> _Show:
    """A field shown as DRF's `Serializer.to_representation` shows it."""

    def show(instance: Any, zone: Any = None) -> Any:
        value = field.get_attribute(instance)  # or SkipField
        is_none = (value.pk if isinstance(value, PKOnlyObject) else value) is None
        return None if is_none else field.to_representation(value)

    return show


def _attribute_shown(field: Any, attribute: str) -> _Show:
    """A field read as DRF's `Field.get_attribute` reads one attribute of the row, when the
    attribute is there and not to be called; else (an error, a method, a manager) by DRF's
    own way. A time shown in ISO 8601 in the current time zone, as DRF's `DateTimeField`
    shows it, is put in the zone given (`_iso_time`)."""
    drf = _drf_shown(field)
    represent = field.to_representation
    timed = _iso_time(field)

    def show(instance: Any, zone: Any) -> Any:
        try:
            value = getattr(instance, attribute)
        except Exception:
            return drf(instance, zone)
        if value is None:
            return None
        if callable(value):
            return drf(instance, zone)
        if timed is not None:
            return timed(value, zone)
        return represent(value)

    show.zoned = timed is not None  # type: ignore[attr-defined]
    return show


def _iso_time(field: Any) -> Callable[[Any, Any], Any] | None:
    """For a `DateTimeField` (or an `AwareDateTimeField`) that shows a time in ISO 8601 in
    the current time zone: DRF's `to_representation` of an aware time, given that zone;
    anything else (a naive time, a text, a time out of range, an `AwareDateTimeField`'s
    with an offset in seconds) by the field's own. None for any other field."""
    kind = type(field)
    shape = getattr(field, "format", api_settings.DATETIME_FORMAT)
    if (
        kind not in (serializers.DateTimeField, AwareDateTimeField)
        or "to_representation" in vars(field)
        or hasattr(field, "timezone")  # a zone of its own
        or not settings.USE_TZ
        or not isinstance(shape, str)
        or shape.lower() != ISO_8601
    ):
        return None
    represent = field.to_representation
    aware = kind is AwareDateTimeField

    def timed(value: Any, zone: Any) -> Any:
        if type(value) is not datetime or value.utcoffset() is None:
            return represent(value)
        try:
            text = value.astimezone(zone).isoformat()
        except OverflowError:
            return represent(value)  # the field's error
        if text.endswith("+00:00"):
            text = text[:-6] + "Z"
        if aware and SECONDS_OFFSET.search(text):
            return represent(value)
        return text

    return timed


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, which also leaves the filter set it used on the view
    (`view.used_filterset`), for what else the request needs of it (a list counted from
    tallies, say) without building a second: each costs a deep copy of its filters."""

    def get_filterset(self, request: Any, queryset: Any, view: Any) -> Any:
        filterset = super().get_filterset(request, queryset, view)
        view.used_filterset = filterset
        return filterset


def if_match_version(request: Request) -> int | None:
    """The version named by an `If-Match: "3"` header, or None when there is none.

    An unreadable header is bad input (400), not a reason to skip the check.
    """
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return None
    value = header.removeprefix("W/").strip('"')
    if not (value.isascii() and value.isdecimal()) or len(value) > 9:
        raise exceptions.ValidationError(
            {"If-Match": [gettext('Give the version you loaded, e.g. If-Match: "3".')]}
        )
    return int(value)


class RefuseUnknownFields:
    """DRF silently drops read-only and unknown keys; a client that sends `state` or a
    misspelt field should hear that nothing was done with it. `read_only_messages` says
    why a particular read-only field cannot be written.

    DRF also coerces JSON values of the wrong type (`12` into the text "12", `"true"` or
    `1` into true, `"3"` into 3); in JSON, where the schema's types mean what they say, a
    value of the wrong type is refused (a form's values are all text, and are read as DRF
    reads them)."""

    read_only_messages: dict[str, str] = {}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            fields = cast(serializers.Serializer[Any], self).fields
            errors = {
                name: [self.read_only_messages.get(name, gettext("This field is read-only."))]
                if name in fields
                else [gettext("Unknown field.")]
                for name in data
                if name not in fields or fields[name].read_only
            }
            if not isinstance(data, QueryDict):
                errors.update(
                    (name, [message])
                    for name, value in data.items()
                    if name not in errors and (message := wrong_type(fields[name], value))
                )
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)  # type: ignore[misc]


_Row = TypeVar("_Row", bound=Model)


class SlugAmongTheirs(serializers.SlugRelatedField[_Row]):
    """A row by its slug, among those the caller may name (the subclass's `get_queryset`):
    any other, and anything not a string, is an error on the field."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="slug", **kwargs)

    def to_internal_value(self, data: Any) -> _Row:
        if not isinstance(data, str) or "\x00" in data:
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """Text, and only text: a number or a yes/no is refused, not turned into text (as
    `RefuseUnknownFields` does for a serializer's own fields, here inside a list)."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def wrong_type(field: serializers.Field[Any, Any, Any, Any], value: Any) -> str:
    """Why a JSON `value` is of the wrong type for `field`, or "" (null is the field's to
    judge)."""
    if value is None:
        return ""
    if isinstance(field, serializers.BooleanField):
        return "" if isinstance(value, bool) else gettext("Must be true or false.")
    if isinstance(field, serializers.IntegerField):
        whole = isinstance(value, int) and not isinstance(value, bool)
        return "" if whole else gettext("Must be a whole number.")
    if isinstance(field, serializers.FloatField):
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return "" if number else gettext("Must be a number.")
    if isinstance(field, serializers.CharField):
        return "" if isinstance(value, str) else gettext("Must be text.")
    return ""


# --- Fields and responses the apps share. ---


@extend_schema_field({"type": "string", "description": "A username.", "example": "olivia"})
class UsernameField(serializers.Field[Any, Any, str, Any]):
    """A person named on an RFC, by username. Resolved against the RFC's school in `validate`."""

    default_error_messages = {"invalid": gettext_lazy("Give a username.")}

    def to_representation(self, value: Any) -> str:
        username: str = value.username  # a User's (`lib` cannot import `accounts`)
        return username

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or not data.strip() or len(data) > 150 or "\x00" in data:
            self.fail("invalid")
        return data.strip()


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with its UTC offset: a time without one is ambiguous, so it is refused."""

    default_error_messages = {
        "naive": gettext_lazy("Give the time with its UTC offset, e.g. 2025-03-01T18:00:00+00:00."),
    }

    def to_internal_value(self, value: Any) -> datetime:
        parsed: datetime | None = None
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
        if parsed is not None and timezone.is_naive(parsed):
            self.fail("naive")
        return super().to_internal_value(value)

    def to_representation(self, value: Any) -> Any:
        """RFC 3339: in the current time zone unless its offset then has seconds (local
        mean time, before a zone's first standard time), in UTC."""
        text = super().to_representation(value)
        if isinstance(text, str) and isinstance(value, datetime) and SECONDS_OFFSET.search(text):
            return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return text


SECONDS_OFFSET = re.compile(r"[+-]\d\d:\d\d:\d\d(\.\d+)?$")

_DETAIL = inline_serializer("ErrorDetail", {"detail": serializers.CharField()})
BAD_INPUT = OpenApiResponse(
    _DETAIL, description="Bad input: a `detail`, and each field's errors as {field: [message]}."
)
FORBIDDEN = OpenApiResponse(_DETAIL, description="Your role may not do this.")
NOT_FOUND = OpenApiResponse(_DETAIL, description="No such RFC among your schools.")
CONFLICT = OpenApiResponse(_DETAIL, description="The RFC changed since you loaded it.")
ERRORS = {400: BAD_INPUT, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT}


# --- Django's own error answers: JSON under /api/, the product's pages elsewhere. ---

API_PREFIX = "/api/"
TOO_LARGE = gettext_lazy(
    "The request body is too large: the API accepts at most "
    "%(limit)s KB (files are sent to the pages, not the API)."
)
TOO_MANY_FIELDS = gettext_lazy("The request has too many fields: at most %(limit)s.")


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def suspicious(exc: SuspiciousOperation) -> tuple[int, str]:
    """The status and message for a request Django found suspicious (400, or 413 when
    it is too large)."""
    if isinstance(exc, RequestDataTooBig):
        limit = (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) // 1024
        return 413, str(TOO_LARGE) % {"limit": limit}
    if isinstance(exc, TooManyFieldsSent):
        return 400, str(TOO_MANY_FIELDS) % {"limit": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}
    return 400, gettext("The request cannot be read.")


def error_json(
    status_code: int, detail: str | Promise, fields: dict[str, list[str]] | None = None
) -> JsonResponse:
    return JsonResponse({"detail": detail, **(fields or {})}, status=status_code)


def bad_request(
    request: HttpRequest,
    message: str | Promise,
    status_code: int = 400,
    *,
    fields: dict[str, list[str]] | None = None,
) -> HttpResponse:
    """A refusal of the request as a whole: JSON under /api/ (with `fields`' errors, as a
    serializer's), else the 400 page."""
    if is_api(request):
        return error_json(status_code, message, fields)
    try:
        # As Django's own 400 page: without the request, which may be half set up.
        page: str = render_to_string("400.html", {"message": message})
    except Exception:  # the page must not fail in its turn
        logger.exception("The 400 page could not be rendered")
        page = (
            f"<!doctype html><title>Bad request</title><h1>Bad request</h1><p>{escape(message)}</p>"
        )
    return HttpResponse(page, status=status_code)


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, SuspiciousOperation):
        status_code, message = suspicious(exception)
        return bad_request(request, message, status_code)
    return bad_request(request, gettext("The request cannot be read."))


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        message = str(exception or "") or gettext(
            "You do not have permission to perform this action."
        )
        return error_json(403, message)
    # Django types the exception as required; it is passed on as Django passed it.
    return defaults.permission_denied(request, exception)  # type: ignore[arg-type]


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        return error_json(404, gettext("Not found."))
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    # Called while Django handles the exception, so it is at hand.
    if is_database_unreachable(sys.exc_info()[1]):
        return database_unavailable(request)  # a 503: the client may try again
    if is_api(request):
        return error_json(500, gettext("Something went wrong on our side. The error is logged."))
    return defaults.server_error(request)
