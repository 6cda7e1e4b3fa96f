"""Configuration items in the REST API: the permission matrix, each endpoint, the errors."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from changedesk.changes.items import set_change_items
from changedesk.changes.models import ChangeItem
from changedesk.changes.services import create_change
from changedesk.configuration.models import ConfigurationItem
from changedesk.configuration.tests.conftest import make_items
from changedesk.conftest import REQUEST

# Until changedesk/api_urls.py includes the items API, these tests mount it themselves.
pytestmark = pytest.mark.django_db

ITEM_FIELDS = {
    "id",
    "school",
    "name",
    "kind",
    "identifier",
    "location",
    "owner",
    "users_affected",
    "notes",
    "is_active",
    "change_count",
    "created_at",
    "updated_at",
    "url",
}


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def url(item=None, suffix: str = "") -> str:
    return f"/api/v1/items/{item.pk}/{suffix}" if item is not None else "/api/v1/items/"


def test_it_asks_anonymous_callers_to_sign_in(switch):
    client = client_for()
    for path in (url(), url(switch), url(switch, "changes/")):
        assert client.get(path).status_code in (401, 403), path
    assert client.post(url(), {"school": "greenfield", "name": "X"}).status_code in (401, 403)
    assert client.patch(url(switch), {"name": "X"}).status_code in (401, 403)


def test_it_hides_another_schools_items(switch, oscar):
    client = client_for(oscar)
    assert client.get(url()).json()["count"] == 0
    for path in (url(switch), url(switch, "changes/")):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "detail" in response.json()
    assert client.patch(url(switch), {"name": "Mine now"}).status_code == 404
    response = client.post(url(), {"school": "greenfield", "name": "Sneaky"})
    assert response.status_code == 400
    assert "school" in response.json()
    switch.refresh_from_db()
    assert switch.name == "ICT suite 2 switch"


@pytest.mark.parametrize(
    ("persona", "may_write"),
    [("vera", False), ("ian", False), ("olivia", True), ("sam", True)],
)
def test_each_role_reads_and_only_managers_write(request, switch, team, vera, persona, may_write):
    client = client_for(request.getfixturevalue(persona))
    body = client.get(url()).json()
    assert [row["identifier"] for row in body["results"]] == ["SW-02"]
    assert set(body["results"][0]) == ITEM_FIELDS
    assert client.get(url(switch)).status_code == 200
    patch = client.patch(url(switch), {"location": "Block C"})
    assert patch.status_code == (200 if may_write else 403)
    created = client.post(url(), {"school": "greenfield", "name": "MIS", "kind": "server"})
    assert created.status_code == (201 if may_write else 403)
    switch.refresh_from_db()
    assert (switch.location == "Block C") is may_write
    assert ConfigurationItem.objects.filter(name="MIS").exists() is may_write


def test_it_adds_an_item_with_an_owner(team):
    response = client_for(team["sam"]).post(
        url(),
        {
            "school": "greenfield",
            "name": "MIS server",
            "kind": "server",
            "identifier": "SRV-MIS",
            "owner": "olivia",
            "users_affected": 120,
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["owner"] == "olivia"
    assert body["school"] == "greenfield"
    assert body["change_count"] == 0
    assert body["url"].endswith(f"/items/{body['id']}/")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "X", "kind": "spaceship"}, "kind"),
        ({"name": "X", "identifier": "sw-02"}, "identifier"),
        ({"name": "X", "owner": "oscar"}, "owner"),
        ({"name": "X", "users_affected": -1}, "users_affected"),
        ({"name": "X", "colour": "blue"}, "colour"),
        ({"name": "X", "change_count": 3}, "change_count"),
        ({"name": "X", "school": "hillside"}, "school"),
        ({"name": "X" * 201}, "name"),
    ],
)
def test_it_answers_bad_input_with_field_errors(team, switch, oscar, payload, field):
    response = client_for(team["sam"]).post(url(), {"school": "greenfield", **payload})
    assert response.status_code == 400
    body = response.json()
    assert field in body, body
    assert "detail" in body


def test_it_retires_an_item_and_keeps_it_out_of_the_default_list(team, switch):
    client = client_for(team["olivia"])
    response = client.patch(url(switch), {"is_active": False})
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert client.get(url()).json()["count"] == 0
    assert client.get(url() + "?status=all").json()["count"] == 1
    assert client.get(url() + "?status=retired").json()["count"] == 1
    assert client.get(url(switch)).status_code == 200


def test_it_refuses_to_move_an_item_and_refuses_put_and_delete(team, switch):
    client = client_for(team["sam"])
    response = client.patch(url(switch), {"school": "hillside"})
    assert response.status_code == 400
    assert "stays in the school" in response.json()["school"][0]
    assert client.put(url(switch), {"name": "X"}).status_code == 405
    assert client.delete(url(switch)).status_code == 405
    assert ConfigurationItem.objects.filter(pk=switch.pk).exists()


def test_it_filters_the_list(team, switch, school):
    make_items(school, team["sam"], 3)
    client = client_for(team["ian"])
    assert client.get(url() + "?kind=network_device").json()["count"] == 1
    assert client.get(url() + "?q=PC").json()["count"] == 3
    assert client.get(url() + "?school=hillside").json()["count"] == 0
    assert client.get(url() + "?kind=spaceship").status_code == 400


def test_it_lists_the_changes_that_touched_an_item_newest_first(team, switch, school):
    olivia = team["olivia"]
    older = create_change(school, olivia, {**REQUEST, "title": "Older"})
    newer = create_change(school, olivia, {**REQUEST, "title": "Newer"})
    create_change(school, olivia, {**REQUEST, "title": "Unrelated"})
    for change in (older, newer):
        set_change_items(change, [switch], olivia)
    body = client_for(team["ian"]).get(url(switch, "changes/")).json()
    assert [row["title"] for row in body["results"]] == ["Newer", "Older"]
    first = body["results"][0]
    assert first["reference"] == newer.reference
    assert first["state"] == "draft"
    assert first["what_changed"] == ""
    assert first["recorded_by"] is None
    assert client_for(team["ian"]).get(url(switch)).json()["change_count"] == 2


def test_it_answers_404_for_what_does_not_exist(team):
    client = client_for(team["sam"])
    for path in ("/api/v1/items/999999/", "/api/v1/items/abc/", "/api/v1/items/" + "9" * 30 + "/"):
        assert client.get(path).status_code == 404, path


def test_the_list_costs_the_same_for_10_or_200_items(team, school):
    client = client_for(team["sam"])
    make_items(school, team["sam"], 10)
    client.get(url())

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url()).status_code == 200
        return len(queries)

    few = count()
    make_items(school, team["sam"], 190, prefix="LAPTOP")
    assert count() == few


def test_the_changes_of_an_item_cost_the_same_for_10_or_200(team, switch, school):
    def touch(n: int) -> None:
        changes = [create_change(school, team["olivia"], dict(REQUEST)) for _ in range(n)]
        ChangeItem.objects.bulk_create([ChangeItem(change=c, item=switch) for c in changes])

    client = client_for(team["sam"])
    touch(10)
    client.get(url(switch, "changes/"))
    with CaptureQueriesContext(connection) as few:
        client.get(url(switch, "changes/"))
    touch(190)
    with CaptureQueriesContext(connection) as many:
        client.get(url(switch, "changes/"))
    assert len(many) == len(few)


def test_the_schema_describes_the_items_endpoints(team):
    response = client_for(team["sam"]).get(
        "/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/items/", "/api/v1/items/{id}/", "/api/v1/items/{id}/changes/"} <= set(paths)


def test_users_affected_beyond_the_most_says_so(team, school):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_login(team["sam"])
    response = api.post(
        "/api/v1/items/",
        {"school": school.slug, "name": "Huge", "kind": "service", "users_affected": 10**30},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["users_affected"] == ["It must be at most 2,147,483,647."]
