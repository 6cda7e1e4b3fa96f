"""Every list's filters take an empty value as "no filter", and the change log's export
follows the filters however they were applied (issue 7, points 1 and 2).

A form's "Any state" option sends `state=`; an API client may send `?school=`. Each list
page and API list is asked with every one of its filters empty, and must answer as if
none were given. The export link is part of the results htmx swaps in, so it carries the
filters in place (`changes/tests/test_browser_filters.py` tries it in a browser).
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from changedesk.changes.filters import ChangeFilterSet
from changedesk.changes.services import create_change
from changedesk.committee.filters import MeetingFilterSet
from changedesk.communication.filters import NoticeFilterSet
from changedesk.configuration.filters import ItemFilterSet
from changedesk.configuration.services import create_item
from changedesk.conftest import REQUEST
from changedesk.schedule.filters import CalendarPeriodFilterSet, ScheduleFilterSet

pytestmark = pytest.mark.django_db


@pytest.fixture
def some(school, team):
    for title in ("Replace the Wi-Fi access points", "Upgrade the MIS", "Wi-Fi guest network"):
        create_change(school, team["olivia"], {**REQUEST, "title": title})
    create_item(school, team["sam"], {"name": "Wi-Fi controller"})


def blank(filterset) -> dict[str, str]:
    return {name: "" for name in filterset.base_filters}


def test_the_change_log_finds_the_same_with_any_state(client, some, team):
    client.force_login(team["olivia"])
    plain = client.get("/changes/", {"q": "Wi-Fi"}).content.decode()
    with_state = client.get("/changes/", {"q": "Wi-Fi", "state": ""}).content.decode()
    assert "2 requests for change." in plain
    assert "2 requests for change." in with_state
    assert "could not be used" not in with_state


API_LISTS = [
    ("/api/v1/changes/", ChangeFilterSet),
    ("/api/v1/items/", ItemFilterSet),
    ("/api/v1/calendar-periods/", CalendarPeriodFilterSet),
    ("/api/v1/notices/", NoticeFilterSet),
    ("/api/v1/committee/meetings/", MeetingFilterSet),
]


@pytest.mark.parametrize(("url", "filterset"), API_LISTS)
def test_every_api_list_takes_empty_filters_as_none(url, filterset, some, team):
    api = APIClient()
    api.force_authenticate(team["sam"])
    plain = api.get(url)
    empty = api.get(f"{url}?{urlencode(blank(filterset))}")
    assert plain.status_code == 200, plain.json()
    assert empty.status_code == 200, empty.json()
    assert empty.json() == plain.json()


# Each page, its filter set, and how many rows it lists for the `some` fixture.
PAGES = [
    ("/changes/", ChangeFilterSet, 3),
    ("/changes/export.csv", ChangeFilterSet, 4),  # with its header
    ("/items/", ItemFilterSet, 1),
    ("/schedule/", ScheduleFilterSet, 0),  # none is planned yet
    ("/committee/greenfield/", MeetingFilterSet, 0),
]


@pytest.mark.parametrize(("url", "filterset", "rows"), PAGES)
def test_every_list_page_takes_empty_filters_as_none(client, url, filterset, rows, some, team):
    client.force_login(team["sam"])
    plain = client.get(url)
    empty = client.get(url, blank(filterset))
    assert plain.status_code == empty.status_code == 200

    def listed(response) -> list[str]:
        """What the list shows: its rows' links (or the CSV's rows)."""
        if response.streaming:
            return b"".join(response.streaming_content).decode().splitlines()
        return re.findall(r'href="(/[a-z]+/(?:[\w-]+/)?\d+/)"', response.content.decode())

    shown = listed(plain)
    assert listed(empty) == shown
    assert len(shown) == rows


def test_the_export_link_comes_with_the_results_htmx_swaps_in(client, some, team):
    client.force_login(team["olivia"])
    partial = client.get("/changes/", {"q": "Wi-Fi", "state": "draft"}, HTTP_HX_REQUEST="true")
    html = partial.content.decode()
    assert 'id="export-link"' in html
    assert 'href="/changes/export.csv?q=Wi-Fi&amp;state=draft"' in html
