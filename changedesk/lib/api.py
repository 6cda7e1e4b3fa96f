"""API error handling: every error is JSON with a `detail` and, for bad input, field errors.

The workflow and the services raise `WorkflowError`s; they are mapped here, in one place,
so that a refusal reads the same whichever endpoint met it: the status from the error's
`.status` (400, 403, 409) and the body `{"detail": message, field: [message], …}`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import Prefetch
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from changedesk.accounts.models import Membership, User
from changedesk.changes.workflow import WorkflowError

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


if TYPE_CHECKING:
    from rest_framework.generics import GenericAPIView

    _ViewBase = GenericAPIView
else:
    _ViewBase = object


class CallerMixin(_ViewBase):
    """For viewsets: the caller with their memberships and roles, fetched once per request
    (so permission checks on every row of a list cost no query), and given to serializers
    as the `actor` in their context."""

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "actor": self._actor()}

    def _actor(self) -> User | None:
        if not hasattr(self, "_actor_cache"):
            user = self.request.user
            self._actor_cache: User | None = (
                User.objects.prefetch_related(
                    Prefetch("memberships", Membership.objects.prefetch_related("roles"))
                ).get(pk=user.pk)
                if user.is_authenticated
                else None
            )
        return self._actor_cache

    def _caller(self) -> User:
        actor = self._actor()
        assert actor is not None  # IsAuthenticated has run
        return actor


class RefuseUnknownFields:
    """DRF silently drops read-only and unknown keys; a client that sends `state` or a
    misspelt field should hear that nothing was done with it. `read_only_messages` says
    why a particular read-only field cannot be written."""

    read_only_messages: dict[str, str] = {}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            fields = cast(serializers.Serializer, self).fields
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
