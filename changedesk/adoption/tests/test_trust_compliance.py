"""A trust's compliance page, its CSV and its API: who may read them, each school's row and
the totals, a school that leaves dropping out, bad input, and a query count that does not
grow with the trust's schools."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from changedesk.accounts import trusts
from changedesk.accounts.choices import Role, TrustRole
from changedesk.accounts.services import create_school, create_user
from changedesk.adoption.models import Adoption, ChecklistReview
from changedesk.changes.models import Change
from changedesk.changes.services import create_change
from changedesk.conftest import REQUEST, member

NOW = datetime(2026, 10, 20, 12, tzinfo=UTC)


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


def _urls(trust):
    return (
        reverse("adoption:trust_compliance", args=[trust.slug]),
        reverse("adoption:trust_compliance_csv", args=[trust.slug]),
        f"/api/v1/trusts/{trust.slug}/compliance/",
    )


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 200),
        ("technician", 200),
        ("reviewer", 200),
        ("root", 200),
        ("head", 403),
        ("stranger", 404),
    ],
)
def test_who_may_read(client, trust, people, who, status):
    client.force_login(people[who])
    page, sheet, api = _urls(trust)
    assert client.get(page).status_code == status
    assert client.get(sheet).status_code == status
    assert _api(people[who]).get(api).status_code == status


def test_anonymous(client, trust, people):
    page, _, api = _urls(trust)
    assert client.get(page).status_code == 302
    assert APIClient().get(api).status_code in (401, 403)
    client.force_login(people["admin"])
    assert client.get("/getting-started/trusts/nowhere/compliance/").status_code == 404


@pytest.mark.parametrize(
    "query", [{"period": "year"}, {"start": "someday"}, {"start": "2101-01-01"}]
)
def test_bad_query_is_400(client, trust, people, query):
    client.force_login(people["admin"])
    page, sheet, api = _urls(trust)
    assert client.get(page, query).status_code == 400
    assert client.get(sheet, query).status_code == 400
    assert _api(people["admin"]).get(api, query).status_code == 400
    assert _api(people["admin"]).get(api, {"period": ""}).status_code == 400


def _scene(school, other_school, olivia, oscar, fiona):
    with time_machine.travel(NOW - timedelta(days=5), tick=False):
        create_change(
            school,
            olivia,
            {**REQUEST, "is_emergency": True, "emergency_justification": "The firewall is down."},
        )
        create_change(school, olivia, dict(REQUEST))
        late = create_change(other_school, oscar, dict(REQUEST))
    Change.objects.filter(pk=late.pk).update(
        planned_start=NOW - timedelta(days=3), planned_end=NOW - timedelta(days=2)
    )
    Adoption.objects.create(school=school, live_at=NOW - timedelta(days=60))
    Adoption.objects.create(school=other_school, go_live_on=date(2026, 11, 2))
    ChecklistReview.objects.create(
        school=school,
        reviewed_on=date(2026, 9, 1),
        items={"a": {"passed": True}, "b": {"passed": False}, "c": {"passed": None}},
        next_due=date(2026, 10, 1),
        reviewed_by=fiona,
        created_at=NOW - timedelta(days=49),
    )


def test_each_school_and_the_totals(client, trust, school, other_school, people, olivia,
                                    oscar, fiona):  # fmt: skip
    _scene(school, other_school, olivia, oscar, fiona)
    _, _, api = _urls(trust)
    with time_machine.travel(NOW, tick=False):
        found = _api(people["technician"]).get(api).json()
    assert found["period"] == "month" and found["start"] == "2026-10-01"
    rows = {row["school"]["slug"]: row for row in found["schools"]}
    green, hill = rows[school.slug], rows[other_school.slug]
    assert green["going_live"]["state"] == "live"
    assert hill["going_live"] == {"state": "go_live_set", "go_live_on": "2026-11-02",
                                  "live_on": None}  # fmt: skip
    assert green["rfcs"] == {"open": 2, "overdue": 0, "failed": 0, "emergencies": 1}
    assert hill["rfcs"] == {"open": 1, "overdue": 1, "failed": 0, "emergencies": 0}
    assert green["review"] == {"reviewed_on": "2026-09-01", "passed": 1, "judged": 2,
                               "next_due": "2026-10-01", "overdue": True}  # fmt: skip
    assert hill["review"] is None
    totals = found["totals"]
    assert totals["schools"] == 2 and totals["live"] == 1
    assert (totals["open"], totals["overdue"], totals["emergencies"]) == (3, 1, 1)
    assert totals["reviewed"] == 1 and totals["review_overdue"] == 1
    client.force_login(people["admin"])
    page, sheet, _ = _urls(trust)
    with time_machine.travel(NOW, tick=False):
        text = client.get(page).content.decode()
        lines = list(csv.reader(StringIO(client.get(sheet).content.decode())))
    assert school.name in text and other_school.name in text
    assert f"?school={school.slug}" in text
    assert "Total: 2 schools" in text
    assert lines[0][0] == "school" and len(lines) == 3
    assert {line[1] for line in lines[1:]} == {school.slug, other_school.slug}


def test_a_school_that_left_drops_out(trust, school, other_school, people):
    member("own_admin", school, [Role.SCHOOL_ADMIN])
    trusts.remove_school(school)
    _, _, api = _urls(trust)
    found = _api(people["admin"]).get(api).json()
    assert [row["school"]["slug"] for row in found["schools"]] == [other_school.slug]


def _count(client, trust):
    page, sheet, _ = _urls(trust)
    counts = []
    for url in (page, sheet):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        counts.append(len(captured.captured_queries))
    return counts


def test_the_query_count_does_not_grow_with_the_schools(client, trust, people, fiona):
    client.force_login(people["admin"])
    two = _count(client, trust)
    for n in range(4):
        made = create_school(f"School {n}", f"school-{n}")
        trusts.add_school(trust, made)
        Adoption.objects.create(school=made, live_at=timezone.now())
        ChecklistReview.objects.create(
            school=made, reviewed_on=date(2026, 9, 1), items={}, next_due=date(2027, 3, 1),
            reviewed_by=fiona, created_at=timezone.now(),
        )  # fmt: skip
    assert _count(client, trust) == two


def test_the_trust_page_links_both(client, trust, people):
    client.force_login(people["admin"])
    text = client.get(reverse("accounts:trust", args=[trust.slug])).content.decode()
    assert f"/reports/?trust={trust.slug}" in text
    assert f"/getting-started/trusts/{trust.slug}/compliance/" in text


def test_the_schema_documents_it(client):
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    assert "/api/v1/trusts/{slug}/compliance/" in schema["paths"]
    params = {p["name"] for p in schema["paths"]["/api/v1/reports/"]["get"]["parameters"]}
    assert "trust" in params


def test_failed_counts_outcomes_recorded_in_the_period(trust, school, people, team):
    from changedesk.changes.workflow import perform

    def failed_on(day):
        with time_machine.travel(day - timedelta(hours=2), tick=False):
            made = create_change(
                school,
                team["olivia"],
                {**REQUEST, "is_emergency": True, "emergency_justification": "It is down."},
            )
            perform(made.pk, "submit", team["olivia"])
            perform(made.pk, "approve", team["ian"])
        with time_machine.travel(day, tick=False):
            perform(made.pk, "record_outcome", team["olivia"],
                    data={"outcome": "failed_backed_out"})  # fmt: skip

    failed_on(datetime(2026, 10, 14, 10, tzinfo=UTC))
    failed_on(datetime(2026, 9, 14, 10, tzinfo=UTC))  # September's
    _, _, api = _urls(trust)
    with time_machine.travel(NOW, tick=False):
        found = _api(people["admin"]).get(api).json()
    rows = {row["school"]["slug"]: row for row in found["schools"]}
    assert rows[school.slug]["rfcs"]["failed"] == 1
    assert rows[school.slug]["rfcs"]["emergencies"] == 1
    assert found["totals"]["failed"] == 1


def test_the_csv_keeps_a_formula_as_text(client, trust, school, people):
    school.name = '=HYPERLINK("http://evil.example","Click")'
    school.save()
    client.force_login(people["admin"])
    _, sheet, _ = _urls(trust)
    body = client.get(sheet).content.decode()
    assert "'=HYPERLINK" in body
    assert body.splitlines()[0].startswith('"school","slug"')  # every cell quoted


def test_only_each_schools_latest_review_counts(trust, school, other_school, people, fiona):
    for on, passed, due in ((date(2026, 9, 1), True, date(2027, 3, 1)),
                            (date(2026, 3, 1), False, date(2026, 9, 1))):  # fmt: skip
        ChecklistReview.objects.create(
            school=school, reviewed_on=on, items={"a": {"passed": passed}}, next_due=due,
            reviewed_by=fiona, created_at=timezone.now(),
        )  # fmt: skip
    _, _, api = _urls(trust)
    with time_machine.travel(NOW, tick=False):
        found = _api(people["admin"]).get(api).json()
    rows = {row["school"]["slug"]: row for row in found["schools"]}
    assert rows[school.slug]["review"] == {"reviewed_on": "2026-09-01", "passed": 1, "judged": 1,
                                           "next_due": "2027-03-01", "overdue": False}  # fmt: skip
    assert rows[other_school.slug]["review"] is None
