"""A trust's calendar in the REST API (/api/v1/trust-calendar-periods/): its people and its
schools' members read it, its administrator writes it, and every write reaches each
school's calendar through `trust_calendar`, as on the pages."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from changedesk.accounts import trusts
from changedesk.accounts.choices import Role, TrustRole
from changedesk.accounts.models import User
from changedesk.accounts.services import create_school
from changedesk.conftest import member
from changedesk.schedule.models import CalendarPeriod, TrustPeriod

pytestmark = pytest.mark.django_db

PERIODS = "/api/v1/trust-calendar-periods/"
SCHOOL_PERIODS = "/api/v1/calendar-periods/"
HALF_TERM = {
    "trust": "northfield",
    "kind": "holiday",
    "name": "October half term",
    "starts_at": "2027-10-25T00:00:00+01:00",
    "ends_at": "2027-10-30T00:00:00+01:00",
}


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def trina(trust) -> User:
    """One of the trust's people who is not its administrator."""
    person = User.objects.create_user("trina", email="trina@northfield.example")
    trusts.set_trust_roles(trust, person, [TrustRole.TRUST_PEER_REVIEWER])
    return person


@pytest.fixture
def rhys(db) -> User:
    """The administrator of a school in no trust."""
    return member("rhys", create_school("Riverside Academy", "riverside"), [Role.SCHOOL_ADMIN])


@pytest.fixture
def half_term(trust, tara) -> TrustPeriod:
    response = client_for(tara).post(PERIODS, HALF_TERM, format="json")
    assert response.status_code == 201, response.json()
    return TrustPeriod.objects.get(pk=response.json()["id"])


def test_anonymous_callers_must_sign_in(half_term):
    for url in (PERIODS, f"{PERIODS}{half_term.pk}/"):
        assert APIClient().get(url).status_code == 401


def test_the_administrator_adds_a_period_to_every_school(trust, tara, school, other_school):
    response = client_for(tara).post(PERIODS, HALF_TERM, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: body[k] for k in ("trust", "kind", "name", "is_hard", "notes")} == {
        "trust": "northfield",
        "kind": "holiday",
        "name": "October half term",
        "is_hard": False,
        "notes": "",
    }
    copies = CalendarPeriod.objects.filter(trust_period_id=body["id"])
    assert {c.school_id for c in copies} == {school.pk, other_school.pk}
    # Each school's calendar API shows its copy.
    sam = Role.SCHOOL_ADMIN
    greenfield_admin = member("gail", school, [sam])
    mine = client_for(greenfield_admin).get(SCHOOL_PERIODS).json()["results"]
    assert [p["name"] for p in mine] == ["October half term"]


def test_edits_and_removals_reach_every_school(half_term, tara):
    url = f"{PERIODS}{half_term.pk}/"
    response = client_for(tara).patch(
        url, {"name": "Autumn half term", "notes": "Both weeks."}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "Autumn half term"
    names = set(half_term.copies.values_list("name", flat=True))
    assert names == {"Autumn half term"}
    assert client_for(tara).delete(url).status_code == 204
    assert not TrustPeriod.objects.exists() and not CalendarPeriod.objects.exists()


def test_who_reads_and_who_writes(half_term, tara, trina, olivia, sam, rhys, root):
    url = f"{PERIODS}{half_term.pk}/"
    for reader in (tara, trina, olivia, sam, root):
        listed = client_for(reader).get(PERIODS).json()["results"]
        assert [p["id"] for p in listed] == [half_term.pk], reader
        assert client_for(reader).get(url).status_code == 200, reader
    for refused in (trina, olivia, sam):  # the trust's people and members: read only
        client = client_for(refused)
        assert client.post(PERIODS, HALF_TERM, format="json").status_code == 403, refused
        assert client.patch(url, {"name": "Mine"}, format="json").status_code == 403
        assert client.delete(url).status_code == 403
    outsider = client_for(rhys)
    assert outsider.get(PERIODS).json()["results"] == []
    assert outsider.get(url).status_code == 404
    assert outsider.patch(url, {"name": "Mine"}, format="json").status_code == 404
    assert outsider.delete(url).status_code == 404
    response = outsider.post(PERIODS, HALF_TERM, format="json")
    assert response.status_code == 400 and "trust" in response.json()
    half_term.refresh_from_db()
    assert half_term.name == "October half term"
    # An operator administers every trust.
    assert client_for(root).patch(url, {"name": "Half term"}, format="json").status_code == 200


def test_bad_periods_are_refused_field_by_field(half_term, tara):
    client = client_for(tara)
    cases = [
        ({**HALF_TERM, "ends_at": "2027-10-24T00:00:00+01:00"}, "ends_at"),
        ({**HALF_TERM, "is_hard": True}, "is_hard"),
        ({**HALF_TERM, "starts_at": "2027-10-25T00:00:00"}, "starts_at"),
        ({**HALF_TERM, "kind": "party"}, "kind"),
        ({**HALF_TERM, "school": "greenfield"}, "school"),
        ({**HALF_TERM, "trust": "nowhere"}, "trust"),
        ({**HALF_TERM, "starts_at": "0001-01-01T00:00:00+00:00"}, "starts_at"),
        ({k: v for k, v in HALF_TERM.items() if k != "name"}, "name"),
    ]
    for data, field in cases:
        response = client.post(PERIODS, data, format="json")
        assert response.status_code == 400, data
        assert field in response.json(), response.json()
    url = f"{PERIODS}{half_term.pk}/"
    response = client.patch(url, {"ends_at": "2027-10-01T00:00:00+01:00"}, format="json")
    assert response.status_code == 400 and "ends_at" in response.json()
    other = trusts.create_trust("Southfield Trust", "southfield")
    trusts.set_trust_roles(other, tara, [TrustRole.TRUST_ADMIN])
    response = client.patch(url, {"trust": "southfield"}, format="json")
    assert response.status_code == 400 and "trust" in response.json()
    assert client.put(url, HALF_TERM, format="json").status_code == 405
    assert TrustPeriod.objects.count() == 1


def test_the_list_filters_as_the_school_calendar_s_does(half_term, tara):
    client = client_for(tara)
    client.post(
        PERIODS,
        {**HALF_TERM, "kind": "freeze", "name": "Exam freeze", "is_hard": True,
         "starts_at": "2028-05-08T00:00:00+01:00", "ends_at": "2028-06-20T00:00:00+01:00"},
        format="json",
    )  # fmt: skip
    names = lambda **q: [p["name"] for p in client.get(PERIODS, q).json()["results"]]  # noqa: E731
    assert names(kind="freeze") == ["Exam freeze"]
    assert names(trust="northfield") == ["October half term", "Exam freeze"]
    assert names(trust="southfield") == []
    assert names(ends_after="2028-01-01T00:00:00Z") == ["Exam freeze"]
    assert names(starts_before="2028-01-01T00:00:00Z") == ["October half term"]
    assert client.get(PERIODS, {"ends_after": "soon"}).status_code == 400


def test_the_list_costs_the_same_for_many_periods(
    trust, tara, olivia, django_assert_max_num_queries
):
    client = client_for(tara)
    for n in range(1, 11):
        client.post(
            PERIODS,
            {**HALF_TERM, "name": f"Day {n}", "starts_at": f"2027-11-{n:02d}T00:00:00+00:00",
             "ends_at": f"2027-11-{n:02d}T12:00:00+00:00"},
            format="json",
        )  # fmt: skip
    reader = client_for(olivia)
    with django_assert_max_num_queries(8):
        assert len(reader.get(PERIODS).json()["results"]) == 10


def test_the_schema_describes_the_endpoints():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert "/api/v1/trust-calendar-periods/" in schema["paths"]
    assert "/api/v1/trust-calendar-periods/{id}/" in schema["paths"]
    assert "/api/v1/signin/trusts/{slug}/" in schema["paths"]
