"""A trust's period report (`?trust=`): who may read it (its page, print, figure page and the
API), its figures across the trust's schools, a school that leaves dropping out, bad input,
and a query count that does not grow with the trust's schools."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from changedesk.accounts import trusts
from changedesk.accounts.choices import Role, TrustRole
from changedesk.accounts.services import create_school, create_user
from changedesk.changes.services import create_change
from changedesk.conftest import REQUEST, member
from changedesk.reports import figures

URL = reverse("reports:period")
API = "/api/v1/reports/"
OCTOBER = {"start": "2026-10-01", "period": "month"}


def _person(username, trust, roles):
    made = create_user(username, email=f"{username}@trust.example", password=None)
    trusts.set_trust_roles(trust, made, roles)
    return made


@pytest.fixture
def people(trust, school, root):
    other = trusts.create_trust("Southfield Trust", "southfield")
    elsewhere = create_school("Southfield Primary", "southfield-primary")
    trusts.add_school(other, elsewhere)
    return {
        "admin": _person("ada", trust, [TrustRole.TRUST_ADMIN]),
        "technician": _person("tom", trust, [TrustRole.TRUST_TECHNICIAN]),
        "reviewer": _person("rhys", trust, [TrustRole.TRUST_PEER_REVIEWER]),
        "head": member("head", school, [Role.FINAL_APPROVER]),
        "stranger": _person("sian", other, [TrustRole.TRUST_ADMIN]),
        "root": root,
    }


def _raise(school, person, n, when=datetime(2026, 10, 5, 9, tzinfo=UTC)):
    with time_machine.travel(when, tick=False):
        return [create_change(school, person, dict(REQUEST)) for _ in range(n)]


def _value(report, key):
    found = figures.figure(report, key)
    assert found is not None
    return found["value"]


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 200),
        ("technician", 200),
        ("reviewer", 200),
        ("root", 200),
        ("head", 403),  # a school's own final approver: not the trust's
        ("stranger", 404),  # another trust's administrator
    ],
)
def test_who_may_read(client, trust, people, who, status):
    client.force_login(people[who])
    query = {"trust": trust.slug, "figure": "raised", **OCTOBER}
    for url in (URL, reverse("reports:period_print"), reverse("reports:figure")):
        assert client.get(url, query).status_code == status, url
    api = APIClient()
    api.force_authenticate(people[who])
    assert api.get(API, {"trust": trust.slug}).status_code == status


def test_anonymous_and_no_such_trust(client, trust, people):
    assert client.get(URL, {"trust": trust.slug}).status_code == 302
    assert APIClient().get(API, {"trust": trust.slug}).status_code in (401, 403)
    client.force_login(people["admin"])
    assert client.get(URL, {"trust": "nowhere"}).status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        {"trust": "northfield", "school": "greenfield"},
        {"trust": "northfield", "period": "year"},
        {"trust": "northfield", "start": "yesterday"},
        {"trust": "northfield", "start": "1999-12-31"},
    ],
)
def test_bad_query_is_400(client, trust, people, query):
    client.force_login(people["admin"])
    assert client.get(URL, query).status_code == 400
    api = APIClient()
    api.force_authenticate(people["admin"])
    assert api.get(API, query).status_code == 400


def test_figures_across_the_schools(client, trust, school, other_school, people, olivia, oscar):
    _raise(school, olivia, 2)
    _raise(other_school, oscar, 3)
    api = APIClient()
    api.force_authenticate(people["technician"])
    report = api.get(API, {"trust": trust.slug, **OCTOBER}).json()
    assert _value(report, "raised") == 5
    assert report["trust"]["slug"] == trust.slug
    assert report["school"]["name"] == trust.name
    assert {s["slug"] for s in report["schools"]} == {school.slug, other_school.slug}
    both = figures.report_many([school, other_school], "month", date(2026, 10, 1))
    assert report["groups"] == both["groups"]
    client.force_login(people["admin"])
    page = client.get(URL, {"trust": trust.slug, **OCTOBER})
    assert page.status_code == 200
    text = page.content.decode()
    assert f'name="trust" value="{trust.slug}"' in text
    assert "Across the 2 schools of" in text
    assert f"/getting-started/trusts/{trust.slug}/compliance/" in text


def test_a_school_that_left_drops_out(trust, school, other_school, people, olivia, oscar):
    _raise(school, olivia, 2)
    _raise(other_school, oscar, 3)
    member("own_admin", school, [Role.SCHOOL_ADMIN])
    trusts.remove_school(school)
    api = APIClient()
    api.force_authenticate(people["admin"])
    report = api.get(API, {"trust": trust.slug, **OCTOBER}).json()
    assert _value(report, "raised") == 3
    assert [s["slug"] for s in report["schools"]] == [other_school.slug]


def _count(client, trust):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL, {"trust": trust.slug, **OCTOBER})
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_query_count_does_not_grow_with_the_schools(client, trust, people, olivia):
    client.force_login(people["admin"])
    two = _count(client, trust)
    for n in range(4):
        made = create_school(f"School {n}", f"school-{n}")
        trusts.add_school(trust, made)
        _raise(made, member(f"orig{n}", made, [Role.ORIGINATOR]), 1)
    assert _count(client, trust) == two


def test_report_many_reads_many_schools_in_the_same_queries(school, other_school):
    def queries(schools):
        with CaptureQueriesContext(connection) as captured:
            figures.report_many(schools, "month", date(2026, 10, 1))
        return len(captured.captured_queries)

    few = queries([school, other_school])
    more = [create_school(f"Extra {n}", f"extra-{n}") for n in range(4)]
    assert queries([school, other_school, *more]) == few


def test_odd_input_and_an_empty_trust_are_not_errors_of_ours(client, trust, people):
    client.force_login(people["admin"])
    assert client.get(URL, {"trust": "x" * 5000}).status_code == 400
    assert client.get(URL, {"trust": "north\x00field"}).status_code == 400
    assert client.get(URL, {"trust": trust.slug, "start": "99999-01-01"}).status_code == 400
    empty = trusts.create_trust("Empty Trust", "empty")
    nobody = _person("nia", empty, [TrustRole.TRUST_ADMIN])
    client.force_login(nobody)
    assert client.get(URL, {"trust": empty.slug}).status_code == 400
    page = client.get(reverse("adoption:trust_compliance", args=[empty.slug]))
    assert page.status_code == 200 and "no schools yet" in page.content.decode()


def test_a_trust_role_taken_away_takes_the_report_with_it(client, trust, people):
    tom = people["technician"]
    trusts.set_trust_roles(trust, tom, [])
    client.force_login(tom)
    assert client.get(URL, {"trust": trust.slug}).status_code == 404
    page = reverse("adoption:trust_compliance", args=[trust.slug])
    assert client.get(page).status_code == 404


def test_a_trust_month_in_progress_points_to_no_archive_of_its_own(client, trust, people):
    # A trust's report is not frozen as one: each school's is, in the school's archive.
    client.force_login(people["admin"])
    with time_machine.travel(datetime(2026, 10, 15, 12, tzinfo=UTC), tick=False):
        text = client.get(URL, {"trust": trust.slug, **OCTOBER}).content.decode()
    assert "each school's report is frozen in its own archive" in text
    assert "the archive</a>" not in text
