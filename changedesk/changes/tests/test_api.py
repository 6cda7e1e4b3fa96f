"""The RFC in the REST API: the permission matrix, each endpoint, each error status."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Delegation
from changedesk.accounts.services import set_membership
from changedesk.changes.models import Change
from changedesk.changes.services import create_change
from changedesk.conftest import REQUEST, advance, plan_data

CHANGE_FIELDS = {
    "id",
    "reference",
    "qualified_reference",
    "school",
    "state",
    "title",
    "description",
    "reason",
    "details",
    "impact",
    "risk",
    "fallback_plan",
    "planned_start",
    "planned_end",
    "is_emergency",
    "emergency_justification",
    "initial_approver",
    "peer_reviewer",
    "final_approver",
    "implementer",
    "originator",
    "outcome",
    "allowed_actions",
    "version",
    "ratified",
    "records_updated",
    "caused_incidents",
    "users_informed",
    "created_at",
    "updated_at",
    "url",
}
CLOSE = {"records_updated": True, "caused_incidents": False, "users_informed": True}


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def detail(key) -> str:
    return f"/api/v1/changes/{key.pk if isinstance(key, Change) else key}/"


def act(user, change, action: str, **payload):
    return client_for(user).post(
        detail(change) + "actions/", {"action": action, **payload}, format="json"
    )


def api_plan() -> dict:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in plan_data().items()}


# --- Who may see what. ---


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("patch", ""), ("post", "actions/"), ("get", "history/")],
)
def test_it_asks_anonymous_callers_to_sign_in(draft, method, suffix):
    response = getattr(APIClient(), method)(detail(draft) + suffix, {}, format="json")
    assert response.status_code == 401
    assert "detail" in response.json()


def test_it_asks_anonymous_callers_to_sign_in_for_the_list(draft):
    assert APIClient().get("/api/v1/changes/").status_code == 401
    assert APIClient().post("/api/v1/changes/", {}, format="json").status_code == 401


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("patch", "", {"title": "Mine now"}),
        ("post", "actions/", {"action": "withdraw"}),
        ("get", "history/", None),
    ],
)
def test_it_hides_another_schools_rfc_from_oscar(draft, oscar, method, suffix, body):
    response = getattr(client_for(oscar), method)(detail(draft) + suffix, body, format="json")
    assert response.status_code == 404
    draft.refresh_from_db()
    assert draft.title == REQUEST["title"]
    assert draft.state == "draft"


def test_it_hides_another_schools_rfc_by_reference_and_in_the_list(draft, oscar):
    assert client_for(oscar).get(detail("greenfield:RFC-0001")).status_code == 404
    assert client_for(oscar).get("/api/v1/changes/").json()["count"] == 0


@pytest.mark.parametrize("key", ["999999", "greenfield:RFC-0099", "RFC-0099", "nonsense", "9" * 30])
def test_it_answers_404_for_what_does_not_exist(draft, olivia, key):
    response = client_for(olivia).get(detail(key))
    assert response.status_code == 404
    assert "detail" in response.json()


# --- Reading. ---


def test_it_lists_the_rfcs_of_my_school_with_every_field(draft, olivia):
    body = client_for(olivia).get("/api/v1/changes/").json()
    assert body["count"] == 1
    item = body["results"][0]
    assert set(item) >= CHANGE_FIELDS
    assert item["reference"] == "RFC-0001"
    assert item["qualified_reference"] == "greenfield:RFC-0001"
    assert item["school"] == "greenfield"
    assert item["state"] == "draft"
    assert item["originator"] == "olivia"
    assert item["initial_approver"] == "ian"
    assert item["outcome"] is None
    assert item["allowed_actions"] == ["submit", "withdraw"]
    assert item["url"].endswith(f"/changes/{draft.pk}/")


def test_it_shows_each_caller_only_the_actions_they_may_take(draft, team):
    assert client_for(team["ian"]).get(detail(draft)).json()["allowed_actions"] == []
    advance(draft, team, "awaiting_initial_approval")
    assert client_for(team["ian"]).get(detail(draft)).json()["allowed_actions"] == [
        "approve",
        "return",
        "reject",
    ]
    assert client_for(team["olivia"]).get(detail(draft)).json()["allowed_actions"] == ["withdraw"]
    assert client_for(team["sam"]).get(detail(draft)).json()["allowed_actions"] == []


@pytest.mark.parametrize("key", ["greenfield:RFC-0001", "greenfield:rfc-1", "RFC-0001"])
def test_it_finds_an_rfc_by_its_reference(draft, olivia, key):
    response = client_for(olivia).get(detail(key))
    assert response.status_code == 200
    assert response.json()["id"] == draft.pk


def test_it_wants_the_school_when_a_plain_reference_is_ambiguous(draft, olivia, other_school):
    set_membership(olivia, other_school, [Role.ORIGINATOR])
    create_change(other_school, olivia, dict(REQUEST))
    response = client_for(olivia).get(detail("RFC-0001"))
    assert response.status_code == 404
    assert "school:RFC-0001" in response.json()["detail"]
    assert client_for(olivia).get(detail("hillside:RFC-0001")).json()["school"] == "hillside"


def test_it_filters_the_list_as_the_change_log_does(draft, team, school):
    emergency = create_change(
        school,
        team["olivia"],
        {**REQUEST, "title": "Restore the MIS server", "is_emergency": True,
         "emergency_justification": "The office cannot take registers."},
    )  # fmt: skip
    advance(emergency, team, "awaiting_initial_approval")
    client = client_for(team["olivia"])

    def refs(query: str) -> list[str]:
        response = client.get(f"/api/v1/changes/?{query}")
        assert response.status_code == 200, response.json()
        return [item["reference"] for item in response.json()["results"]]

    assert refs("state=draft") == ["RFC-0001"]
    assert refs("state=draft&state=awaiting_initial_approval") == ["RFC-0002", "RFC-0001"]
    assert refs("is_emergency=true") == ["RFC-0002"]
    assert refs("q=MIS") == ["RFC-0002"]
    assert refs("q=RFC-0001") == ["RFC-0001"]
    assert refs("school=greenfield&sort=reference") == ["RFC-0001", "RFC-0002"]
    assert refs("school=hillside") == []
    assert refs("person=ian") == ["RFC-0002", "RFC-0001"]
    assert refs("person=ivan") == []


def test_it_refuses_a_filter_it_cannot_read(draft, olivia):
    response = client_for(olivia).get("/api/v1/changes/?state=finished")
    assert response.status_code == 400
    assert "state" in response.json()


# --- Creating. ---


def test_it_raises_an_rfc(team, school):
    response = client_for(team["olivia"]).post(
        "/api/v1/changes/",
        {**REQUEST, **api_plan(), "school": "greenfield", "initial_approver": "ian",
         "peer_reviewer": "peter", "final_approver": "fiona", "implementer": "ivan"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["reference"] == "RFC-0001"
    assert body["state"] == "draft"
    assert body["originator"] == "olivia"
    assert (body["peer_reviewer"], body["final_approver"], body["implementer"]) == (
        "peter",
        "fiona",
        "ivan",
    )
    change = Change.objects.get(pk=body["id"])
    assert change.planned_start == plan_data()["planned_start"]
    assert list(change.events.values_list("kind", flat=True)) == ["create"]


@pytest.mark.parametrize("slug", ["nowhere", "hillside"])
def test_it_refuses_a_school_i_am_not_in(team, other_school, slug):
    response = client_for(team["olivia"]).post(
        "/api/v1/changes/", {**REQUEST, "school": slug}, format="json"
    )
    assert response.status_code == 400
    assert "school" in response.json()
    assert Change.objects.count() == 0


def test_it_refuses_to_let_a_non_originator_raise_an_rfc(team, school):
    response = client_for(team["ian"]).post(
        "/api/v1/changes/", {**REQUEST, "school": "greenfield"}, format="json"
    )
    assert response.status_code == 403
    assert "originator" in response.json()["detail"]
    assert Change.objects.count() == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"initial_approver": "nobody"}, "initial_approver"),
        ({"initial_approver": "oscar"}, "initial_approver"),
        ({"initial_approver": "peter"}, "initial_approver"),
        ({"peer_reviewer": "olivia"}, "peer_reviewer"),
        ({"implementer": 7}, "implementer"),
        ({"is_emergency": "perhaps"}, "is_emergency"),
        ({"title": {"text": "a dict"}}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"reason": ""}, "reason"),
        ({"planned_start": "next Tuesday"}, "planned_start"),
        ({"planned_start": "2031-02-30T18:00:00+00:00"}, "planned_start"),
        ({"planned_start": "2031-03-01T18:00:00"}, "planned_start"),
        (
            {"planned_start": "2031-03-01T18:00:00+00:00", "planned_end": "2031-03-01T17:00:00Z"},
            "planned_end",
        ),
        ({"state": "approved"}, "state"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_it_answers_bad_input_with_field_errors(team, oscar, school, payload, field):
    response = client_for(team["olivia"]).post(
        "/api/v1/changes/", {**REQUEST, "school": "greenfield", **payload}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert isinstance(body["detail"], str)
    assert isinstance(body[field], list)
    assert Change.objects.count() == 0


def test_it_refuses_a_body_that_is_not_json(team, school):
    response = client_for(team["olivia"]).post(
        "/api/v1/changes/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert "detail" in response.json()


@pytest.mark.parametrize(
    "body",
    [
        [],
        "a string",
        {"school": None},
        {"school": "green\x00field"},
        {"school": ["greenfield"]},
        {"title": "a\x00b"},
        {"initial_approver": "i\x00an"},
        {"initial_approver": ["ian"]},
        {"planned_start": 5},
        {"planned_start": "99999-01-01T00:00:00+00:00"},
    ],
)
def test_it_never_answers_bad_input_with_a_server_error(team, school, body):
    payload = {**REQUEST, "school": "greenfield", **body} if isinstance(body, dict) else body
    response = client_for(team["olivia"]).post("/api/v1/changes/", payload, format="json")
    assert response.status_code == 400
    assert isinstance(response.json()["detail"], str)
    assert Change.objects.count() == 0


# --- Editing. ---


def test_it_lets_the_originator_edit_a_draft(draft, olivia):
    response = client_for(olivia).patch(
        detail(draft),
        {"title": "Replace both switches", "comment": "Suite 3 too", "expected_version": 1},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["title"] == "Replace both switches"
    assert response.json()["version"] == 2
    edit = draft.events.get(kind="edit")
    assert edit.comment == "Suite 3 too"
    assert edit.diffs == [
        {"field": "title", "before": REQUEST["title"], "after": "Replace both switches"}
    ]


def test_it_lets_no_one_else_edit(draft, team):
    for name in ("ian", "peter", "fiona", "ivan", "sam"):
        response = client_for(team[name]).patch(detail(draft), {"title": "Mine"}, format="json")
        assert response.status_code == 403, name
    draft.refresh_from_db()
    assert draft.title == REQUEST["title"]


def test_it_keeps_an_approved_section_read_only(draft, team):
    advance(draft, team, "planning")
    response = client_for(team["olivia"]).patch(
        detail(draft), {"title": "Something else", **api_plan()}, format="json"
    )
    assert response.status_code == 400
    assert "title" in response.json()
    response = client_for(team["olivia"]).patch(detail(draft), api_plan(), format="json")
    assert response.status_code == 200
    assert response.json()["details"] == plan_data()["details"]


def test_it_answers_409_when_the_rfc_changed_since_it_was_loaded(draft, olivia):
    client = client_for(olivia)
    assert client.patch(detail(draft), {"title": "One"}, format="json").status_code == 200
    stale = client.patch(detail(draft), {"title": "Two", "expected_version": 1}, format="json")
    assert stale.status_code == 409
    assert "changed" in stale.json()["detail"]
    header = client.patch(detail(draft), {"title": "Two"}, format="json", HTTP_IF_MATCH='"1"')
    assert header.status_code == 409
    draft.refresh_from_db()
    assert draft.title == "One"


def test_it_refuses_put_and_delete(draft, olivia):
    client = client_for(olivia)
    assert client.put(detail(draft), {**REQUEST}, format="json").status_code == 405
    assert client.delete(detail(draft)).status_code == 405
    assert Change.objects.filter(pk=draft.pk).exists()


def test_it_refuses_to_move_an_rfc_to_another_school(draft, olivia):
    response = client_for(olivia).patch(detail(draft), {"school": "hillside"}, format="json")
    assert response.status_code == 400
    assert "school" in response.json()


# --- Acting. ---


def test_it_takes_an_rfc_from_draft_to_closed(draft, team):
    key = "greenfield:RFC-0001"

    def step(user, action, expected_state, **payload):
        response = act(team[user], key, action, comment=f"{user} {action}", **payload)
        assert response.status_code == 200, response.json()
        assert response.json()["state"] == expected_state
        return response.json()

    step("olivia", "submit", "awaiting_initial_approval")
    step("ian", "approve", "planning")
    assert (
        client_for(team["olivia"]).patch(detail(key), api_plan(), format="json").status_code == 200
    )
    body = step("olivia", "submit_plan", "awaiting_peer_review")
    assert body["allowed_actions"] == []
    step("peter", "approve", "awaiting_final_approval")
    step("fiona", "approve", "approved")
    body = step("olivia", "record_outcome", "implemented", outcome="partially_succeeded")
    assert body["outcome"] == "partially_succeeded"
    assert body["allowed_actions"] == ["close"]
    body = step("olivia", "close", "closed", **CLOSE)
    assert (body["records_updated"], body["caused_incidents"], body["users_informed"]) == (
        True,
        False,
        True,
    )
    assert body["allowed_actions"] == []


# Who may and who may not take each step, from each state.
MATRIX = [
    ("draft", "submit", {}, "olivia", ["ian", "peter", "fiona", "ivan", "sam"]),
    (
        "awaiting_initial_approval",
        "approve",
        {},
        "ian",
        ["olivia", "peter", "fiona", "ivan", "sam"],
    ),
    ("planning", "submit_plan", {}, "olivia", ["ian", "peter", "fiona", "ivan", "sam"]),
    ("awaiting_peer_review", "approve", {}, "peter", ["olivia", "ian", "fiona", "ivan", "sam"]),
    ("awaiting_final_approval", "approve", {}, "fiona", ["olivia", "ian", "peter", "ivan", "sam"]),
    (
        "approved",
        "record_outcome",
        {"outcome": "succeeded"},
        "olivia",
        ["ian", "peter", "fiona", "ivan", "sam"],
    ),
    ("implemented", "close", CLOSE, "olivia", ["ian", "peter", "fiona", "ivan", "sam"]),
]


@pytest.mark.parametrize(("state", "action", "payload", "allowed", "refused"), MATRIX)
def test_it_lets_only_the_right_role_act(draft, team, state, action, payload, allowed, refused):
    advance(draft, team, state)
    if state == "planning":
        client_for(team["olivia"]).patch(detail(draft), api_plan(), format="json")
    for name in refused:
        response = act(team[name], draft, action, **payload)
        assert response.status_code == 403, (name, response.json())
        assert response.json()["detail"]
    draft.refresh_from_db()
    assert draft.state == state
    response = act(team[allowed], draft, action, **payload)
    assert response.status_code == 200, response.json()
    assert response.json()["state"] != state


def test_it_records_a_deputys_decision_on_behalf_of_the_approver(draft, team):
    advance(draft, team, "awaiting_initial_approval")
    Delegation.objects.create(
        school=draft.school,
        approver=team["ian"],
        deputy=team["fiona"],
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now() + timedelta(days=1),
    )
    assert act(team["fiona"], draft, "approve").status_code == 200
    events = client_for(team["olivia"]).get(detail(draft) + "history/").json()
    assert (events[-1]["actor"], events[-1]["on_behalf_of"]) == ("fiona", "ian")
    assert events[-1]["on_behalf_of_name"] == "Ian Ingram"


def test_it_answers_400_for_an_unknown_action(draft, olivia):
    response = act(olivia, draft, "launch")
    assert response.status_code == 400
    assert "action" in response.json()
    assert "submit" in response.json()["action"][0]


def test_it_answers_400_when_a_reason_is_missing(draft, team):
    advance(draft, team, "awaiting_initial_approval")
    response = act(team["ian"], draft, "reject", comment="  ")
    assert response.status_code == 400
    assert response.json()["detail"] == "Give a reason."
    assert isinstance(response.json()["comment"], list)
    draft.refresh_from_db()
    assert draft.state == "awaiting_initial_approval"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"outcome": "great"}, "outcome"),
        ({"outcome": None}, "outcome"),
        ({"comment": ["a", "list"]}, "comment"),
        ({"expected_version": "latest"}, "expected_version"),
        ({"records_updated": "perhaps"}, "records_updated"),
        ({"launch_codes": "0000"}, "launch_codes"),
    ],
)
def test_it_answers_400_for_wrong_types_in_an_action(draft, team, payload, field):
    advance(draft, team, "approved")
    response = act(team["olivia"], draft, "record_outcome", **payload)
    assert response.status_code == 400
    assert field in response.json()


def test_it_answers_400_with_the_field_the_workflow_needs(draft, team):
    advance(draft, team, "approved")
    response = act(team["olivia"], draft, "record_outcome")
    assert response.status_code == 400
    assert "outcome" in response.json()
    advance(draft, team, "implemented")
    response = act(team["olivia"], draft, "close", records_updated=False)
    assert response.status_code == 400
    assert set(response.json()) >= {"records_updated", "caused_incidents", "users_informed"}


def test_it_answers_403_when_the_role_may_not_act(draft, team):
    response = act(team["ian"], draft, "withdraw")
    assert response.status_code == 403
    assert response.json() == {"detail": "Only the originator of RFC-0001 may withdraw."}


def test_it_answers_409_when_the_state_moved_on(draft, team):
    first = act(team["olivia"], draft, "submit", expected_version=1)
    assert first.status_code == 200
    again = act(team["olivia"], draft, "withdraw", expected_version=1)
    assert again.status_code == 409
    assert "changed" in again.json()["detail"]
    # A stale view with no version: the action is no longer possible from the new state.
    assert act(team["olivia"], draft, "submit").status_code == 409
    draft.refresh_from_db()
    assert draft.state == "awaiting_initial_approval"


def test_it_honours_if_match_on_actions(draft, olivia):
    assert act(olivia, draft, "submit").status_code == 200
    response = client_for(olivia).post(
        detail(draft) + "actions/", {"action": "withdraw"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 409
    bad = client_for(olivia).post(
        detail(draft) + "actions/", {"action": "withdraw"}, format="json", HTTP_IF_MATCH="soon"
    )
    assert bad.status_code == 400
    assert "If-Match" in bad.json()


# --- History. ---


def test_it_shows_the_hash_chained_history(draft, team):
    advance(draft, team, "awaiting_initial_approval")
    act(team["ian"], draft, "return", comment="Which switch?")
    response = client_for(team["olivia"]).get(detail("greenfield:RFC-0001") + "history/")
    assert response.status_code == 200
    events = response.json()
    assert [e["kind"] for e in events] == ["create", "submit", "return"]
    assert [e["sequence"] for e in events] == [1, 2, 3]
    ret = events[-1]
    assert ret["actor"] == "ian"
    assert ret["actor_name"] == "Ian Ingram"
    assert ret["on_behalf_of"] is None
    assert (ret["from_state"], ret["to_state"]) == ("awaiting_initial_approval", "draft")
    assert ret["comment"] == "Which switch?"
    assert events[0]["from_state"] is None
    assert events[1]["previous_hash"] == events[0]["hash"]
    assert events[2]["previous_hash"] == events[1]["hash"]
    assert {"diffs", "data", "digest", "created_at"} <= set(ret)


# --- Authentication, schema, query counts. ---


def test_it_accepts_a_token(draft, olivia):
    token = Token.objects.create(user=olivia)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/v1/changes/").json()["count"] == 1
    response = client.post(detail(draft) + "actions/", {"action": "submit"}, format="json")
    assert response.status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get("/api/v1/changes/").status_code == 401


def test_it_wants_a_csrf_token_with_a_session(draft, olivia):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(olivia)
    response = client.post(detail(draft) + "actions/", {"action": "submit"}, format="json")
    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.state == "draft"


def test_it_serves_the_schema_and_the_docs(olivia):
    client = client_for(olivia)
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/changes/", "/api/v1/changes/{id}/actions/", "/api/v1/me/"} <= set(paths)
    assert client.get("/api/v1/docs/").status_code == 200


def _count_list_queries(user) -> int:
    client = client_for(user)
    client.get("/api/v1/changes/")  # the session is warm
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/changes/")
    assert response.status_code == 200
    return len(queries)


def _raise(team, school, count: int, to: str = "draft") -> None:
    for _ in range(count):
        advance(create_change(school, team["olivia"], dict(REQUEST)), team, to)


def test_the_list_costs_the_same_for_2_or_12_rfcs(team, school):
    _raise(team, school, 2)
    few = _count_list_queries(team["olivia"])
    _raise(team, school, 10)
    assert _count_list_queries(team["olivia"]) == few


def test_the_list_of_rfcs_awaiting_others_costs_the_same_for_2_or_12(team, school):
    _raise(team, school, 2, "awaiting_initial_approval")
    few = _count_list_queries(team["olivia"])
    _raise(team, school, 10, "awaiting_initial_approval")
    assert _count_list_queries(team["olivia"]) == few
