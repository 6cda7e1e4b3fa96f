"""What a review of the releases area found, each pinned: the planned window's bounds (page,
API, service), the figures' day bounds and query count, the overview's counts by each
school's own day and each licence's notice, a window kept while installing, the filters'
and pages' words, and the release page's add forms when there is nothing to add."""

from __future__ import annotations

import inspect
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.conftest import create_school
from changedesk.lib.errors import InvalidAction
from changedesk.releases import measurements, on_schedule, workflow
from changedesk.releases.filters import releases as filters
from changedesk.releases.models import Checkout, Licence, Release
from changedesk.releases.services import library as library_services
from changedesk.releases.services import releases as services
from changedesk.releases.tests.releases_factories import make_build, make_release, window
from changedesk.releases.views import requests as request_views

pytestmark = pytest.mark.django_db

FIGURES = "/api/v1/release-figures/"
NOON = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- 1. The planned window has bounds. ---


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("9999-12-31T20:00", "9999-12-31T23:00", "planned_start"),  # past year 9999 in UTC
        ("0001-01-01T00:00", "0001-01-01T05:00", "planned_start"),
        ("2027-01-10T08:00", "2099-01-10T08:00", "planned_end"),
        ("2027-01-10T08:00", "2028-03-10T08:00", "planned_end"),  # longer than LONGEST
    ],
)
def test_a_far_or_long_window_is_a_form_error(client, school, rachel, start, end, field):
    school.timezone = "America/New_York"
    school.save()
    client.force_login(rachel)
    response = client.post(
        reverse("releases:release_create"),
        {"school": school.slug, "title": "Far", "planned_start": start, "planned_end": end},
    )
    assert response.status_code == 400
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert not Release.objects.exists()


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("9999-12-30T00:00:00Z", "9999-12-31T00:00:00Z", "planned_start"),
        ("2001-01-01T00:00:00Z", "2001-01-02T00:00:00Z", "planned_start"),
        ("2027-01-01T00:00:00Z", "2028-06-01T00:00:00Z", "planned_end"),
    ],
)
def test_a_far_or_long_window_is_an_api_400(school, rachel, start, end, field):
    response = _api(rachel).post(
        "/api/v1/releases/",
        {"school": school.slug, "title": "Far", "planned_start": start, "planned_end": end},
        format="json",
    )
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not Release.objects.exists()
    release = make_release(school, rachel, **window())
    before = (release.planned_start, release.planned_end)
    response = _api(rachel).patch(
        f"/api/v1/releases/{release.pk}/",
        {"planned_start": start, "planned_end": end},
        format="json",
    )
    assert response.status_code == 400 and field in response.json()
    release.refresh_from_db()
    assert (release.planned_start, release.planned_end) == before


def test_the_longest_window_is_shared_with_the_schedule(school, rachel):
    assert on_schedule.LONGEST is services.LONGEST
    start = timezone.now().replace(microsecond=0) + timedelta(days=1)
    longest = {"planned_start": start, "planned_end": start + services.LONGEST}
    assert (
        make_release(school, rachel, "Just fits", **longest).planned_end == longest["planned_end"]
    )
    with pytest.raises(InvalidAction) as refused:
        make_release(
            school, rachel, "Too long", planned_start=start, planned_end=start + timedelta(days=367)
        )
    assert "planned_end" in refused.value.fields


def test_an_old_window_already_held_may_stay_when_other_fields_change(school, rachel):
    release = make_release(school, rachel, **window())
    old = timezone.now().replace(microsecond=0) - timedelta(days=4000)
    Release.objects.filter(pk=release.pk).update(
        planned_start=old, planned_end=old + timedelta(days=1)
    )
    release.refresh_from_db()
    saved = services.update_release(
        release.pk,
        rachel,
        {
            "title": "Renamed",
            "planned_start": release.planned_start,
            "planned_end": release.planned_end,
        },
    )
    assert saved.title == "Renamed"


# --- 2. and 3. The figures: days bounded, every school counted at once. ---


@pytest.mark.parametrize(
    "query",
    [
        "date=9999-12-15",
        "date=9999-12-31&period=week",
        "date=0001-01-01&period=week",
        "date=1999-12-31",
    ],
)
def test_figures_for_a_far_day_are_a_400(school, rachel, query):
    response = _api(rachel).get(f"{FIGURES}?{query}")
    assert response.status_code == 400 and "date" in response.json()


def test_the_figures_bounds_themselves_are_answered(school, rachel):
    for day in ("2000-01-01", "2100-12-31"):
        assert _api(rachel).get(f"{FIGURES}?date={day}&period=week").status_code == 200


@pytest.mark.parametrize("query", ["date=9999-12-15", "date=9999-12-31&period=week", "date=soon"])
def test_the_figures_page_refuses_a_far_day(client, school, rachel, query):
    client.force_login(rachel)
    response = client.get(reverse("releases:measurements") + "?" + query)
    assert response.status_code == 400
    assert 'id="id_date_error"' in response.content.decode()


def test_the_figures_page_shows_the_periods_up_to_a_day(client, school, rachel):
    client.force_login(rachel)
    response = client.get(reverse("releases:measurements") + "?date=2026-03-15")
    assert response.status_code == 200
    text = response.content.decode()
    assert "March 2026" in text and "March 2025" in text and "April 2026" not in text


def test_the_figures_api_counts_every_school_in_a_few_queries(
    school, rachel, django_assert_max_num_queries
):
    counts = []
    for n in (1, 6, 21):
        while len(rachel.memberships.all()) < n:
            k = len(rachel.memberships.all())
            other = create_school(f"School {k}", f"school-{k}")
            if k % 2:
                other.timezone = "America/New_York"
                other.save()
            set_membership(rachel, other, [Role.RELEASE_MANAGER])
        with django_assert_max_num_queries(10) as captured:
            response = _api(rachel).get(FIGURES)
        assert response.status_code == 200 and len(response.json()) == n
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1] == counts[2]


def test_the_figures_of_many_schools_match_one_by_one(school, other_school, isaac, service):
    make_build(school, "Image", service=service)
    make_build(other_school, "Other image", documented=False)
    rows = measurements.figures_by_school([school, other_school], "month", date(2026, 12, 3))
    for row_school, start, end, found in rows:
        assert found == measurements.figures(row_school, start, end)
    assert rows[0][3]["services"] == 1 and rows[0][3]["undocumented"] == 0


# --- 4. The overview counts by each school's day and each licence's notice. ---


def _overview_figures(client) -> tuple[str, str]:
    text = client.get(reverse("releases:home")).content.decode()
    overdue = re.search(r"<strong>(\d+)</strong> overdue", text)
    expiring = re.search(r"<strong>(\d+)</strong> expiring", text)
    assert overdue and expiring, text
    return overdue.group(1), expiring.group(1)


def test_the_overview_counts_by_the_schools_day(client, school, rachel):
    # At noon UTC on 3 December it is already 4 December on Kiritimati (UTC+14).
    school.timezone = "Pacific/Kiritimati"
    school.save()
    with time_machine.travel(NOON, tick=False):
        piece = library_services.save_software(
            school, rachel, {"title": "SIMS client", "location": r"\\deploy\sims"}
        )
        Checkout.objects.create(
            school=school, software=piece, taken_by=rachel, due_back=date(2026, 12, 3)
        )
        # Expired at the school (its last day was yesterday there): not expiring.
        Licence.objects.create(school=school, product="Ends", expires_on=date(2026, 12, 3))
        client.force_login(rachel)
        assert _overview_figures(client) == ("1", "0")


def test_the_overview_counts_expiring_by_each_licences_notice(client, school, rachel):
    with time_machine.travel(NOON, tick=False):
        client.force_login(rachel)
        # Thirty days out, but told only ten days before: not yet expiring.
        Licence.objects.create(
            school=school, product="Later", expires_on=date(2027, 1, 2), notice_days=10
        )
        assert _overview_figures(client) == ("0", "0")
        # Ninety days out, told a hundred days before: expiring.
        Licence.objects.create(
            school=school, product="Long notice", expires_on=date(2027, 3, 3), notice_days=100
        )
        assert _overview_figures(client) == ("0", "1")


# --- 5. A release being installed keeps its window. ---


@pytest.fixture
def installing(school, rachel):
    release = make_release(school, rachel, **window())
    services.add_build(release.pk, rachel, make_build(school, "Image"))
    for action in ("build", "release", "install"):
        workflow.perform(release.pk, action, rachel)
    return release


@pytest.mark.parametrize(
    "data",
    [
        {"planned_start": None, "planned_end": None},
        {"planned_start": None},
        {"planned_end": None},
    ],
)
def test_a_window_is_not_cleared_while_installing(installing, rachel, data):
    with pytest.raises(InvalidAction) as refused:
        services.update_release(installing.pk, rachel, data)
    assert set(refused.value.fields) & {"planned_start", "planned_end"}
    installing.refresh_from_db()
    assert installing.planned_start is not None and installing.planned_end is not None


def test_the_edit_page_keeps_the_window_while_installing(client, installing, rachel):
    client.force_login(rachel)
    response = client.post(
        reverse("releases:release_edit", args=[installing.pk]), {"title": "Still going"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors.get("planned_start")
    response = _api(rachel).patch(
        f"/api/v1/releases/{installing.pk}/", {"planned_end": None}, format="json"
    )
    assert response.status_code == 400 and "planned_end" in response.json()


def test_a_window_may_still_be_cleared_before_installing(school, rachel):
    release = make_release(school, rachel, **window())
    saved = services.update_release(
        release.pk, rachel, {"planned_start": None, "planned_end": None}
    )
    assert saved.planned_start is None and saved.planned_end is None


# --- 6. The words say what the code does. ---


def test_the_request_filters_documented_are_the_filters_there_are():
    documented = set(re.findall(r"`(\w+)`\s+\(", inspect.getdoc(filters.RequestFilterSet) or ""))
    assert documented == set(filters.RequestFilterSet.base_filters)


def test_the_request_list_is_ordered_as_its_module_says(client, school, rachel):
    assert "newest first" in (request_views.__doc__ or "")
    assert "waiting first" not in (request_views.__doc__ or "")
    from changedesk.releases.services import requests as request_services

    first = request_services.request_install(school, rachel, {"what": "First"})
    second = request_services.request_install(school, rachel, {"what": "Second"})
    client.force_login(rachel)
    text = client.get(reverse("releases:requests")).content.decode()
    assert text.index(second.what) < text.index(first.what)


# --- 7. Nothing to add: a sentence, not an empty select. ---


def test_the_release_page_says_when_there_is_nothing_to_add(client, school, rachel, draft):
    release = make_release(school, rachel)
    client.force_login(rachel)
    text = client.get(release.get_absolute_url()).content.decode()
    assert "No build to add" in text and 'id="add-build"' not in text
    assert 'id="add-change"' in text and "No RFC to add" not in text
    make_build(school, "Image")
    services.add_change(release.pk, rachel, draft)
    text = client.get(release.get_absolute_url()).content.decode()
    assert 'id="add-build"' in text and "No build to add" not in text
    assert "No RFC to add" in text and 'id="add-change"' not in text


# --- 8. The overview links to every area plainly. ---


def test_the_templates_link_plainly():
    here = Path(__file__).resolve().parent.parent / "templates" / "releases"
    for folder in ("releases", "requests"):
        for template in (here / folder).glob("*.html"):
            text = template.read_text()
            assert not re.search(r"{% url [^%]* as \w+ %}", text), template
            assert "{% if url" not in text, template


def test_the_overview_links_every_area(client, school, rachel):
    client.force_login(rachel)
    text = client.get(reverse("releases:home")).content.decode()
    for name in ("checkouts", "licences", "undocumented", "policy", "builds", "library"):
        assert f'href="{reverse(f"releases:{name}")}' in text, name
