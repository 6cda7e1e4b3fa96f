"""The report archive in the API: the list (paged, filtered, only readable schools), one
frozen report with its figures and decisions, recording a decision (400 with field
errors, 403 for those who may not decide), no way to change or delete a snapshot, and the
OpenAPI schema."""

from __future__ import annotations

from datetime import date

import pytest
from rest_framework.test import APIClient

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.reports.models import Decision, Snapshot
from changedesk.reports.tests.test_archive_pages import stored

pytestmark = pytest.mark.django_db

LIST = "/api/v1/reports/archive/"


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def archived(school, other_school) -> list[Snapshot]:
    return [
        stored(school, date(2026, 9, 1)),
        stored(school, date(2026, 10, 1)),
        stored(school, date(2026, 11, 2), period="week"),
        stored(other_school, date(2026, 10, 1)),
    ]


def good() -> dict:
    return {
        "text": "Tell users two days ahead.",
        "decided_by": "Committee",
        "decided_on": "2026-11-05",
    }


def test_anonymous_callers_must_sign_in(archived):
    for response in (
        api().get(LIST),
        api().get(f"{LIST}{archived[0].pk}/"),
        api().post(f"{LIST}{archived[0].pk}/decisions/", good(), format="json"),
    ):
        assert response.status_code in (401, 403)


def test_the_list_is_the_readable_schools_newest_first(team, archived):
    for name in ("ian", "peter", "fiona", "sam"):
        body = api(team[name]).get(LIST).json()
        assert [r["id"] for r in body["results"]] == [
            archived[2].pk,
            archived[1].pk,
            archived[0].pk,
        ], name
        assert body["count"] == 3
        first = body["results"][0]
        assert set(first) == {
            "id", "school", "period", "start", "end", "digest", "frozen_at", "decision_count",
        }  # fmt: skip
        assert first["school"] == "greenfield" and first["decision_count"] == 0


def test_the_list_filters_by_school_and_period(team, archived, other_school):
    set_membership(team["fiona"], other_school, [Role.FINAL_APPROVER])
    fiona = api(team["fiona"])
    assert fiona.get(LIST).json()["count"] == 4
    body = fiona.get(f"{LIST}?school=hillside").json()
    assert [r["id"] for r in body["results"]] == [archived[3].pk]
    body = fiona.get(f"{LIST}?school=greenfield&period=month").json()
    assert [r["id"] for r in body["results"]] == [archived[1].pk, archived[0].pk]
    assert fiona.get(f"{LIST}?period=fortnight").status_code == 400
    assert fiona.get(f"{LIST}?page_size=2").json()["next"]


def test_members_who_may_not_read_see_nothing_and_are_refused(team, archived):
    olivia = api(team["olivia"])
    assert olivia.get(LIST).json()["results"] == []
    assert olivia.get(f"{LIST}?school=greenfield").status_code == 403
    assert olivia.get(f"{LIST}{archived[0].pk}/").status_code == 403
    assert (
        olivia.post(f"{LIST}{archived[0].pk}/decisions/", good(), format="json").status_code == 403
    )


def test_another_school_is_a_404(team, archived):
    fiona = api(team["fiona"])
    assert fiona.get(f"{LIST}{archived[3].pk}/").status_code == 404
    assert (
        fiona.post(f"{LIST}{archived[3].pk}/decisions/", good(), format="json").status_code == 404
    )
    assert fiona.get(f"{LIST}999999999/").status_code == 404
    assert fiona.get(f"{LIST}?school=hillside").json()["results"] == []


def test_one_frozen_report_with_its_figures_and_decisions(team, archived):
    snapshot = archived[1]
    fiona = api(team["fiona"])
    assert fiona.post(f"{LIST}{snapshot.pk}/decisions/", good(), format="json").status_code == 201
    body = fiona.get(f"{LIST}{snapshot.pk}/").json()
    assert body["figures"] == Snapshot.objects.get(pk=snapshot.pk).figures
    assert body["digest"] == snapshot.digest and body["frozen_at"]
    assert body["decision_count"] == 1
    [decision] = body["decisions"]
    assert decision["text"] == "Tell users two days ahead."
    assert decision["decided_by"] == "Committee" and decision["decided_on"] == "2026-11-05"
    assert decision["recorded_by"] == "fiona" and decision["recorded_at"]


def test_recording_a_decision(team, archived):
    for name in ("ian", "fiona", "sam"):
        response = api(team[name]).post(f"{LIST}{archived[0].pk}/decisions/", good(), format="json")
        assert response.status_code == 201, name
        assert response.json()["recorded_by"] == name
    response = api(team["peter"]).post(f"{LIST}{archived[0].pk}/decisions/", good(), format="json")
    assert response.status_code == 403
    assert Decision.objects.count() == 3


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": 12}, "text"),
        ({"decided_by": ""}, "decided_by"),
        ({"decided_on": "yesterday"}, "decided_on"),
        ({"decided_on": "2026-08-31"}, "decided_on"),
        ({"decided_on": "2999-01-01"}, "decided_on"),
        ({"text": "a\x00b"}, "detail"),  # refused before the fields are read
        ({"recorded_by": "ian"}, "recorded_by"),
        ({"snapshot": 3}, "snapshot"),
    ],
)
def test_bad_decisions_are_400_with_field_errors(team, archived, change, field):
    response = api(team["fiona"]).post(
        f"{LIST}{archived[0].pk}/decisions/", {**good(), **change}, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Decision.objects.exists()


def test_a_missing_field_is_400(team, archived):
    response = api(team["fiona"]).post(f"{LIST}{archived[0].pk}/decisions/", {}, format="json")
    assert response.status_code == 400
    assert {"text", "decided_by", "decided_on"} <= set(response.json())


def test_snapshots_are_never_changed_or_deleted_through_the_api(team, archived):
    sam = api(team["sam"])
    url = f"{LIST}{archived[0].pk}/"
    for response in (
        sam.put(url, {"figures": {}}, format="json"),
        sam.patch(url, {"figures": {}}, format="json"),
        sam.delete(url),
        sam.post(LIST, {"school": "greenfield"}, format="json"),
    ):
        assert response.status_code == 405
    fresh = Snapshot.objects.get(pk=archived[0].pk)
    assert fresh.figures == archived[0].figures and fresh.digest == archived[0].digest


def test_the_list_costs_the_same_for_few_and_many(school, team, django_assert_max_num_queries):
    fiona = api(team["fiona"])
    for n in range(3):
        stored(school, date(2019, n + 1, 1))
    with django_assert_max_num_queries(10) as few:
        assert fiona.get(LIST).status_code == 200
    for n in range(40):
        stored(school, date(2020 + n // 12, n % 12 + 1, 1))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert fiona.get(LIST).status_code == 200


def test_the_schema_describes_the_archive(team):
    schema = api(team["fiona"]).get("/api/v1/schema/?format=json").json()
    paths = schema["paths"]
    assert set(paths["/api/v1/reports/archive/"]) == {"get"}
    assert set(paths["/api/v1/reports/archive/{id}/"]) == {"get"}
    decisions = paths["/api/v1/reports/archive/{id}/decisions/"]
    assert set(decisions) == {"post"}
    assert {"201", "400", "403", "404"} <= set(decisions["post"]["responses"])
