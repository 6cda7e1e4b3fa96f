"""/api/v1/adoption/{school}/: the state, its edits and actions, who may, and bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from changedesk.accounts.choices import Role
from changedesk.adoption import services
from changedesk.adoption.models import Adoption, PilotAnswer, TrainingConfirmation
from changedesk.changes.services import create_change
from changedesk.conftest import REQUEST, advance, member
from changedesk.lib.days import today_in

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def url(school, suffix: str = "") -> str:
    return f"/api/v1/adoption/{school.slug}/{suffix}"


def test_get_the_state(school, team):
    services.set_go_live(school, team["sam"], today_in(school) + timedelta(days=15))
    response = api(team["olivia"]).get(url(school))
    assert response.status_code == 200
    body = response.json()
    assert body["school"] == "greenfield"
    assert [t["key"] for t in body["tasks"]][:3] == ["roles", "training", "go_live_date"]
    assert body["countdown_days"] == 15
    assert body["live_at"] is None and body["pilot"] is None
    assert body["training_summary"] == {"participants": 5, "confirmed": 0}
    assert [r["username"] for r in body["training"]] == ["olivia"]  # her own row only
    assert "role_unheld" in {w["key"] for w in body["warnings"]}
    body = api(team["sam"]).get(url(school)).json()
    assert len(body["training"]) == 5


def test_another_school_is_404(school, oscar, root):
    assert api(oscar).get(url(school)).status_code == 404
    assert api(oscar).patch(url(school), {"go_live_on": "2099-01-01"}).status_code == 404
    assert api(oscar).post(url(school, "training/"), {"role": "overview"}).status_code == 404
    assert api(root).get(url(school)).status_code == 200
    assert APIClient().get(url(school)).status_code in (401, 403)


def test_patch_is_the_leads_with_field_errors(school, team):
    day = today_in(school) + timedelta(days=20)
    assert api(team["olivia"]).patch(url(school), {"go_live_on": str(day)}).status_code == 403
    response = api(team["sam"]).patch(url(school), {"go_live_on": str(day)}, format="json")
    assert response.status_code == 200 and response.json()["go_live_on"] == str(day)
    response = api(team["ian"]).patch(
        url(school), {"go_live_on": str(today_in(school))}, format="json"
    )
    assert response.status_code == 400 and "go_live_on" in response.json()
    for bad in ({"go_live_on": "tomorrow"}, {"wizard": 1}, {}, {"self_review_note": 5}):
        response = api(team["sam"]).patch(url(school), bad, format="json")
        assert response.status_code == 400, bad
    # Nothing half-written: a bad self-review leaves the date as it was.
    response = api(team["sam"]).patch(
        url(school),
        {"go_live_on": str(day + timedelta(days=1)), "self_review_on": "2099-01-01"},
        format="json",
    )
    assert response.status_code == 400 and "self_review_on" in response.json()
    assert Adoption.objects.get(school=school).go_live_on == day
    response = api(team["sam"]).patch(
        url(school),
        {"self_review_on": str(today_in(school)), "self_review_note": "Done"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["self_review_note"] == "Done"


def test_training_confirmation(school, team):
    response = api(team["olivia"]).post(url(school, "training/"), {"role": "originator"})
    assert response.status_code == 201
    assert TrainingConfirmation.objects.filter(user=team["olivia"], role="originator").exists()
    assert api(team["olivia"]).post(url(school, "training/"), {"role": "x"}).status_code == 400
    assert api(team["olivia"]).post(url(school, "training/"), {}).status_code == 400


def test_plan_materials_and_introduction(school, team):
    carol = member("carol", school, [Role.COMMUNICATOR])
    assert api(team["olivia"]).post(url(school, "plan/")).status_code == 403
    assert api(team["sam"]).post(url(school, "plan/")).json()["plan_agreed_at"]
    assert api(team["fiona"]).post(url(school, "materials/")).status_code == 403
    assert api(team["ian"]).post(url(school, "materials/")).status_code == 200
    assert api(carol).post(url(school, "introduction/")).status_code == 400  # no date yet
    services.set_go_live(school, team["sam"], today_in(school) + timedelta(days=15))
    assert api(team["sam"]).post(url(school, "introduction/")).status_code == 403
    body = api(carol).post(url(school, "introduction/")).json()
    assert body["introduction_notice"]


def test_pilot_answers_and_go_live(school, team):
    school.peer_review_enabled = False
    school.save()
    change = create_change(school, team["olivia"], dict(REQUEST))
    assert api(team["olivia"]).post(url(school, "pilot/"), {"change": change.pk}).status_code == 403
    assert api(team["sam"]).post(url(school, "pilot/"), {"change": "x"}).status_code == 400
    assert api(team["sam"]).post(url(school, "pilot/"), {"change": 2**40}).status_code == 400
    body = api(team["sam"]).post(url(school, "pilot/"), {"change": change.pk}).json()
    assert body["pilot"]["id"] == change.pk and body["started_without_peer_review"]
    answer = {
        "understood_part": True,
        "needs_training": False,
        "caused_incidents": False,
        "everyone_knew": True,
        "sections_lacking": ["risk"],
    }
    response = api(team["olivia"]).post(url(school, "pilot/answers/"), answer, format="json")
    assert response.status_code == 409  # not closed
    assert api(team["sam"]).post(url(school, "go-live/"), {}).status_code == 400
    advance(change, team, "closed")
    response = api(team["sam"]).post(url(school, "pilot/answers/"), answer, format="json")
    assert response.status_code == 403
    bad = {**answer, "sections_lacking": ["nope"]}
    response = api(team["olivia"]).post(url(school, "pilot/answers/"), bad, format="json")
    assert response.status_code == 400 and "sections_lacking" in response.json()
    response = api(team["olivia"]).post(url(school, "pilot/answers/"), answer, format="json")
    assert response.status_code == 201
    assert PilotAnswer.objects.filter(user=team["olivia"]).count() == 1
    assert api(team["olivia"]).post(url(school, "go-live/"), {}).status_code == 403
    response = api(team["sam"]).post(url(school, "go-live/"), {"peer_review": True}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["live_at"] and body["peer_review_enabled"]
    assert api(team["sam"]).post(url(school, "go-live/"), {}).status_code == 409


def test_the_api_is_in_the_schema(client, sam):
    client.force_login(sam)
    schema = client.get("/api/v1/schema/").content.decode()
    for path in ("/api/v1/adoption/{school}/", "/api/v1/adoption/{school}/go-live/"):
        assert path in schema
