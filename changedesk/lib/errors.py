"""The domain errors every app raises, each mapped to one HTTP status.

Services and the workflow raise them; the API turns them into JSON (`lib.api`), the pages
put them on the form that asked (`lib.forms`). `message` is written for the person who
tried; `fields` holds a message per field, for a form or a 400 body.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.utils.translation import gettext

_Row = TypeVar("_Row")


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


def refuse_unknown(given: Iterable[str], known: Iterable[str], why: str | None = None) -> None:
    """Refuse (400) the names in `given` that are not in `known`: "Unknown fields.", with
    `why` (by default "This field cannot be set.") against each, in the caller's language."""
    unknown = sorted(set(given) - set(known))
    if unknown:
        said = why or gettext("This field cannot be set.")
        raise InvalidAction(gettext("Unknown fields."), {name: said for name in unknown})


def of_school(school: Any, rows: Iterable[_Row], field: str, refusal: str) -> list[_Row]:
    """`rows` (each with a `school_id` and a `name`: items, maintenance windows…), refused
    with `refusal` (translated by the caller: "Some items are not the school's.") and a field
    error unless every one is `school`'s."""
    listed = list(rows)
    foreign = [row.name for row in listed if row.school_id != school.pk]  # type: ignore[attr-defined]
    if foreign:
        raise InvalidAction(
            refusal,
            {
                field: gettext("Not at %(school)s: %(names)s.")
                % {"school": school.name, "names": ", ".join(foreign)}
            },
        )
    return listed
