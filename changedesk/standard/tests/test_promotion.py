"""Normal RFCs of one kind that keep succeeding are suggested as a standard change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from changedesk.changes.models import Change
from changedesk.changes.services import create_change
from changedesk.configuration.models import ConfigurationItem
from changedesk.conftest import REQUEST
from changedesk.standard import services
from changedesk.standard.promotion import SUGGEST_AFTER, kind_of, prefill, suggestions
from changedesk.standard.tests.conftest import CONTENT

pytestmark = pytest.mark.django_db


def _done(school, who, title, items=(), outcome="succeeded", state="closed"):
    """An RFC that ran its course (set directly: the workflow is not what is tested)."""
    change = create_change(school, who, {**REQUEST, "title": title}, items=items)
    start = change.created_at + timedelta(days=3)
    Change.objects.filter(pk=change.pk).update(
        state=state, outcome=outcome, planned_start=start, planned_end=start + timedelta(hours=2)
    )
    return change


def test_the_kind_of_a_title_leaves_out_dates_and_numbers():
    assert kind_of("Patch run: March 2026") == kind_of("patch run - APRIL 2026") == "patch run"
    assert kind_of("Replace lamp in room 12") == "replace lamp in room"


def test_a_kind_that_keeps_succeeding_is_suggested_once_until_written(team, school):
    olivia = team["olivia"]
    laptops = ConfigurationItem.objects.create(school=school, name="Staff laptops")
    for month in ("January", "February", "March"):
        _done(school, olivia, f"Patch run {month} 2026", items=[laptops])
    _done(school, olivia, "Patch run April 2026", items=[laptops], outcome="failed_backed_out")
    _done(school, olivia, "Patch run May 2026")  # other items: another kind
    _done(school, olivia, "New projector", items=[laptops])
    with CaptureQueriesContext(connection) as queries:
        found = suggestions([school.pk])
    assert len(queries) == 4  # the tallies' version, the RFCs, their items, the templates
    assert len(found) == 1 and found[0].times == SUGGEST_AFTER
    assert found[0].title == "Patch run March 2026" and found[0].item_ids == (laptops.pk,)
    latest = Change.objects.get(pk=found[0].latest)
    assert prefill(latest)["duration_minutes"] == 120
    assert prefill(latest)["title"] == "Patch run March 2026"
    # Kept while no RFC of the school is implemented or closed: the version and the templates.
    with CaptureQueriesContext(connection) as queries:
        assert suggestions([school.pk]) == found
    assert len(queries) == 2
    # Another success is seen at once.
    _done(school, olivia, "Patch run June 2026", items=[laptops])
    assert suggestions([school.pk])[0].times == SUGGEST_AFTER + 1
    services.create_template(school, olivia, {**CONTENT, "title": "Patch run"})
    assert suggestions([school.pk]) == []


def test_no_schools_no_suggestions():
    assert suggestions([]) == []


def test_the_list_suggests_it_and_the_form_is_written_from_the_latest(
    client, team, school, other_school, oscar
):
    olivia = team["olivia"]
    laptops = ConfigurationItem.objects.create(school=school, name="Staff laptops")
    for month in ("January", "February", "March"):
        latest = _done(school, olivia, f"Patch run {month} 2026", items=[laptops])
    client.force_login(olivia)
    page = client.get("/standard-changes/").content.decode()
    assert "Done often enough to be a standard change" in page
    assert "succeeded 3 times" in page and f"from={latest.pk}" in page
    form = client.get(f"/standard-changes/new/?school={school.slug}&from={latest.pk}")
    text = form.content.decode()
    assert form.status_code == 200 and 'value="Patch run March 2026"' in text
    assert "Written from" in text and 'value="120"' in text
    # Someone else's RFC is not written from, nor shown.
    theirs = _done(other_school, oscar, "Their patch run")
    text = client.get(f"/standard-changes/new/?school={school.slug}&from={theirs.pk}")
    assert "Written from" not in text.content.decode()
    # A final approver writes no templates: nothing is suggested to them.
    client.force_login(team["fiona"])
    assert "Done often enough" not in client.get("/standard-changes/").content.decode()
