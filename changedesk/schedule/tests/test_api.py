"""The schedule in the REST API: calendar periods (members read, school administrators
write), an RFC's conflicts, and the next safe slots."""

from __future__ import annotations

import pytest
import time_machine
from rest_framework.test import APIClient

from changedesk.schedule.models import CalendarPeriod
from changedesk.schedule.tests.factories import at, item, planned, school_year

pytestmark = pytest.mark.django_db

PERIODS = "/api/v1/calendar-periods/"
SLOTS = "/api/v1/schedule/slots/"


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(at(2025, 3, 18, 12), tick=False):
        yield


@pytest.fixture
def year(school):
    return school_year(school)


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def conflicts_url(key) -> str:
    return f"/api/v1/changes/{key}/conflicts/"


NEW_PERIOD = {
    "school": "greenfield",
    "kind": "freeze",
    "name": "Ofsted inspection",
    "starts_at": "2025-03-26T00:00:00+00:00",
    "ends_at": "2025-03-28T00:00:00+00:00",
    "is_hard": True,
}


# --- Calendar periods. ---


def test_anonymous_callers_must_sign_in(school, year):
    for url in (PERIODS, f"{PERIODS}{year['mocks'].pk}/", SLOTS, conflicts_url(1)):
        assert APIClient().get(url).status_code == 401, url


def test_members_list_and_filter_their_schools_periods(school, team, year, oscar, other_school):
    CalendarPeriod.objects.create(
        school=other_school, kind="exam", name="Hillside mocks",
        starts_at=at(2025, 3, 3), ends_at=at(2025, 3, 8),
    )  # fmt: skip
    response = client_for(team["olivia"]).get(PERIODS)
    assert response.status_code == 200
    names = [p["name"] for p in response.json()["results"]]
    assert "GCSE mocks" in names and "Hillside mocks" not in names
    assert response.json()["results"][0]["school"] == "greenfield"
    exams = client_for(team["olivia"]).get(PERIODS, {"kind": "exam"}).json()["results"]
    assert [p["name"] for p in exams] == ["GCSE mocks"]
    both = client_for(team["olivia"]).get(PERIODS, {"kind": ["exam", "inset"]}).json()["results"]
    assert {p["kind"] for p in both} == {"exam", "inset"}
    window = client_for(team["olivia"]).get(
        PERIODS, {"ends_after": "2025-05-01T00:00:00Z", "starts_before": "2025-06-01T00:00:00Z"}
    )
    assert {p["name"] for p in window.json()["results"]} == {"Summer term", "Census day"}
    assert client_for(oscar).get(PERIODS, {"school": "greenfield"}).json()["results"] == []
    assert client_for(oscar).get(f"{PERIODS}{year['mocks'].pk}/").status_code == 404


def test_a_school_admin_creates_edits_and_deletes_a_period(school, team):
    sam = client_for(team["sam"])
    response = sam.post(PERIODS, NEW_PERIOD, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["is_hard"], body["source_uid"]) == ("Ofsted inspection", True, "")
    url = f"{PERIODS}{body['id']}/"
    response = sam.patch(url, {"is_hard": False, "notes": "Soft after all."}, format="json")
    assert response.status_code == 200
    assert response.json()["is_hard"] is False
    assert sam.delete(url).status_code == 204
    assert not CalendarPeriod.objects.exists()


def test_a_member_who_is_not_admin_gets_403_and_an_outsider_404(school, team, year, oscar):
    mocks = f"{PERIODS}{year['mocks'].pk}/"
    olivia = client_for(team["olivia"])
    assert olivia.post(PERIODS, NEW_PERIOD, format="json").status_code == 403
    assert olivia.patch(mocks, {"name": "Mine now"}, format="json").status_code == 403
    assert olivia.delete(mocks).status_code == 403
    outsider = client_for(oscar)
    response = outsider.post(PERIODS, NEW_PERIOD, format="json")
    assert response.status_code == 400
    assert "school" in response.json()
    assert outsider.patch(mocks, {"name": "Mine now"}, format="json").status_code == 404
    assert outsider.delete(mocks).status_code == 404
    year["mocks"].refresh_from_db()
    assert year["mocks"].name == "GCSE mocks"
    assert client_for(team["sam"]).put(mocks, NEW_PERIOD, format="json").status_code == 405


def test_bad_periods_are_refused_field_by_field(school, team, year, other_school):
    sam = client_for(team["sam"])
    cases = [
        ({**NEW_PERIOD, "ends_at": "2025-03-25T00:00:00+00:00"}, "ends_at"),
        ({**NEW_PERIOD, "kind": "exam"}, "is_hard"),
        ({**NEW_PERIOD, "starts_at": "2025-03-26T00:00:00"}, "starts_at"),
        ({**NEW_PERIOD, "kind": "party"}, "kind"),
        ({**NEW_PERIOD, "colour": "red"}, "colour"),
        ({**NEW_PERIOD, "source_uid": "x"}, "source_uid"),
    ]
    for data, field in cases:
        response = sam.post(PERIODS, data, format="json")
        assert response.status_code == 400, data
        assert field in response.json(), response.json()
        assert response.json()["detail"]
    mocks = f"{PERIODS}{year['mocks'].pk}/"
    response = sam.patch(mocks, {"ends_at": "2025-03-01T00:00:00+00:00"}, format="json")
    assert response.status_code == 400 and "ends_at" in response.json()
    response = sam.patch(mocks, {"school": "hillside"}, format="json")
    assert response.status_code == 400 and "school" in response.json()


# --- Conflicts. ---


def test_an_rfcs_conflicts_by_id_and_by_reference(school, team, year, oscar):
    mis = item(school, "the MIS server")
    other = planned(school, team["olivia"], at(2025, 5, 15, 18), at(2025, 5, 15, 19), [mis])
    change = planned(school, team["olivia"], at(2025, 5, 15, 18), at(2025, 5, 15, 19), [mis])
    for key in (change.pk, change.reference, f"greenfield:{change.reference}"):
        response = client_for(team["fiona"]).get(conflicts_url(key))
        assert response.status_code == 200, key
        body = response.json()
        assert body["qualified_reference"] == f"greenfield:{change.reference}"
        assert body["has_hard_conflicts"] is True
        assert [c["kind"] for c in body["conflicts"]] == ["overlap", "freeze"]
        overlap = body["conflicts"][0]
        assert overlap["change_id"] == other.pk and overlap["item_ids"] == [mis.pk]
        assert overlap["message"].startswith(f"Overlaps {other.reference}")
        assert body["conflicts"][1]["hard"] is True
        assert body["conflicts"][1]["period_id"] == year["census"].pk
    assert client_for(oscar).get(conflicts_url(change.pk)).status_code == 404
    assert client_for(oscar).get(conflicts_url(f"greenfield:{change.reference}")).status_code == 404
    assert client_for(team["olivia"]).get(conflicts_url("RFC-9999")).status_code == 404
    assert client_for(team["olivia"]).get(conflicts_url("nonsense")).status_code == 404


def test_an_rfc_without_a_window_has_no_conflicts(draft, team):
    body = client_for(team["olivia"]).get(conflicts_url(draft.pk)).json()
    assert body["conflicts"] == [] and body["planned_start"] is None
    assert body["has_hard_conflicts"] is False


# --- Slots. ---


def test_the_next_safe_slots(school, team, year, oscar):
    mis = item(school, "the MIS server")
    # Now is Tuesday 12:00: a normal change's slots start two working days on, on Thursday.
    busy = planned(school, team["olivia"], at(2025, 3, 20, 17), at(2025, 3, 20, 19), [mis])
    olivia = client_for(team["olivia"])
    response = olivia.get(SLOTS, {"school": "greenfield", "minutes": 60, "items": str(mis.pk)})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["school"], body["minutes"]) == ("greenfield", 60)
    assert (body["type"], body["earliest"]) == ("normal", "2025-03-20T12:00:00+00:00")
    assert body["slots"][0] == {
        "start": "2025-03-20T19:00:00+00:00",
        "end": "2025-03-20T20:00:00+00:00",
    }
    assert len(body["slots"]) == 5
    moved = olivia.get(
        SLOTS,
        {"school": "greenfield", "minutes": 60, "items": [mis.pk], "change": busy.reference,
         "count": 2},
    ).json()  # fmt: skip
    assert [s["start"] for s in moved["slots"]] == [
        "2025-03-20T17:30:00+00:00",
        "2025-03-21T17:30:00+00:00",
    ]
    after_change = olivia.get(
        SLOTS, {"school": "greenfield", "minutes": 60, "after": "2025-04-01T12:00:00+00:00",
                "count": 1},
    ).json()  # fmt: skip
    assert after_change["slots"][0]["start"] == "2025-04-01T17:30:00+01:00"  # BST


def test_the_slots_keep_the_lead_time_of_the_kind_of_change(school, team, year):
    olivia = client_for(team["olivia"])

    def first(**params):
        body = olivia.get(SLOTS, {"school": "greenfield", "minutes": 60, "count": 1, **params})
        assert body.status_code == 200, body.json()
        return body.json()["earliest"], body.json()["slots"][0]["start"]

    # An `after` before the lead is up is raised to it; a later one wins.
    assert first(after="2025-03-18T12:00:00+00:00") == (
        "2025-03-20T12:00:00+00:00",
        "2025-03-20T17:30:00+00:00",
    )
    assert first(after="2025-03-24T12:00:00+00:00")[1] == "2025-03-24T17:30:00+00:00"
    assert first(type="standard") == ("2025-03-18T16:00:00+00:00", "2025-03-18T17:30:00+00:00")
    assert first(type="emergency")[1] == "2025-03-18T17:30:00+00:00"
    # An emergency RFC's slots keep no lead unless the caller says otherwise.
    emergency = planned(
        school, team["olivia"], at(2025, 3, 25, 17), at(2025, 3, 25, 18), is_emergency=True,
        emergency_justification="The MIS server is down.",
    )  # fmt: skip
    assert first(change=emergency.reference)[1] == "2025-03-18T17:30:00+00:00"
    assert first(change=emergency.reference, type="normal")[1] == "2025-03-20T17:30:00+00:00"
    # A school that keeps no lead.
    school.normal_lead_days = 0
    school.save(update_fields=["normal_lead_days"])
    assert first() == ("2025-03-18T12:00:00+00:00", "2025-03-18T17:30:00+00:00")


def test_slots_refuse_bad_input(school, team, year, oscar, other_school):
    hillside_item = item(other_school, "Hillside server")
    olivia = client_for(team["olivia"])
    cases = [
        ({"minutes": 60}, "school"),
        ({"school": "greenfield"}, "minutes"),
        ({"school": "greenfield", "minutes": 5}, "minutes"),
        ({"school": "greenfield", "minutes": 60, "items": "a,b"}, "items"),
        ({"school": "greenfield", "minutes": 60, "items": str(hillside_item.pk)}, "items"),
        ({"school": "greenfield", "minutes": 60, "after": "2025-04-01T12:00"}, "after"),
        ({"school": "greenfield", "minutes": 60, "count": 100}, "count"),
        ({"school": "greenfield", "minutes": 60, "type": "urgent"}, "type"),
        ({"school": "hillside", "minutes": 60}, "school"),
    ]
    for params, field in cases:
        response = olivia.get(SLOTS, params)
        assert response.status_code == 400, params
        assert field in response.json(), (params, response.json())
    response = client_for(oscar).get(SLOTS, {"school": "hillside", "minutes": 60})
    assert response.status_code == 200


def test_the_schema_describes_the_endpoints():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    assert "/api/v1/calendar-periods/" in paths
    assert "/api/v1/changes/{id}/conflicts/" in paths
    assert "/api/v1/schedule/slots/" in paths


def test_the_conflicts_api_gives_a_registered_rules_kind(school, team, year):
    from changedesk.schedule import conflicts

    def check(plans):
        return {
            p.change_id: [conflicts.Conflict(kind="tuesday", hard=False, message="A Tuesday.")]
            for p in plans
        }

    conflicts.register_rule(conflicts.Rule(kind="tuesday", label="On a Tuesday", check=check))
    try:
        change = planned(school, team["olivia"], at(2025, 3, 25, 18), at(2025, 3, 25, 19))
        response = client_for(team["fiona"]).get(conflicts_url(change.pk))
    finally:
        conflicts.unregister_rule("tuesday")
    assert response.status_code == 200, response.content
    assert {"kind": "tuesday", "message": "A Tuesday."}.items() <= response.json()["conflicts"][
        -1
    ].items()
