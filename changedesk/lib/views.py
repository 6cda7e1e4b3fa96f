"""The shape every form page shares: show the form, run a service with what it holds, put
a refusal on the form, or say it is done and move on.

    def meeting_edit(request, slug, pk):
        meeting = _running(request, slug, pk)
        form = MeetingForm(request.POST or None, school=meeting.school, meeting=meeting)
        return form_page(
            request, form, "committee/meeting_form.html", {"meeting": meeting},
            save=lambda: services.update_meeting(meeting.pk, user, form.values()),
            done="The meeting is saved.",
        )

`save` runs only for a bound, valid form, inside one transaction; it returns what to
redirect to (a model with `get_absolute_url`, a URL, or None for `success_url`). A
`WorkflowError` from it is shown on the form (each message by its field, the rest in the
summary) with the error's status, and nothing it wrote is kept. `context` may be a
function, called only when the page is shown (e.g. a page that costs queries to build, or
that shows the form only after the refusal is on it).

`done` says what happened, as a success message; `info(...)` or `warning(...)` around the
text shows it at that level instead, and an empty text shows nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from changedesk.lib.errors import WorkflowError
from changedesk.lib.forms import show_workflow_error

Context = dict[str, Any] | Callable[[], dict[str, Any]] | None


def form_page(
    request: HttpRequest,
    form: Any,
    template: str,
    context: Context = None,
    *,
    save: Callable[[], Any],
    done: str | Callable[[Any], str] = "",
    success_url: str | None = None,
) -> HttpResponse:
    """Render `form` on `template`; on a valid POST run `save`, then redirect (see above)."""
    status = 200
    if form.is_bound:
        status = 400
        if form.is_valid():
            try:
                with transaction.atomic():
                    result = save()
            except WorkflowError as error:
                show_workflow_error(form, error)
                status = error.status
            else:
                _say(request, done(result) if callable(done) else done)
                return redirect(_target(result, success_url))
    extra = context() if callable(context) else context
    return render(request, template, {"form": form, **(extra or {})}, status=status)


def act(
    request: HttpRequest,
    run: Callable[[], Any],
    *,
    done: str | Callable[[Any], str] = "",
    then: Any,
    done_then: Callable[[Any], Any] | None = None,
    refused: Callable[[WorkflowError], HttpResponse | None] | None = None,
) -> HttpResponse:
    """For a button with no form: run the service, report the refusal or the success as a
    message, and redirect to `then` either way.

    `done_then(result)`, when given, is where a success goes instead (e.g. the thing `run`
    made). `refused(error)`, when given, may answer a refusal itself: return a response
    (e.g. the page again, with the error and its status) or raise (see `forbid`); when it
    returns None the refusal is a message and a redirect to `then`, as usual.
    """
    try:
        with transaction.atomic():
            result = run()
    except WorkflowError as error:
        answer = refused(error) if refused is not None else None
        if answer is not None:
            return answer
        messages.error(request, error.message)
        return redirect(then)
    _say(request, done(result) if callable(done) else done)
    return redirect(done_then(result) if done_then is not None else then)


def forbid(error: WorkflowError) -> None:
    """For `act(..., refused=forbid)`: a refusal for the caller's role (403) is the 403 page,
    as when the page's own check refuses; any other refusal is answered as usual."""
    if error.status == 403:
        raise PermissionDenied(error.message) from error


class _Note(str):
    """A message shown at `level` rather than as a success."""

    level: int = messages.SUCCESS


def info(text: str) -> str:
    """`done` text shown as information ("nothing to do") rather than a success."""
    note = _Note(text)
    note.level = messages.INFO
    return note


def warning(text: str) -> str:
    """`done` text shown as a warning: it is done, but something needs the reader's eye."""
    note = _Note(text)
    note.level = messages.WARNING
    return note


def _say(request: HttpRequest, message: str) -> None:
    if message:
        messages.add_message(request, getattr(message, "level", messages.SUCCESS), message)


def _target(result: Any, success_url: str | None) -> Any:
    if success_url is not None:
        return success_url
    if result is None:
        raise ValueError("form_page: give success_url when save returns nothing")
    return result
