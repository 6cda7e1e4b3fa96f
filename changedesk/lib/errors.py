"""The domain errors every app raises, each mapped to one HTTP status.

Services and the workflow raise them; the API turns them into JSON (`lib.api`), the pages
put them on the form that asked (`lib.forms`). `message` is written for the person who
tried; `fields` holds a message per field, for a form or a 400 body.
"""

from __future__ import annotations


class WorkflowError(Exception):
    """Base class; `message` is written for the person who tried the action."""

    status = 400

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class UnknownAction(WorkflowError):
    status = 400


class InvalidAction(WorkflowError):
    """The request lacks what the action needs, or holds a bad value (400, field errors)."""

    status = 400


class NotPermitted(WorkflowError):
    """The caller's role does not allow it (403)."""

    status = 403


class StaleChange(WorkflowError):
    """The thing changed under the caller: another writer won the race (409)."""

    status = 409
