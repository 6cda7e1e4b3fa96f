"""Putting a refusal from the workflow or a service on the form that asked for it."""

from __future__ import annotations

from typing import Any

from changedesk.lib.errors import WorkflowError


def show_workflow_error(form: Any, error: WorkflowError) -> None:
    """Each message by its field; those about fields not on this form (e.g. the RFC's
    planned start, for a window the calendar forbids) go with the summary at the top."""
    others = [message for name, message in error.fields.items() if name not in form.fields]
    for name, message in error.fields.items():
        if name in form.fields:
            form.add_error(name, message)
    if others or not error.fields:
        form.add_error(None, " ".join([error.message, *others]))


# The largest id the database keeps (a signed 64-bit integer).
MAX_ID = 2**63 - 1


def _beyond(value: Any) -> bool:
    text = str(value).strip()
    return text.lstrip("+-").isdecimal() and abs(int(text)) > MAX_ID


class IdsInRange:
    """Mixed into a model choice field: an id no database could hold is an invalid choice
    (SQLite raises OverflowError on one, a 500), as any other unknown id is."""

    def _check_values(self, value: Any) -> Any:
        from django.core.exceptions import ValidationError

        for one in value or ():
            if _beyond(one):
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],  # type: ignore[attr-defined]
                    code="invalid_pk_value",
                    params={"pk": one},
                )
        return super()._check_values(value)  # type: ignore[misc]

    def to_python(self, value: Any) -> Any:
        from django.core.exceptions import ValidationError

        if not isinstance(value, list | tuple) and _beyond(value):
            raise ValidationError(
                self.error_messages["invalid_choice"],  # type: ignore[attr-defined]
                code="invalid_choice",
            )
        return super().to_python(value)  # type: ignore[misc]
