"""Notices in the REST API: members read, communicators and originators write and publish."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from changedesk.communication.models import Notice
from changedesk.communication.services import create_notice, draft_from_change, publish_notice

pytestmark = [pytest.mark.django_db, pytest.mark.urls("changedesk.communication.tests.urls")]

NOTICES = "/api/v1/notices/"


def api(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def published(school, carol):
    notice = create_notice(school, carol, {"title": "Printer swap", "what": "New printers."})
    return publish_notice(notice.pk, carol)


@pytest.fixture
def draft_notice(school, carol):
    return create_notice(school, carol, {"title": "Not yet", "what": "Secret plans."})


def titles(response):
    return sorted(n["title"] for n in response.json()["results"])


def test_anonymous_callers_are_refused():
    assert api().get(NOTICES).status_code in (401, 403)


def test_a_viewer_lists_published_notices_only(vera, published, draft_notice):
    response = api(vera).get(NOTICES)
    assert response.status_code == 200
    assert titles(response) == ["Printer swap"]
    assert api(vera).get(f"{NOTICES}{draft_notice.pk}/").status_code == 404
    body = api(vera).get(f"{NOTICES}{published.pk}/").json()
    assert body["status"] == "published"
    assert body["school"] == "greenfield"
    assert body["published_by"] == "carol"
    assert body["may_edit"] is False


def test_a_communicator_lists_drafts_too_and_filters(carol, published, draft_notice):
    assert titles(api(carol).get(NOTICES)) == ["Not yet", "Printer swap"]
    assert titles(api(carol).get(NOTICES, {"status": "draft"})) == ["Not yet"]
    assert titles(api(carol).get(NOTICES, {"school": "hillside"})) == []


def test_outsiders_see_nothing(oscar, published):
    assert titles(api(oscar).get(NOTICES)) == []
    assert api(oscar).get(f"{NOTICES}{published.pk}/").status_code == 404
    assert api(oscar).patch(f"{NOTICES}{published.pk}/", {"title": "x"}).status_code == 404
    assert api(oscar).post(f"{NOTICES}{published.pk}/withdraw/").status_code == 404


def test_the_originator_drafts_a_notice_from_the_rfc(approved, olivia):
    response = api(olivia).post(NOTICES, {"school": "greenfield", "change": approved.pk})

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["reference"] == approved.reference
    assert body["kind"] == "change"
    assert body["status"] == "draft"
    assert body["what_you_will_notice"] == "ICT suite 2 offline for an hour after school."
    assert body["who_to_ask"] == "Olivia Okafor, ICT technician"
    assert body["may_edit"] is True

    again = api(olivia).post(NOTICES, {"school": "greenfield", "change": approved.pk})
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]


def test_drafting_with_overrides(approved, carol):
    response = api(carol).post(
        NOTICES,
        {"school": "greenfield", "change": approved.pk, "what_to_do": "Use ICT suite 1."},
    )
    assert response.status_code == 201
    assert response.json()["what_to_do"] == "Use ICT suite 1."


def test_others_may_not_draft_or_write(approved, team, vera):
    response = api(team["ian"]).post(NOTICES, {"school": "greenfield", "change": approved.pk})
    assert response.status_code == 403
    assert "communicator" in response.json()["detail"]
    general = {"school": "greenfield", "title": "Hello", "what": "x"}
    assert api(team["olivia"]).post(NOTICES, general).status_code == 403
    assert api(vera).post(NOTICES, general).status_code == 403
    assert Notice.objects.count() == 0


def test_a_communicator_writes_a_general_notice(carol):
    response = api(carol).post(
        NOTICES,
        {
            "school": "greenfield",
            "title": "Wi-Fi upgrade",
            "what": "New access points in the hall.",
            "starts_at": "2030-03-04T18:00:00+00:00",
            "ends_at": "2030-03-04T20:00:00+00:00",
        },
    )
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "general"
    assert response.json()["change"] is None


def test_bad_input_is_a_400_with_field_errors(carol, published):
    naive = api(carol).post(
        NOTICES, {"school": "greenfield", "title": "x", "starts_at": "2030-03-04T18:00:00"}
    )
    assert naive.status_code == 400
    assert "starts_at" in naive.json()

    unknown = api(carol).patch(f"{NOTICES}{published.pk}/", {"titel": "x", "status": "draft"})
    assert unknown.status_code == 400
    assert unknown.json()["titel"] == ["Unknown field."]
    assert unknown.json()["status"] == ["This field is read-only."]

    moved = api(carol).patch(f"{NOTICES}{published.pk}/", {"school": "hillside"})
    assert moved.status_code == 400

    empty = api(carol).patch(f"{NOTICES}{published.pk}/", {"title": " "})
    assert empty.status_code == 400

    untitled = api(carol).post(NOTICES, {"school": "greenfield", "what": "x"})
    assert untitled.status_code == 400
    assert untitled.json()["title"] == ["Give the notice a title."]


def test_a_change_notice_keeps_the_rfc_window(approved, carol):
    notice, _ = draft_from_change(approved.pk, carol)
    response = api(carol).patch(
        f"{NOTICES}{notice.pk}/", {"starts_at": "2030-03-04T18:00:00+00:00"}
    )
    assert response.status_code == 400
    assert "planned window" in response.json()["starts_at"][0]


def test_edit_permissions(approved, team, carol, vera):
    notice, _ = draft_from_change(approved.pk, carol)
    url = f"{NOTICES}{notice.pk}/"

    assert api(carol).patch(url, {"what_to_do": "Nothing."}).status_code == 200
    assert api(team["olivia"]).patch(url, {"who_to_ask": "Olivia"}).status_code == 200
    assert api(team["ian"]).patch(url, {"title": "x"}).status_code == 404  # a draft, unseen
    publish_notice(notice.pk, carol)
    assert api(team["ian"]).patch(url, {"title": "x"}).status_code == 403
    assert api(vera).patch(url, {"title": "x"}).status_code == 403
    assert api(vera).post(f"{url}withdraw/").status_code == 403
    notice.refresh_from_db()
    assert (notice.what_to_do, notice.who_to_ask) == ("Nothing.", "Olivia")


def test_publish_and_withdraw(approved, olivia):
    notice, _ = draft_from_change(approved.pk, olivia)
    url = f"{NOTICES}{notice.pk}/"

    response = api(olivia).post(f"{url}publish/")
    assert response.status_code == 200
    assert response.json()["status"] == "published"
    assert response.json()["published_by"] == "olivia"
    assert response.json()["first_published_at"] is not None

    assert api(olivia).post(f"{url}publish/").status_code == 409

    response = api(olivia).post(f"{url}withdraw/")
    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"
    assert api(olivia).post(f"{url}withdraw/").status_code == 409


def test_the_schema_describes_the_notices(carol, settings):
    response = api(carol).get("/api/v1/schema/")
    assert response.status_code == 200
