"""The period report's pages: who may read them, the choice of school, the period and its
links, bad input, the print, the RFCs behind a figure, the settings form, the CSP, and a query
count that does not grow with the RFCs."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.changes.services import create_change
from changedesk.changes.workflow import perform
from changedesk.conftest import REQUEST, member
from changedesk.reports.models import ReportSettings

URL = reverse("reports:period")


@pytest.fixture
def people(team, school):
    return {
        **team,
        "vera": member("vera", school, [Role.VIEWER]),
        "rachel": member("rachel", school, [Role.RELEASE_MANAGER]),
        "pat": member("pat", school, [Role.PATCH_ADMINISTRATOR]),
    }


def _raise(school, person, when, n=1, submit=True):
    made = []
    with time_machine.travel(when, tick=False):
        for _ in range(n):
            change = create_change(school, person, dict(REQUEST))
            if submit:
                perform(change.pk, "submit", person)
            made.append(change)
    return made


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("ian", 200),
        ("peter", 200),
        ("fiona", 200),
        ("sam", 200),
        ("rachel", 200),
        ("pat", 200),
        ("olivia", 403),
        ("ivan", 403),
        ("vera", 403),
    ],
)
def test_who_may_read(client, school, people, who, status):
    client.force_login(people[who])
    for url in (URL, reverse("reports:period_print"), reverse("reports:figure")):
        query = {"school": school.slug, "figure": "raised"}
        assert client.get(url, query).status_code == status, url


def test_outsiders_and_strangers(client, school, people, oscar, root):
    client.force_login(oscar)
    assert client.get(URL, {"school": school.slug}).status_code == 404
    assert client.get(URL, {"school": "nowhere"}).status_code == 404
    client.force_login(root)
    assert client.get(URL, {"school": school.slug}).status_code == 200
    client.logout()
    assert client.get(URL, {"school": school.slug}).status_code == 302


def test_the_report_page(client, school, people):
    (change,) = _raise(school, people["olivia"], datetime(2026, 10, 5, 9, tzinfo=UTC))
    client.force_login(people["fiona"])
    response = client.get(URL, {"school": school.slug, "start": "2026-10-17"})
    text = response.content.decode()
    assert response.status_code == 200
    assert "October 2026" in text and "RFCs raised" in text
    # Previous and next month; the print; the figure's RFCs; the charts and their words.
    assert "start=2026-09-01" in text and "start=2026-11-01" in text
    assert reverse("reports:period_print") in text
    assert "figure=raised" in text
    assert text.count("<svg") >= 19 and "The trend in words" in text
    assert "RFCs raised over the 12 periods from 2025-11-01 to 2026-11-01" in text
    # Nothing the CSP refuses: no inline style or script.
    assert not re.search(r"<style|\sstyle=|<script(?![^>]*\ssrc=)", text)
    # The RFCs behind "raised".
    figure = client.get(
        reverse("reports:figure"),
        {"school": school.slug, "period": "month", "start": "2026-10-01", "figure": "raised"},
    )
    assert figure.status_code == 200 and change.reference in figure.content.decode()


def test_the_default_period_is_the_schools_frequency(client, school, people):
    ReportSettings.objects.create(school=school, frequency="week")
    client.force_login(people["fiona"])
    with time_machine.travel(datetime(2026, 12, 3, 12, tzinfo=UTC), tick=False):
        text = client.get(URL, {"school": school.slug}).content.decode()
    assert "week from 30 November 2026" in text


def test_a_period_not_over_yet_says_so(client, school, people):
    # The month still running shows its figures so far: say so, and where the finished
    # reports are kept; a month that is over does not.
    client.force_login(people["fiona"])
    with time_machine.travel(datetime(2026, 12, 3, 12, tzinfo=UTC), tick=False):
        now = client.get(URL, {"school": school.slug}).content.decode()
        printed = client.get(reverse("reports:period_print"), {"school": school.slug})
        over = client.get(URL, {"school": school.slug, "start": "2026-11-01"}).content.decode()
    assert 'id="in-progress"' in now and "December 2026" in now
    assert f"{reverse('reports:archive')}?school={school.slug}" in now
    assert "(not over yet)" in printed.content.decode()
    assert "November 2026" in over and 'id="in-progress"' not in over


@pytest.mark.parametrize(
    "query",
    [
        {"start": "2026-13-01"},
        {"start": "yesterday"},
        {"start": "1066-10-14"},
        {"period": "year"},
        {"figure": "nonsense"},
    ],
)
def test_bad_input_is_a_clear_400(client, school, people, query):
    client.force_login(people["fiona"])
    url = reverse("reports:figure") if "figure" in query else URL
    response = client.get(url, {"school": school.slug, **query})
    assert response.status_code == 400
    assert "This report cannot be shown" in response.content.decode()


def test_several_schools_choose_or_all(client, school, other_school, people, oscar):
    set_membership(people["fiona"], other_school, [Role.FINAL_APPROVER])
    _raise(other_school, oscar, datetime(2026, 10, 5, 9, tzinfo=UTC), submit=False)
    _raise(school, people["olivia"], datetime(2026, 10, 6, 9, tzinfo=UTC))
    client.force_login(people["fiona"])
    text = client.get(URL).content.decode()
    assert "Choose the school" in text and "school=all" in text and other_school.name in text
    response = client.get(URL, {"school": "all", "start": "2026-10-01"})
    assert response.status_code == 200
    assert "All my schools, October 2026" in response.content.decode()
    figure = client.get(
        reverse("reports:figure"), {"school": "all", "start": "2026-10-01", "figure": "raised"}
    )
    assert "2 RFCs" in figure.content.decode()


def test_the_print(client, school, people):
    client.force_login(people["ian"])
    text = client.get(reverse("reports:period_print"), {"school": school.slug}).content.decode()
    assert "print-page" in text and "reports/period.css" in text and "<svg" in text
    assert "RFCs behind it" not in text
    assert client.get(URL, {"school": school.slug, "print": "1"}).status_code == 200


@pytest.mark.parametrize(("who", "status"), [("sam", 200), ("fiona", 403), ("olivia", 403)])
def test_who_may_set_the_frequency(client, school, people, who, status):
    client.force_login(people[who])
    url = reverse("reports:settings")
    assert client.get(url, {"school": school.slug}).status_code == status
    response = client.post(url, {"school": school.slug, "frequency": "week"})
    assert response.status_code == (302 if status == 200 else 403)
    assert ReportSettings.objects.filter(school=school, frequency="week").exists() == (
        status == 200
    )


def test_the_settings_form(client, school, people, oscar):
    client.force_login(people["sam"])
    url = reverse("reports:settings")
    response = client.post(url, {"school": school.slug, "frequency": "fortnight"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert not ReportSettings.objects.exists()
    client.post(url, {"school": school.slug, "frequency": "week"})
    client.post(url, {"school": school.slug, "frequency": "month"})
    assert ReportSettings.objects.get(school=school).frequency == "month"
    client.force_login(oscar)
    assert client.get(url, {"school": school.slug}).status_code == 404


def _queries(client, school):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL, {"school": school.slug, "start": "2026-10-01"})
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_page_query_count_does_not_grow(client, school, people):
    client.force_login(people["fiona"])
    _raise(school, people["olivia"], datetime(2026, 10, 5, 9, tzinfo=UTC), 5)
    few = _queries(client, school)
    _raise(school, people["olivia"], datetime(2026, 10, 6, 9, tzinfo=UTC), 45)
    assert _queries(client, school) == few
