"""The one seam: an app plugs into the RFC with an `Extension` and no edit of the core.

A made-up "pilot" app registers one of everything, and each shows where a user meets it:
the workflow's door, the RFC page, the decision form and API, the change log, its CSV
export and API list, and the worker.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import django_filters
import pytest
from django import forms
from rest_framework import serializers
from rest_framework.test import APIClient

from changedesk.changes import extensions
from changedesk.changes.extensions import (
    ActionField,
    ChangeField,
    Column,
    Effect,
    Extension,
    Guard,
    Job,
    Note,
    Panel,
)
from changedesk.changes.workflow import perform
from changedesk.conftest import PASSWORD, advance
from changedesk.lib.errors import InvalidAction
from changedesk.notifications import worker

pytestmark = pytest.mark.django_db

# The templates of this folder's test extension (its panel).
TEMPLATES = Path(__file__).parent / "templates"

ran: list[tuple[str, object]] = []
# Where the pilot app keeps its own field of an RFC (an app would have a table).
codes: dict[int, str] = {}


def _needs_go(change, transition, data):
    if data.get("pilot_go") != "yes":
        raise InvalidAction("The pilot says no.", {"pilot_go": "Say yes to the pilot."})
    return {"pilot_go": "yes"}


PILOT = Extension(
    app="pilot",
    guards=(
        Guard(
            applies=lambda change, t: t.action == "approve" and t.source == "awaiting_peer_review",
            check=_needs_go,
        ),
    ),
    effects=(
        Effect(
            applies=lambda t: t.action == "approve",
            run=lambda change, event, data: ran.append(("effect", event.kind)),
        ),
    ),
    action_fields=(
        ActionField(
            "pilot_go",
            lambda: forms.CharField(label="Pilot go-ahead", required=False),
            lambda: serializers.CharField(required=False),
            shown=lambda change, actions: "approve" in actions,
        ),
    ),
    change_fields=(
        ChangeField(
            "pilot_code",
            lambda school, change: forms.CharField(label="Pilot code", required=False),
            lambda: serializers.CharField(required=False, allow_blank=True),
            value=lambda change: codes.get(change.pk, ""),
            editable=lambda change: change.state == "draft",
            save=lambda change, value, actor: codes.__setitem__(change.pk, value),
        ),
    ),
    panels=(
        Panel(
            "pilot/panel.html",
            lambda request, change: {"notes": [Note(text=f"Pilot panel for {change.reference}")]},
        ),
    ),
    event_notes=(
        lambda event: [Note(text="Pilot approved it")] if event.data.get("pilot_go") else [],
    ),
    columns=(Column("pilot", "Pilot", lambda change: f"P-{change.number}"),),
    filters={
        "pilot": django_filters.CharFilter(method=lambda qs, name, value: qs.filter(title=value))
    },
    jobs=(Job("pilot", lambda now: ran.append(("job", now))),),
)


@pytest.fixture
def pilot(settings):
    # The pilot's panel template is this folder's own (tests/templates).
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], TEMPLATES]}
    ]
    ran.clear()
    codes.clear()
    extensions.register(PILOT)
    yield PILOT
    extensions.unregister("pilot")


def test_a_guard_refuses_and_records_through_the_one_door(pilot, draft, team):
    waiting = advance(draft, team, "awaiting_peer_review")
    ran.clear()

    with pytest.raises(InvalidAction) as refused:
        perform(waiting.pk, "approve", team["peter"])
    assert refused.value.fields == {"pilot_go": "Say yes to the pilot."}
    assert ran == []

    change = perform(waiting.pk, "approve", team["peter"], data={"pilot_go": "yes"})
    event = change.events.order_by("-sequence").first()
    assert event.data == {"pilot_go": "yes"}
    assert ran == [("effect", "approve")]


def test_the_page_shows_its_panel_field_and_notes(pilot, client, draft, team):
    waiting = advance(draft, team, "awaiting_peer_review")
    client.login(username="peter", password=PASSWORD)

    page = client.get(waiting.get_absolute_url()).content.decode()
    assert f"Pilot panel for {waiting.reference}" in page
    assert 'name="pilot_go"' in page

    response = client.post(
        f"/changes/{waiting.pk}/act/",
        {"action": "approve", "version": waiting.version, "pilot_go": "yes"},
    )
    assert response.status_code == 302
    assert "Pilot approved it" in client.get(waiting.get_absolute_url()).content.decode()


def test_the_api_takes_its_field(pilot, draft, team):
    waiting = advance(draft, team, "awaiting_peer_review")
    api = APIClient()
    api.force_authenticate(team["peter"])
    url = f"/api/v1/changes/{waiting.pk}/actions/"

    assert api.post(url, {"action": "approve"}, format="json").json()["pilot_go"] == [
        "Say yes to the pilot."
    ]
    response = api.post(url, {"action": "approve", "pilot_go": "yes"}, format="json")
    assert response.status_code == 200, response.json()


def test_the_change_log_has_its_column_and_filter(pilot, client, draft, team):
    client.login(username="olivia", password=PASSWORD)

    page = client.get("/changes/").content.decode()
    assert ">Pilot</th>" in page
    assert f"P-{draft.number}" in page
    rows = list(csv.reader(io.StringIO(b"".join(client.get("/changes/export.csv")).decode())))
    assert rows[0][-1] == "pilot"
    assert rows[1][-1] == f"P-{draft.number}"

    assert f"P-{draft.number}" not in client.get("/changes/?pilot=nothing").content.decode()
    api = APIClient()
    api.force_authenticate(team["olivia"])
    assert api.get("/api/v1/changes/?pilot=nothing").json()["count"] == 0
    assert api.get("/api/v1/changes/", {"pilot": draft.title}).json()["count"] == 1


def test_the_rfc_form_and_api_carry_its_field(pilot, client, draft, team, school):
    from changedesk.conftest import REQUEST

    client.login(username="olivia", password=PASSWORD)
    edit = f"/changes/{draft.pk}/edit/"
    assert 'name="pilot_code"' in client.get(edit).content.decode()
    form = {**REQUEST, "initial_approver": team["ian"].pk, "pilot_code": "P-7"}
    assert client.post(edit, {**form, "version": draft.version}).status_code == 302
    assert codes[draft.pk] == "P-7"
    assert 'value="P-7"' in client.get(edit).content.decode()

    api = APIClient()
    api.force_authenticate(team["olivia"])
    created = api.post(
        "/api/v1/changes/", {**REQUEST, "school": school.slug, "pilot_code": "P-9"}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert created.json()["pilot_code"] == "P-9"
    assert api.get(f"/api/v1/changes/{draft.pk}/").json()["pilot_code"] == "P-7"

    submitted = perform(draft.pk, "submit", team["olivia"])
    refused = api.patch(f"/api/v1/changes/{submitted.pk}/", {"pilot_code": "X"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["pilot_code"] == ["This cannot be changed now."]
    assert codes[draft.pk] == "P-7"


def test_the_worker_runs_its_job(pilot):
    worker.run_jobs(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    assert ("job", datetime(2026, 1, 5, 9, 0, tzinfo=UTC)) in ran


def test_a_name_the_core_or_another_app_uses_is_refused(pilot):
    from django.core.exceptions import ImproperlyConfigured

    from changedesk.changes.filters import ChangeFilterSet

    core_school = ChangeFilterSet.base_filters["school"]
    clash = Extension(app="clash", filters={"school": django_filters.CharFilter()})
    with pytest.raises(ImproperlyConfigured):
        extensions.register(clash)
    with pytest.raises(ImproperlyConfigured):
        extensions.register(Extension(app="clash", jobs=(Job("pilot", lambda now: None),)))
    assert ChangeFilterSet.base_filters["school"] is core_school
    assert "clash" not in {e.app for e in extensions.extensions()}


def test_a_filter_without_a_field_filters_on_its_name(pilot, draft, team):
    named = Extension(app="named", filters={"title": django_filters.CharFilter()})
    extensions.register(named)
    try:
        api = APIClient()
        api.force_authenticate(team["olivia"])
        assert api.get("/api/v1/changes/", {"title": draft.title}).json()["count"] == 1
        assert api.get("/api/v1/changes/", {"title": "nothing"}).json()["count"] == 0
    finally:
        extensions.unregister("named")


def test_unregistered_it_leaves_no_trace(client, draft, team):
    client.login(username="olivia", password=PASSWORD)
    assert "Pilot" not in client.get("/changes/").content.decode()
    assert "pilot" not in {e.app for e in extensions.extensions()}
    from changedesk.changes.filters import ChangeFilterSet

    assert "pilot" not in ChangeFilterSet.base_filters
    assert not worker.has_job("pilot")
