"""What the schema fuzzing (`test_api_schema_fuzz.py`) found, pinned down: filters refuse
what they cannot read, JSON of the wrong type is refused rather than coerced, and every
operation documents the errors it can answer with."""

from __future__ import annotations

import pytest

from changedesk.tests.test_api_schema_fuzz import the_schema


def api_client(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "status"),
    [("true", 200), ("false", 200), ("unknown", 200), ("", 200), ("perhaps", 400), ("-1", 400)],
)
def test_a_yes_no_filter_refuses_what_it_cannot_read(team, value, status):
    response = api_client(team["olivia"]).get(f"/api/v1/changes/?is_emergency={value}")
    assert response.status_code == status, response.content
    if status == 400:
        assert response.json()["is_emergency"] == ["Give true or false."]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"title": 12},
        {"is_emergency": "true"},
        {"is_emergency": 1},
    ],
)
def test_json_of_the_wrong_type_is_refused_not_coerced(team, draft, body):
    response = api_client(team["olivia"]).patch(f"/api/v1/changes/{draft.pk}/", body)
    assert response.status_code == 400, response.content
    [name] = body
    assert name in response.json()


@pytest.mark.django_db
def test_a_form_is_still_read_as_text(team, draft):
    response = api_client(team["olivia"]).patch(
        f"/api/v1/changes/{draft.pk}/", {"title": "12"}, format="multipart"
    )
    assert response.status_code == 200, response.content


def test_every_operation_documents_the_errors_it_can_answer_with():
    for path, operations in the_schema()["paths"].items():
        for method, operation in operations.items():
            responses = set(operation["responses"])
            assert {"401", "403", "429", "503"} <= responses, (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            if method in ("post", "patch", "put", "delete"):
                assert {"400", "409", "413", "415"} <= responses, (method, path)
