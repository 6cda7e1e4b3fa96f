"""One filter set for the notices (`/api/v1/notices/` and the overview's lists): the
parameters keep their names and meaning, and a bad value is a 400 with field errors."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from changedesk.communication.api import NoticeViewSet
from changedesk.communication.filters import NoticeFilterSet
from changedesk.communication.services import (
    create_notice,
    draft_from_change,
    publish_notice,
    withdraw_notice,
)

pytestmark = [pytest.mark.django_db, pytest.mark.urls("changedesk.communication.tests.urls")]

NOTICES = "/api/v1/notices/"


@pytest.fixture
def notices(school, carol, approved):
    """A published general notice, a withdrawn one, and the approved RFC's draft."""
    printers = create_notice(school, carol, {"title": "Printer swap", "what": "New printers."})
    publish_notice(printers.pk, carol)
    old = create_notice(school, carol, {"title": "Old news", "what": "x"})
    publish_notice(old.pk, carol)
    withdraw_notice(old.pk, carol)
    drafted, _ = draft_from_change(approved.pk, carol)
    return {"printers": printers, "old": old, "drafted": drafted}


def titles(client, **params):
    response = client.get(NOTICES, params)
    assert response.status_code == 200, response.json()
    return sorted(n["title"] for n in response.json()["results"])


def test_the_api_filters_by_school_status_and_change(carol, approved, notices):
    client = APIClient()
    client.force_authenticate(carol)
    everything = ["Old news", "Printer swap", approved.title]
    assert titles(client) == sorted(everything)
    assert titles(client, status="published") == ["Printer swap"]
    assert titles(client, status="withdrawn") == ["Old news"]
    assert titles(client, change=approved.pk) == [approved.title]
    assert titles(client, change=approved.pk + 1000) == []
    assert titles(client, school="greenfield", status="draft") == [approved.title]
    assert titles(client, school="hillside") == []
    # An empty value filters nothing, as before.
    assert titles(client, school="", status="", change="") == sorted(everything)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "archived"}, "status"),
        ({"change": "abc"}, "change"),
        ({"change": "\u00b2"}, "change"),
        ({"change": "0"}, "change"),
        ({"change": str(2**63)}, "change"),
        ({"school": "green\x00field"}, "school"),
    ],
)
def test_bad_filter_values_are_a_400_with_field_errors(carol, notices, params, field):
    client = APIClient()
    client.force_authenticate(carol)
    response = client.get(NOTICES, params)
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Some fields need correcting."
    assert field in body


def test_the_overview_lists_drafts_and_withdrawn_notices_through_it(client, carol, notices):
    client.force_login(carol)
    page = client.get(reverse("communication:manage", args=["greenfield"])).content.decode()
    drafts = page.split('id="h-drafts"')[1].split("</section>")[0]
    withdrawn = page.split('id="h-withdrawn"')[1].split("</section>")[0]
    assert notices["drafted"].title in drafts and "Old news" not in drafts
    assert "Old news" in withdrawn and "Printer swap" not in withdrawn


def test_the_filter_set_is_the_one_the_api_uses():
    assert NoticeViewSet.filterset_class is NoticeFilterSet
