"""API error handling: every error is JSON with a `detail` and, for bad input, field errors.

The workflow and the services raise `WorkflowError`s; they are mapped here, in one place,
so that a refusal reads the same whichever endpoint met it: the status from the error's
`.status` (400, 403, 409) and the body `{"detail": message, field: [message], …}`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, cast

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiResponse, extend_schema_field, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from changedesk.lib.errors import WorkflowError

logger = logging.getLogger(__name__)

FIELD_ERRORS_DETAIL = "Some fields need correcting."


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This request for change has changed since you loaded it."
    default_code = "conflict"


def workflow_error_body(exc: WorkflowError) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": exc.message}
    body.update({name: [message] for name, message in exc.fields.items()})
    return body


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, WorkflowError):
        return Response(workflow_error_body(exc), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        detail: Any = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, ObjectDoesNotExist):
        exc = exceptions.NotFound()
    elif isinstance(exc, IntegrityError):
        # A constraint the checks before the write did not catch can only be a race with
        # another writer (e.g. two RFCs numbered at once): the caller may simply retry.
        logger.warning("Integrity error answered with 409", exc_info=exc)
        exc = Conflict("Someone else changed this at the same moment. Try again.")
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
            {"If-Match": ['Give the version you loaded, e.g. If-Match: "3".']}
        )
    return int(value)


class RefuseUnknownFields:
    """DRF silently drops read-only and unknown keys; a client that sends `state` or a
    misspelt field should hear that nothing was done with it. `read_only_messages` says
    why a particular read-only field cannot be written."""

    read_only_messages: dict[str, str] = {}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            fields = cast(serializers.Serializer[Any], self).fields
            errors = {
                name: [self.read_only_messages.get(name, "This field is read-only.")]
                if name in fields
                else ["Unknown field."]
                for name in data
                if name not in fields or fields[name].read_only
            }
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)  # type: ignore[misc]


# --- Fields and responses the apps share. ---


@extend_schema_field({"type": "string", "description": "A username.", "example": "olivia"})
class UsernameField(serializers.Field[Any, Any, str, Any]):
    """A person named on an RFC, by username. Resolved against the RFC's school in `validate`."""

    default_error_messages = {"invalid": "Give a username."}

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
        "naive": "Give the time with its UTC offset, e.g. 2025-03-01T18:00:00+00:00.",
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


_DETAIL = inline_serializer("ErrorDetail", {"detail": serializers.CharField()})
BAD_INPUT = OpenApiResponse(
    _DETAIL, description="Bad input: a `detail`, and each field's errors as {field: [message]}."
)
FORBIDDEN = OpenApiResponse(_DETAIL, description="Your role may not do this.")
NOT_FOUND = OpenApiResponse(_DETAIL, description="No such RFC among your schools.")
CONFLICT = OpenApiResponse(_DETAIL, description="The RFC changed since you loaded it.")
ERRORS = {400: BAD_INPUT, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT}
