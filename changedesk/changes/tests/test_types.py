"""An RFC's type (normal, emergency or standard) is shown everywhere and filtered on: the
change log, its export, the API and the forward schedule."""

from __future__ import annotations

import csv
import io

import pytest
from rest_framework.test import APIClient

from changedesk.changes.services import create_change
from changedesk.conftest import REQUEST, plan_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def three(team, school):
    """One RFC of each type, each with a window (a standard one is left in draft here: its
    type is what is tested, not how it goes ahead, which changedesk/standard tests)."""
    olivia = team["olivia"]
    made = {
        "normal": create_change(school, olivia, {**REQUEST, **plan_data(), "title": "Normal"}),
        "emergency": create_change(
            school,
            olivia,
            {
                **REQUEST,
                **plan_data(),
                "title": "Fire",
                "is_emergency": True,
                "emergency_justification": "Down",
            },
        ),
        "standard": create_change(
            school, olivia, {**REQUEST, **plan_data(), "title": "Patch run"}, standard=True
        ),
    }
    return made


def test_the_api_says_each_type_and_filters_by_it(team, three):
    api = APIClient()
    api.force_authenticate(team["olivia"])
    rows = api.get("/api/v1/changes/").json()["results"]
    assert {r["title"]: r["type"] for r in rows} == {
        "Normal": "normal",
        "Fire": "emergency",
        "Patch run": "standard",
    }
    for kind, title in (("normal", "Normal"), ("emergency", "Fire"), ("standard", "Patch run")):
        found = api.get(f"/api/v1/changes/?type={kind}").json()["results"]
        assert [r["title"] for r in found] == [title]
    both = api.get("/api/v1/changes/?type=standard&type=emergency").json()["results"]
    assert sorted(r["title"] for r in both) == ["Fire", "Patch run"]
    refused = api.get("/api/v1/changes/?type=major")
    assert refused.status_code == 400 and "type" in refused.json()
    # Read-only: the type is not set through the API.
    change = three["normal"]
    answer = api.patch(f"/api/v1/changes/{change.pk}/", {"type": "standard"}, format="json")
    assert answer.status_code == 400 and "type" in answer.json()


def test_the_change_log_and_its_export_say_each_type(client, team, three):
    client.force_login(team["olivia"])
    page = client.get("/changes/?type=standard").content.decode()
    assert '<td data-label="Name">Patch run</td>' in page and 'class="badge standard"' in page
    assert '<td data-label="Name">Normal</td>' not in page
    assert '<option value="standard" selected>' in page
    export = client.get("/changes/export.csv")
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    types = {row[rows[0].index("title")]: row[rows[0].index("type")] for row in rows[1:]}
    assert types == {"Normal": "normal", "Fire": "emergency", "Patch run": "standard"}
    assert rows[0].index("type") == rows[0].index("description") + 1  # added at the end


def test_the_forward_schedule_filters_by_type(client, team, three):
    client.force_login(team["olivia"])
    day = three["standard"].planned_start.date().isoformat()
    page = client.get(f"/schedule/?view=agenda&date={day}&type=standard").content.decode()
    assert "Patch run" in page and "Fire" not in page
    assert "Normal" not in page.split('id="id_type"')[1].split("</select>")[1]
