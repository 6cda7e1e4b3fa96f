"""A template's maintenance windows: an RFC raised from it must fit in one of them; they
are part of what its approval covers; the form and the API take them."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from changedesk.lib.errors import InvalidAction
from changedesk.schedule.models import MaintenanceWindow
from changedesk.standard import services
from changedesk.standard.models import Template
from changedesk.standard.tests.conftest import CONTENT, approve

pytestmark = pytest.mark.django_db


@pytest.fixture
def weekends(school):
    """One of the school's two windows (the other, weekday evenings, takes the proposing
    RFCs' evening plans): the template names only this one."""
    MaintenanceWindow.objects.create(
        school=school, name="Weekday evenings", weekdays=[0, 1, 2, 3, 4], start_time=time(17, 30)
    )
    return MaintenanceWindow.objects.create(
        school=school, name="Weekends", weekdays=[5, 6], start_time=time(0, 0), end_time=None
    )


def _next(weekday: int, hour: int, school) -> datetime:
    """The next `weekday` (Monday 0) at least five days ahead, at `hour` where the school is."""
    day = timezone.localdate() + timedelta(days=5)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return datetime.combine(day, time(hour, 0), tzinfo=school.zone)


def test_a_raise_must_fit_the_templates_windows(school, team, laptops, weekends):
    template = approve(
        services.create_template(
            school, team["olivia"], dict(CONTENT), items=[laptops], windows=[weekends]
        ),
        team,
    )
    with pytest.raises(InvalidAction) as refused:
        services.raise_change(template.pk, team["olivia"], planned_start=_next(2, 18, school))
    assert "Weekends" in refused.value.fields["planned_start"]
    change = services.raise_change(template.pk, team["olivia"], planned_start=_next(5, 10, school))
    assert change.state == "approved" and change.is_standard


def test_the_windows_are_part_of_what_is_approved(school, team, laptops, weekends):
    template = approve(
        services.create_template(school, team["olivia"], dict(CONTENT), items=[laptops]), team
    )
    digest = template.approved_digest
    assert "windows" not in template.approved_content()  # none named: the digest as before
    edited = services.update_template(template.pk, team["olivia"], {}, windows=[weekends])
    assert edited.state == "draft" and edited.version == template.version + 1
    assert edited.digest() != digest
    assert edited.approved_content()["windows"] == [weekends.pk]


def test_another_schools_window_is_refused(school, other_school, team, laptops):
    theirs = MaintenanceWindow.objects.create(
        school=other_school, name="Theirs", weekdays=[0], start_time=time(18, 0)
    )
    with pytest.raises(InvalidAction) as refused:
        services.create_template(
            school, team["olivia"], dict(CONTENT), items=[laptops], windows=[theirs]
        )
    assert "windows" in refused.value.fields


def test_the_form_and_the_api_take_the_windows(client, school, team, laptops, weekends):
    olivia = team["olivia"]
    client.force_login(olivia)
    response = client.post(
        reverse("standard:create"),
        {"school": school.slug, **{k: v for k, v in CONTENT.items()},
         "review_date": (timezone.localdate() + timedelta(days=300)).isoformat(),
         "items": [laptops.pk], "windows": [weekends.pk]},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    template = Template.objects.get(title=CONTENT["title"])
    assert list(template.windows.all()) == [weekends]
    page = client.get(template.get_absolute_url()).content.decode()
    assert "Maintenance windows it must fit in" in page and "Weekends" in page

    api = client.get(f"/api/v1/standard-changes/{template.pk}/").json()
    assert api["windows"] == [weekends.pk]
    bad = client.patch(
        f"/api/v1/standard-changes/{template.pk}/",
        {"windows": [weekends.pk + 1000]},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "windows" in bad.json()
    listed = client.get("/api/v1/standard-changes/").json()["results"]
    assert listed[0]["windows"] == [weekends.pk]
