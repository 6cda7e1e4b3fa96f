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
