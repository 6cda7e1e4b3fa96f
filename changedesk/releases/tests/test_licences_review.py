"""The licence log's answers to a review: days outside any sane range refused (and a row
holding one breaking nothing), the import's preview agreeing with the import on holders
named twice, warnings reaching a school without a release manager, and filters it cannot
use answered with 400."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from changedesk.accounts.choices import Role
from changedesk.conftest import member
from changedesk.lib.errors import InvalidAction
from changedesk.notifications.models import OutboxMessage
from changedesk.releases import licence_import
from changedesk.releases.models import Licence, LicenceAssignment
from changedesk.releases.services import licences as services

pytestmark = pytest.mark.django_db

API = "/api/v1/licences/"
PAGE = "/releases/licences/"


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _in_three_days(school):
    return services.today_in(school) + timedelta(days=3)


def _mails():
    return list(OutboxMessage.objects.filter(template="releases_licences").order_by("id"))


# --- Days outside any sane range. ---


@pytest.mark.parametrize(
    "field,value",
    [
        ("expires_on", "0001-01-10"),
        ("expires_on", "1989-12-31"),
        ("expires_on", "2101-01-01"),
        ("bought_on", "0001-01-01"),
        ("bought_on", "9999-12-31"),
    ],
)
def test_the_api_refuses_a_day_outside_the_range(school, rachel, field, value):
    body = {"school": school.slug, "product": "Old", "kind": "site", field: value}
    response = api(rachel).post(API, body, format="json")
    assert response.status_code == 400, response.json()
    assert "from 1990 to 2100" in " ".join(response.json()[field])
    assert not Licence.objects.exists()


def test_the_edges_of_the_range_are_kept(school, rachel):
    licence = services.save_licence(
        school,
        rachel,
        {"product": "Edge", "kind": "site", "bought_on": date(1990, 1, 1),
         "expires_on": date(2100, 12, 31)},
    )  # fmt: skip
    assert licence.expires_on == date(2100, 12, 31)
    with pytest.raises(InvalidAction) as refused:
        services.save_licence(
            school, rachel, {"bought_on": None, "expires_on": date(1, 1, 10)}, licence
        )
    assert set(refused.value.fields) == {"expires_on"}


def test_the_form_refuses_a_day_outside_the_range(client, school, rachel):
    client.force_login(rachel)
    response = client.post(
        "/releases/licences/new/",
        {"school": school.slug, "product": "Old", "kind": "site", "notice_days": 60,
         "expires_on": "0001-01-10"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "from 1990 to 2100" in response.content.decode()
    assert not Licence.objects.exists()


def test_the_import_refuses_a_day_outside_the_range(school):
    text = "product,kind,bought_on,expires_on\nOld,site,01/01/0001,0001-01-10\n"
    preview = licence_import.parse(school, text)
    assert not preview.ok
    assert {e.field for e in preview.errors} == {"bought_on", "expires_on"}
    assert "from 1990 to 2100" in preview.errors[0].message


@pytest.fixture
def year_one(school, rachel):
    """A licence of the year 1, over-allocated (as an older version let in)."""
    licence = Licence.objects.create(
        school=school, product="Ancient", kind="per_user", seats=1,
        expires_on=date(1, 1, 10), notice_days=60,
    )  # fmt: skip
    for name in "AB":
        LicenceAssignment.objects.create(school=school, licence=licence, person=name)
    return licence


def test_a_licence_of_the_year_one_breaks_no_list(client, school, rachel, year_one):
    client.force_login(rachel)
    for status in ("expired", "expiring", "over_allocated", "under_used", ""):
        response = api(rachel).get(API, {"status": status})
        assert response.status_code == 200, status
        page = client.get(PAGE, {"status": status})
        assert page.status_code == 200, status
        export = client.get("/releases/licences/export.csv", {"status": status})
        body = b"".join(export.streaming_content).decode()
        assert export.status_code == 200
        if status in ("expired", "over_allocated", ""):
            assert "Ancient" in body and ",2\r\n" in body, (status, body)
    expired = api(rachel).get(API, {"status": "expired"}).json()["results"]
    assert [r["product"] for r in expired] == ["Ancient"]
    assert client.get("/releases/").status_code == 200


def test_a_licence_of_the_year_one_stops_no_warning(school, rachel, other_school, year_one):
    # Beside it, a licence entering its notice in the same school and one in another.
    services.save_licence(
        school, rachel,
        {"product": "Soon", "kind": "site", "expires_on": _in_three_days(school)},
    )  # fmt: skip
    oscar_manager = member("omar", other_school, [Role.RELEASE_MANAGER])
    services.save_licence(
        other_school, oscar_manager,
        {"product": "There", "kind": "site",
         "expires_on": services.today_in(other_school) + timedelta(days=3)},
    )  # fmt: skip
    assert services.licence_warnings(timezone.now(), force=True) == 2
    mails = {m.recipient.username: m.context for m in _mails()}
    assert [e["product"] for e in mails["rachel"]["expiring"]] == ["Soon"]
    assert [e["product"] for e in mails["rachel"]["over"]] == ["Ancient"]
    assert [e["product"] for e in mails["omar"]["expiring"]] == ["There"]


def test_one_schools_failure_does_not_stop_the_others(school, rachel, other_school, monkeypatch):
    omar = member("omar", other_school, [Role.RELEASE_MANAGER])
    for where, who in ((school, rachel), (other_school, omar)):
        services.save_licence(
            where, who,
            {"product": "Soon", "kind": "site",
             "expires_on": services.today_in(where) + timedelta(days=3)},
        )  # fmt: skip
    real = services._tell

    def fails_for_the_first(target, *args):
        if target.pk == school.pk:
            raise RuntimeError("a row no one foresaw")
        return real(target, *args)

    monkeypatch.setattr(services, "_tell", fails_for_the_first)
    assert services.licence_warnings(timezone.now(), force=True) == 1
    assert [m.recipient for m in _mails()] == [omar]


# --- Warnings reach someone. ---


def test_without_a_release_manager_the_school_administrators_are_told(school, sam):
    licence = services.save_licence(
        school, sam,
        {"product": "Soon", "kind": "site", "expires_on": _in_three_days(school)},
    )  # fmt: skip
    assert services.licence_warnings(timezone.now(), force=True) == 1
    assert [m.recipient for m in _mails()] == [sam]
    licence.refresh_from_db()
    assert licence.warned_on == services.today_in(school)


def test_a_warning_no_one_received_is_not_remembered(school, sam):
    sam.email = ""
    sam.save()
    licence = services.save_licence(
        school, sam,
        {"product": "Soon", "kind": "site", "expires_on": _in_three_days(school)},
    )  # fmt: skip
    assert services.licence_warnings(timezone.now(), force=True) == 0
    licence.refresh_from_db()
    assert licence.warned_on is None
    # Once there is someone to tell, the warning goes out.
    rita = member("rita", school, [Role.RELEASE_MANAGER])
    assert services.licence_warnings(timezone.now(), force=True) == 1
    assert [m.recipient for m in _mails()] == [rita]
    licence.refresh_from_db()
    assert licence.warned_on == services.today_in(school)


# --- The import's preview and the import agree on holders named twice. ---


NAMED_TWICE = (
    "product,kind,seats,order_reference,assigned_to\n"
    "Office,per_user,1,PO1,olivia;OLIVIA\n"
    "Windows,per_device,1,PO2,ICT-07;Laptop ICT-07\n"
    "Maths,per_user,1,PO3,John  Smith;john smith\n"
)


def test_a_holder_named_twice_is_one_holder(school, rachel, olivia, laptop):
    preview = licence_import.parse(school, NAMED_TWICE)
    assert preview.ok, preview.errors
    assert [len(row.holders) for row in preview.rows] == [1, 1, 1]
    assert licence_import.apply(school, rachel, NAMED_TWICE) == (3, 0)
    held = {
        lic.product: list(lic.assignments.all()) for lic in Licence.objects.filter(school=school)
    }
    assert [a.user for a in held["Office"]] == [olivia]
    assert [a.item for a in held["Windows"]] == [laptop]
    assert [a.person for a in held["Maths"]] == ["John Smith"]


def test_a_name_held_already_with_other_spaces_is_left(school, rachel):
    text = "product,kind,seats,order_reference,assigned_to\nMaths,per_user,1,PO3,John Smith\n"
    licence_import.apply(school, rachel, text)
    again = text.replace("John Smith", "JOHN   SMITH")
    preview = licence_import.parse(school, again)
    assert preview.ok, preview.errors
    assert preview.rows[0].holders == []
    assert licence_import.apply(school, rachel, again) == (0, 1)
    assert LicenceAssignment.objects.count() == 1


# --- Filters it cannot use. ---


@pytest.mark.parametrize(
    "query,field", [({"status": "bogus"}, "status"), ({"kind": "x"}, "kind"),
                    ({"q": "x" * 201}, "q")],
)  # fmt: skip
def test_a_filter_it_cannot_use_is_a_400(client, school, rachel, query, field):
    services.save_licence(school, rachel, {"product": "Office", "kind": "site"})
    client.force_login(rachel)
    page = client.get(PAGE, query)
    assert page.status_code == 400
    html = page.content.decode()
    assert "errorlist" in html and "Office" not in html.split("</form>", 1)[-1]
    response = api(rachel).get(API, query)
    assert response.status_code == 400
    assert field in response.json()
