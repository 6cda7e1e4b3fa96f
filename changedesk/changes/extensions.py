"""The one seam between the RFC and the apps around it.

An app above the core plugs into the RFC by describing what it adds in one `Extension` and
registering it from its `AppConfig.ready()`:

    class ScheduleConfig(AppConfig):
        def ready(self) -> None:
            from changedesk.changes import extensions
            from changedesk.schedule.rfc import EXTENSION

            extensions.register(EXTENSION)

The core never imports the app: it asks the registry. What an extension may add:

- `guards`: checks on an action, run by `workflow.perform` with the RFC locked, after the
  row's own checks and before the state changes. A guard reads the action's `data` (what
  a person gives through the extension's `action_fields`), raises a `WorkflowError` to
  refuse, and returns facts to keep in the event's data.
- `effects`: run in the same transaction right after an action's event is written.
- `authorities`: a way to act for the approver named on the RFC other than as their deputy
  (the committee: the chair records the decision of the approver present). Chosen when the
  action's `data` holds the authority's `key`.
- `action_fields`: fields on the RFC page's decision form and the action API (e.g.
  `override_reason`), each with when the page shows it.
- `change_fields`: fields on the RFC's form and in its API (create, read, edit) that the
  app keeps in its own tables: what they show for an RFC, whether they may be changed in
  its state, and how a value is saved (in the same transaction as the RFC's own edit).
- `read_fields`: facts the app shows on every RFC in the API, read-only (e.g. the
  trust-wide change it is part of): each a serializer field and a function loading the
  values of a page of RFCs at once (one query a page, however many rows).
- `creators`: another way to raise through `POST /api/v1/changes/`, taken when the body
  holds the creator's `key` (e.g. `schools`, to raise one change in many schools): the
  creator reads the whole request and answers it; the core's own create is not run.
- `panels`: sections of the RFC page (`place="top"`, above its sections, or `"main"`,
  below them), of its edit form (`"edit"`, beside the plan), of its print (`"print"`) or
  of the page an approver's e-mail link opens (`"decide"`, shown without signing in, so
  with `request.user` anonymous: nothing there may link beyond that one decision), each a
  template and a function giving its context (None: not shown).
- `event_notes`: lines under a history event on the RFC page (e.g. "Decided in a meeting").
- `columns` and `filters`: on the change log page, its CSV export and the RFC API list.
  The forward schedule takes the `filters` too (e.g. `?parent=`: one trust-wide change's
  RFCs), and keeps them in its links.
- `marks`: a short line on an RFC where RFCs are listed, the change log's rows and the
  forward schedule's agenda (e.g. "Part of TC-0001", linked for those who may see it): a
  function loading the marks of a page of RFCs for the person at once (one query a page).
- `jobs`: run by the outbox worker on every pass (reminders, summaries, nudges).
- `groupings`: My work's cards gathered under something larger they are part of (e.g. a
  trust-wide change: one row for its schools' RFCs): a lookup read with the cards (no query
  of its own) and a function loading the groups the person may see, one query a page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

from changedesk.notifications import worker

if TYPE_CHECKING:
    from django import forms
    from django.http import HttpRequest
    from rest_framework import serializers
    from rest_framework.request import Request
    from rest_framework.response import Response

    from changedesk.accounts.models import School, User
    from changedesk.changes.models import Change, ChangeEvent
    from changedesk.changes.workflow import Transition


@dataclass(frozen=True)
class Guard:
    applies: Callable[[Change, Transition], bool]
    check: Callable[[Change, Transition, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Effect:
    applies: Callable[[Transition], bool]
    run: Callable[[Change, ChangeEvent, dict[str, Any]], None]


@dataclass(frozen=True)
class Authority:
    key: str
    # (the value of data[key], the actor, the locked RFC, the row) -> the approver acted for
    resolve: Callable[[Any, User, Change, Transition], User]


@dataclass(frozen=True)
class ActionField:
    name: str
    form_field: Callable[[], forms.Field]
    serializer_field: Callable[[], serializers.Field[Any, Any, Any, Any]]
    # Whether the decision form shows it, given the RFC and the actions the person may take.
    shown: Callable[[Change, list[str]], bool]


@dataclass(frozen=True)
class ChangeField:
    name: str
    form_field: Callable[[School, Change | None], forms.Field]
    serializer_field: Callable[[], serializers.Field[Any, Any, Any, Any]]
    # The value shown for an RFC (the form's initial value, the API's field).
    value: Callable[[Change], Any]
    # Whether it may be set on the RFC as it stands (on a new RFC: always).
    editable: Callable[[Change], bool]
    # Save a value given on the form or in the API, as `actor`, after the RFC's own fields.
    save: Callable[[Change, Any, User], None]


@dataclass(frozen=True)
class ReadField:
    name: str
    serializer_field: Callable[[], serializers.Field[Any, Any, Any, Any]]
    # The values for a page of RFCs, by RFC id (an RFC left out shows None).
    load: Callable[[list[Change]], dict[int, Any]]


@dataclass(frozen=True)
class Creator:
    key: str
    # (the request, the caller) -> the response to the POST.
    create: Callable[[Request, User], Response]
    # For the API's schema: what such a body holds, and what the 201 answers (each the
    # other branch of a `oneOf` beside the RFC's own).
    request: Callable[[], serializers.Serializer[Any]]
    response: Callable[[], serializers.Serializer[Any]]


@dataclass(frozen=True)
class Panel:
    template: str
    context: Callable[[HttpRequest, Change], dict[str, Any] | None]
    place: str = "main"
    order: int = 50
    stylesheet: str = ""


@dataclass(frozen=True)
class Note:
    text: str
    url: str = ""
    strong: str = ""


@dataclass(frozen=True)
class Column:
    name: str
    header: str
    value: Callable[[Change], str]


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[datetime], Any]


@dataclass(frozen=True)
class Group:
    """What My work shows of something many of its RFCs are part of, as one row: its
    reference, title and page, a phrase saying how large it is (e.g. "12 schools"), how many
    of its RFCs stand in each state (in the workflow's order), and which RFCs are its."""

    key: Any
    reference: str
    title: str
    url: str
    size: str
    states: tuple[tuple[str, int], ...]
    members: frozenset[int]


@dataclass(frozen=True)
class Grouping:
    # A lookup from the RFC to the group's key (e.g. "parent_link__parent"), read with My
    # work's cards in their one query: an RFC with None is in no group.
    field: str
    # (the person, the keys found on their cards) -> the groups they may see, by key, in a
    # fixed number of queries (a key left out: its RFCs show as cards, as before).
    load: Callable[[User, set[Any]], dict[Any, Group]]


@dataclass(frozen=True)
class Mark:
    # (the person, a page of RFCs) -> a note for each RFC marked, by id, in one query.
    load: Callable[[User, list[Change]], dict[int, Note]]


@dataclass(frozen=True)
class Extension:
    app: str
    guards: tuple[Guard, ...] = ()
    effects: tuple[Effect, ...] = ()
    authorities: tuple[Authority, ...] = ()
    action_fields: tuple[ActionField, ...] = ()
    change_fields: tuple[ChangeField, ...] = ()
    read_fields: tuple[ReadField, ...] = ()
    creators: tuple[Creator, ...] = ()
    panels: tuple[Panel, ...] = ()
    event_notes: tuple[Callable[[ChangeEvent], Iterable[Note]], ...] = ()
    columns: tuple[Column, ...] = ()
    filters: dict[str, Any] = field(default_factory=dict)
    jobs: tuple[Job, ...] = ()
    groupings: tuple[Grouping, ...] = ()
    marks: tuple[Mark, ...] = ()


_registry: dict[str, Extension] = {}


def register(extension: Extension) -> None:
    """Plug `extension` in (from the app's `ready()`); registering it again replaces it.

    Its change-log filters and worker jobs join the core's; a name another part already
    uses is refused, so that no app can silently replace what another (or the core) offers.
    """
    if extension.app in _registry:
        unregister(extension.app)
    from changedesk.changes.filters import ChangeFilterSet

    for name, found in extension.filters.items():
        if name in ChangeFilterSet.base_filters:
            raise ImproperlyConfigured(f"{extension.app}: the change log has a {name!r} filter")
        if getattr(found, "field_name", None) is None:
            found.field_name = name
    for job in extension.jobs:
        if worker.has_job(job.name):
            raise ImproperlyConfigured(f"{extension.app}: a worker job {job.name!r} exists")
    _registry[extension.app] = extension
    ChangeFilterSet.base_filters.update(extension.filters)
    for job in extension.jobs:
        worker.register_job(job.name, job.run)


def unregister(app: str) -> None:
    """Take an extension out again, and exactly what it added (for tests)."""
    extension = _registry.pop(app, None)
    if extension is None:
        return
    from changedesk.changes.filters import ChangeFilterSet

    for job in extension.jobs:
        worker.unregister_job(job.name)
    for name, added in extension.filters.items():
        if ChangeFilterSet.base_filters.get(name) is added:
            del ChangeFilterSet.base_filters[name]


def extensions() -> list[Extension]:
    return list(_registry.values())


# --- What the core asks. ---


def run_guards(change: Change, transition: Transition, data: dict[str, Any]) -> dict[str, Any]:
    recorded: dict[str, Any] = {}
    for extension in _registry.values():
        for guard in extension.guards:
            if guard.applies(change, transition):
                recorded.update(guard.check(change, transition, data))
    return recorded


def run_effects(
    change: Change, event: ChangeEvent, transition: Transition, data: dict[str, Any]
) -> None:
    for extension in _registry.values():
        for effect in extension.effects:
            if effect.applies(transition):
                effect.run(change, event, data)


def authority_for(data: dict[str, Any]) -> Authority | None:
    for extension in _registry.values():
        for authority in extension.authorities:
            if data.get(authority.key) is not None:
                return authority
    return None


def action_fields() -> list[ActionField]:
    return [f for e in _registry.values() for f in e.action_fields]


def change_fields() -> list[ChangeField]:
    return [f for e in _registry.values() for f in e.change_fields]


def save_change_fields(change: Change, values: dict[str, Any], actor: User) -> None:
    """Save what the extensions' fields were given (`values` by field name), refusing a
    field that may not change on the RFC as it stands now."""
    from changedesk.lib.errors import InvalidAction

    for extra in change_fields():
        if extra.name not in values:
            continue
        if not extra.editable(change):
            raise InvalidAction(
                "This cannot be changed now.", {extra.name: "This cannot be changed now."}
            )
        extra.save(change, values[extra.name], actor)


def read_fields() -> list[ReadField]:
    return [f for e in _registry.values() for f in e.read_fields]


def load_read_fields(changes: list[Change]) -> None:
    """Load the apps' read-only facts of `changes` (a page of the API), a query per app."""
    for extra in read_fields():
        values = extra.load(changes) if changes else {}
        for change in changes:
            loaded = change.__dict__.setdefault("_read_fields", {})
            loaded[extra.name] = values.get(change.pk)


def read_field_value(change: Change, name: str) -> Any:
    """One app fact of `change`, loaded with its page, or else asked for alone."""
    loaded: dict[str, Any] = change.__dict__.get("_read_fields", {})
    if name not in loaded:
        load_read_fields([change])
        loaded = change.__dict__["_read_fields"]
    return loaded.get(name)


def creators() -> list[Creator]:
    return [c for e in _registry.values() for c in e.creators]


def creator_for(data: Any) -> Creator | None:
    """The creator that takes a create request whose body holds its key, if any."""
    if not isinstance(data, dict):
        return None
    for creator in creators():
        if creator.key in data:
            return creator
    return None


def panels(place: str) -> list[Panel]:
    found = [p for e in _registry.values() for p in e.panels if p.place == place]
    return sorted(found, key=lambda p: p.order)


def stylesheets(*places: str) -> list[str]:
    """The stylesheets the panels of these places need, each once."""
    sheets = [p.stylesheet for place in places for p in panels(place) if p.stylesheet]
    return list(dict.fromkeys(sheets))


def event_notes(event: ChangeEvent) -> list[Note]:
    return [note for e in _registry.values() for notes in e.event_notes for note in notes(event)]


def columns() -> list[Column]:
    return [c for e in _registry.values() for c in e.columns]


def groupings() -> list[Grouping]:
    return [g for e in _registry.values() for g in e.groupings]


def marks(user: User, changes: list[Change]) -> dict[int, list[Note]]:
    """The apps' marks on `changes` (a page of them) for `user`, by RFC id: nothing is read
    when the page is empty."""
    found: dict[int, list[Note]] = {}
    if not changes:
        return found
    for mark in (m for e in _registry.values() for m in e.marks):
        for pk, note in mark.load(user, changes).items():
            found.setdefault(pk, []).append(note)
    return found


def filters() -> dict[str, Any]:
    """The apps' filters of RFCs, by parameter name (see `register`)."""
    return {name: found for e in _registry.values() for name, found in e.filters.items()}
